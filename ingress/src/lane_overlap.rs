//! When an ingress lane may send a message while another of its own awaits its confirm.
//!
//! A lane with few callers is bound by the confirm's wait: its callers sit idle while their
//! message is confirmed, and a second message in flight hides that wait. A lane with many callers
//! is bound by the machine, and there the broker's cost is per message: a second message in
//! flight would split its callers into two smaller messages and cost more per event (BENCHMARKS
//! sections 17 and 18). A lane tells the two apart by the running mean of its messages' sizes,
//! which moves slowly enough that one small message of a busy lane does not tip it into
//! splitting its callers, as the size of the last message alone did.

/// The mean events per message below which a lane overlaps its messages.
pub const OVERLAP_BELOW_EVENTS: f64 = 20.0;
/// The newest message's weight in the running mean: about the last eight messages count.
const NEWEST_WEIGHT: f64 = 0.125;

/// One lane's running mean of events per message; a new lane is quiet, and may overlap.
#[derive(Debug, Default)]
pub struct OverlapPolicy {
    mean_events: f64,
}

impl OverlapPolicy {
    /// Counts a message of `events` events the lane has sent.
    pub fn sent(&mut self, events: usize) {
        self.mean_events += (events as f64 - self.mean_events) * NEWEST_WEIGHT;
    }

    /// Whether the next message may go out while an earlier one awaits its confirm.
    pub fn may_overlap(&self) -> bool {
        self.mean_events < OVERLAP_BELOW_EVENTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(sizes: impl IntoIterator<Item = usize>) -> OverlapPolicy {
        let mut policy = OverlapPolicy::default();
        for events in sizes {
            policy.sent(events);
        }
        policy
    }

    #[test]
    fn a_quiet_lane_and_one_of_small_messages_overlap() {
        assert!(OverlapPolicy::default().may_overlap());
        assert!(after([1; 100]).may_overlap());
        assert!(after([13; 100]).may_overlap());
    }

    #[test]
    fn a_lane_whose_messages_fill_keeps_one_in_flight() {
        assert!(!after([24; 100]).may_overlap());
        assert!(!after([40; 100]).may_overlap());
    }

    #[test]
    fn one_small_message_of_a_busy_lane_does_not_tip_it_but_a_lasting_change_does() {
        let mut busy = after([40; 100]);
        busy.sent(1);
        assert!(!busy.may_overlap(), "one small message among full ones");
        // The lane's callers go: its messages stay small, and within a few it overlaps again.
        for _ in 0..8 {
            busy.sent(5);
        }
        assert!(busy.may_overlap());
    }
}
