//! When an ingress lane may send a message while another of its own awaits its confirm.
//!
//! A lane with few callers is bound by the confirm's wait: its callers sit idle while their
//! message is confirmed, and a second message in flight hides that wait. A lane with many callers
//! is bound by the machine, and there the broker's cost is per message: a second message in
//! flight would split its callers into two smaller messages and cost more per event (BENCHMARKS
//! sections 17 and 18). A lane tells the two apart by the most events it had outstanding (in its
//! unsettled messages, or waiting to be sent) at any of its last few sends: that peak is about
//! the number of its callers whether it overlaps or not, while the size of its messages is not
//! (overlapping makes them smaller, and a lane deciding by them can stay split).

use std::collections::VecDeque;

/// The peak of outstanding events from which a lane keeps one message in flight.
pub const OVERLAP_BELOW_OUTSTANDING: usize = 32;
/// How many of a lane's latest sends the peak is taken over.
const RECENT_SENDS: usize = 8;

/// One lane's outstanding events at its latest sends; a new lane is quiet, and may overlap.
#[derive(Debug, Default)]
pub struct OverlapPolicy {
    recent: VecDeque<usize>,
}

impl OverlapPolicy {
    /// Counts a send after which the lane had `outstanding` events unsettled or waiting.
    pub fn sent(&mut self, outstanding: usize) {
        if self.recent.len() == RECENT_SENDS {
            self.recent.pop_front();
        }
        self.recent.push_back(outstanding);
    }

    /// Whether the next message may go out while an earlier one awaits its confirm.
    pub fn may_overlap(&self) -> bool {
        self.recent.iter().max().copied().unwrap_or(0) < OVERLAP_BELOW_OUTSTANDING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(outstanding: impl IntoIterator<Item = usize>) -> OverlapPolicy {
        let mut policy = OverlapPolicy::default();
        for count in outstanding {
            policy.sent(count);
        }
        policy
    }

    #[test]
    fn a_quiet_lane_and_one_with_few_callers_overlap() {
        assert!(OverlapPolicy::default().may_overlap());
        assert!(after([1; 100]).may_overlap());
        assert!(after([OVERLAP_BELOW_OUTSTANDING - 1; 100]).may_overlap());
    }

    #[test]
    fn a_lane_with_many_callers_keeps_one_in_flight_even_when_a_send_finds_few() {
        assert!(!after([64; 100]).may_overlap());
        // Split in two, a lane finds half its callers outstanding at some sends, all at others.
        assert!(!after([30, 60, 29, 61, 30, 60, 31, 58]).may_overlap());
    }

    #[test]
    fn a_lane_whose_callers_go_overlaps_again_after_a_few_sends() {
        let mut lane = after([64; 100]);
        for _ in 0..RECENT_SENDS - 1 {
            lane.sent(8);
            assert!(!lane.may_overlap());
        }
        lane.sent(8);
        assert!(lane.may_overlap());
    }
}
