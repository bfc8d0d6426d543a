//! How long a group of work waits for company: an ordinary linger at ordinary rates, a longer
//! busy linger while the stream is busy. Both tiers' group commit use it: a worker partition's
//! batches (`WORKER_BATCH_LINGER_MS`, `WORKER_BATCH_BUSY_LINGER_MS`) and an ingress lane's broker
//! messages (no linger, `INGRESS_GROUP_BUSY_LINGER_MS`).
//!
//! Left alone, a stream that keeps up with a high rate commits small groups: each commit is quick
//! because its group is small, so the next group has little time to fill, and every group carries
//! a fixed cost (a PostgreSQL write, a broker message with its confirm, delivery and ack). A busy
//! stream therefore waits longer, as PostgreSQL's own `commit_delay` does only when other
//! transactions are active: busy means the events it took in the last [`WINDOW`] would bring at
//! least the pace's `busy_events` within the busy linger. At ordinary rates nothing changes, so
//! the latency of a quiet stream does not grow.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the partition's rate is judged from.
pub const WINDOW: Duration = Duration::from_millis(100);

/// One stream's recent groups, and the linger they call for.
#[derive(Debug)]
pub struct BusyPace {
    linger: Duration,
    busy_linger: Duration,
    /// The events a busy linger must be expected to bring for the wait to be worth it.
    busy_events: usize,
    /// When each recent group was taken, and its events; the oldest first.
    taken: VecDeque<(Instant, usize)>,
}

impl BusyPace {
    /// `busy_linger` no longer than `linger` turns the busy wait off.
    pub fn new(linger: Duration, busy_linger: Duration, busy_events: usize) -> Self {
        Self {
            linger,
            busy_linger,
            busy_events,
            taken: VecDeque::new(),
        }
    }

    /// Notes a group of `events` taken at `at`.
    pub fn record(&mut self, at: Instant, events: usize) {
        self.forget_before(at);
        self.taken.push_back((at, events));
    }

    /// How long a group whose first event arrives at `now` waits to fill.
    pub fn linger(&mut self, now: Instant) -> Duration {
        if self.busy_linger <= self.linger {
            return self.linger;
        }
        self.forget_before(now);
        let recent: usize = self.taken.iter().map(|(_, events)| events).sum();
        // Events per second over the window, times the busy linger, against the threshold;
        // multiplied out to stay in whole numbers.
        let expected = recent as u128 * self.busy_linger.as_micros();
        if expected >= self.busy_events as u128 * WINDOW.as_micros() {
            self.busy_linger
        } else {
            self.linger
        }
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some((at, _)) = self.taken.front() {
            if now.saturating_duration_since(*at) <= WINDOW {
                break;
            }
            self.taken.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINGER: Duration = Duration::from_millis(5);
    const BUSY: Duration = Duration::from_millis(25);

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn a_new_or_quiet_partition_waits_the_ordinary_linger() {
        let start = Instant::now();
        let mut pace = BusyPace::new(LINGER, BUSY, 32);
        assert_eq!(pace.linger(start), LINGER);
        // 250 events/s, as four partitions share 1,000/s: 25 in the window, 6 in a busy linger.
        for step in 0..10 {
            pace.record(start + ms(10 * step), 2);
        }
        pace.record(start + ms(100), 5);
        assert_eq!(pace.linger(start + ms(101)), LINGER);
    }

    #[test]
    fn a_partition_taking_events_fast_enough_to_fill_a_busy_batch_waits_longer() {
        let start = Instant::now();
        let mut pace = BusyPace::new(LINGER, BUSY, 32);
        // 128 events in the window is 1,280/s: 32 within the busy linger.
        for step in 0..8 {
            pace.record(start + ms(10 * step), 16);
        }
        assert_eq!(pace.linger(start + ms(80)), BUSY);
        // One event fewer and it is not worth waiting for.
        let mut pace = BusyPace::new(LINGER, BUSY, 32);
        pace.record(start, 127);
        assert_eq!(pace.linger(start + ms(1)), LINGER);
    }

    #[test]
    fn a_burst_no_longer_counts_once_the_window_has_passed() {
        let start = Instant::now();
        let mut pace = BusyPace::new(LINGER, BUSY, 32);
        pace.record(start, 250);
        assert_eq!(pace.linger(start + ms(100)), BUSY);
        // The first event after a pause is written after the ordinary linger.
        assert_eq!(pace.linger(start + ms(101)), LINGER);
    }

    #[test]
    fn a_busy_linger_no_longer_than_the_ordinary_one_changes_nothing() {
        let start = Instant::now();
        let mut pace = BusyPace::new(LINGER, LINGER, 32);
        pace.record(start, 250);
        assert_eq!(pace.linger(start + ms(1)), LINGER);
        let mut off = BusyPace::new(LINGER, Duration::ZERO, 32);
        off.record(start, 250);
        assert_eq!(off.linger(start + ms(1)), LINGER);
    }
}
