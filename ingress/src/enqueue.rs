//! Publishing accepted work: serialise, route (events to their workspace's partition lane, jobs
//! to their queue), and answer once it is durable.
//!
//! An event goes through its partition's lane ([`crate::group_commit`]): it is confirmed by the
//! broker, alone or in a batch with the events accepted while the partition's previous message
//! awaited its confirm, or committed to the outbox (PostgreSQL) when the broker does not confirm
//! it or its workspace already has events there (once the relay is down to the workspace's last
//! rows, its new events wait a moment for them instead). Only when the outbox cannot take it
//! either is the answer 503 with `Retry-After`. Jobs have no outbox: an unconfirmed job is a 503.

use std::time::Instant;

use lapin::types::FieldTable;
use tokio::sync::oneshot;

use common::job_messages::JobMessage;
use common::messages::{EventMessage, partition_of};

use crate::error::ApiError;
use crate::group_commit::Accepted;
use crate::publish_outcome::{NotConfirmed, RETRY_AFTER_SECS, observe_publish};
use crate::state::AppState;

/// Hands `message` to its partition's lane and waits until it is durable (confirmed in a
/// message of the broker, or committed to the outbox); Err is the 503 to answer.
#[tracing::instrument(skip_all, fields(request_id = %message.request_id))]
pub async fn enqueue_event(state: &AppState, message: &EventMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let partition = partition_of(&message.workspace_id, state.queues.partitions());
    // This span's context travels with the event, in its message or inside its batch.
    let mut trace = FieldTable::default();
    common::trace_context::inject_current(&mut trace);
    let (answer, answered) = oneshot::channel();
    let accepted = Accepted {
        workspace_id: message.workspace_id.clone(),
        message_id: message.message_id,
        request_id: message.request_id.clone(),
        body,
        trace,
        answer,
    };
    let unavailable = |retry_after_secs| ApiError::Unavailable { retry_after_secs };
    // Once the broker is back and the relay has only a few of the workspace's rows left, its
    // new events wait a moment for them rather than join them (so the outbox empties and the
    // workspace goes back to the broker under a steady load).
    state
        .outboxed
        .wait_while_draining(&message.workspace_id)
        .await;
    if state.lanes.submit(partition, accepted).is_err() {
        return Err(unavailable(RETRY_AFTER_SECS));
    }
    match answered.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(retry_after)) => Err(unavailable(retry_after)),
        // The lane ended without answering (shutting down).
        Err(_) => Err(unavailable(RETRY_AFTER_SECS)),
    }
}

/// Enqueues a job message on its queue; returns once the broker confirmed.
pub async fn enqueue_job(state: &AppState, message: &JobMessage) -> Result<(), ApiError> {
    let body = serde_json::to_vec(message).map_err(|e| ApiError::Internal(e.into()))?;
    let queue = state.queues.job_queue(message);
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
    observe_publish(&state.metrics, "jobs", &queue, started, result).map_err(
        |failure: NotConfirmed| ApiError::Unavailable {
            retry_after_secs: failure.retry_after_secs(),
        },
    )
}
