//! Consuming one event partition: take a batch, apply it in one transaction, ack after commit.
//!
//! Each partition queue has a single active consumer across all worker processes, so a
//! workspace's events apply in order. A transient failure (database away) is retried in place
//! with backoff, holding the batch, so order is kept; a permanent failure is isolated by
//! applying the batch's messages one by one, and a message that fails alone is dead-lettered.
//! A panic in the handler counts as a permanent failure.
//!
//! Traces: a batch has a span linked to every message's publisher; each message has a span of
//! its own, the child of the ingress span that published it (W3C `traceparent` in the headers),
//! open from decoding until its batch is committed and acked.

use std::time::{Duration, Instant};

use futures::{FutureExt as _, StreamExt as _};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use common::job_messages::JobMessage;
use common::messages::{ENVELOPE_VERSION, EventMessage};
use common::trace_context;

use crate::batch::{Applied, apply_batch};
use crate::disposition::Disposition;
use crate::event_outcome::{Outcome, Processed};
use crate::lifecycle::InstallFollowUps;
use crate::state::WorkerState;
use crate::subscription::{Subscription, keep_consuming};

const QUEUE_LABEL: &str = "events";

/// Consumes `queue` until `shutdown`, resubscribing after broker failures.
pub async fn run_partition(state: WorkerState, queue: String, shutdown: CancellationToken) {
    keep_consuming(&queue, &shutdown, || consume(&state, &queue, &shutdown)).await;
}

async fn consume(
    state: &WorkerState,
    queue: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut subscription = Subscription::open(state, queue, state.config.worker_prefetch).await?;
    tracing::info!(queue, "consuming");
    let linger = state.config.worker_batch_linger;
    let limit = state.config.worker_batch_size;
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => break,
            next = subscription.consumer.next() => next,
        };
        let Some(first) = first else {
            anyhow::bail!("the broker cancelled the consumer")
        };
        let mut batch = vec![first?];
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < limit {
            match tokio::time::timeout_at(deadline, subscription.consumer.next()).await {
                Ok(Some(delivery)) => batch.push(delivery?),
                Ok(None) | Err(_) => break,
            }
        }
        let span = tracing::info_span!("events.batch", queue, size = batch.len());
        for delivery in &batch {
            trace_context::link_to(&span, delivery.properties.headers().as_ref());
        }
        if !handle_batch(state, batch, shutdown)
            .instrument(span)
            .await?
        {
            break;
        }
    }
    subscription.close().await;
    tracing::info!(queue, "consumer stopped");
    Ok(())
}

/// Handles one batch. `Ok(false)` means shutdown interrupted a retry and the batch was left
/// unacked for redelivery.
async fn handle_batch(
    state: &WorkerState,
    deliveries: Vec<Delivery>,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    let mut decoded = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        match decode(&delivery.data) {
            Some(message) => decoded.push((delivery, message)),
            None => {
                tracing::error!(
                    redelivered = delivery.redelivered,
                    "undecodable message; dead-lettering"
                );
                dead_letter(state, &delivery).await?;
            }
        }
    }
    if decoded.is_empty() {
        return Ok(true);
    }
    let messages: Vec<EventMessage> = decoded.iter().map(|(_, m)| m.clone()).collect();
    let spans: Vec<tracing::Span> = decoded
        .iter()
        .map(|(delivery, message)| message_span(delivery, message))
        .collect();
    match apply_with_retry(state, &messages, shutdown).await {
        Disposition::Done(applied) => {
            record(state, &messages, &spans, &applied.results);
            ack_all(&decoded).await?;
            publish_follow_ups(state, &messages, &spans, &applied.jobs).await;
            Ok(true)
        }
        Disposition::RetryLater(_) => Ok(false),
        Disposition::GiveUp(error) if decoded.len() == 1 => {
            let (delivery, message) = &decoded[0];
            tracing::error!(
                request_id = %message.request_id,
                message_id = %message.message_id,
                workspace_id = %message.workspace_id,
                error = %error,
                "message cannot be applied; dead-lettering"
            );
            dead_letter(state, delivery).await?;
            Ok(true)
        }
        Disposition::GiveUp(error) => {
            tracing::warn!(size = decoded.len(), error = %error, "batch failed; applying its messages one by one");
            for (delivery, _) in decoded {
                if !Box::pin(handle_batch(state, vec![delivery], shutdown)).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

/// The span of one message's processing, the child of the span that published it.
fn message_span(delivery: &Delivery, message: &EventMessage) -> tracing::Span {
    let span = tracing::info_span!(
        "event",
        request_id = %message.request_id,
        message_id = %message.message_id,
        workspace_id = %message.workspace_id,
        event_type = message.type_label(),
        outcome = tracing::field::Empty,
    );
    trace_context::adopt_parent(&span, delivery.properties.headers().as_ref());
    span
}

/// Publishes the jobs the batch created, each inside the span of the message that created it
/// (same workspace and request), so a job's trace continues its event's.
async fn publish_follow_ups(
    state: &WorkerState,
    messages: &[EventMessage],
    spans: &[tracing::Span],
    jobs: &[JobMessage],
) {
    let publishes = jobs.iter().map(|job| {
        let span = messages
            .iter()
            .zip(spans)
            .find(|(m, _)| m.workspace_id == job.workspace_id && m.request_id == job.request_id)
            .map_or_else(tracing::Span::current, |(_, span)| span.clone());
        crate::publish::publish_jobs(state, std::slice::from_ref(job)).instrument(span)
    });
    futures::future::join_all(publishes).await;
}

async fn apply_with_retry(
    state: &WorkerState,
    messages: &[EventMessage],
    shutdown: &CancellationToken,
) -> Disposition<Applied> {
    let mut delay = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        let follow_ups = InstallFollowUps {
            bootstrap: state.config.bootstrap.auto_on_install,
            extra_webhooks: &state.config.extra_webhook_events,
        };
        let result = std::panic::AssertUnwindSafe(apply_batch(&state.db, messages, follow_ups))
            .catch_unwind()
            .await;
        match result {
            Ok(Ok(applied)) => {
                let metrics = &state.metrics;
                metrics
                    .batch_duration
                    .with_label_values(&[QUEUE_LABEL])
                    .observe(started.elapsed().as_secs_f64());
                metrics
                    .batch_size
                    .with_label_values(&[QUEUE_LABEL])
                    .observe(messages.len() as f64);
                return Disposition::Done(applied);
            }
            Ok(Err(error)) if is_transient(&error) => {
                state
                    .metrics
                    .batch_failures
                    .with_label_values(&[QUEUE_LABEL, "transient"])
                    .inc();
                tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "database unavailable; retrying batch");
            }
            Ok(Err(error)) => {
                state
                    .metrics
                    .batch_failures
                    .with_label_values(&[QUEUE_LABEL, "permanent"])
                    .inc();
                return Disposition::GiveUp(error.to_string());
            }
            Err(_) => {
                state
                    .metrics
                    .batch_failures
                    .with_label_values(&[QUEUE_LABEL, "panic"])
                    .inc();
                return Disposition::GiveUp("handler panicked".into());
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Disposition::RetryLater("shutdown"),
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Errors that say nothing about the messages: the database is away, busy or restarting.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Serialization failure, deadlock, connection exceptions, resources, shutdown.
            matches!(
                code.as_ref(),
                "40001" | "40P01" | "57P01" | "57P02" | "57P03"
            ) || code.starts_with("08")
                || code.starts_with("53")
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

fn decode(data: &[u8]) -> Option<EventMessage> {
    let message: EventMessage = serde_json::from_slice(data).ok()?;
    (message.v <= ENVELOPE_VERSION).then_some(message)
}

fn record(
    state: &WorkerState,
    messages: &[EventMessage],
    spans: &[tracing::Span],
    results: &[Processed],
) {
    let now = chrono::Utc::now();
    for ((message, processed), span) in messages.iter().zip(results).zip(spans) {
        let _entered = span.enter();
        let outcome = processed.outcome.as_str();
        span.record("outcome", outcome);
        state
            .metrics
            .messages_processed
            .with_label_values(&[QUEUE_LABEL, outcome])
            .inc();
        state
            .metrics
            .events_processed
            .with_label_values(&[message.type_label(), outcome])
            .inc();
        let lag = (now - message.accepted_at).to_std().unwrap_or_default();
        state
            .metrics
            .processing_lag
            .with_label_values(&[QUEUE_LABEL])
            .observe(lag.as_secs_f64());
        tracing::info!(
            request_id = %message.request_id,
            message_id = %message.message_id,
            workspace_id = %message.workspace_id,
            event_type = message.type_label(),
            outcome,
            reason = processed.reason.unwrap_or(""),
            "event processed"
        );
    }
}

/// Rejects a delivery without requeue: the queue's dead-letter exchange keeps it, counted.
async fn dead_letter(state: &WorkerState, delivery: &Delivery) -> lapin::Result<()> {
    state
        .metrics
        .messages_processed
        .with_label_values(&[QUEUE_LABEL, Outcome::DeadLettered.as_str()])
        .inc();
    delivery
        .reject(BasicRejectOptions { requeue: false })
        .await?;
    Ok(())
}

/// Acks every delivery of the batch with one frame: the last tag, `multiple`.
async fn ack_all(decoded: &[(Delivery, EventMessage)]) -> lapin::Result<()> {
    if let Some((last, _)) = decoded.iter().max_by_key(|(d, _)| d.delivery_tag) {
        last.ack(BasicAckOptions { multiple: true }).await?;
    }
    Ok(())
}
