//! Running a batch's database work until it is done: a transient failure (the database away,
//! busy or restarting) is retried in place with backoff, holding the batch so its partition's
//! order is kept; a permanent failure or a panic gives up, for the caller to isolate.

use std::any::Any;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::disposition::Disposition;
use crate::event_deliveries::QUEUE_LABEL;
use crate::state::WorkerState;

/// The waits between tries: from 100 ms, doubling, at most 10 s.
struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// Waits before the next try; false when `shutdown` interrupted the wait.
    async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.delay;
        self.delay = (delay * 2).min(Duration::from_secs(10));
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

/// A batch's tries: each outcome judged, and a wait before the next unless it was the last.
/// Callers run their own attempt between calls to [`Tries::settle`], so an attempt may borrow
/// whatever the caller holds mutably.
pub struct Tries<'a> {
    state: &'a WorkerState,
    size: usize,
    shutdown: &'a CancellationToken,
    backoff: Backoff,
    started: Instant,
}

impl<'a> Tries<'a> {
    /// The first try of a batch of `size` messages starts now.
    pub fn start(state: &'a WorkerState, size: usize, shutdown: &'a CancellationToken) -> Self {
        Self {
            state,
            size,
            shutdown,
            backoff: Backoff::default(),
            started: Instant::now(),
        }
    }

    /// Runs one try of `attempt`, a panic caught as a failure.
    pub async fn run<T>(
        attempt: impl Future<Output = sqlx::Result<T>>,
    ) -> Result<sqlx::Result<T>, Box<dyn Any + Send>> {
        std::panic::AssertUnwindSafe(attempt).catch_unwind().await
    }

    /// What the try just run ends in: `Some` when the batch is done or given up (shutdown
    /// included); `None` after the backoff's wait, when the next try starts.
    pub async fn settle<T>(
        &mut self,
        result: Result<sqlx::Result<T>, Box<dyn Any + Send>>,
    ) -> Option<Disposition<T>> {
        if let Some(disposition) = judge(self.state, self.size, self.started, result) {
            return Some(disposition);
        }
        if !self.backoff.wait(self.shutdown).await {
            return Some(Disposition::RetryLater("shutdown"));
        }
        self.started = Instant::now();
        None
    }
}

/// Runs `attempt` until it succeeds, gives up, or `shutdown` interrupts a wait between tries.
pub async fn with_retry<T, F, Fut>(
    state: &WorkerState,
    size: usize,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> Disposition<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = sqlx::Result<T>>,
{
    let mut tries = Tries::start(state, size, shutdown);
    loop {
        if let Some(disposition) = tries.settle(Tries::run(attempt()).await).await {
            return disposition;
        }
    }
}

/// What one try's outcome means: `None` to try again (a transient failure, counted and logged);
/// done (its duration and the batch's `size` observed) or give up otherwise.
fn judge<T>(
    state: &WorkerState,
    size: usize,
    started: Instant,
    result: Result<sqlx::Result<T>, Box<dyn Any + Send>>,
) -> Option<Disposition<T>> {
    let metrics = &state.metrics;
    let failure = |kind: &str| {
        metrics
            .batch_failures
            .with_label_values(&[QUEUE_LABEL, kind])
            .inc();
    };
    match result {
        Ok(Ok(done)) => {
            metrics
                .batch_duration
                .with_label_values(&[QUEUE_LABEL])
                .observe(started.elapsed().as_secs_f64());
            metrics
                .batch_size
                .with_label_values(&[QUEUE_LABEL])
                .observe(size as f64);
            Some(Disposition::Done(done))
        }
        Ok(Err(error)) if is_transient(&error) => {
            failure("transient");
            tracing::warn!(error = %error, "database unavailable; retrying batch");
            None
        }
        Ok(Err(error)) => {
            failure("permanent");
            Some(Disposition::GiveUp(error.to_string()))
        }
        Err(_) => {
            failure("panic");
            Some(Disposition::GiveUp("handler panicked".into()))
        }
    }
}

/// Errors that say nothing about the messages: the database is away, busy or restarting.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Serialization failure, deadlock, connection exceptions, resources, shutdown.
            matches!(
                code.as_ref(),
                "40001" | "40P01" | "57P01" | "57P02" | "57P03"
            ) || code.starts_with("08")
                || code.starts_with("53")
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}
