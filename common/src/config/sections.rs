//! The configuration's grouped sections: outbound calls, bootstrap jobs and retention.

use std::time::Duration;

use super::error::ConfigError;
use super::vars::Vars;

/// Bootstrap partition queues when `BOOTSTRAP_PARTITIONS` does not say.
pub const DEFAULT_BOOTSTRAP_PARTITIONS: u16 = 4;

/// How long data is kept: the workers purge older log rows and calls every `interval`; dead
/// letters expire through the dead-letter queue's message TTL.
#[derive(Debug, Clone)]
pub struct Retention {
    pub event_log_days: i32,
    pub api_call_days: i32,
    pub dead_letter_days: u32,
    pub interval: Duration,
}

/// Outbound calls to Clockify: hosts, pace and patience.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    pub allowed_api_domains: String,
    pub allow_http_loopback: bool,
    pub rate_limit_rps: f64,
    pub rate_limit_burst: u32,
    pub rate_limit_headroom: f64,
    pub rate_limit_fallback_share: f64,
    pub max_retries: usize,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub webhook_max_retries: usize,
    pub webhook_backoff_base: Duration,
    pub webhook_backoff_cap: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// Bootstrap jobs: what is imported and how fast.
#[derive(Debug, Clone)]
pub struct BootstrapConfig {
    pub auto_on_install: bool,
    pub page_size: u32,
    pub time_entries_days: u32,
    /// Bootstrap queues, by workspace hash.
    pub partitions: u16,
    /// Bootstrap units a worker process runs at once from each bootstrap queue.
    pub concurrency: u16,
    /// Bootstrap units a worker process holds from each queue, running or waiting for their
    /// workspace's rate limit without a slot (at least `concurrency`).
    pub prefetch: u16,
}

/// Outbound calls: `ALLOWED_API_DOMAINS`, the rate limit and the retries.
pub(super) fn outbound(env: &Vars<'_>) -> Result<OutboundConfig, ConfigError> {
    Ok(OutboundConfig {
        allowed_api_domains: env.string(
            "ALLOWED_API_DOMAINS",
            "api.clockify.me,*.clockify.me,*.api.clockify.me",
        ),
        allow_http_loopback: env.boolean("ALLOW_HTTP_LOOPBACK", false)?,
        rate_limit_rps: env.fraction("RATE_LIMIT_RPS", 50.0, 0.1, 10_000.0)?,
        rate_limit_burst: env.ranged("RATE_LIMIT_BURST", 0, 0..=1_000)?,
        rate_limit_headroom: env.fraction("RATE_LIMIT_HEADROOM", 0.08, 0.0, 0.9)?,
        rate_limit_fallback_share: env.fraction("RATE_LIMIT_FALLBACK_SHARE", 0.25, 0.01, 1.0)?,
        max_retries: env.ranged("OUTBOUND_MAX_RETRIES", 4, 0..=20)?,
        backoff_base: env.seconds("OUTBOUND_BACKOFF_BASE", 0.2)?,
        backoff_cap: env.seconds("OUTBOUND_BACKOFF_CAP", 5.0)?,
        webhook_max_retries: env.ranged("WEBHOOK_REQUEST_MAX_RETRIES", 5, 0..=20)?,
        webhook_backoff_base: env.seconds("WEBHOOK_REQUEST_BACKOFF_BASE", 0.5)?,
        webhook_backoff_cap: env.seconds("WEBHOOK_REQUEST_BACKOFF_CAP", 5.0)?,
        connect_timeout: env.seconds("OUTBOUND_CONNECT_TIMEOUT", 5.0)?,
        request_timeout: env.seconds("OUTBOUND_TIMEOUT", 30.0)?,
    })
}

/// Bootstrap jobs: `AUTO_BOOTSTRAP_ON_INSTALL`, `BOOTSTRAP_*`.
pub(super) fn bootstrap(env: &Vars<'_>) -> Result<BootstrapConfig, ConfigError> {
    Ok(BootstrapConfig {
        auto_on_install: env.boolean("AUTO_BOOTSTRAP_ON_INSTALL", true)?,
        page_size: env.ranged("BOOTSTRAP_PAGE_SIZE", 200, 1..=5_000)?,
        time_entries_days: env.ranged("BOOTSTRAP_TIME_ENTRIES_DAYS", 90, 1..=3_650)?,
        partitions: env.ranged("BOOTSTRAP_PARTITIONS", DEFAULT_BOOTSTRAP_PARTITIONS, 1..=64)?,
        concurrency: env.ranged("BOOTSTRAP_CONCURRENCY", 4, 1..=64)?,
        prefetch: env.ranged("BOOTSTRAP_PREFETCH", 256, 1..=1_000)?,
    })
}

/// Retention: `*_RETENTION_DAYS` and `RETENTION_INTERVAL_SECS`.
pub(super) fn retention(env: &Vars<'_>) -> Result<Retention, ConfigError> {
    Ok(Retention {
        event_log_days: env.ranged("EVENT_LOG_RETENTION_DAYS", 30, 1..=36_500)?,
        api_call_days: env.ranged("API_CALL_RETENTION_DAYS", 90, 1..=36_500)?,
        dead_letter_days: env.ranged("DEAD_LETTER_RETENTION_DAYS", 14, 1..=24_000)?,
        interval: env.seconds("RETENTION_INTERVAL_SECS", 300.0)?,
    })
}
