//! Consuming one event partition: take deliveries up to `WORKER_BATCH_SIZE` events, take them
//! apart into events ([`crate::event_deliveries`]), apply them in one transaction, ack after
//! commit.
//!
//! A batch of webhooks only is written in one statement ([`crate::batch`]), and while it is
//! written the next batch is taken from the queue (all that arrives until the write is done,
//! [`crate::event_intake`]), decoded and decided against its entities' stored states with the
//! written batch's states laid over them: the worker's part and the state read of one batch
//! overlap with the write of the one before. Writes stay one at a time and in queue order; if a
//! write does not go through as staged (a redelivery), the next batch is decided again once the
//! careful path is done.
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

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use common::busy_pace::BusyPace;
use common::messages::EventMessage;

use crate::batch::{Applied, StagedBatch, apply_batch, write_staged};
use crate::batch_retry::{Tries, with_retry};
use crate::disposition::Disposition;
use crate::event_deliveries::{Events, QUEUE_LABEL};
use crate::event_intake::{Prepared, collect};
use crate::event_outcome::Processed;
use crate::installation_cache::InstallationCache;
use crate::lifecycle::InstallFollowUps;
use crate::state::WorkerState;
use crate::subscription::{Subscription, channel_lost, keep_consuming};

/// The batch a busy partition's longer linger must be expected to gather for the wait to be
/// worth it (1,280 events/s at the default 25 ms).
const BUSY_BATCH_EVENTS: usize = 32;

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
    let mut pace = BusyPace::new(
        state.config.worker_batch_linger,
        state.config.worker_batch_busy_linger,
        BUSY_BATCH_EVENTS,
    );
    // The batch taken (and staged) while the one before it was written.
    let mut next: Option<Prepared> = None;
    loop {
        let prepared = match next.take() {
            Some(prepared) => prepared,
            None => match collect(state, &mut subscription, shutdown, &mut pace, None).await? {
                Some(fetched) => Prepared::new(state, queue, fetched, &mut cache, None).await?,
                None => break,
            },
        };
        if prepared.events.is_empty() {
            continue;
        }
        let Prepared {
            events,
            span,
            staged,
        } = prepared;
        let Some(staged) = staged else {
            if !handle_batch(state, queue, events, &mut cache, shutdown)
                .instrument(span.clone())
                .await?
            {
                break;
            }
            continue;
        };
        // The write of this batch overlaps with taking the next one from the queue, decoding it
        // and reading its entities' states (decided as if this one were written). Writes stay one
        // at a time, in queue order: the next batch is written only once this one is settled.
        let overlay = staged.states_after();
        let channel = subscription.channel.clone();
        let (written, previous) = watch::channel(false);
        // The batch's span ends as soon as the batch is settled: this future itself lives on
        // until the next batch has been taken in, which on a quiet partition is never.
        let settle = async move {
            let settled = settle_staged(state, queue, events, &staged, shutdown)
                .instrument(span)
                .await;
            let _ = written.send(true);
            settled
        };
        let following = async {
            match collect(
                state,
                &mut subscription,
                shutdown,
                &mut pace,
                Some(previous),
            )
            .await?
            {
                Some(fetched) => Prepared::new(state, queue, fetched, &mut cache, Some(&overlay))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (settled, following) = {
            tokio::pin!(settle, following);
            let mut taken = None;
            let settled = loop {
                tokio::select! {
                    settled = &mut settle => break settled,
                    next = &mut following, if taken.is_none() => taken = Some(next),
                    // Nothing is acked once the channel is gone: what this batch wrote is
                    // redelivered and recognised, so the wait can be given up safely.
                    dead = channel_lost(&channel) => break Err(dead),
                }
            };
            // A failure to settle ends the subscription at once (what the next batch took goes
            // back to the queue with its channel); otherwise the next batch is awaited.
            let settled = settled?;
            let following = match taken {
                Some(next) => next,
                None => following.await,
            };
            (settled, following)
        };
        let following = match settled {
            Settled::AsStaged => following?,
            // Decided again: the overlay it was decided with did not go in as staged.
            Settled::Otherwise => match following? {
                Some(prepared) => Some(prepared.restage(state, &mut cache).await),
                None => None,
            },
            Settled::Interrupted => break,
        };
        next = following;
    }
    subscription.close().await;
    tracing::info!(queue, "consumer stopped");
    Ok(())
}

/// How a staged batch was settled.
enum Settled {
    /// Written as staged, acked and recorded.
    AsStaged,
    /// Settled by the careful path (a redelivery, or a write that failed for good).
    Otherwise,
    /// Shutdown interrupted a retry; the deliveries stay unacked for redelivery.
    Interrupted,
}

/// Writes a staged batch (retrying while the database is away), then acks and records it; a
/// batch whose write does not go through as staged (some event logged already, or a failure for
/// good) takes the careful path at once, without waiting for the next batch.
async fn settle_staged(
    state: &WorkerState,
    queue: &str,
    events: Events,
    staged: &StagedBatch,
    shutdown: &CancellationToken,
) -> anyhow::Result<Settled> {
    let written = with_retry(state, events.messages.len(), shutdown, || {
        write_staged(&state.event_db, staged)
    })
    .await;
    match written {
        Disposition::Done(true) => {
            // Acked first: a process killed after logging "event processed" has settled it.
            events.ack().await?;
            record(state, &events.messages, &events.spans, &staged.results);
            Ok(Settled::AsStaged)
        }
        Disposition::Done(false) | Disposition::GiveUp(_) => {
            // A batch of webhooks only: the careful path forgets nothing in a cache, so it gets
            // one of its own while the partition's is staging the next batch.
            let mut cache = InstallationCache::default();
            Ok(
                if handle_batch(state, queue, events, &mut cache, shutdown).await? {
                    Settled::Otherwise
                } else {
                    Settled::Interrupted
                },
            )
        }
        Disposition::RetryLater(_) => Ok(Settled::Interrupted),
    }
}

/// Handles one batch on the path that takes any message: applied whole with retries, or event by
/// event when it fails for good. `Ok(false)` means shutdown interrupted a retry and the
/// deliveries were left unacked for redelivery.
async fn handle_batch(
    state: &WorkerState,
    queue: &str,
    mut events: Events,
    cache: &mut InstallationCache,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
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

/// Applies a batch on the path that takes any message, retrying while the database is away.
async fn apply_with_retry(
    state: &WorkerState,
    messages: &[EventMessage],
    cache: &mut InstallationCache,
    shutdown: &CancellationToken,
) -> Disposition<Applied> {
    let follow_ups = InstallFollowUps {
        bootstrap: state.config.bootstrap.auto_on_install,
        extra_webhooks: &state.config.extra_webhook_events,
    };
    // The loop is the caller's because each try borrows `cache` mutably.
    let mut tries = Tries::start(state, messages.len(), shutdown);
    loop {
        let result = Tries::run(apply_batch(&state.event_db, messages, follow_ups, cache)).await;
        if let Some(disposition) = tries.settle(result).await {
            return disposition;
        }
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
