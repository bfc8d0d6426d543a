//! Prometheus plumbing shared by both tiers: a registry with the `studio_` prefix, metric
//! constructors that register as they build, and the text exposition.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// A registry whose every metric name starts with `studio_`.
pub fn registry() -> Registry {
    Registry::new_custom(Some("studio".to_owned()), None)
        .expect("the prefix is a valid metric name")
}

/// A labelled counter, registered.
pub fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric =
        IntCounterVec::new(Opts::new(name, help), labels).expect("metric names are constants");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

/// A labelled histogram with the given buckets, registered.
pub fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("metric names are constants");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

/// A gauge, registered.
pub fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("metric names are constants");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

/// Latency buckets from 0.5 ms to 10 s.
pub fn latency_buckets() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

/// Count buckets (events per message or per batch), 1 to 1,024 by powers of two.
pub fn size_buckets() -> Vec<f64> {
    (0..=10).map(|power| f64::from(1u32 << power)).collect()
}

/// The text exposition of everything in `registry`.
pub fn render(registry: &Registry) -> String {
    let mut buffer = String::new();
    if let Err(error) = TextEncoder::new().encode_utf8(&registry.gather(), &mut buffer) {
        // Only a malformed metric (a bug) gets here; what was encoded so far is still served.
        tracing::error!(error = %error, "metrics could not be encoded in full");
    }
    buffer
}
