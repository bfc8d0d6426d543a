//! Persistent publishing with publisher confirms, pipelined over a few channels.
//!
//! A publish resolves only when the broker has confirmed it (it is then on disk in a quorum
//! queue); concurrent callers share channels, so many confirms are in flight at once. A broken
//! channel is replaced on the next publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deadpool_lapin::Pool;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};
use tokio::sync::Mutex;

/// Why a publish did not get a confirm.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The broker nacked: for a queue with `x-overflow: reject-publish` (the event partitions)
    /// that means it is at its maximum length; otherwise an internal error of the queue.
    #[error("broker refused the message")]
    Nacked,
    #[error("no queue took the message")]
    Unroutable,
    #[error("broker did not confirm in time")]
    Timeout,
}

/// One message to publish, with what travels beside its body.
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub request_id: &'a str,
    pub body: &'a [u8],
    /// Extra headers (`x-request-id` is added).
    pub headers: FieldTable,
    /// The AMQP `type` property (`messages::BATCH_KIND` for a batch of events).
    pub kind: Option<&'a str>,
}

impl<'a> Outgoing<'a> {
    /// A message carrying the current span's trace context (`traceparent`) and no `type`.
    pub fn traced(message_id: &'a str, request_id: &'a str, body: &'a [u8]) -> Self {
        let mut headers = FieldTable::default();
        crate::trace_context::inject_current(&mut headers);
        Self {
            message_id,
            request_id,
            body,
            headers,
            kind: None,
        }
    }
}

/// Publishes to queues by name through the default exchange.
#[derive(Clone)]
pub struct Publisher {
    pool: Pool,
    slots: Arc<Vec<Mutex<Option<Channel>>>>,
    next: Arc<AtomicUsize>,
    /// The most one publish may take, from getting a channel to the broker's confirm: a
    /// half-dead connection must not hold a request (and its caller) past it.
    deadline: Duration,
}

impl Publisher {
    pub fn new(pool: Pool, channels: usize) -> Self {
        Self {
            pool,
            slots: Arc::new((0..channels.max(1)).map(|_| Mutex::new(None)).collect()),
            next: Arc::new(AtomicUsize::new(0)),
            deadline: Duration::from_secs(10),
        }
    }

    /// Publishes `body` persistently to `queue` and waits for the broker's confirm. The current
    /// span's trace context travels in the headers (`traceparent`), beside `x-request-id`.
    /// Getting a channel counts against the same deadline as the confirm.
    pub async fn publish(
        &self,
        queue: &str,
        message_id: &str,
        request_id: &str,
        body: &[u8],
    ) -> Result<(), PublishError> {
        self.publish_with(queue, Outgoing::traced(message_id, request_id, body))
            .await
    }

    /// Publishes `message` with the headers it brings (a trace context taken earlier, the
    /// dead-letter headers) and its `type` property, under the same deadline as [`Self::publish`].
    pub async fn publish_with(
        &self,
        queue: &str,
        message: Outgoing<'_>,
    ) -> Result<(), PublishError> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed);
        self.send_on(slot, queue, message).await?.confirmed().await
    }

    /// Hands `message` to the broker on channel `slot` (modulo the channels) and returns without
    /// waiting for its confirm, under the same deadline as [`Self::publish_with`] from now. A
    /// caller that sends its messages one after the other on one slot has them enqueued in that
    /// order, with several in flight at once (an ingress lane).
    pub async fn send_on(
        &self,
        slot: usize,
        queue: &str,
        message: Outgoing<'_>,
    ) -> Result<PendingConfirm, PublishError> {
        let deadline = tokio::time::Instant::now() + self.deadline;
        let sent = tokio::time::timeout_at(deadline, async {
            let channel = self.channel_at(slot % self.slots.len()).await?;
            send(&channel, queue, &message).await
        })
        .await
        .map_err(|_| PublishError::Timeout)??;
        Ok(PendingConfirm {
            confirm: sent,
            deadline,
        })
    }

    /// Publishes `messages` to `queue` in this order on one channel, all of them in flight at
    /// once, and waits for their confirms (one deadline over the whole sequence); returns each
    /// message's outcome, in order. The broker enqueues a channel's messages in the order they
    /// were sent, so what it takes keeps this order; a message it refuses (nack) does not stop
    /// the later ones, which the caller must allow for.
    pub async fn publish_in_order(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<(), PublishError>> {
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut outcomes = Vec::with_capacity(messages.len());
        let channel = match tokio::time::timeout_at(deadline, self.channel()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => {
                outcomes.push(Err(error));
                return fill(outcomes, messages.len());
            }
            Err(_) => return fill(vec![Err(PublishError::Timeout)], messages.len()),
        };
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let sent = tokio::time::timeout_at(deadline, send(&channel, queue, message)).await;
            match sent {
                Ok(Ok(confirm)) => confirms.push(confirm),
                Ok(Err(error)) => {
                    outcomes.push(Err(error));
                    break;
                }
                Err(_) => {
                    outcomes.push(Err(PublishError::Timeout));
                    break;
                }
            }
        }
        let mut confirmed = Vec::with_capacity(confirms.len());
        for confirm in confirms {
            confirmed.push(match tokio::time::timeout_at(deadline, confirm).await {
                Ok(result) => settle(result),
                Err(_) => Err(PublishError::Timeout),
            });
        }
        // Confirms come first: they belong to the messages sent before any that failed to go.
        confirmed.append(&mut outcomes);
        fill(confirmed, messages.len())
    }

    /// The connection pool it publishes over (the dead-letter tools read through it too).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether a channel can be had now (readiness).
    pub async fn check(&self) -> Result<(), PublishError> {
        tokio::time::timeout(Duration::from_secs(3), self.channel())
            .await
            .map_err(|_| PublishError::Timeout)?
            .map(|_| ())
    }

    async fn channel(&self) -> Result<Channel, PublishError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        self.channel_at(index).await
    }

    async fn channel_at(&self, index: usize) -> Result<Channel, PublishError> {
        let mut slot = self.slots[index].lock().await;
        if let Some(channel) = slot.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let connection = tokio::time::timeout(Duration::from_secs(5), self.pool.get())
            .await
            .map_err(|_| PublishError::Unavailable("connecting timed out".into()))?
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        *slot = Some(channel.clone());
        Ok(channel)
    }
}

/// A message the broker has been handed and has not confirmed yet.
pub struct PendingConfirm {
    confirm: lapin::PublisherConfirm,
    deadline: tokio::time::Instant,
}

impl PendingConfirm {
    /// Waits for the broker's word on the message, until the deadline set when it was sent.
    pub async fn confirmed(self) -> Result<(), PublishError> {
        match tokio::time::timeout_at(self.deadline, self.confirm).await {
            Ok(result) => settle(result),
            Err(_) => Err(PublishError::Timeout),
        }
    }
}

/// Sends one persistent, mandatory message on `channel` with its headers, `x-request-id` and
/// `type`; the returned future is its confirm.
async fn send(
    channel: &Channel,
    queue: &str,
    message: &Outgoing<'_>,
) -> Result<lapin::PublisherConfirm, PublishError> {
    let mut headers = message.headers.clone();
    headers.insert(
        "x-request-id".into(),
        AMQPValue::LongString(LongString::from(message.request_id)),
    );
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(message.message_id.into())
        .with_headers(headers);
    if let Some(kind) = message.kind {
        properties = properties.with_type(kind.into());
    }
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            message.body,
            properties,
        )
        .await
        .map_err(|e| PublishError::Unavailable(e.to_string()))
}

/// What a confirm says about its message.
fn settle(confirmation: lapin::Result<Confirmation>) -> Result<(), PublishError> {
    match confirmation.map_err(|e| PublishError::Unavailable(e.to_string()))? {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => Err(PublishError::Unroutable),
        Confirmation::Nack(_) => Err(PublishError::Nacked),
        Confirmation::NotRequested => Err(PublishError::Unavailable("confirms not enabled".into())),
    }
}

/// `outcomes`, completed to `len` with "not sent" for the messages after a failure to send.
fn fill(mut outcomes: Vec<Result<(), PublishError>>, len: usize) -> Vec<Result<(), PublishError>> {
    while outcomes.len() < len {
        outcomes.push(Err(PublishError::Unavailable("not sent".into())));
    }
    outcomes
}
