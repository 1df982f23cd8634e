//! The API's stable error codes, each with the HTTP status it is answered with. A code's slug
//! is the problem body's `code` and the last segment of its `type`; `docs/api.md` documents
//! each one, and clients match on them: a slug never changes.

use std::fmt;

use axum::http::StatusCode;

/// A stable error code and its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body cannot be read, or lacks what the operation needs.
    BadBody,
    /// 400: the `Idempotency-Key` header is not 1 to 200 ASCII characters.
    BadIdempotencyKey,
    /// 400: a query parameter cannot be read or is out of range.
    BadQuery,
    /// 400: a path parameter cannot be read.
    BadPath,
    /// 400: `at` is neither a version nor an RFC 3339 time.
    BadAt,
    /// 400: `Last-Event-ID` is not the id of an event of the watched stream.
    BadLastEventId,
    /// 400: a delivery report without `client_reference` or `status`.
    BadReport,
    /// 400: a reference that names no request.
    BadReference,
    /// 400: a callback without the inquiry's `Idempotency-Key`.
    MissingKey,
    /// 400: an `Idempotency-Key` that names no request.
    BadKey,
    /// 400: a payment result without `reference`.
    MissingReference,
    /// 401: no valid credentials.
    Unauthorized,
    /// 403: valid credentials without the right.
    Forbidden,
    /// 403: the service cannot be filed by this caller.
    NotRequestable,
    /// 403: a definition of another agency than the caller's.
    WrongAgency,
    /// 403: a callback from another connector than the step asked.
    WrongConnector,
    /// 403: a callback without the token daftar sent with its request.
    BadCallbackToken,
    /// 404: no such thing in the caller's agency (also for other agencies' ids).
    NotFound,
    /// 404: the server runs without a metrics recorder.
    NoMetrics,
    /// 404: no SMS of daftar has the reported reference.
    UnknownSms,
    /// 404: no request matches a callback.
    UnknownInstance,
    /// 405: the endpoint does not take the method.
    MethodNotAllowed,
    /// 409: the request changed while the command was decided; send it again.
    Busy,
    /// 409: a deployed version never changes: other content under it is refused.
    VersionTaken,
    /// 409: the request has ended.
    Ended,
    /// 409: an erasure on a node that keeps no keyring.
    NoKeyring,
    /// 410: the request's applicant was erased.
    Erased,
    /// 409: the command is not allowed in the request's state.
    NotAllowed,
    /// 409: the command is about something that has moved on.
    Stale,
    /// 409: the core refused the command.
    Refused,
    /// 409: the request does not wait for the message.
    NotWaiting,
    /// 409: the request waits for the message under several keys and none was given.
    Ambiguous,
    /// 409: the incident is no longer open.
    NotOpen,
    /// 413: the body is over the limit.
    TooLarge,
    /// 415: the body is not of a media type the operation takes.
    UnsupportedMediaType,
    /// 422: the body is readable but not what the operation takes.
    UnfitBody,
    /// 422: the application form does not satisfy the service's schema.
    InvalidInput,
    /// 422: a task's form does not satisfy its schema.
    InvalidForm,
    /// 422: the definition has errors.
    InvalidDefinition,
    /// 422: the outcome is not one of the task's.
    UnknownOutcome,
    /// 422: the `Idempotency-Key` was used before by this caller for another request.
    IdempotencyKeyReused,
    /// 429: too many calls; try again later.
    RateLimited,
    /// 503: the store cannot be reached; the detail says to try again, nothing more.
    Unavailable,
    /// Another 5xx, answered as it came: the request could not be served.
    ServerError(StatusCode),
    /// Another 4xx, answered as it came.
    Other(StatusCode),
}

impl ErrorCode {
    /// The HTTP status the code is answered with.
    pub fn status(self) -> StatusCode {
        use ErrorCode as C;
        match self {
            C::BadBody
            | C::BadIdempotencyKey
            | C::BadQuery
            | C::BadPath
            | C::BadAt
            | C::BadLastEventId
            | C::BadReport
            | C::BadReference
            | C::MissingKey
            | C::BadKey
            | C::MissingReference => StatusCode::BAD_REQUEST,
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::Forbidden
            | C::NotRequestable
            | C::WrongAgency
            | C::WrongConnector
            | C::BadCallbackToken => StatusCode::FORBIDDEN,
            C::NotFound | C::NoMetrics | C::UnknownSms | C::UnknownInstance => {
                StatusCode::NOT_FOUND
            }
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::Busy
            | C::VersionTaken
            | C::Ended
            | C::NoKeyring
            | C::NotAllowed
            | C::Stale
            | C::Refused
            | C::NotWaiting
            | C::Ambiguous
            | C::NotOpen => StatusCode::CONFLICT,
            C::Erased => StatusCode::GONE,
            C::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            C::UnfitBody
            | C::InvalidInput
            | C::InvalidForm
            | C::InvalidDefinition
            | C::UnknownOutcome
            | C::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            C::ServerError(status) | C::Other(status) => status,
        }
    }

    /// The stable, machine-readable code.
    pub fn slug(self) -> &'static str {
        use ErrorCode as C;
        match self {
            C::BadBody | C::UnfitBody => "bad-body",
            C::BadIdempotencyKey => "bad-idempotency-key",
            C::BadQuery => "bad-query",
            C::BadPath => "bad-path",
            C::BadAt => "bad-at",
            C::BadLastEventId => "bad-last-event-id",
            C::BadReport => "bad-report",
            C::BadReference => "bad-reference",
            C::MissingKey => "missing-key",
            C::BadKey => "bad-key",
            C::MissingReference => "missing-reference",
            C::Unauthorized => "unauthorized",
            C::Forbidden => "forbidden",
            C::NotRequestable => "not-requestable",
            C::WrongAgency => "wrong-agency",
            C::WrongConnector => "wrong-connector",
            C::BadCallbackToken => "bad-callback-token",
            C::NotFound => "not-found",
            C::NoMetrics => "no-metrics",
            C::UnknownSms => "unknown-sms",
            C::UnknownInstance => "unknown-instance",
            C::MethodNotAllowed => "method-not-allowed",
            C::Busy => "busy",
            C::VersionTaken => "version-taken",
            C::Ended => "ended",
            C::NoKeyring => "no-keyring",
            C::Erased => "erased",
            C::NotAllowed => "not-allowed",
            C::Stale => "stale",
            C::Refused => "refused",
            C::NotWaiting => "not-waiting",
            C::Ambiguous => "ambiguous",
            C::NotOpen => "not-open",
            C::TooLarge => "too-large",
            C::UnsupportedMediaType => "unsupported-media-type",
            C::InvalidInput => "invalid-input",
            C::InvalidForm => "invalid-form",
            C::InvalidDefinition => "invalid-definition",
            C::UnknownOutcome => "unknown-outcome",
            C::IdempotencyKeyReused => "idempotency-key-reused",
            C::RateLimited => "rate-limited",
            C::Unavailable | C::ServerError(_) => "unavailable",
            C::Other(_) => "error",
        }
    }

    /// The code of an error answer that only has its status (a rejection of axum's, an answer
    /// that is not a problem body yet).
    pub fn of_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::BAD_REQUEST => ErrorCode::BadBody,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::UnfitBody,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            s if s.is_server_error() => ErrorCode::ServerError(s),
            s => ErrorCode::Other(s),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_read_from_its_status_keeps_that_status() {
        for status in [400, 404, 405, 408, 413, 415, 422, 429, 500, 502, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ErrorCode::of_status(status).status(), status);
        }
    }
}
