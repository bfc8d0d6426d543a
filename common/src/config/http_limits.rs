//! What ingress allows one client: how long it may take to send a request, how many requests
//! run at once, and which origins may frame the sidebar page.

use std::time::Duration;

use super::error::ConfigError;
use super::vars::{Vars, invalid};

/// Clockify's web app origins: the sidebar page is framed by these only.
pub const DEFAULT_UI_FRAME_ANCESTORS: &str = "https://*.clockify.me https://clockify.me";

/// Limits ingress enforces on every connection and request.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// From a connection's first byte (or its opening) until its request headers are complete.
    pub header_timeout: Duration,
    /// From the first poll of a request body until its last byte.
    pub body_timeout: Duration,
    /// A kept-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// Requests handled at once; more are answered 503 at once (`/health`, `/metrics` exempt).
    pub max_concurrent_requests: usize,
    /// The CSP `frame-ancestors` sources of `/ui`, space separated.
    pub ui_frame_ancestors: String,
}

/// Reads the `INGRESS_*_TIMEOUT_SECS`, `INGRESS_MAX_CONCURRENT_REQUESTS` and `UI_FRAME_ANCESTORS`.
pub(super) fn http_limits(env: &Vars<'_>) -> Result<HttpLimits, ConfigError> {
    let seconds = |name, default| {
        env.ranged::<u64>(name, default, 1..=3_600)
            .map(Duration::from_secs)
    };
    Ok(HttpLimits {
        header_timeout: seconds("INGRESS_HEADER_TIMEOUT_SECS", 10)?,
        body_timeout: seconds("INGRESS_BODY_TIMEOUT_SECS", 30)?,
        idle_timeout: seconds("INGRESS_IDLE_TIMEOUT_SECS", 60)?,
        max_concurrent_requests: env.ranged(
            "INGRESS_MAX_CONCURRENT_REQUESTS",
            1_024,
            1..=1_000_000,
        )?,
        ui_frame_ancestors: frame_ancestors(env)?,
    })
}

/// Space- or comma-separated sources; each must be an origin pattern or `'self'`/`'none'`, so a
/// value cannot smuggle another directive into the policy.
fn frame_ancestors(env: &Vars<'_>) -> Result<String, ConfigError> {
    let raw = env.string("UI_FRAME_ANCESTORS", DEFAULT_UI_FRAME_ANCESTORS);
    let sources: Vec<&str> = raw
        .split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let acceptable = |source: &&str| {
        matches!(*source, "'self'" | "'none'")
            || ((source.starts_with("https://") || source.starts_with("http://"))
                && source
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '/' | '*')))
    };
    if sources.is_empty() || !sources.iter().all(acceptable) {
        return Err(invalid(
            "UI_FRAME_ANCESTORS",
            "origins such as https://*.clockify.me, or 'self' / 'none', separated by spaces",
        ));
    }
    Ok(sources.join(" "))
}
