//! Publishing accepted work: serialise, route (events to the workspace's partition, jobs to their
//! queue), wait for the broker's confirm. A publish that is not confirmed becomes a 503 with
//! `Retry-After`; every publish is timed and every failure counted by reason. A nack on an
//! event partition means the partition is full (`EVENT_QUEUE_MAX_LENGTH`): counted as
//! `queue_full`, answered 503 with a longer `Retry-After` so the backlog can drain.

use std::time::Instant;

use common::job_messages::JobMessage;
use common::messages::{EventMessage, partition_of};
use common::publisher::PublishError;

use crate::error::ApiError;
use crate::state::AppState;

/// When to try again after the broker was unavailable or slow.
const RETRY_AFTER_SECS: u32 = 5;
/// When to try again after a full partition: long enough for workers to drain some of it.
const QUEUE_FULL_RETRY_AFTER_SECS: u32 = 30;

/// Enqueues `message` on its workspace's event partition; returns once the broker confirmed.
pub async fn enqueue_event(state: &AppState, message: &EventMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let partition = partition_of(&message.workspace_id, state.queues.partitions());
    let queue = state.queues.event_partition(partition);
    publish(
        state,
        "events",
        &queue,
        &message.message_id.to_string(),
        &message.request_id,
        &body,
    )
    .await
}

/// Enqueues a job message on its queue; returns once the broker confirmed.
pub async fn enqueue_job(state: &AppState, message: &JobMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let queue = state.queues.job_queue(message);
    publish(
        state,
        "jobs",
        &queue,
        &message.message_id.to_string(),
        &message.request_id,
        &body,
    )
    .await
}

async fn publish(
    state: &AppState,
    queue_kind: &'static str,
    queue: &str,
    message_id: &str,
    request_id: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    let started = Instant::now();
    let result = state
        .publisher
        .publish(queue, message_id, request_id, body)
        .await;
    state
        .metrics
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
        state
            .metrics
            .publish_failures
            .with_label_values(&[reason])
            .inc();
        tracing::warn!(error = %error, queue, reason, "publish not confirmed");
        ApiError::Unavailable {
            retry_after_secs: if reason == "queue_full" {
                QUEUE_FULL_RETRY_AFTER_SECS
            } else {
                RETRY_AFTER_SECS
            },
        }
    })
}
