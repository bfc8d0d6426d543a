//! Clockify's per-workspace limit, enforced strictly: a sliding one-second window of admitted
//! requests, so a client that bursts even slightly past the limit is caught.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lock;

/// What the limiter decided, and the instant it decided it (the instant the recorder keeps, so
/// recorded rates agree with the limiter exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted(Instant),
    Limited(Instant),
}

/// Admitted-request times per workspace within the trailing second.
#[derive(Debug)]
pub(crate) struct SlidingWindowLimiter {
    per_second: usize,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindowLimiter {
    /// `per_second == 0` admits everything (benchmarks of other things).
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second as usize,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Admits the request unless `per_second` requests for `workspace_id` were already admitted
    /// within the last second.
    pub(crate) fn admit(&self, workspace_id: &str) -> Admission {
        let mut windows = lock(&self.windows);
        // Taken under the lock, so the admitted instants of a workspace are in order.
        let now = Instant::now();
        if self.per_second == 0 {
            return Admission::Admitted(now);
        }
        let window = windows.entry(workspace_id.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|first| now.duration_since(*first) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= self.per_second {
            return Admission::Limited(now);
        }
        window.push_back(now);
        Admission::Admitted(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_per_workspace() {
        let limiter = SlidingWindowLimiter::new(3);
        for _ in 0..3 {
            assert!(matches!(limiter.admit("a"), Admission::Admitted(_)));
        }
        assert!(matches!(limiter.admit("a"), Admission::Limited(_)));
        assert!(matches!(limiter.admit("b"), Admission::Admitted(_)));
    }

    #[test]
    fn a_zero_limit_admits_everything() {
        let limiter = SlidingWindowLimiter::new(0);
        for _ in 0..1000 {
            assert!(matches!(limiter.admit("a"), Admission::Admitted(_)));
        }
    }
}
