//! Publishing an accepted event: serialise, route to the workspace's partition, wait for the
//! broker's confirm. A publish that is not confirmed becomes a 503 with `Retry-After`.

use std::time::Instant;

use common::messages::{EventMessage, partition_of};

use crate::AppState;
use crate::error::ApiError;

/// Enqueues `message` on its workspace's event partition; returns once the broker confirmed.
pub async fn enqueue_event(state: &AppState, message: &EventMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let partition = partition_of(&message.workspace_id, state.queues.partitions());
    let queue = state.queues.event_partition(partition);
    let started = Instant::now();
    let result = state
        .publisher
        .publish(
            &queue,
            &message.message_id.to_string(),
            &message.request_id,
            &body,
        )
        .await;
    state
        .metrics
        .publish_duration
        .with_label_values(&["events"])
        .observe(started.elapsed().as_secs_f64());
    result.map_err(|error| {
        let reason = match &error {
            common::publisher::PublishError::Unavailable(_) => "unavailable",
            common::publisher::PublishError::Nacked => "nacked",
            common::publisher::PublishError::Unroutable => "unroutable",
            common::publisher::PublishError::Timeout => "timeout",
        };
        state
            .metrics
            .publish_failures
            .with_label_values(&[reason])
            .inc();
        tracing::warn!(error = %error, queue = %queue, "publish not confirmed");
        ApiError::Unavailable {
            retry_after_secs: 5,
        }
    })
}

/// Enqueues a job message on its queue; returns once the broker confirmed.
pub async fn enqueue_job(
    state: &AppState,
    message: &common::jobs::JobMessage,
) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let queue = state.queues.job_queue(message);
    state
        .publisher
        .publish(
            &queue,
            &message.message_id.to_string(),
            &message.request_id,
            &body,
        )
        .await
        .map_err(|error| {
            tracing::warn!(error = %error, queue = %queue, "job publish not confirmed");
            ApiError::Unavailable {
                retry_after_secs: 5,
            }
        })
}
