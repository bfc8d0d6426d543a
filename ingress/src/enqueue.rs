//! Publishing accepted work: serialise, route (events to the workspace's partition, jobs to their
//! queue), wait for the broker's confirm. Every publish is timed and every failure counted by
//! reason; a nack on an event partition means the partition is full (`EVENT_QUEUE_MAX_LENGTH`),
//! counted as `queue_full`.
//!
//! An event the broker did not confirm is committed to the outbox (PostgreSQL) instead, and the
//! caller answers 200 after that commit; the workers' relay publishes it later. A workspace with
//! events in the outbox sends its next ones there too ([`crate::outbox`]), so none overtakes
//! them; once the broker is back and only a few are left, its next ones wait a moment for the
//! relay to publish those, then go straight to the broker. Only when the outbox cannot take it either is the answer 503 with `Retry-After`. Jobs
//! have no outbox: an unconfirmed job is a 503.

use std::time::Instant;

use common::db::outbox::NewRow;
use common::job_messages::JobMessage;
use common::messages::{EventMessage, partition_of};
use common::publisher::PublishError;

use crate::error::ApiError;
use crate::outbox::{OutboxWrite, Route};
use crate::state::AppState;

/// When to try again after the broker was unavailable or slow.
const RETRY_AFTER_SECS: u32 = 5;
/// When to try again after a full partition: long enough for workers to drain some of it.
const QUEUE_FULL_RETRY_AFTER_SECS: u32 = 30;

/// A publish the broker did not confirm, by closed reason.
struct NotConfirmed {
    reason: &'static str,
}

impl NotConfirmed {
    fn into_api_error(self) -> ApiError {
        ApiError::Unavailable {
            retry_after_secs: if self.reason == "queue_full" {
                QUEUE_FULL_RETRY_AFTER_SECS
            } else {
                RETRY_AFTER_SECS
            },
        }
    }
}

/// Enqueues `message` on its workspace's event partition, or commits it to the outbox when the
/// broker does not confirm it (or the workspace is already outboxed); Ok means it is durable.
#[tracing::instrument(skip_all, fields(request_id = %message.request_id))]
pub async fn enqueue_event(state: &AppState, message: &EventMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let partition = partition_of(&message.workspace_id, state.queues.partitions());
    if let Route::Outbox(write) = state
        .outboxed
        .route_after_drain(&message.workspace_id)
        .await
    {
        return write_outbox(state, message, partition, &body, write, "behind_outbox")
            .await
            .map_err(|()| ApiError::Unavailable {
                retry_after_secs: RETRY_AFTER_SECS,
            });
    }
    let queue = state.queues.event_partition(partition);
    let message_id = message.message_id.to_string();
    match publish(
        state,
        "events",
        &queue,
        &message_id,
        &message.request_id,
        &body,
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(failure) => {
            let write = state.outboxed.start_write(&message.workspace_id);
            match write_outbox(state, message, partition, &body, write, failure.reason).await {
                Ok(()) => Ok(()),
                Err(()) => Err(failure.into_api_error()),
            }
        }
    }
}

/// Commits the event to the outbox; Err when the database could not take it (logged, counted).
async fn write_outbox(
    state: &AppState,
    message: &EventMessage,
    partition: u16,
    body: &[u8],
    write: OutboxWrite,
    reason: &'static str,
) -> Result<(), ()> {
    let row = NewRow {
        workspace_id: message.workspace_id.clone(),
        partition,
        message_id: message.message_id,
        request_id: message.request_id.clone(),
        body: body.to_vec(),
    };
    let inserted = state.outbox_writer.write(row).await;
    match inserted {
        Ok(()) => {
            write.committed();
            state
                .metrics
                .events_outboxed
                .with_label_values(&[reason])
                .inc();
            Ok(())
        }
        Err(error) => {
            drop(write);
            state.metrics.outbox_write_failures.inc();
            tracing::error!(%error, reason, "event neither confirmed by the broker nor committed to the outbox");
            Err(())
        }
    }
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
    .map_err(NotConfirmed::into_api_error)
}

async fn publish(
    state: &AppState,
    queue_kind: &'static str,
    queue: &str,
    message_id: &str,
    request_id: &str,
    body: &[u8],
) -> Result<(), NotConfirmed> {
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
        NotConfirmed { reason }
    })
}
