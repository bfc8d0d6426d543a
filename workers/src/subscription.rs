//! What every consumer of this tier shares: a channel of its own on the pooled connection, a
//! prefetch, a subscription, and a loop that resubscribes after a broker failure.

use std::future::Future;
use std::time::Duration;

use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use tokio_util::sync::CancellationToken;

use crate::state::WorkerState;

/// A subscription to one queue.
pub struct Subscription {
    pub channel: Channel,
    pub consumer: Consumer,
    tag: String,
}

impl Subscription {
    /// Subscribes to `queue` with `prefetch` unacked messages at most. The pooled connection goes
    /// back to the pool at once: consumers share it, each on a channel of its own.
    pub async fn open(state: &WorkerState, queue: &str, prefetch: u16) -> anyhow::Result<Self> {
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
    pub async fn close(self) {
        let _ = self
            .channel
            .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
            .await;
        let _ = self.channel.close(200, "worker shutting down".into()).await;
    }
}

/// Runs `consume` until `shutdown`, starting it again a second after it fails.
pub async fn keep_consuming<F, Fut>(queue: &str, shutdown: &CancellationToken, mut consume: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    while !shutdown.is_cancelled() {
        if let Err(error) = consume().await {
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
