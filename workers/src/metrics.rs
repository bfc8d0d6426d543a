//! The worker tier's metrics. Labels are closed sets, never ids.

use prometheus::{HistogramVec, IntCounterVec, IntGauge, Registry};

use common::metrics::{counter, gauge, histogram, latency_buckets, registry};

/// Every metric workers expose at `/metrics`.
pub struct WorkerMetrics {
    pub registry: Registry,
    /// `studio_messages_processed_total{queue, outcome}`.
    pub messages_processed: IntCounterVec,
    /// `studio_events_processed_total{type, outcome}`: lifecycle types and webhook event types.
    pub events_processed: IntCounterVec,
    /// `studio_batch_size{queue}`: events per committed batch.
    pub batch_size: HistogramVec,
    /// `studio_batch_duration_seconds{queue}`: apply and commit time of a batch.
    pub batch_duration: HistogramVec,
    /// `studio_processing_lag_seconds{queue}`: ingress acceptance to commit.
    pub processing_lag: HistogramVec,
    /// `studio_batch_failures_total{queue, kind}`: transient (retried) and permanent (isolated).
    pub batch_failures: IntCounterVec,
    /// `studio_api_calls_total{outcome}`: API Studio calls ended: `succeeded` or the failure's
    /// code (`token_expired`, `forbidden`, ...; see `api_call_failure::CallFailure`).
    pub api_calls: IntCounterVec,
    /// `studio_bootstrap_jobs_total{outcome}`: bootstrap jobs ended.
    pub bootstrap_jobs: IntCounterVec,
    /// `studio_bootstrap_items_total{kind}`: entities imported.
    pub bootstrap_items: IntCounterVec,
    /// `studio_webhook_registrations_total{event, outcome}`: attempts to register an extra
    /// webhook, `registered` or `failed`.
    pub webhook_registrations: IntCounterVec,
    /// `studio_webhook_registrations_failed`: registrations waiting for a retry, all workspaces.
    pub webhook_registrations_failed: IntGauge,
    /// `studio_reconcile_changes_total{kind, change}`: what reconciliation passes changed in the
    /// copy (`added`, `updated`, `deleted`).
    pub reconcile_changes: IntCounterVec,
    /// `studio_reconcile_passes_total{outcome}`: reconciliation passes ended.
    pub reconcile_passes: IntCounterVec,
    /// `studio_outbox_depth`: events waiting in the outbox (all partitions).
    pub outbox_depth: IntGauge,
    /// `studio_outbox_oldest_age_seconds`: how long the oldest outbox row has waited (0 if none).
    pub outbox_oldest_age: IntGauge,
    /// `studio_outbox_relayed_total`: outbox rows published (confirmed) and deleted by the relay.
    pub outbox_relayed: IntCounterVec,
    /// `studio_rows_purged_total{table}`: rows removed by retention (`event_log`, `api_calls`).
    pub rows_purged: IntCounterVec,
    /// `studio_dead_letters`: messages waiting in the dead-letter queue.
    pub dead_letters: IntGauge,
    /// `studio_bootstrap_jobs_running`: bootstrap jobs running in every workspace.
    pub bootstrap_jobs_running: IntGauge,
    /// `studio_event_partitions_owned`: event partitions this process consumes now (the
    /// heartbeat assignment's share; the processes' values sum to `EVENT_PARTITIONS` once settled).
    pub event_partitions_owned: IntGauge,
    /// `studio_worker_ready`: 1 when this worker reached PostgreSQL and RabbitMQ at the last sample.
    pub ready: IntGauge,
    /// `studio_limiter_degraded`: 1 while Redis is away and the local fallback limiter decides.
    pub limiter_degraded: IntGauge,
    /// Outbound request, retry and limiter metrics.
    pub outbound: std::sync::Arc<clockify_client::metrics::OutboundMetrics>,
}

impl WorkerMetrics {
    pub fn new() -> Self {
        let r = registry();
        Self {
            messages_processed: counter(
                &r,
                "messages_processed_total",
                "Messages handled, by queue and outcome.",
                &["queue", "outcome"],
            ),
            events_processed: counter(
                &r,
                "events_processed_total",
                "Lifecycle and webhook events handled, by type and outcome.",
                &["type", "outcome"],
            ),
            batch_size: histogram(
                &r,
                "batch_size",
                "Messages per committed batch.",
                &["queue"],
                vec![1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0],
            ),
            batch_duration: histogram(
                &r,
                "batch_duration_seconds",
                "Time to apply and commit a batch.",
                &["queue"],
                latency_buckets(),
            ),
            processing_lag: histogram(
                &r,
                "processing_lag_seconds",
                "From ingress acceptance to commit.",
                &["queue"],
                latency_buckets(),
            ),
            batch_failures: counter(
                &r,
                "batch_failures_total",
                "Failed batch attempts, by kind.",
                &["queue", "kind"],
            ),
            api_calls: counter(
                &r,
                "api_calls_total",
                "API Studio calls executed, by outcome.",
                &["outcome"],
            ),
            bootstrap_jobs: counter(
                &r,
                "bootstrap_jobs_total",
                "Bootstrap jobs ended, by outcome.",
                &["outcome"],
            ),
            bootstrap_items: counter(
                &r,
                "bootstrap_items_total",
                "Entities imported by bootstraps, by kind.",
                &["kind"],
            ),
            webhook_registrations: counter(
                &r,
                "webhook_registrations_total",
                "Attempts to register an extra webhook, by event type and outcome.",
                &["event", "outcome"],
            ),
            webhook_registrations_failed: gauge(
                &r,
                "webhook_registrations_failed",
                "Extra webhook registrations that failed and wait for a retry.",
            ),
            reconcile_changes: counter(
                &r,
                "reconcile_changes_total",
                "Entities reconciliation added, updated or marked deleted, by kind.",
                &["kind", "change"],
            ),
            reconcile_passes: counter(
                &r,
                "reconcile_passes_total",
                "Reconciliation passes ended, by outcome.",
                &["outcome"],
            ),
            outbox_depth: gauge(&r, "outbox_depth", "Events waiting in the outbox."),
            event_partitions_owned: gauge(
                &r,
                "event_partitions_owned",
                "Event partitions this worker process consumes.",
            ),
            outbox_oldest_age: gauge(
                &r,
                "outbox_oldest_age_seconds",
                "Age of the oldest outbox row in seconds (0 when empty).",
            ),
            outbox_relayed: counter(
                &r,
                "outbox_relayed_total",
                "Outbox rows published and deleted by the relay.",
                &[],
            ),
            rows_purged: counter(
                &r,
                "rows_purged_total",
                "Rows removed by retention, by table.",
                &["table"],
            ),
            dead_letters: gauge(&r, "dead_letters", "Messages in the dead-letter queue."),
            bootstrap_jobs_running: gauge(
                &r,
                "bootstrap_jobs_running",
                "Bootstrap jobs running in every workspace.",
            ),
            ready: gauge(
                &r,
                "worker_ready",
                "1 when this worker reached PostgreSQL and RabbitMQ at the last sample.",
            ),
            limiter_degraded: gauge(
                &r,
                "limiter_degraded",
                "1 while the local fallback limiter decides (Redis away).",
            ),
            outbound: std::sync::Arc::new(clockify_client::metrics::OutboundMetrics::new(&r)),
            registry: r,
        }
    }
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}
