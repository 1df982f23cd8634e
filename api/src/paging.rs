//! `limit` and `offset` of the listings: a value outside what the document declares is a 400
//! `bad-query` with the range, not silently clamped (a client that asked for 5,000 and got 1,000
//! would believe it had everything) and never an overflow.
//!
//! And the keyset pages (`after` and `before`): a cursor is the sort key of the row a page
//! starts after (or ends before), as JSON in URL-safe base64 (`base64`, the crate the desk's
//! session already uses), opaque to clients. Unlike `offset`, the store seeks to it in an index,
//! and a request filed meanwhile neither repeats nor skips a row at the page boundary.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use daftar_engine::store::{MAX_LISTING, Seek};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// The cursor of a row's sort key.
pub fn cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("sort keys serialize"))
}

/// The page that `after` or `before` asks for (at most one of them), `None` for the first; a
/// text that no listing of this kind gave is a 400 `bad-query`.
pub fn seek<K: DeserializeOwned>(
    after: Option<&str>,
    before: Option<&str>,
) -> ApiResult<Option<Seek<K>>> {
    let read = |name: &str, text: &str| -> ApiResult<K> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadQuery,
                    format!(
                        "`{name}` is not a cursor this listing gave: use its `next` or `previous`"
                    ),
                )
            })
    };
    match (after, before) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::BadQuery,
            "give `after` or `before`, not both",
        )),
        (Some(a), None) => Ok(Some(Seek::After(read("after", a)?))),
        (None, Some(b)) => Ok(Some(Seek::Before(read("before", b)?))),
        (None, None) => Ok(None),
    }
}
