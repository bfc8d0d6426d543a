//! Group commit of accepted events, one lane per event partition.
//!
//! Each partition has one task that publishes its events one message at a time and waits for
//! that message's confirm before sending the next. Events accepted while a confirm is awaited
//! wait in the lane, and the next message carries all of them (up to [`MAX_GROUP_EVENTS`] and
//! [`MAX_GROUP_BYTES`]) as one [`EventBatch`]; a lone event goes out as its own
//! [`EventMessage`](common::messages::EventMessage), the envelope every worker reads. A quiet
//! lane never waits on a timer: with no load every message holds one event. The lane is FIFO and
//! only one message of a partition is ever in flight, so a partition's order is the order of
//! acceptance.
//!
//! A busy lane ([`BusyPace`]: one taking at least [`BUSY_GROUP_EVENTS`] events per
//! `INGRESS_GROUP_BUSY_LINGER_MS`, 1,000 events/s at the default 2 ms) waits up to that linger
//! before it publishes, for the events of the requests its last message answered: their callers
//! send again at once. Without the wait, a lane driven by N callers splits them into two halves
//! that alternate, one in flight while the other waits, so every message holds N/2 events; with
//! it, one message holds all N. The broker's cost is mostly per message, so at full speed that
//! cuts its cost per event by about a third (BENCHMARKS section 14). The wait ends as soon as
//! those events are in.
//!
//! Each request is answered when the message holding its event is confirmed, or when the event
//! is committed to the outbox instead ([`crate::outbox`]). A message the broker does not confirm
//! sends each of its events to the outbox, in order, and their workspaces stay outboxed; an
//! event whose workspace is outboxed when its group forms goes to the outbox without trying the
//! broker, so nothing overtakes what waits there. Only when the outbox cannot take an event
//! either is its request answered 503.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::types::FieldTable;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use common::busy_pace::BusyPace;
use common::db::outbox::{self, NewRow};
use common::messages::{BATCH_KIND, EventBatch};
use common::publisher::{Outgoing, Publisher};

use crate::metrics::IngressMetrics;
use crate::outbox::{OutboxWrite, OutboxedWorkspaces};
use crate::publish_outcome::{NotConfirmed, RETRY_AFTER_SECS, observe_publish};

/// The most events one message carries.
pub const MAX_GROUP_EVENTS: usize = 256;
/// The most event bytes one message carries (a single larger event still goes alone).
pub const MAX_GROUP_BYTES: usize = 1024 * 1024;
/// The events a busy lane's linger must be expected to bring for the wait to be worth it.
pub const BUSY_GROUP_EVENTS: usize = 2;

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

/// Takes the next group from `queued`, then from what already waits in `receiver`, in order,
/// within the bounds; an event that would pass the byte bound goes back to the front of `queued`
/// to start the next group. Never waits: what has not arrived yet goes in a later group.
pub fn next_group<T>(
    queued: &mut VecDeque<T>,
    receiver: &mut mpsc::UnboundedReceiver<T>,
    size_of: impl Fn(&T) -> usize,
    max_events: usize,
    max_bytes: usize,
) -> Vec<T> {
    let mut bytes = 0;
    let mut group = Vec::new();
    while group.len() < max_events {
        let Some(next) = queued.pop_front().or_else(|| receiver.try_recv().ok()) else {
            break;
        };
        let size = size_of(&next);
        if !group.is_empty() && bytes + size > max_bytes {
            queued.push_front(next);
            break;
        }
        bytes += size;
        group.push(next);
    }
    group
}

/// Waits until `queued` and `receiver` together hold `expected` events, or until `deadline`,
/// whichever comes first; what arrives meanwhile is moved to `queued`. Returns at once when the
/// lane's senders are gone.
pub async fn gather<T>(
    queued: &mut VecDeque<T>,
    receiver: &mut mpsc::UnboundedReceiver<T>,
    expected: usize,
    deadline: tokio::time::Instant,
) {
    while queued.len() + receiver.len() < expected {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some(event)) => queued.push_back(event),
            Ok(None) | Err(_) => return,
        }
    }
}

struct Lane {
    context: LaneContext,
    partition: u16,
    queue: String,
}

impl Lane {
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Accepted>) {
        let mut queued = VecDeque::new();
        let mut pace = BusyPace::new(Duration::ZERO, self.context.busy_linger, BUSY_GROUP_EVENTS);
        let mut last_group = 0;
        loop {
            // What arrived while the last message awaited its confirm.
            let waited = queued.len() + receiver.len();
            if waited == 0 {
                match receiver.recv().await {
                    Some(first) => queued.push_back(first),
                    None => return,
                }
            }
            let now = tokio::time::Instant::now();
            let linger = pace.linger(now.into_std());
            if !linger.is_zero() {
                // The callers the last message answered send their next events about now.
                let expected = (waited + last_group).min(MAX_GROUP_EVENTS);
                gather(&mut queued, &mut receiver, expected, now + linger).await;
            }
            let group = next_group(
                &mut queued,
                &mut receiver,
                |event| event.body.len(),
                MAX_GROUP_EVENTS,
                MAX_GROUP_BYTES,
            );
            pace.record(now.into_std(), group.len());
            last_group = group.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn group_of(
        queued: &mut VecDeque<u32>,
        receiver: &mut mpsc::UnboundedReceiver<u32>,
        max_events: usize,
        max_bytes: usize,
    ) -> Vec<u32> {
        next_group(queued, receiver, |n| *n as usize, max_events, max_bytes)
    }

    #[test]
    fn at_a_low_rate_each_group_holds_one_event() {
        // One event at a time, each arriving after the previous group was sent: nothing waits
        // for company.
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut queued = VecDeque::new();
        for event in [10, 20, 30] {
            sender.send(event).expect("open");
            assert_eq!(
                group_of(&mut queued, &mut receiver, 256, 1 << 20),
                vec![event]
            );
            assert!(queued.is_empty());
        }
    }

    #[test]
    fn events_waiting_behind_a_confirm_go_together_in_order_within_the_bounds() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut queued = VecDeque::from([1]);
        for event in 2..=9 {
            sender.send(event).expect("open");
        }
        // By count: the queued one plus three that waited in the channel.
        assert_eq!(
            group_of(&mut queued, &mut receiver, 4, 1 << 20),
            vec![1, 2, 3, 4]
        );
        // By bytes (an event's size is its value here): 5 + 6 = 11 fits 12, 7 would not.
        assert_eq!(group_of(&mut queued, &mut receiver, 256, 12), vec![5, 6]);
        assert_eq!(queued, VecDeque::from([7]));
        assert_eq!(
            group_of(&mut queued, &mut receiver, 256, 1 << 20),
            vec![7, 8, 9]
        );
        // An event larger than the byte bound still goes, alone.
        sender.send(40).expect("open");
        sender.send(1).expect("open");
        assert_eq!(group_of(&mut queued, &mut receiver, 256, 12), vec![40]);
        assert_eq!(group_of(&mut queued, &mut receiver, 256, 12), vec![1]);
    }

    #[tokio::test]
    async fn a_busy_lane_stops_waiting_once_the_expected_events_are_in() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut queued = VecDeque::from([1]);
        let started = tokio::time::Instant::now();
        // A deadline far off: only the events' arrival can end this wait in time.
        let deadline = started + Duration::from_secs(30);
        let callers = tokio::spawn(async move {
            for event in 2..=4 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                sender.send(event).expect("open");
            }
            sender
        });
        gather(&mut queued, &mut receiver, 4, deadline).await;
        assert_eq!(queued, VecDeque::from([1, 2, 3, 4]));
        assert!(started.elapsed() < Duration::from_secs(10));
        drop(callers.await.expect("callers"));
    }

    #[tokio::test]
    async fn a_busy_lane_waits_no_longer_than_its_linger_for_callers_that_do_not_come() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut queued = VecDeque::from([1]);
        sender.send(2).expect("open");
        let linger = Duration::from_millis(50);
        let started = tokio::time::Instant::now();
        gather(&mut queued, &mut receiver, 16, started + linger).await;
        assert!(started.elapsed() >= linger);
        assert_eq!(
            group_of(&mut queued, &mut receiver, 256, 1 << 20),
            vec![1, 2]
        );
        // Its senders gone, a lane does not wait at all.
        drop(sender);
        let before = tokio::time::Instant::now();
        gather(
            &mut queued,
            &mut receiver,
            16,
            before + Duration::from_secs(30),
        )
        .await;
        assert!(before.elapsed() < Duration::from_secs(10));
    }
}
