//! Polls a tier's `/ready` in the background and remembers every change of its answer, so a
//! drill can say when a tier went unready and how long it took to come back.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How often `/ready` is asked.
const POLL: Duration = Duration::from_millis(100);

/// The answers of one `/ready`, as changes: (when, status; 0 when it did not answer).
pub struct ReadyWatch {
    changes: Arc<Mutex<Vec<(Instant, u16)>>>,
    stop: CancellationToken,
}

impl ReadyWatch {
    pub fn start(http: reqwest::Client, url: String) -> Self {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (kept, stopped) = (changes.clone(), stop.clone());
        tokio::spawn(async move {
            while !stopped.is_cancelled() {
                let status = match http.get(&url).timeout(Duration::from_secs(5)).send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                {
                    let mut changes = kept.lock().unwrap_or_else(|p| p.into_inner());
                    if changes.last().is_none_or(|(_, last)| *last != status) {
                        changes.push((Instant::now(), status));
                    }
                }
                tokio::select! {
                    () = stopped.cancelled() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
        Self { changes, stop }
    }

    fn changes(&self) -> Vec<(Instant, u16)> {
        self.changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The first answer other than 200 after `since`.
    pub fn first_unready_after(&self, since: Instant) -> Option<(Instant, u16)> {
        self.changes()
            .into_iter()
            .find(|(at, status)| *at >= since && *status != 200)
    }

    /// When it answered 200 again, for good, after `since` (None while it does not).
    pub fn ready_again_after(&self, since: Instant) -> Option<Instant> {
        let changes = self.changes();
        let (at, status) = *changes.last()?;
        (status == 200).then(|| at.max(since))
    }

    /// Waits until it answers 200 for good after `since`; how long after `since` that was.
    pub async fn wait_ready_after(&self, since: Instant, limit: Duration, what: &str) -> Duration {
        loop {
            if let Some(at) = self.ready_again_after(since) {
                return at.duration_since(since);
            }
            assert!(
                since.elapsed() < limit,
                "{what} was not ready again within {limit:?}; its answers: {:?}",
                self.changes()
                    .iter()
                    .map(|(at, s)| (at.saturating_duration_since(since), *s))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ReadyWatch {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
