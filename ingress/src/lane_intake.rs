//! Taking a lane's next group of accepted events, and how long a busy lane waits for it.
//!
//! A busy lane ([`BusyPace`]: one taking at least [`BUSY_GROUP_EVENTS`] events per
//! `INGRESS_GROUP_BUSY_LINGER_MS`, 1,000 events/s at the default 2 ms) waits up to that linger
//! before it publishes, for the events of the requests its last message answered: their callers
//! send again at once. Without the wait, a lane driven by N callers splits them into two halves
//! that alternate, one in flight while the other waits, so every message holds N/2 events; with
//! it, one message holds all N. The broker's cost is mostly per message, so at full speed that
//! cuts its cost per event by about a third (BENCHMARKS section 14). The wait ends as soon as
//! those events are in; a quiet lane never waits.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;

use common::busy_pace::BusyPace;

/// The most events one message carries.
pub const MAX_GROUP_EVENTS: usize = 256;
/// The most event bytes one message carries (a single larger event still goes alone).
pub const MAX_GROUP_BYTES: usize = 1024 * 1024;
/// The events a busy lane's linger must be expected to bring for the wait to be worth it.
pub const BUSY_GROUP_EVENTS: usize = 2;

/// One lane's intake: what it took out of its channel but has not sent yet, and its pace.
pub struct LaneIntake<T> {
    queued: VecDeque<T>,
    pace: BusyPace,
    /// Events in the group taken last: the callers it answers.
    last_group: usize,
}

impl<T> LaneIntake<T> {
    /// `busy_linger` zero never waits.
    pub fn new(busy_linger: Duration) -> Self {
        Self {
            queued: VecDeque::new(),
            pace: BusyPace::new(Duration::ZERO, busy_linger, BUSY_GROUP_EVENTS),
            last_group: 0,
        }
    }

    /// Events taken out of the channel and not sent yet, and those still in it.
    pub fn waiting(&self, receiver: &mpsc::UnboundedReceiver<T>) -> usize {
        self.queued.len() + receiver.len()
    }

    /// The next group, in order and within [`MAX_GROUP_EVENTS`] and [`MAX_GROUP_BYTES`]: waits
    /// for a first event, then, while the lane is busy, for the last group's callers. `None` once
    /// the channel is closed and empty.
    pub async fn next_group(
        &mut self,
        receiver: &mut mpsc::UnboundedReceiver<T>,
        size_of: impl Fn(&T) -> usize,
    ) -> Option<Vec<T>> {
        // What arrived while the last message awaited its confirm.
        let waited = self.queued.len() + receiver.len();
        if waited == 0 {
            self.queued.push_back(receiver.recv().await?);
        }
        let now = tokio::time::Instant::now();
        let linger = self.pace.linger(now.into_std());
        if !linger.is_zero() {
            // The callers the last message answered send their next events about now.
            let expected = (waited + self.last_group).min(MAX_GROUP_EVENTS);
            gather(&mut self.queued, receiver, expected, now + linger).await;
        }
        let group = take_group(
            &mut self.queued,
            receiver,
            size_of,
            MAX_GROUP_EVENTS,
            MAX_GROUP_BYTES,
        );
        self.pace.record(now.into_std(), group.len());
        self.last_group = group.len();
        Some(group)
    }
}

/// Takes a group from `queued`, then from what already waits in `receiver`, in order, within the
/// bounds; an event that would pass the byte bound goes back to the front of `queued` to start
/// the next group (a single larger event still goes, alone). Never waits.
fn take_group<T>(
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
async fn gather<T>(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Far longer than a test may take: a wait that ran to it would be seen.
    const FAR: Duration = Duration::from_secs(30);
    /// Well under [`FAR`], with room for a slow machine.
    const PROMPTLY: Duration = Duration::from_secs(10);

    fn one_byte(_: &u32) -> usize {
        1
    }

    fn group_of(
        queued: &mut VecDeque<u32>,
        receiver: &mut mpsc::UnboundedReceiver<u32>,
        max_events: usize,
        max_bytes: usize,
    ) -> Vec<u32> {
        take_group(queued, receiver, |n| *n as usize, max_events, max_bytes)
    }

    #[tokio::test]
    async fn a_quiet_lane_sends_each_event_at_once_however_long_its_busy_linger() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut intake = LaneIntake::new(FAR);
        for event in [10, 20] {
            sender.send(event).expect("open");
            let started = tokio::time::Instant::now();
            let group = intake.next_group(&mut receiver, one_byte).await;
            assert_eq!(group, Some(vec![event]));
            assert!(started.elapsed() < PROMPTLY, "a quiet lane waited");
            // Nothing more for longer than the pace's window: the lane is quiet again.
            tokio::time::sleep(common::busy_pace::WINDOW + Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_busy_lane_waits_for_the_callers_its_last_group_answered_and_no_longer() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let mut intake = LaneIntake::new(FAR);
        // Two events at once with nothing in the window yet: taken without waiting.
        sender.send(1).expect("open");
        sender.send(2).expect("open");
        assert_eq!(
            intake.next_group(&mut receiver, one_byte).await,
            Some(vec![1, 2])
        );
        // Now busy. One event waited behind the confirm; the two answered callers come back.
        sender.send(3).expect("open");
        let callers = tokio::spawn(async move {
            for event in [4, 5] {
                tokio::time::sleep(Duration::from_millis(1)).await;
                sender.send(event).expect("open");
            }
            sender
        });
        let started = tokio::time::Instant::now();
        assert_eq!(
            intake.next_group(&mut receiver, one_byte).await,
            Some(vec![3, 4, 5])
        );
        assert!(started.elapsed() < PROMPTLY, "waited for the linger");
        // Its senders gone, the lane stops without waiting.
        drop(callers.await.expect("callers"));
        let before = tokio::time::Instant::now();
        assert_eq!(intake.next_group(&mut receiver, one_byte).await, None);
        assert!(before.elapsed() < PROMPTLY);
    }

    #[tokio::test]
    async fn a_busy_lane_waits_its_linger_at_most_for_callers_that_do_not_come() {
        let (sender, mut receiver) = mpsc::unbounded_channel::<u32>();
        let linger = Duration::from_millis(50);
        let mut intake = LaneIntake::new(linger);
        for event in 1..=16 {
            sender.send(event).expect("open");
        }
        // 16 events in the window are busy at 50 ms; 16 callers are expected back.
        assert_eq!(
            intake
                .next_group(&mut receiver, one_byte)
                .await
                .map(|g| g.len()),
            Some(16)
        );
        sender.send(17).expect("open");
        let started = tokio::time::Instant::now();
        assert_eq!(
            intake.next_group(&mut receiver, one_byte).await,
            Some(vec![17])
        );
        assert!(started.elapsed() >= linger);
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
}
