//! The deliveries of one worker batch taken apart into events, and settled again: each event
//! with its own span, the acks after commit, and a dead letter for one event alone.
//!
//! A delivery holds one event (the original envelope) or a batch ingress grouped
//! ([`common::messages::EventBatch`]). A delivery that decodes as neither is rejected to the
//! dead-letter queue. An event that cannot be applied is dead-lettered alone: a one-event
//! delivery is rejected as before; an event inside a batch is published to the dead-letter queue
//! as its own message, named as the broker would (`x-first-death-queue`, `-reason`), so an
//! operator can inspect and replay it like any other, while the batch is acked.

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use tracing::Instrument as _;

use common::job_messages::JobMessage;
use common::messages::{EventMessage, Queued};
use common::publisher::Outgoing;
use common::trace_context;

use crate::event_outcome::Outcome;
use crate::state::WorkerState;
use crate::subscription::settle_within;

pub const QUEUE_LABEL: &str = "events";

/// A delivery, decoded when it could be.
pub struct Fetched {
    pub delivery: Delivery,
    pub queued: Option<Queued>,
}

impl Fetched {
    pub fn new(delivery: Delivery) -> Self {
        let kind = delivery.properties.kind().as_ref().map(|k| k.as_str());
        let queued = Queued::decode(kind, &delivery.data);
        Self { delivery, queued }
    }

    /// Events it holds (an undecodable delivery counts as one).
    pub fn events(&self) -> usize {
        match &self.queued {
            Some(Queued::Batch(batch)) => batch.events.len(),
            _ => 1,
        }
    }
}

/// The events of a worker batch in queue order, each with its span and its delivery.
#[derive(Default)]
pub struct Events {
    pub deliveries: Vec<Delivery>,
    /// Whether each delivery was already settled (rejected to the dead letters).
    rejected: Vec<bool>,
    pub messages: Vec<EventMessage>,
    pub spans: Vec<tracing::Span>,
    /// The delivery each event came in, by index in `deliveries`.
    delivered_in: Vec<usize>,
    /// The trace context each event carried.
    traces: Vec<FieldTable>,
}

impl Events {
    /// Takes the deliveries apart; undecodable ones are rejected to the dead letters here.
    pub async fn take_apart(state: &WorkerState, fetched: Vec<Fetched>) -> anyhow::Result<Self> {
        let mut events = Events::default();
        for Fetched { delivery, queued } in fetched {
            let index = events.deliveries.len();
            match queued {
                None => {
                    tracing::error!(
                        redelivered = delivery.redelivered,
                        "undecodable message; dead-lettering"
                    );
                    reject(state, &delivery).await?;
                    continue;
                }
                Some(Queued::One(message)) => {
                    let trace = delivery.properties.headers().clone().unwrap_or_default();
                    events.push(index, *message, trace);
                }
                Some(Queued::Batch(batch)) => {
                    for entry in batch.events {
                        let trace = trace_context::headers_with(entry.traceparent.as_deref());
                        events.push(index, entry.message, trace);
                    }
                }
            }
            events.deliveries.push(delivery);
            events.rejected.push(false);
        }
        Ok(events)
    }

    fn push(&mut self, delivery: usize, message: EventMessage, trace: FieldTable) {
        self.spans.push(message_span(&message, &trace));
        self.messages.push(message);
        self.delivered_in.push(delivery);
        self.traces.push(trace);
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Links the batch's span to the context of every event it holds.
    pub fn link(&self, span: &tracing::Span) {
        for trace in &self.traces {
            trace_context::link_to(span, Some(trace));
        }
    }

    /// Sends event `index` to the dead letters alone; the rest of its delivery stays to be
    /// acked. Err (nothing settled) when the dead-letter publish was not confirmed.
    pub async fn dead_letter(
        &mut self,
        state: &WorkerState,
        queue: &str,
        index: usize,
    ) -> anyhow::Result<()> {
        let delivery = self.delivered_in[index];
        let alone = self.delivered_in.iter().filter(|d| **d == delivery).count() == 1;
        if alone {
            reject(state, &self.deliveries[delivery]).await?;
            self.rejected[delivery] = true;
            return Ok(());
        }
        let message = &self.messages[index];
        let body = serde_json::to_vec(message)?;
        let mut headers = self.traces[index].clone();
        let text = |value: &str| AMQPValue::LongString(LongString::from(value));
        headers.insert("x-first-death-queue".into(), text(queue));
        headers.insert("x-first-death-reason".into(), text("rejected"));
        let message_id = message.message_id.to_string();
        state
            .publisher
            .publish_with(
                &state.queues.dead_letters(),
                Outgoing {
                    message_id: &message_id,
                    request_id: &message.request_id,
                    body: &body,
                    headers,
                    kind: None,
                },
            )
            .await?;
        count_dead_letter(state);
        Ok(())
    }

    /// Acks every delivery not rejected, with one frame: the last such tag, `multiple` (the
    /// rejected ones are settled already, so it covers only the rest).
    pub async fn ack(&self) -> anyhow::Result<()> {
        let last = self
            .deliveries
            .iter()
            .zip(&self.rejected)
            .filter(|(_, rejected)| !**rejected)
            .map(|(delivery, _)| delivery)
            .max_by_key(|d| d.delivery_tag);
        if let Some(last) = last {
            settle_within("ack", last.ack(BasicAckOptions { multiple: true })).await?;
        }
        Ok(())
    }

    /// Publishes the jobs the batch created, each inside the span of the event that created it
    /// (same workspace and request), so a job's trace continues its event's.
    pub async fn publish_follow_ups(&self, state: &WorkerState, jobs: &[JobMessage]) {
        let publishes = jobs.iter().map(|job| {
            let span = self
                .messages
                .iter()
                .zip(&self.spans)
                .find(|(m, _)| m.workspace_id == job.workspace_id && m.request_id == job.request_id)
                .map_or_else(tracing::Span::current, |(_, span)| span.clone());
            crate::publish::publish_jobs(state, std::slice::from_ref(job)).instrument(span)
        });
        futures::future::join_all(publishes).await;
    }
}

/// The span of one event's processing, the child of the span that accepted it.
fn message_span(message: &EventMessage, trace: &FieldTable) -> tracing::Span {
    let span = tracing::info_span!(
        "event",
        request_id = %message.request_id,
        message_id = %message.message_id,
        workspace_id = %message.workspace_id,
        event_type = message.type_label(),
        outcome = tracing::field::Empty,
    );
    trace_context::adopt_parent(&span, Some(trace));
    span
}

/// Rejects a delivery without requeue: the queue's dead-letter exchange keeps it, counted.
async fn reject(state: &WorkerState, delivery: &Delivery) -> anyhow::Result<()> {
    count_dead_letter(state);
    let rejecting = delivery.reject(BasicRejectOptions { requeue: false });
    settle_within("reject", rejecting).await.map(|_| ())
}

fn count_dead_letter(state: &WorkerState) {
    state
        .metrics
        .messages_processed
        .with_label_values(&[QUEUE_LABEL, Outcome::DeadLettered.as_str()])
        .inc();
}
