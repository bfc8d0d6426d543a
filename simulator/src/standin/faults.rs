//! Faults a test scripts (a 429 on the third page, a lost answer to a POST) and the random ones
//! a benchmark sets by rate, so retry and idempotency paths run against real sockets.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::lock;

/// Which requests a scripted fault applies to; `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultMatch {
    /// Compared case-insensitively (`"post"` matches `POST`).
    pub method: Option<String>,
    /// A substring of the path (query excluded), e.g. `"/projects"`.
    pub path_contains: Option<String>,
}

impl FaultMatch {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose path contains `fragment`.
    pub fn path(fragment: &str) -> Self {
        Self {
            method: None,
            path_contains: Some(fragment.to_owned()),
        }
    }

    /// Requests with `method` whose path contains `fragment`.
    pub fn method_path(method: &str, fragment: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_contains: Some(fragment.to_owned()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|fragment| path.contains(fragment))
    }
}

/// What happens to a matched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status at once with a JSON error body (and `Retry-After` when given); the
    /// request is neither rate-counted nor applied.
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// Abort the TCP connection without answering; nothing is applied.
    DropConnection,
    /// Apply the request (create the entity, ...), then abort the connection: a lost answer.
    DropAfterApplying,
    /// Wait this long, then serve the request normally.
    Delay(Duration),
}

#[derive(Debug)]
struct ScriptedFault {
    matcher: FaultMatch,
    fault: Fault,
    remaining: usize,
}

/// Scripted faults, consulted in the order pushed before anything else happens to a request.
#[derive(Debug, Default)]
pub struct FaultScript {
    entries: Mutex<Vec<ScriptedFault>>,
}

impl FaultScript {
    /// Applies `fault` to the next `times` requests `matcher` matches.
    pub fn push(&self, matcher: FaultMatch, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.entries).push(ScriptedFault {
            matcher,
            fault,
            remaining: times,
        });
    }

    /// Forgets all scripted faults, used or not.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// How many scripted applications are still to come, so a test can check all were used.
    pub fn pending(&self) -> usize {
        lock(&self.entries).iter().map(|e| e.remaining).sum()
    }

    /// The fault for this request, if a scripted entry matches; uses up one application of it.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut entries = lock(&self.entries);
        let index = entries
            .iter()
            .position(|e| e.matcher.matches(method, path))?;
        let entry = &mut entries[index];
        let fault = entry.fault.clone();
        entry.remaining -= 1;
        if entry.remaining == 0 {
            entries.remove(index);
        }
        Some(fault)
    }
}

/// Random draws for the configured fault rates: splitmix64, lock-free and good enough to spread
/// faults evenly (no `rand` dependency for a test tool).
#[derive(Debug)]
pub(crate) struct Dice {
    state: AtomicU64,
}

impl Dice {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// Seeded from the clock: runs differ, as real faults do.
    pub(crate) fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(Self::GAMMA);
        Self {
            state: AtomicU64::new(nanos),
        }
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(Self::GAMMA, Ordering::Relaxed)
            .wrapping_add(Self::GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_entry_is_used_up_in_order() {
        let script = FaultScript::default();
        script.push(
            FaultMatch::method_path("post", "/projects"),
            Fault::DropConnection,
            1,
        );
        script.push(
            FaultMatch::path("/projects"),
            Fault::Delay(Duration::ZERO),
            2,
        );
        assert_eq!(
            script.take("GET", "/api/v1/workspaces/w/projects"),
            Some(Fault::Delay(Duration::ZERO))
        );
        assert_eq!(
            script.take("POST", "/api/v1/workspaces/w/projects"),
            Some(Fault::DropConnection)
        );
        assert_eq!(
            script.take("POST", "/api/v1/workspaces/w/projects"),
            Some(Fault::Delay(Duration::ZERO))
        );
        assert_eq!(script.take("POST", "/api/v1/workspaces/w/projects"), None);
        assert_eq!(script.pending(), 0);
    }

    #[test]
    fn dice_hit_roughly_the_asked_rate() {
        let dice = Dice::from_clock();
        let hits = (0..100_000).filter(|_| dice.chance(0.1)).count();
        assert!((8_000..12_000).contains(&hits), "{hits}");
        assert!(!dice.chance(0.0));
        assert!(dice.chance(1.0));
    }
}
