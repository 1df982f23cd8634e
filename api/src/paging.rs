//! `limit` and `offset` of the listings: a value outside what the document declares is a 400
//! `bad-query` with the range, not silently clamped (a client that asked for 5,000 and got 1,000
//! would believe it had everything) and never an overflow.

use daftar_engine::store::MAX_LISTING;

use crate::problem::{ApiError, ApiResult, ErrorCode};

/// The largest offset: what the document's `int32` can hold.
pub const MAX_OFFSET: u32 = i32::MAX as u32;

/// The page size asked for, `default` when none; 1 to [`MAX_LISTING`].
pub fn limit(asked: Option<u32>, default: u32) -> ApiResult<u32> {
    match asked {
        None => Ok(default),
        Some(n) if (1..=MAX_LISTING).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(
            ErrorCode::BadQuery,
            format!("limit {n} is out of range: give 1 to {MAX_LISTING}"),
        )),
    }
}

/// The rows to skip, 0 when none; at most [`MAX_OFFSET`].
pub fn offset(asked: Option<u32>) -> ApiResult<u32> {
    match asked {
        None => Ok(0),
        Some(n) if n <= MAX_OFFSET => Ok(n),
        Some(n) => Err(ApiError::new(
            ErrorCode::BadQuery,
            format!("offset {n} is out of range: give 0 to {MAX_OFFSET}"),
        )),
    }
}
