//! How an API Studio call can fail: the closed set stored as `error_code`, shown by the API,
//! and used as the outcome label of `studio_api_calls_total`.

/// Why a call failed in a worker. (Ingress adds one code of its own: `not_queued`, for a call
/// whose job could not be published.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// The viewer's token expired before the call ran; nothing was sent.
    TokenExpired,
    /// The call has no user token (recorded before calls ran as the viewer).
    TokenMissing,
    /// The sealed token does not open with `TOKEN_ENCRYPTION_KEY`.
    TokenUnreadable,
    /// Clockify answered 401 to the viewer's token.
    TokenRefused,
    /// Clockify answered 403: the viewer's rights do not allow the call.
    Forbidden,
    /// Any other answer outside 2xx.
    UpstreamError,
    /// A redirect, which is never followed.
    Redirect,
    /// Refused before sending (host not allowed, plain HTTP).
    NotSent,
    /// No answer: connection, timeout, or an answer lost after sending.
    RequestFailed,
    /// The workspace has no active installation.
    NotInstalled,
    /// A worker stopped after sending a non-idempotent call; it was not repeated.
    Interrupted,
}

impl CallFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            CallFailure::TokenExpired => "token_expired",
            CallFailure::TokenMissing => "token_missing",
            CallFailure::TokenUnreadable => "token_unreadable",
            CallFailure::TokenRefused => "token_refused",
            CallFailure::Forbidden => "forbidden",
            CallFailure::UpstreamError => "upstream_error",
            CallFailure::Redirect => "redirect",
            CallFailure::NotSent => "not_sent",
            CallFailure::RequestFailed => "request_failed",
            CallFailure::NotInstalled => "not_installed",
            CallFailure::Interrupted => "interrupted",
        }
    }
}

/// The failure an answer means, if any.
pub fn upstream_failure(status: u16, location: Option<&str>) -> Option<(CallFailure, String)> {
    match status {
        200..=299 => None,
        300..=399 => Some((
            CallFailure::Redirect,
            format!(
                "Clockify answered {status} with a redirect{}; redirects are not followed",
                location.map(|l| format!(" to {l}")).unwrap_or_default()
            ),
        )),
        401 => Some((
            CallFailure::TokenRefused,
            "Clockify answered 401: it refused the viewer's token (not retried)".to_owned(),
        )),
        403 => Some((
            CallFailure::Forbidden,
            "Clockify answered 403: the viewer's rights do not allow this call".to_owned(),
        )),
        status => Some((
            CallFailure::UpstreamError,
            format!("Clockify answered {status}"),
        )),
    }
}
