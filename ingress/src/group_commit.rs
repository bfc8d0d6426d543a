//! Group commit of accepted events, one lane per event partition.
//!
//! Each partition has one task that publishes its events a message at a time, on its own
//! channel, and keeps at most `INGRESS_GROUP_IN_FLIGHT` messages (default 2) awaiting their
//! confirms; it sends a message while another awaits its confirm only while it has few callers
//! ([`crate::lane_overlap`]). Events accepted while it may not send wait in the lane, and
//! the next message carries all of them (up to
//! [`MAX_GROUP_EVENTS`](crate::lane_intake::MAX_GROUP_EVENTS) and
//! [`MAX_GROUP_BYTES`](crate::lane_intake::MAX_GROUP_BYTES)) as one [`EventBatch`]; a lone
//! event goes out as its own [`EventMessage`](common::messages::EventMessage), the envelope
//! every worker reads. A quiet lane never waits on a timer: with no load every message holds one
//! event. The lane is FIFO and sends its messages one after the other on one channel, which the
//! broker enqueues in that order, so a partition's order is the order of acceptance.
//!
//! A busy lane waits a little for the callers its last message answered before it publishes
//! ([`LaneIntake`]).
//!
//! Each request is answered when the message holding its event is confirmed, or when the event
//! is committed to the outbox instead ([`crate::outbox`]); a lane settles its messages in the
//! order it sent them. A message the broker does not confirm sends each of its events to the
//! outbox, in order, and their workspaces stay outboxed; an event whose workspace is outboxed
//! when its group forms goes to the outbox without trying the broker, so nothing overtakes what
//! waits there. Only when the outbox cannot take an event either is its request answered 503.
//!
//! With two or more messages in flight, one exception: when the broker does not confirm a
//! message (refused, or its channel lost) but confirms the one sent after it, the second's
//! events are applied before the first's (which come through the outbox). No request of either
//! had been answered when the second was sent, so no caller can have seen one of those events
//! accepted before sending another of them: an event is still never applied before one whose
//! request was answered before it arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lapin::types::FieldTable;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use common::db::outbox::{self, NewRow};
use common::messages::{BATCH_KIND, EventBatch};
use common::publisher::{Outgoing, PendingConfirm, PublishError, Publisher};

use crate::lane_intake::LaneIntake;
use crate::lane_overlap::OverlapPolicy;
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
    /// `INGRESS_GROUP_IN_FLIGHT`: a lane's messages awaiting their confirms at once.
    pub in_flight: usize,
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

/// A group the lane has handed on: the message holding the events that went to the broker
/// (awaiting its confirm) and the events set aside for the outbox.
struct InFlight {
    group: Vec<Accepted>,
    /// Indexes into `group` of the events in the message.
    published: Vec<usize>,
    /// The message's confirm to come, or why it could not be sent; `None` without a message.
    confirm: Option<Result<PendingConfirm, PublishError>>,
    sent_at: Instant,
    /// Events whose workspace waits in the outbox: (index, its write, the reason).
    outboxed: Vec<(usize, OutboxWrite, &'static str)>,
}

impl InFlight {
    /// The broker's word on the message, once it comes (at once when it could not be sent);
    /// `None` when the group had no message.
    async fn confirmation(&mut self) -> Option<Result<(), PublishError>> {
        match self.confirm.take()? {
            Ok(pending) => Some(pending.confirmed().await),
            Err(error) => Some(Err(error)),
        }
    }
}

impl Lane {
    /// Takes groups and sends them in order, at most `in_flight` awaiting their confirms at
    /// once; each is settled (answered, or outboxed) only after the one before it.
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Accepted>) {
        let lane = Arc::new(self);
        let most_in_flight = lane.context.in_flight.max(1);
        let slots = Arc::new(Semaphore::new(most_in_flight));
        let mut intake = LaneIntake::new(lane.context.busy_linger);
        let mut previous_settled: Option<oneshot::Receiver<()>> = None;
        // Events in the messages sent and not yet settled (none empty: zero means no message).
        let unsettled_events = Arc::new(AtomicUsize::new(0));
        let mut overlap = OverlapPolicy::default();
        loop {
            if !overlap.may_overlap() {
                // Every slot free means every message sent has settled.
                let Ok(all) = slots.acquire_many(most_in_flight as u32).await else {
                    break;
                };
                drop(all);
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let Some(group) = intake
                .next_group(&mut receiver, |event| event.body.len())
                .await
            else {
                break;
            };
            let events = group.len();
            let earlier = unsettled_events.fetch_add(events, Ordering::AcqRel);
            if earlier > 0 {
                lane.context.metrics.event_messages_overlapped.inc();
            }
            overlap.sent(earlier + events + intake.waiting(&receiver));
            let mut in_flight = lane.send(group).await;
            let (settled, settled_signal) = oneshot::channel();
            let before = previous_settled.replace(settled_signal);
            let (lane, unsettled_events) = (lane.clone(), unsettled_events.clone());
            tokio::spawn(async move {
                let outcome = in_flight.confirmation().await.map(|result| {
                    let metrics = &lane.context.metrics;
                    observe_publish(metrics, "events", &lane.queue, in_flight.sent_at, result)
                });
                if let Some(before) = before {
                    // Ends when the message before settled, or its task is gone.
                    let _ = before.await;
                }
                lane.settle(in_flight, outcome).await;
                unsettled_events.fetch_sub(events, Ordering::AcqRel);
                let _ = settled.send(());
                drop(slot);
            });
        }
    }

    /// Sends the group's events as one message, except those whose workspace waits in the
    /// outbox, which are set aside to join it. Returns without waiting for the confirm.
    async fn send(&self, group: Vec<Accepted>) -> InFlight {
        let mut outboxed = Vec::new();
        let mut published = Vec::with_capacity(group.len());
        for (index, event) in group.iter().enumerate() {
            match self.context.outboxed.write_if_outboxed(&event.workspace_id) {
                Some(write) => outboxed.push((index, write, "behind_outbox")),
                None => published.push(index),
            }
        }
        let sent_at = Instant::now();
        let confirm = if published.is_empty() {
            None
        } else {
            let events: Vec<&Accepted> = published.iter().map(|&i| &group[i]).collect();
            Some(self.send_message(&events).await)
        };
        InFlight {
            group,
            published,
            confirm,
            sent_at,
            outboxed,
        }
    }

    /// Makes every event of a sent group durable (its message confirmed, else the outbox) and
    /// answers each request.
    async fn settle(&self, in_flight: InFlight, outcome: Option<Result<(), NotConfirmed>>) {
        let InFlight {
            group,
            published,
            mut outboxed,
            ..
        } = in_flight;
        let mut answers: Vec<Option<Result<(), u32>>> = vec![None; group.len()];
        if let Some(result) = outcome {
            match result {
                Ok(()) => {
                    for &index in &published {
                        answers[index] = Some(Ok(()));
                    }
                }
                Err(failure) => {
                    for &index in &published {
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

    /// Sends `events` as one message on this lane's channel: the event itself when alone, a
    /// batch otherwise.
    async fn send_message(&self, events: &[&Accepted]) -> Result<PendingConfirm, PublishError> {
        self.context
            .metrics
            .event_group_size
            .with_label_values(&["events"])
            .observe(events.len() as f64);
        let publisher = &self.context.publisher;
        let slot = usize::from(self.partition);
        match events {
            [event] => {
                let message_id = event.message_id.to_string();
                let message = Outgoing {
                    message_id: &message_id,
                    request_id: &event.request_id,
                    body: &event.body,
                    headers: event.trace.clone(),
                    kind: None,
                };
                publisher.send_on(slot, &self.queue, message).await
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
                publisher.send_on(slot, &self.queue, message).await
            }
        }
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
