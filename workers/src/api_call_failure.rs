//! How an API Studio call can fail: the closed set stored as `error_code`, shown by the API,
//! and used as the outcome label of `studio_api_calls_total`.

/// Why a call failed: one closed set with the stored `error_code` (ingress adds `not_queued`,
/// for a call whose job could not be published).
pub use common::db::api_calls::CallFailure;

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
