//! Group commit of accepted events, one lane per event partition.
//!
//! Each partition has one task that publishes its events one message at a time and waits for
//! that message's confirm before sending the next. Events accepted while a confirm is awaited
//! wait in the lane, and the next message carries all of them (up to
//! [`MAX_GROUP_EVENTS`](crate::lane_intake::MAX_GROUP_EVENTS) and
//! [`MAX_GROUP_BYTES`](crate::lane_intake::MAX_GROUP_BYTES)) as one [`EventBatch`]; a lone
//! event goes out as its own [`EventMessage`](common::messages::EventMessage), the envelope
//! every worker reads. A quiet
//! lane never waits on a timer: with no load every message holds one event. The lane is FIFO and
//! only one message of a partition is ever in flight, so a partition's order is the order of
//! acceptance.
//!
//! A busy lane waits a little for the callers its last message answered before it publishes
//! ([`LaneIntake`]).
//!
//! Each request is answered when the message holding its event is confirmed, or when the event
//! is committed to the outbox instead ([`crate::outbox`]). A message the broker does not confirm
//! sends each of its events to the outbox, in order, and their workspaces stay outboxed; an
//! event whose workspace is outboxed when its group forms goes to the outbox without trying the
//! broker, so nothing overtakes what waits there. Only when the outbox cannot take an event
//! either is its request answered 503.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::types::FieldTable;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use common::db::outbox::{self, NewRow};
use common::messages::{BATCH_KIND, EventBatch};
use common::publisher::{Outgoing, Publisher};

use crate::lane_intake::LaneIntake;
use crate::metrics::IngressMetrics;
use crate::outbox::{OutboxWrite, OutboxedWorkspaces};
use crate::publish_outcome::{NotConfirmed, RETRY_AFTER_SECS, observe_publish};

/// An accepted event waiting in its partition's lane.
pub struct Accepted {
    pub workspace_id: String,
    pub message_id: Uuid,
    pub request_id: String,
    /// The serialised `EventMessage`.
    pub body: Vec<u8>,
    /// The accepting span's trace context (`traceparent`).
    pub trace: FieldTable,
    /// Ok once durable (confirmed or outboxed); Err(retry-after seconds) otherwise.
    pub answer: oneshot::Sender<Result<(), u32>>,
}

/// The senders of every partition's lane; the lanes stop when the last clone is dropped.
#[derive(Clone)]
pub struct EventLanes {
    senders: Arc<Vec<mpsc::UnboundedSender<Accepted>>>,
}

/// What a lane needs to publish and to fall back to the outbox.
#[derive(Clone)]
pub struct LaneContext {
    pub publisher: Publisher,
    pub db: sqlx::PgPool,
    pub outboxed: OutboxedWorkspaces,
    pub metrics: Arc<IngressMetrics>,
    /// `INGRESS_GROUP_BUSY_LINGER_MS`.
    pub busy_linger: Duration,
}

impl EventLanes {
    /// Starts one lane task per partition; `queue_of` names each partition's queue.
    pub fn start(context: LaneContext, partitions: u16, queue_of: impl Fn(u16) -> String) -> Self {
        let senders = (0..partitions.max(1))
            .map(|partition| {
                let (sender, receiver) = mpsc::unbounded_channel();
                let lane = Lane {
                    context: context.clone(),
                    partition,
                    queue: queue_of(partition),
                };
                tokio::spawn(lane.run(receiver));
                sender
            })
            .collect();
        Self {
            senders: Arc::new(senders),
        }
    }

    /// Queues `event` on `partition`'s lane; gives it back when the lane is gone.
    pub fn submit(&self, partition: u16, event: Accepted) -> Result<(), Accepted> {
        let index = usize::from(partition) % self.senders.len();
        self.senders[index].send(event).map_err(|e| e.0)
    }
}

struct Lane {
    context: LaneContext,
    partition: u16,
    queue: String,
}

impl Lane {
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Accepted>) {
        let mut intake = LaneIntake::new(self.context.busy_linger);
        while let Some(group) = intake
            .next_group(&mut receiver, |event| event.body.len())
            .await
        {
            self.commit(group).await;
        }
    }

    /// Makes every event of `group` durable (broker, else outbox) and answers each request.
    async fn commit(&self, group: Vec<Accepted>) {
        let mut outboxed: Vec<(usize, OutboxWrite, &'static str)> = Vec::new();
        let mut to_publish = Vec::with_capacity(group.len());
        for (index, event) in group.iter().enumerate() {
            match self.context.outboxed.write_if_outboxed(&event.workspace_id) {
                Some(write) => outboxed.push((index, write, "behind_outbox")),
                None => to_publish.push(index),
            }
        }
        let mut answers: Vec<Option<Result<(), u32>>> = vec![None; group.len()];
        if !to_publish.is_empty() {
            let events: Vec<&Accepted> = to_publish.iter().map(|&i| &group[i]).collect();
            match self.publish(&events).await {
                Ok(()) => {
                    for &index in &to_publish {
                        answers[index] = Some(Ok(()));
                    }
                }
                Err(failure) => {
                    for &index in &to_publish {
                        let write = self
                            .context
                            .outboxed
                            .start_write(&group[index].workspace_id);
                        outboxed.push((index, write, failure.reason));
                    }
                }
            }
        }
        if !outboxed.is_empty() {
            outboxed.sort_by_key(|(index, _, _)| *index);
            for (index, result) in self.write_outbox(&group, outboxed).await {
                answers[index] = Some(result);
            }
        }
        for (event, answer) in group.into_iter().zip(answers) {
            // A request that gave up waiting is gone: nothing to tell it.
            let _ = event.answer.send(answer.unwrap_or(Err(RETRY_AFTER_SECS)));
        }
    }

    /// Publishes `events` as one message: the event itself when alone, a batch otherwise.
    async fn publish(&self, events: &[&Accepted]) -> Result<(), NotConfirmed> {
        let started = Instant::now();
        let metrics = &self.context.metrics;
        metrics
            .event_group_size
            .with_label_values(&["events"])
            .observe(events.len() as f64);
        let result = match events {
            [event] => {
                let message_id = event.message_id.to_string();
                let message = Outgoing {
                    message_id: &message_id,
                    request_id: &event.request_id,
                    body: &event.body,
                    headers: event.trace.clone(),
                    kind: None,
                };
                self.context
                    .publisher
                    .publish_with(&self.queue, message)
                    .await
            }
            _ => {
                let traceparents: Vec<Option<String>> = events
                    .iter()
                    .map(|e| common::trace_context::traceparent_of(&e.trace))
                    .collect();
                let parts: Vec<(Option<&str>, &[u8])> = events
                    .iter()
                    .zip(&traceparents)
                    .map(|(e, t)| (t.as_deref(), e.body.as_slice()))
                    .collect();
                let body = EventBatch::body_of(&parts);
                let message_id = Uuid::now_v7().to_string();
                let message = Outgoing {
                    message_id: &message_id,
                    request_id: &events[0].request_id,
                    body: &body,
                    headers: FieldTable::default(),
                    kind: Some(BATCH_KIND),
                };
                self.context
                    .publisher
                    .publish_with(&self.queue, message)
                    .await
            }
        };
        observe_publish(metrics, "events", &self.queue, started, result)
    }

    /// Commits the events at the given indexes to the outbox in one statement, in order; each
    /// gets its answer (a 503's retry-after by its publish failure's reason when it fails).
    async fn write_outbox(
        &self,
        group: &[Accepted],
        writes: Vec<(usize, OutboxWrite, &'static str)>,
    ) -> Vec<(usize, Result<(), u32>)> {
        let rows: Vec<NewRow<'_>> = writes
            .iter()
            .map(|(index, _, _)| {
                let event = &group[*index];
                NewRow {
                    workspace_id: &event.workspace_id,
                    message_id: event.message_id,
                    request_id: &event.request_id,
                    body: &event.body,
                }
            })
            .collect();
        let inserted = outbox::insert_many(&self.context.db, self.partition, &rows).await;
        let metrics = &self.context.metrics;
        match inserted {
            Ok(()) => writes
                .into_iter()
                .map(|(index, write, reason)| {
                    write.committed();
                    metrics.events_outboxed.with_label_values(&[reason]).inc();
                    (index, Ok(()))
                })
                .collect(),
            Err(error) => {
                tracing::error!(%error, events = writes.len(), "events neither confirmed by the broker nor committed to the outbox");
                writes
                    .into_iter()
                    .map(|(index, write, reason)| {
                        drop(write);
                        metrics.outbox_write_failures.inc();
                        (index, Err(NotConfirmed { reason }.retry_after_secs()))
                    })
                    .collect()
            }
        }
    }
}
