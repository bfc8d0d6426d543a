//! The dead-letter store: messages that could not be handled, kept on a quorum queue where an
//! operator can list, inspect, replay and discard them.
//!
//! Listing takes messages off the queue without acking and returns them (requeued) when done;
//! replaying republishes a message to the queue it died on (with a confirm) before acking it, so
//! a failure at any step leaves it where it was.

use deadpool_lapin::Pool;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use serde::Serialize;

use common::broker::QueueNames;
use common::publisher::Publisher;

/// One dead letter as an operator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub message_id: String,
    pub queue: Option<String>,
    pub reason: Option<String>,
    pub workspace_id: Option<String>,
    pub request_id: Option<String>,
    pub kind: Option<String>,
    pub bytes: usize,
    /// The message body: envelopes carry no secrets (tokens travel sealed or hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// Why a dead-letter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter has that id")]
    NotFound,
    #[error("the dead letter does not name the queue it died on")]
    NoOrigin,
    #[error("broker unavailable: {0}")]
    Broker(String),
}

impl From<lapin::Error> for DeadLetterError {
    fn from(error: lapin::Error) -> Self {
        DeadLetterError::Broker(error.to_string())
    }
}

/// Up to `limit` dead letters, oldest first, without their bodies; all stay on the queue.
pub async fn list(
    pool: &Pool,
    names: &QueueNames,
    limit: usize,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let channel = open(pool).await?;
    let mut taken = Vec::new();
    while taken.len() < limit {
        match take_one(&channel, names).await? {
            Some(delivery) => taken.push(delivery),
            None => break,
        }
    }
    let letters = taken.iter().map(|d| describe(d, false)).collect();
    release(&taken).await;
    let _ = channel.close(200, "listed".into()).await;
    Ok(letters)
}

/// What an operator can do with one dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Inspect,
    Replay,
    Discard,
}

/// Finds the dead letter `message_id` and applies `action` to it.
pub async fn act(
    pool: &Pool,
    publisher: &Publisher,
    names: &QueueNames,
    message_id: &str,
    action: Action,
) -> Result<DeadLetter, DeadLetterError> {
    let channel = open(pool).await?;
    let mut passed = Vec::new();
    let result = loop {
        let Some(delivery) = take_one(&channel, names).await? else {
            break Err(DeadLetterError::NotFound);
        };
        if message_id_of(&delivery).as_deref() != Some(message_id) {
            passed.push(delivery);
            continue;
        }
        let letter = describe(&delivery, true);
        let outcome = match action {
            Action::Inspect => {
                passed.push(delivery);
                Ok(letter)
            }
            Action::Discard => {
                delivery.ack(BasicAckOptions::default()).await?;
                Ok(letter)
            }
            Action::Replay => match letter.queue.clone() {
                None => {
                    passed.push(delivery);
                    Err(DeadLetterError::NoOrigin)
                }
                Some(queue) => {
                    let request_id = letter.request_id.clone().unwrap_or_default();
                    match publisher
                        .publish(&queue, message_id, &request_id, &delivery.data)
                        .await
                    {
                        Ok(()) => {
                            delivery.ack(BasicAckOptions::default()).await?;
                            Ok(letter)
                        }
                        Err(error) => {
                            passed.push(delivery);
                            Err(DeadLetterError::Broker(error.to_string()))
                        }
                    }
                }
            },
        };
        break outcome;
    };
    release(&passed).await;
    let _ = channel.close(200, "done".into()).await;
    result
}

async fn open(pool: &Pool) -> Result<Channel, DeadLetterError> {
    let connection = pool
        .get()
        .await
        .map_err(|e| DeadLetterError::Broker(e.to_string()))?;
    Ok(connection.create_channel().await?)
}

async fn take_one(
    channel: &Channel,
    names: &QueueNames,
) -> Result<Option<Delivery>, DeadLetterError> {
    let got = channel
        .basic_get(
            names.dead_letters().as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await?;
    Ok(got.map(|message| message.delivery))
}

/// Returns messages taken but not settled to the queue.
async fn release(deliveries: &[Delivery]) {
    for delivery in deliveries {
        let _ = delivery
            .nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            })
            .await;
    }
}

fn message_id_of(delivery: &Delivery) -> Option<String> {
    delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
}

fn header(delivery: &Delivery, name: &str) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ShortString(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

fn describe(delivery: &Delivery, with_body: bool) -> DeadLetter {
    let body: Option<serde_json::Value> = serde_json::from_slice(&delivery.data).ok();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let kind = body
        .as_ref()
        .and_then(|b| b.get("event").or_else(|| b.get("job")))
        .and_then(|e| e.get("kind"))
        .and_then(|k| k.as_str())
        .map(str::to_owned);
    DeadLetter {
        message_id: message_id_of(delivery).unwrap_or_default(),
        queue: header(delivery, "x-first-death-queue"),
        reason: header(delivery, "x-first-death-reason"),
        workspace_id: field("workspace_id"),
        request_id: field("request_id").or_else(|| header(delivery, "x-request-id")),
        kind,
        bytes: delivery.data.len(),
        body: if with_body { body } else { None },
    }
}
