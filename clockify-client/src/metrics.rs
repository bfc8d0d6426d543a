//! Metrics of outbound Clockify calls, registered into the worker's registry.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Registry};

use common::metrics::{counter, latency_buckets};

/// What every outbound call records.
pub struct OutboundMetrics {
    /// `studio_outbound_requests_total{group, status_class}`: by operation group (catalog tag or
    /// internal use) and 2xx/3xx/4xx/5xx/error.
    pub requests: IntCounterVec,
    /// `studio_outbound_retries_total{group, reason}`.
    pub retries: IntCounterVec,
    /// `studio_limiter_wait_seconds`: time spent waiting for a rate-limit slot.
    pub limiter_wait: Histogram,
    /// `studio_limiter_fallback_total`: decisions taken by the local fallback limiter.
    pub limiter_fallback: IntCounter,
}

impl OutboundMetrics {
    pub fn new(registry: &Registry) -> Self {
        let limiter_wait = Histogram::with_opts(
            HistogramOpts::new(
                "limiter_wait_seconds",
                "Time spent waiting for a rate-limit slot.",
            )
            .buckets(latency_buckets()),
        )
        .expect("constant metric");
        registry
            .register(Box::new(limiter_wait.clone()))
            .expect("registered once");
        let limiter_fallback = IntCounter::new(
            "limiter_fallback_total",
            "Limiter decisions taken locally because Redis was away.",
        )
        .expect("constant metric");
        registry
            .register(Box::new(limiter_fallback.clone()))
            .expect("registered once");
        Self {
            requests: counter(
                registry,
                "outbound_requests_total",
                "Outbound Clockify requests by group and status class.",
                &["group", "status_class"],
            ),
            retries: counter(
                registry,
                "outbound_retries_total",
                "Outbound Clockify retries by group and reason.",
                &["group", "reason"],
            ),
            limiter_wait,
            limiter_fallback,
        }
    }
}
