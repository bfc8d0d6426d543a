//! Keeping the copy fresh: the coverage plan (`WEBHOOK_EVENTS`, `EXTRA_WEBHOOK_EVENTS`,
//! `RECONCILE_INTERVAL`, checked against Clockify's limits in [`crate::coverage`]) and the pace of
//! the workers' sweep that retries registrations and starts reconciliation passes.

use std::time::Duration;

use super::error::ConfigError;
use super::vars::{Vars, invalid};
use crate::coverage::CoveragePlan;

/// The sweep that heals webhook registrations and starts scheduled reconciliation passes.
#[derive(Debug, Clone)]
pub struct FreshnessConfig {
    /// How often a worker looks for due registrations and passes (`FRESHNESS_SWEEP_SECS`).
    pub sweep_interval: Duration,
    /// Scheduled passes one sweep starts at most (`RECONCILE_MAX_STARTS_PER_SWEEP`).
    pub max_starts_per_sweep: i64,
    /// How far behind now the time-entry change feeds are read (`RECONCILE_FEED_LAG_SECS`):
    /// Clockify's feeds show changes about a minute late.
    pub feed_lag: Duration,
    /// The first retry of a failed registration waits this long, doubling per attempt
    /// (`WEBHOOK_REGISTRATION_RETRY_SECS`) up to `registration_retry_cap`
    /// (`WEBHOOK_REGISTRATION_RETRY_CAP_SECS`).
    pub registration_retry: Duration,
    pub registration_retry_cap: Duration,
}

/// The plan; a refusal names the variable to fix.
pub(super) fn coverage_plan(env: &Vars<'_>) -> Result<CoveragePlan, ConfigError> {
    // An empty EXTRA_WEBHOOK_EVENTS means none, so it is read raw rather than as optional.
    let raw = |name: &str| env.0.get(name).map(String::as_str);
    CoveragePlan::from_settings(
        raw("WEBHOOK_EVENTS"),
        raw("EXTRA_WEBHOOK_EVENTS"),
        raw("RECONCILE_INTERVAL"),
    )
    .map_err(|error| invalid(error.variable, error.reason))
}

pub(super) fn freshness(env: &Vars<'_>) -> Result<FreshnessConfig, ConfigError> {
    let seconds = |name, default, max| {
        env.ranged::<u64>(name, default, 1..=max)
            .map(Duration::from_secs)
    };
    Ok(FreshnessConfig {
        sweep_interval: seconds("FRESHNESS_SWEEP_SECS", 15, 3_600)?,
        max_starts_per_sweep: env.ranged("RECONCILE_MAX_STARTS_PER_SWEEP", 20, 1..=10_000)?,
        feed_lag: Duration::from_secs(env.ranged("RECONCILE_FEED_LAG_SECS", 120, 0..=86_400)?),
        registration_retry: seconds("WEBHOOK_REGISTRATION_RETRY_SECS", 60, 86_400)?,
        registration_retry_cap: seconds("WEBHOOK_REGISTRATION_RETRY_CAP_SECS", 21_600, 604_800)?,
    })
}
