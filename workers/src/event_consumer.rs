//! Consuming one event partition: take deliveries up to `WORKER_BATCH_SIZE` events, take them
//! apart into events ([`crate::event_deliveries`]), apply them in one transaction, ack after
//! commit.
//!
//! Each partition queue has a single active consumer across all worker processes, so a
//! workspace's events apply in order. A transient failure (database away) is retried in place
//! with backoff, holding the batch, so order is kept; a permanent failure is isolated by
//! applying the batch's events one by one, and an event that fails alone is dead-lettered
//! alone, whether it came in a message of its own or inside a batch of ingress's.
//! A panic in the handler counts as a permanent failure.
//!
//! Traces: a batch has a span linked to every event's publisher; each event has a span of
//! its own, the child of the ingress span that accepted it (W3C `traceparent` in the headers,
//! or beside the event inside a batch), open from decoding until its batch is committed and acked.

use std::time::{Duration, Instant};

use futures::{FutureExt as _, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use common::messages::EventMessage;

use crate::batch::{Applied, apply_batch};
use crate::disposition::Disposition;
use crate::event_deliveries::{Events, Fetched, QUEUE_LABEL};
use crate::event_outcome::Processed;
use crate::installation_cache::InstallationCache;
use crate::lifecycle::InstallFollowUps;
use crate::state::WorkerState;
use crate::subscription::{Subscription, keep_consuming};

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
    // This subscription's own: another process may have owned the partition before it.
    let mut cache = InstallationCache::default();
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
        let first = Fetched::new(first?);
        let mut events = first.events();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while events < limit {
            match tokio::time::timeout_at(deadline, subscription.consumer.next()).await {
                Ok(Some(delivery)) => {
                    let fetched = Fetched::new(delivery?);
                    events += fetched.events();
                    batch.push(fetched);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let span = tracing::info_span!("events.batch", queue, size = events);
        if !handle_batch(state, queue, batch, &span, &mut cache, shutdown)
            .instrument(span.clone())
            .await?
        {
            break;
        }
    }
    subscription.close().await;
    tracing::info!(queue, "consumer stopped");
    Ok(())
}

/// Handles one batch of deliveries. `Ok(false)` means shutdown interrupted a retry and the
/// deliveries were left unacked for redelivery.
async fn handle_batch(
    state: &WorkerState,
    queue: &str,
    fetched: Vec<Fetched>,
    span: &tracing::Span,
    cache: &mut InstallationCache,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    let mut events = Events::take_apart(state, fetched).await?;
    events.link(span);
    if events.is_empty() {
        return Ok(true);
    }
    match apply_with_retry(state, &events.messages, cache, shutdown).await {
        Disposition::Done(applied) => {
            // Acked first: a process killed after logging "event processed" has settled it.
            events.ack().await?;
            record(state, &events.messages, &events.spans, &applied.results);
            events.publish_follow_ups(state, &applied.jobs).await;
            Ok(true)
        }
        Disposition::RetryLater(_) => Ok(false),
        Disposition::GiveUp(error) => {
            if events.messages.len() > 1 {
                tracing::warn!(size = events.messages.len(), error = %error, "batch failed; applying its events one by one");
            }
            apply_one_by_one(state, queue, &mut events, error, cache, shutdown).await
        }
    }
}

/// Applies each event in its own transaction, in order; one that fails alone is dead-lettered
/// alone. The deliveries are acked at the end (a crash before that redelivers them, and the
/// events already committed are then recognised and change nothing).
async fn apply_one_by_one(
    state: &WorkerState,
    queue: &str,
    events: &mut Events,
    batch_error: String,
    cache: &mut InstallationCache,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    for index in 0..events.messages.len() {
        let message = std::slice::from_ref(&events.messages[index]);
        let outcome = if events.messages.len() == 1 {
            // The batch was this event alone: its failure is already known.
            Disposition::GiveUp(batch_error.clone())
        } else {
            apply_with_retry(state, message, cache, shutdown).await
        };
        match outcome {
            Disposition::Done(applied) => {
                let spans = std::slice::from_ref(&events.spans[index]);
                record(state, message, spans, &applied.results);
                events.publish_follow_ups(state, &applied.jobs).await;
            }
            Disposition::RetryLater(_) => return Ok(false),
            Disposition::GiveUp(error) => {
                let message = &message[0];
                tracing::error!(
                    request_id = %message.request_id,
                    message_id = %message.message_id,
                    workspace_id = %message.workspace_id,
                    error = %error,
                    "event cannot be applied; dead-lettering it alone"
                );
                events.dead_letter(state, queue, index).await?;
            }
        }
    }
    events.ack().await?;
    Ok(true)
}

async fn apply_with_retry(
    state: &WorkerState,
    messages: &[EventMessage],
    cache: &mut InstallationCache,
    shutdown: &CancellationToken,
) -> Disposition<Applied> {
    let mut delay = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        let follow_ups = InstallFollowUps {
            bootstrap: state.config.bootstrap.auto_on_install,
            extra_webhooks: &state.config.extra_webhook_events,
        };
        let result =
            std::panic::AssertUnwindSafe(apply_batch(&state.db, messages, follow_ups, cache))
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
