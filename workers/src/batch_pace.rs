//! How long a partition waits to fill its next batch: `WORKER_BATCH_LINGER_MS` at ordinary
//! rates, and `WORKER_BATCH_BUSY_LINGER_MS` while the partition is busy.
//!
//! A batch closes when it holds `WORKER_BATCH_SIZE` events, or once it has waited its linger and
//! the partition's previous write is done. Left to that alone, a partition that keeps up with a
//! high rate writes small batches: each write is quick because its batch is small, so the next
//! batch has little time to fill. Every batch has a fixed cost in PostgreSQL, the worker and the
//! broker's acks, so at full speed those small batches cost far more CPU per event than large
//! ones (BENCHMARKS section 13). A busy partition therefore waits longer, as PostgreSQL's own
//! `commit_delay` does only when other transactions are active: busy means the events it took in
//! the last [`WINDOW`] would fill at least [`BUSY_BATCH_EVENTS`] within the busy linger. At
//! ordinary rates nothing changes, so the latency of a quiet partition does not grow.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the partition's rate is judged from.
pub const WINDOW: Duration = Duration::from_millis(100);

/// The batch a busy linger must be expected to gather for the wait to be worth it.
pub const BUSY_BATCH_EVENTS: usize = 32;

/// One partition's recent batches, and the linger they call for.
#[derive(Debug)]
pub struct BatchPace {
    linger: Duration,
    busy_linger: Duration,
    /// When each recent batch was taken, and its events; the oldest first.
    taken: VecDeque<(Instant, usize)>,
}

impl BatchPace {
    /// `busy_linger` no longer than `linger` turns the busy wait off.
    pub fn new(linger: Duration, busy_linger: Duration) -> Self {
        Self {
            linger,
            busy_linger,
            taken: VecDeque::new(),
        }
    }

    /// Notes a batch of `events` taken at `at`.
    pub fn record(&mut self, at: Instant, events: usize) {
        self.forget_before(at);
        self.taken.push_back((at, events));
    }

    /// How long a batch whose first event arrives at `now` waits to fill.
    pub fn linger(&mut self, now: Instant) -> Duration {
        if self.busy_linger <= self.linger {
            return self.linger;
        }
        self.forget_before(now);
        let recent: usize = self.taken.iter().map(|(_, events)| events).sum();
        // Events per second over the window, times the busy linger, against the threshold;
        // multiplied out to stay in whole numbers.
        let expected = recent as u128 * self.busy_linger.as_micros();
        if expected >= BUSY_BATCH_EVENTS as u128 * WINDOW.as_micros() {
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
        let mut pace = BatchPace::new(LINGER, BUSY);
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
        let mut pace = BatchPace::new(LINGER, BUSY);
        // 128 events in the window is 1,280/s: 32 within the busy linger.
        for step in 0..8 {
            pace.record(start + ms(10 * step), 16);
        }
        assert_eq!(pace.linger(start + ms(80)), BUSY);
        // One event fewer and it is not worth waiting for.
        let mut pace = BatchPace::new(LINGER, BUSY);
        pace.record(start, 127);
        assert_eq!(pace.linger(start + ms(1)), LINGER);
    }

    #[test]
    fn a_burst_no_longer_counts_once_the_window_has_passed() {
        let start = Instant::now();
        let mut pace = BatchPace::new(LINGER, BUSY);
        pace.record(start, 250);
        assert_eq!(pace.linger(start + ms(100)), BUSY);
        // The first event after a pause is written after the ordinary linger.
        assert_eq!(pace.linger(start + ms(101)), LINGER);
    }

    #[test]
    fn a_busy_linger_no_longer_than_the_ordinary_one_changes_nothing() {
        let start = Instant::now();
        let mut pace = BatchPace::new(LINGER, LINGER);
        pace.record(start, 250);
        assert_eq!(pace.linger(start + ms(1)), LINGER);
        let mut off = BatchPace::new(LINGER, Duration::ZERO);
        off.record(start, 250);
        assert_eq!(off.linger(start + ms(1)), LINGER);
    }
}
