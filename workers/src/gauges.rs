//! Gauges sampled every [`INTERVAL`] for alerting: dead letters waiting, bootstrap jobs
//! running, whether this worker reaches its database and broker, and whether its limiter is on
//! the local fallback. (Counters are updated where things happen; these are states.)

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use crate::state::WorkerState;

/// How often the gauges are sampled.
const INTERVAL: Duration = Duration::from_secs(10);

/// Samples until `shutdown`.
pub async fn run_gauges(state: WorkerState, shutdown: CancellationToken) {
    loop {
        sample(&state).await;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

async fn sample(state: &WorkerState) {
    let metrics = &state.metrics;
    let running = common::db::bootstrap_jobs::count_running(&state.db).await;
    if let Ok(running) = &running {
        metrics.bootstrap_jobs_running.set(*running);
    }
    if let Ok(failed) = common::db::webhook_registrations::count_failed(&state.db).await {
        metrics.webhook_registrations_failed.set(failed);
    }
    let dead_letters = dead_letter_depth(state).await;
    if let Some(depth) = dead_letters {
        metrics.dead_letters.set(i64::from(depth));
    }
    metrics
        .ready
        .set(i64::from(running.is_ok() && dead_letters.is_some()));
    metrics
        .limiter_degraded
        .set(i64::from(state.client.limiter().is_degraded()));
}

/// Messages in the dead-letter queue, or `None` when the broker cannot say.
async fn dead_letter_depth(state: &WorkerState) -> Option<u32> {
    let connection = tokio::time::timeout(Duration::from_secs(2), state.broker.get())
        .await
        .ok()?
        .ok()?;
    let channel = connection.create_channel().await.ok()?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let declared = channel
        .queue_declare(
            state.queues.dead_letters().as_str().into(),
            passive,
            FieldTable::default(),
        )
        .await
        .ok()?;
    let _ = channel.close(200, "sampled".into()).await;
    Some(declared.message_count())
}
