//! What every consumer of this tier shares: a channel of its own on the pooled connection, a
//! prefetch, a subscription, a loop that resubscribes after a broker failure, deadlines on
//! settling, and a watchdog for a channel that closed without its consumer hearing of it.

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use futures::FutureExt as _;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use tokio_util::sync::CancellationToken;

use crate::state::WorkerState;

/// How long connecting, opening a channel and subscribing may take together.
pub const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(10);

/// How long acking, rejecting or nacking a delivery may take. Lapin resolves a settle once its
/// frame is handed to the connection; on a connection that died under it, that may never happen,
/// and the settle waits forever. The RabbitMQ drill caught it: one partition's consumer waited
/// on its batch's ack from the moment the broker stopped, never saw the error the others saw,
/// and its queue stayed without a consumer after the broker came back (events accepted and never
/// applied). Past the deadline the channel is taken for dead and the consumer subscribes again;
/// the broker redelivers what was not acked, and redeliveries change nothing.
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(10);

/// `settle` (an ack, nack or reject), bounded by [`SETTLE_DEADLINE`].
pub async fn settle_within<T>(
    what: &'static str,
    settle: impl Future<Output = lapin::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(SETTLE_DEADLINE, settle).await {
        Ok(settled) => Ok(settled?),
        Err(_) => anyhow::bail!(
            "{what} not done within {SETTLE_DEADLINE:?}: the channel is taken for dead"
        ),
    }
}

/// A subscription to one queue.
pub struct Subscription {
    pub channel: Channel,
    pub consumer: Consumer,
    tag: String,
}

impl Subscription {
    /// Subscribes to `queue` with `prefetch` unacked messages at most. The pooled connection goes
    /// back to the pool at once: consumers share it, each on a channel of its own.
    ///
    /// Bounded by [`SUBSCRIBE_DEADLINE`]: a broker that is still starting can take a connection
    /// and leave a request unanswered, and an unbounded wait there would leave the queue without
    /// a consumer for good; after the deadline the caller tries again.
    pub async fn open(state: &WorkerState, queue: &str, prefetch: u16) -> anyhow::Result<Self> {
        tokio::time::timeout(
            SUBSCRIBE_DEADLINE,
            Self::open_unbounded(state, queue, prefetch),
        )
        .await
        .map_err(|_| anyhow::anyhow!("subscribing took longer than {SUBSCRIBE_DEADLINE:?}"))?
    }

    async fn open_unbounded(
        state: &WorkerState,
        queue: &str,
        prefetch: u16,
    ) -> anyhow::Result<Self> {
        let channel = {
            let connection = state.broker.get().await?;
            connection.create_channel().await?
        };
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{queue}-{}", uuid::Uuid::new_v4());
        let consumer = channel
            .basic_consume(
                queue.into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(Self {
            channel,
            consumer,
            tag,
        })
    }

    /// Stops deliveries, then closes: anything prefetched but not settled goes back to the queue.
    /// Bounded like a settle: on a dead connection the channel is simply dropped.
    pub async fn close(self) {
        let closing = async {
            let _ = self
                .channel
                .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
                .await;
            let _ = self.channel.close(200, "worker shutting down".into()).await;
        };
        let _ = tokio::time::timeout(SETTLE_DEADLINE, closing).await;
    }
}

/// Runs `consume` until `shutdown`, starting it again a second after it fails or panics: a
/// queue is never left without its consumer (a panic that ended the task for good would leave
/// the partition unconsumed, its events accepted and never applied, with nothing but one log
/// line to say so).
pub async fn keep_consuming<F, Fut>(queue: &str, shutdown: &CancellationToken, mut consume: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    while !shutdown.is_cancelled() {
        let outcome = std::panic::AssertUnwindSafe(consume())
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(anyhow::anyhow!("consumer panicked: {}", panic_text(&panic)))
            });
        if let Err(error) = outcome {
            tracing::warn!(
                queue,
                error = format!("{error:#}"),
                "consumer stopped; resubscribing"
            );
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// What a panic said, when it said it as text.
fn panic_text(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Resolves once `channel` has not been connected for [`SETTLE_DEADLINE`], checking every second:
/// a watchdog for a consumer that never hears of its connection's end. The RabbitMQ drill caught
/// one on an event partition: when the broker stopped, every consumer of the worker saw the reset and subscribed again
/// once it was back, except one partition's, whose queue was left with no consumer (the broker's
/// `list_consumers` showed it) and its events accepted and never applied.
pub async fn channel_lost(channel: &Channel) -> anyhow::Error {
    let mut lost_since: Option<tokio::time::Instant> = None;
    let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        every_second.tick().await;
        if channel.status().connected() {
            lost_since = None;
            continue;
        }
        let since = *lost_since.get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() >= SETTLE_DEADLINE {
            return anyhow::anyhow!(
                "the subscription's channel has been closed for {SETTLE_DEADLINE:?}; subscribing again"
            );
        }
    }
}
