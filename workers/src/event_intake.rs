//! Taking a partition's next batch in: deliveries collected from its subscription up to
//! `WORKER_BATCH_SIZE` events, taken apart into events, and, for a batch of webhooks only,
//! staged (decided against the installations and the entities' states) ready to be written.

use common::busy_pace::BusyPace;
use futures::StreamExt as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::batch::{StagedBatch, StatesAfter, stage_webhooks};
use crate::event_deliveries::{Events, Fetched};
use crate::installation_cache::InstallationCache;
use crate::state::WorkerState;
use crate::subscription::{Subscription, channel_lost};

/// Takes deliveries up to `WORKER_BATCH_SIZE` events: waits for the first, then takes what comes
/// within the linger `pace` gives (longer while the partition is busy) and, when `previous` is
/// given, for as long as the partition's previous batch is still being written (it says when it
/// is done): a batch holds what arrived while the one before it was written, so the batches grow
/// as the load does, and at a low rate the writes do not multiply. `None` on shutdown.
pub async fn collect(
    state: &WorkerState,
    subscription: &mut Subscription,
    shutdown: &CancellationToken,
    pace: &mut BusyPace,
    mut previous: Option<watch::Receiver<bool>>,
) -> anyhow::Result<Option<Vec<Fetched>>> {
    let channel = subscription.channel.clone();
    let first = tokio::select! {
        () = shutdown.cancelled() => return Ok(None),
        next = subscription.consumer.next() => next,
        dead = channel_lost(&channel) => return Err(dead),
    };
    let Some(first) = first else {
        anyhow::bail!("the broker cancelled the consumer")
    };
    let first = Fetched::new(first?);
    let mut events = first.events();
    let mut batch = vec![first];
    let arrived = tokio::time::Instant::now();
    let deadline = arrived + pace.linger(arrived.into_std());
    while events < state.config.worker_batch_size {
        let lingered = tokio::time::Instant::now() >= deadline;
        let previous_written = previous.as_ref().is_none_or(|written| *written.borrow());
        if lingered && previous_written {
            break;
        }
        tokio::select! {
            delivery = subscription.consumer.next() => match delivery {
                Some(delivery) => {
                    let fetched = Fetched::new(delivery?);
                    events += fetched.events();
                    batch.push(fetched);
                }
                None => break,
            },
            () = tokio::time::sleep_until(deadline), if !lingered => {}
            dead = channel_lost(&channel) => return Err(dead),
            changed = wait_changed(&mut previous), if lingered && !previous_written => {
                if changed.is_err() {
                    // The previous batch's writer is gone (its failure ends this subscription).
                    previous = None;
                }
            }
        }
    }
    pace.record(tokio::time::Instant::now().into_std(), events);
    Ok(Some(batch))
}

async fn wait_changed(
    previous: &mut Option<watch::Receiver<bool>>,
) -> Result<(), watch::error::RecvError> {
    match previous {
        Some(written) => written.changed().await,
        None => std::future::pending().await,
    }
}

/// A batch taken apart, with its span and, for a batch of webhooks only, its staged writes.
pub struct Prepared {
    pub events: Events,
    pub span: tracing::Span,
    pub staged: Option<StagedBatch>,
}

impl Prepared {
    pub async fn new(
        state: &WorkerState,
        queue: &str,
        fetched: Vec<Fetched>,
        cache: &mut InstallationCache,
        overlay: Option<&StatesAfter>,
    ) -> anyhow::Result<Self> {
        let events = Events::take_apart(state, fetched).await?;
        let span = tracing::info_span!("events.batch", queue, size = events.messages.len());
        events.link(&span);
        let mut prepared = Self {
            events,
            span,
            staged: None,
        };
        prepared.stage(state, cache, overlay).await;
        Ok(prepared)
    }

    /// Decides the batch again, without the overlay of a batch that was not written as staged.
    pub async fn restage(mut self, state: &WorkerState, cache: &mut InstallationCache) -> Self {
        self.stage(state, cache, None).await;
        self
    }

    /// A staging that fails (the database away) leaves the batch to the path that retries.
    async fn stage(
        &mut self,
        state: &WorkerState,
        cache: &mut InstallationCache,
        overlay: Option<&StatesAfter>,
    ) {
        if self.events.is_empty() {
            return;
        }
        let staged = stage_webhooks(&state.event_db, &self.events.messages, cache, overlay)
            .instrument(self.span.clone())
            .await;
        self.staged = staged.unwrap_or_else(|error| {
            tracing::debug!(error = %error, "staging failed; the batch takes the retrying path");
            None
        });
    }
}
