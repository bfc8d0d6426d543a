//! Retention: every `RETENTION_INTERVAL_SECS` the workers purge event-log rows older than
//! `EVENT_LOG_RETENTION_DAYS` and finished API calls older than `API_CALL_RETENTION_DAYS`, in
//! batches of [`BATCH`] rows, each batch its own short transaction holding the task's advisory
//! lock, so one worker purges at a time and live writes are never held up for long. Entities
//! are never touched. Dead letters expire in RabbitMQ (the dead-letter queue's message TTL).

use tokio_util::sync::CancellationToken;

use common::db::{api_calls, event_log, maintenance};

use crate::state::WorkerState;

/// Rows per purge transaction.
const BATCH: i64 = 1_000;

/// What is purged, with its lock key and metric label.
#[derive(Debug, Clone, Copy)]
enum Purge {
    EventLog,
    ApiCalls,
}

impl Purge {
    fn label(self) -> &'static str {
        match self {
            Purge::EventLog => "event_log",
            Purge::ApiCalls => "api_calls",
        }
    }

    fn lock_key(self) -> i32 {
        match self {
            Purge::EventLog => 1,
            Purge::ApiCalls => 2,
        }
    }
}

/// Purges until `shutdown`.
pub async fn run_retention(state: WorkerState, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(state.config.retention.interval.max(std::time::Duration::from_millis(100))) => {}
        }
        for task in [Purge::EventLog, Purge::ApiCalls] {
            if let Err(error) = purge(&state, task, &shutdown).await {
                tracing::warn!(%error, table = task.label(), "retention purge failed");
            }
        }
    }
}

#[tracing::instrument(name = "retention.purge", skip_all, fields(table = task.label()))]
async fn purge(state: &WorkerState, task: Purge, shutdown: &CancellationToken) -> sqlx::Result<()> {
    let retention = &state.config.retention;
    while !shutdown.is_cancelled() {
        let mut tx = state.db.begin().await?;
        if !maintenance::try_lock_task(&mut tx, task.lock_key()).await? {
            return Ok(());
        }
        let purged = match task {
            Purge::EventLog => {
                event_log::purge_older_than(&mut *tx, retention.event_log_days, BATCH).await?
            }
            Purge::ApiCalls => {
                api_calls::purge_older_than(&mut *tx, retention.api_call_days, BATCH).await?
            }
        };
        tx.commit().await?;
        state
            .metrics
            .rows_purged
            .with_label_values(&[task.label()])
            .inc_by(purged);
        if purged < BATCH as u64 {
            return Ok(());
        }
    }
    Ok(())
}
