//! What a publish came to, for metrics and answers: its duration, and a failure's closed reason
//! (`queue_full`, `unavailable`, ...) with the retry-after its 503 would carry.

use std::time::Instant;

use common::publisher::PublishError;

use crate::metrics::IngressMetrics;

/// When to try again after the broker was unavailable or slow.
pub const RETRY_AFTER_SECS: u32 = 5;
/// When to try again after a full partition: long enough for workers to drain some of it.
pub const QUEUE_FULL_RETRY_AFTER_SECS: u32 = 30;

/// A publish the broker did not confirm, by closed reason.
pub struct NotConfirmed {
    pub reason: &'static str,
}

impl NotConfirmed {
    /// The `Retry-After` of the 503 answered when nothing else took the message.
    pub fn retry_after_secs(&self) -> u32 {
        if self.reason == "queue_full" {
            QUEUE_FULL_RETRY_AFTER_SECS
        } else {
            RETRY_AFTER_SECS
        }
    }
}

/// Records a publish to `queue` of `queue_kind` started at `started`; a failure is counted and
/// logged by reason (a nack on an event partition means it is full).
pub fn observe_publish(
    metrics: &IngressMetrics,
    queue_kind: &'static str,
    queue: &str,
    started: Instant,
    result: Result<(), PublishError>,
) -> Result<(), NotConfirmed> {
    metrics
        .publish_duration
        .with_label_values(&[queue_kind])
        .observe(started.elapsed().as_secs_f64());
    result.map_err(|error| {
        let reason = match (&error, queue_kind) {
            (PublishError::Unavailable(_), _) => "unavailable",
            (PublishError::Nacked, "events") => "queue_full",
            (PublishError::Nacked, _) => "nacked",
            (PublishError::Unroutable, _) => "unroutable",
            (PublishError::Timeout, _) => "timeout",
        };
        metrics.publish_failures.with_label_values(&[reason]).inc();
        tracing::warn!(error = %error, queue, reason, "publish not confirmed");
        NotConfirmed { reason }
    })
}
