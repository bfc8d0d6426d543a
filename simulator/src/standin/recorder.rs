//! Every request the stand-in saw, and the rates it admitted, so tests and benchmarks can check
//! what a client really sent rather than what it believes it sent.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth::Caller;
use super::lock;

/// One request as the stand-in answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Taken from the path; empty when the path names no workspace.
    pub workspace_id: String,
    pub method: String,
    /// The path as sent, `/api` prefix included.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// The status answered; `0` when the connection was dropped without an answer.
    pub status: u16,
    /// Whether the rate limiter counted it (it was not short-circuited by a scripted fault and
    /// not answered 429 by the limiter).
    pub admitted: bool,
    /// When the rate limiter saw it (arrival for requests a scripted fault answered).
    pub at: Instant,
    /// Who the token said was calling; `Unchecked` when the request was answered before.
    pub caller: Caller,
    /// SHA-256 (hex) of the `X-Addon-Token` sent, so a test can tell which token a client used
    /// without the stand-in keeping tokens.
    pub token_sha256: Option<String>,
}

/// The log of answered requests; shared by the server and the test holding the handle.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Recorder {
    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    /// All requests so far, oldest first, to assert on exact sequences.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let mut all = lock(&self.requests).clone();
        all.sort_by_key(|r| r.at);
        all
    }

    /// Requests for `workspace_id`, whatever their answer: the cost a client paid.
    pub fn count(&self, workspace_id: &str) -> usize {
        lock(&self.requests)
            .iter()
            .filter(|r| r.workspace_id == workspace_id)
            .count()
    }

    /// 429s answered for `workspace_id` (by the limiter or a scripted fault): a well-behaved
    /// client keeps this near zero.
    pub fn too_many_requests(&self, workspace_id: &str) -> usize {
        lock(&self.requests)
            .iter()
            .filter(|r| r.workspace_id == workspace_id && r.status == 429)
            .count()
    }

    /// The most admitted requests within any one-second window: proves a client reached, but
    /// never exceeded, the limit.
    pub fn peak_rate(&self, workspace_id: &str) -> usize {
        let times = self.admitted_times(workspace_id);
        let window = Duration::from_secs(1);
        let mut peak = 0;
        let mut first = 0;
        for (last, at) in times.iter().enumerate() {
            while at.duration_since(times[first]) >= window {
                first += 1;
            }
            peak = peak.max(last - first + 1);
        }
        peak
    }

    /// Admitted requests per second between the first and the last admitted one; 0.0 when fewer
    /// than two were admitted. Shows how close to the limit a client runs over a long import.
    pub fn mean_rate(&self, workspace_id: &str) -> f64 {
        let times = self.admitted_times(workspace_id);
        let (Some(first), Some(last)) = (times.first(), times.last()) else {
            return 0.0;
        };
        let span = last.duration_since(*first).as_secs_f64();
        if times.len() < 2 || span <= 0.0 {
            return 0.0;
        }
        times.len() as f64 / span
    }

    /// Forgets everything, so a test can measure one phase on its own.
    pub fn reset(&self) {
        lock(&self.requests).clear();
    }

    fn admitted_times(&self, workspace_id: &str) -> Vec<Instant> {
        let mut times: Vec<Instant> = lock(&self.requests)
            .iter()
            .filter(|r| r.workspace_id == workspace_id && r.admitted)
            .map(|r| r.at)
            .collect();
        times.sort();
        times
    }
}
