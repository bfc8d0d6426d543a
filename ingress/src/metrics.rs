//! The ingress tier's metrics. Labels are route templates and closed sets, never ids.

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge, Registry};

use common::metrics::{counter, gauge, histogram, latency_buckets, registry, size_buckets};

/// Every metric ingress exposes at `/metrics`.
pub struct IngressMetrics {
    pub registry: Registry,
    /// `studio_http_requests_total{route, method, status}`.
    pub requests: IntCounterVec,
    /// `studio_http_request_duration_seconds{route}`.
    pub request_duration: HistogramVec,
    /// `studio_lifecycle_accepted_total{type}`: callbacks enqueued.
    pub lifecycle_accepted: IntCounterVec,
    /// `studio_webhooks_accepted_total{event_type, scheme}`: webhooks enqueued.
    pub webhooks_accepted: IntCounterVec,
    /// `studio_signature_failures_total{scope, reason}`: tokens or HMACs refused.
    pub signature_failures: IntCounterVec,
    /// `studio_rejections_total{scope, reason}`: every refused request, by why.
    pub rejections: IntCounterVec,
    /// `studio_hmac_fallback_total{outcome}`: webhooks checked with the HMAC fallback.
    pub hmac_fallback: IntCounterVec,
    /// `studio_legacy_signature_header_total{header}`: deliveries using an old header name.
    pub legacy_signature_header: IntCounterVec,
    /// `studio_webhook_token_cache_total{outcome}`: hit or miss of the verified-token cache.
    pub token_cache: IntCounterVec,
    /// `studio_publish_duration_seconds{queue_kind}`: publish until broker confirm.
    pub publish_duration: HistogramVec,
    /// `studio_event_group_size{queue="events"}`: events per published event message (group
    /// commit: the events of a partition accepted while its previous publish awaited its confirm).
    pub event_group_size: HistogramVec,
    /// `studio_event_messages_overlapped_total`: event messages a lane sent while an earlier one
    /// of its own was still unsettled (never with `INGRESS_GROUP_IN_FLIGHT=1`).
    pub event_messages_overlapped: IntCounter,
    /// `studio_publish_failures_total{reason}`: reason `queue_full` when an event partition is
    /// at `EVENT_QUEUE_MAX_LENGTH`; `unavailable`, `timeout`, `unroutable`, `nacked` otherwise.
    pub publish_failures: IntCounterVec,
    /// `studio_http_requests_in_flight`: requests being handled now.
    pub requests_in_flight: IntGauge,
    /// `studio_http_requests_shed_total`: answered 503 at once, over
    /// `INGRESS_MAX_CONCURRENT_REQUESTS`.
    pub requests_shed: IntCounter,
    /// `studio_http_connection_timeouts_total{phase}`: connections closed by a timeout, phase
    /// `header` (request headers not complete in time) or `idle` (kept alive, no request).
    pub connection_timeouts: IntCounterVec,
    /// `studio_http_body_timeouts_total`: request bodies not received in time (408).
    pub body_timeouts: IntCounter,
    /// `studio_signature_verification_disabled`: 1 in unverified development mode.
    pub verification_disabled: IntGauge,
    /// `studio_events_outboxed_total{reason}`: events committed to the outbox instead of the
    /// broker, by the publish failure's reason or `behind_outbox` (the workspace had rows there).
    pub events_outboxed: IntCounterVec,
    /// `studio_outbox_write_failures_total`: events neither confirmed nor outboxed (answered 503).
    pub outbox_write_failures: IntCounter,
    /// `studio_outboxed_workspaces`: workspaces whose new events go to the outbox now.
    pub outboxed_workspaces: IntGauge,
    /// `studio_tokens_under_old_keys`: sealed tokens not under the current key, as the last
    /// `POST /admin/reseal` counted them.
    pub tokens_under_old_keys: IntGauge,
}

impl IngressMetrics {
    pub fn new() -> Self {
        let r = registry();
        Self {
            requests: counter(
                &r,
                "http_requests_total",
                "HTTP requests by route template, method and status.",
                &["route", "method", "status"],
            ),
            request_duration: histogram(
                &r,
                "http_request_duration_seconds",
                "HTTP request latency by route template.",
                &["route"],
                latency_buckets(),
            ),
            lifecycle_accepted: counter(
                &r,
                "lifecycle_accepted_total",
                "Lifecycle callbacks enqueued, by type.",
                &["type"],
            ),
            webhooks_accepted: counter(
                &r,
                "webhooks_accepted_total",
                "Webhooks enqueued, by event type and signature scheme.",
                &["event_type", "scheme"],
            ),
            signature_failures: counter(
                &r,
                "signature_failures_total",
                "Refused signatures, by scope and reason.",
                &["scope", "reason"],
            ),
            rejections: counter(
                &r,
                "rejections_total",
                "Refused requests, by scope and reason.",
                &["scope", "reason"],
            ),
            hmac_fallback: counter(
                &r,
                "hmac_fallback_total",
                "Webhooks checked by the HMAC fallback, by outcome.",
                &["outcome"],
            ),
            legacy_signature_header: counter(
                &r,
                "legacy_signature_header_total",
                "Webhooks signed under a legacy header name.",
                &["header"],
            ),
            token_cache: counter(
                &r,
                "webhook_token_cache_total",
                "Verified webhook token cache lookups.",
                &["outcome"],
            ),
            publish_duration: histogram(
                &r,
                "publish_duration_seconds",
                "Publish until the broker confirmed.",
                &["queue_kind"],
                latency_buckets(),
            ),
            event_group_size: histogram(
                &r,
                "event_group_size",
                "Events per published event message.",
                &["queue"],
                size_buckets(),
            ),
            event_messages_overlapped: plain_counter(
                &r,
                "event_messages_overlapped_total",
                "Event messages sent while an earlier one of the same lane was unsettled.",
            ),
            publish_failures: counter(
                &r,
                "publish_failures_total",
                "Publishes the broker did not confirm.",
                &["reason"],
            ),
            requests_in_flight: gauge(&r, "http_requests_in_flight", "Requests being handled now."),
            requests_shed: plain_counter(
                &r,
                "http_requests_shed_total",
                "Requests answered 503 at once because too many were in flight.",
            ),
            connection_timeouts: counter(
                &r,
                "http_connection_timeouts_total",
                "Connections closed by the header or idle timeout.",
                &["phase"],
            ),
            body_timeouts: plain_counter(
                &r,
                "http_body_timeouts_total",
                "Request bodies not received within the body timeout.",
            ),
            verification_disabled: gauge(
                &r,
                "signature_verification_disabled",
                "1 when signature verification is off (development only).",
            ),
            events_outboxed: counter(
                &r,
                "events_outboxed_total",
                "Events committed to the outbox instead of the broker, by reason.",
                &["reason"],
            ),
            outbox_write_failures: plain_counter(
                &r,
                "outbox_write_failures_total",
                "Events the broker did not confirm and the outbox could not take (503).",
            ),
            outboxed_workspaces: gauge(
                &r,
                "outboxed_workspaces",
                "Workspaces whose new events go to the outbox until the relay drains it.",
            ),
            tokens_under_old_keys: gauge(
                &r,
                "tokens_under_old_keys",
                "Sealed tokens not under the current key, at the last re-seal.",
            ),
            registry: r,
        }
    }
}

/// A counter without labels, registered like the others.
fn plain_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("metric names are constants");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl Default for IngressMetrics {
    fn default() -> Self {
        Self::new()
    }
}
