//! A drill's figures: what the load sent and got back, what the event log holds, what went
//! through the outbox and how long recovery took; printed, then asserted on.

use std::collections::BTreeMap;
use std::time::Duration;

/// Everything one drill measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub drill: &'static str,
    pub sent: usize,
    /// From the first launch to the last.
    pub seconds: f64,
    /// Launches that waited because every slot was in flight (the load fell behind its rate).
    pub delayed: usize,
    pub accepted: usize,
    /// Answers other than 200, by status (0: no answer at all).
    pub refused: BTreeMap<u16, usize>,
    /// Accepted events found in the event log.
    pub stored: usize,
    /// Events without a 200 (cut off by a kill) that were stored anyway: allowed, once.
    pub stored_unanswered: usize,
    /// Accepted events not in the event log (their `seq`).
    pub missing: Vec<usize>,
    /// Events in the event log more than once.
    pub duplicates: Vec<usize>,
    /// Stored load events whose outcome is not `applied`.
    pub not_applied: usize,
    pub out_of_order: Vec<String>,
    /// Events ingress committed to the outbox instead of the broker.
    pub outboxed: f64,
    /// Named recovery times ("outbox drained after start_app", ...).
    pub recovery: Vec<(String, Duration)>,
}

impl Figures {
    /// Prints the figures on one block, for the test output and BENCHMARKS.md.
    pub fn print(&self) {
        let refused: Vec<String> = self
            .refused
            .iter()
            .map(|(status, n)| {
                if *status == 0 {
                    format!("{n} unanswered")
                } else {
                    format!("{n} x {status}")
                }
            })
            .collect();
        let recovery: Vec<String> = self
            .recovery
            .iter()
            .map(|(what, took)| format!("{what} {:.1} s", took.as_secs_f64()))
            .collect();
        println!(
            "drill {}: sent {} in {:.1} s ({:.0}/s, {} launches delayed); answered 200: {}{}; \
             stored: {} (+{} unanswered); missing: {}; duplicates: {}; not applied: {}; \
             out of order: {}; outboxed: {:.0}; recovery: {}",
            self.drill,
            self.sent,
            self.seconds,
            self.sent as f64 / self.seconds.max(1e-9),
            self.delayed,
            self.accepted,
            if refused.is_empty() {
                String::new()
            } else {
                format!(" (others: {})", refused.join(", "))
            },
            self.stored,
            self.stored_unanswered,
            self.missing.len(),
            self.duplicates.len(),
            self.not_applied,
            self.out_of_order.len(),
            self.outboxed,
            if recovery.is_empty() {
                "-".to_owned()
            } else {
                recovery.join(", ")
            }
        );
    }

    /// Every accepted event stored exactly once, applied, in order.
    pub fn assert_nothing_lost_doubled_or_reordered(&self) {
        let first = |seqs: &[usize]| -> Vec<String> {
            seqs.iter()
                .take(10)
                .map(|s| format!("drill-te-{s}"))
                .collect()
        };
        assert!(
            self.missing.is_empty(),
            "drill {}: {} events answered 200 are not in the event log (first: {:?})",
            self.drill,
            self.missing.len(),
            first(&self.missing)
        );
        assert!(
            self.duplicates.is_empty(),
            "drill {}: {} events are in the event log more than once (first: {:?})",
            self.drill,
            self.duplicates.len(),
            first(&self.duplicates)
        );
        assert_eq!(
            self.not_applied, 0,
            "drill {}: stored events not applied",
            self.drill
        );
        assert!(
            self.out_of_order.is_empty(),
            "drill {}: {} events applied out of order, e.g. {:?}",
            self.drill,
            self.out_of_order.len(),
            &self.out_of_order[..self.out_of_order.len().min(5)]
        );
        assert!(
            self.accepted > 0,
            "drill {}: nothing was accepted",
            self.drill
        );
    }

    /// Every delivery was answered 200 (the fault never showed to Clockify).
    pub fn assert_all_accepted(&self) {
        assert!(
            self.refused.is_empty(),
            "drill {}: not every delivery was answered 200: {:?} (status: count; 0 = no answer)",
            self.drill,
            self.refused
        );
    }
}
