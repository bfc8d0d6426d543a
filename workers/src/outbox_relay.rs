//! The outbox relay: publishes the events ingress committed to `event_outbox` while the broker
//! was away, in order, once the broker confirms again.
//!
//! Every worker process runs one relay loop; a partition is relayed by one of them at a time,
//! the one holding its transaction-scoped advisory lock. A batch is read in `id` order and
//! published one event at a time, each waiting for its confirm; the first failure ends the batch
//! (later rows stay behind it, so order holds). The confirmed rows are deleted and the
//! transaction commits. A crash between confirm and commit republishes those rows: the event
//! consumer drops the duplicates by message id.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use common::db::outbox;

use crate::state::WorkerState;

/// How often the relay looks for rows.
const RELAY_INTERVAL: Duration = Duration::from_millis(500);
/// Rows per transaction.
const BATCH: i64 = 200;

/// Relays until `shutdown`.
pub async fn run_outbox_relay(state: WorkerState, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RELAY_INTERVAL) => {}
        }
        match outbox::depth(&state.db).await {
            Ok((0, _)) => {
                state.metrics.outbox_depth.set(0);
                state.metrics.outbox_oldest_age.set(0);
                continue;
            }
            Ok((rows, oldest)) => {
                state.metrics.outbox_depth.set(rows);
                let age = oldest.map_or(0, |at| (Utc::now() - at).num_seconds().max(0));
                state.metrics.outbox_oldest_age.set(age);
            }
            Err(error) => {
                tracing::debug!(%error, "outbox depth unavailable");
                continue;
            }
        }
        for partition in 0..state.config.event_partitions {
            while !shutdown.is_cancelled() {
                match relay_batch(&state, partition).await {
                    Ok(Relayed::All(count)) if count as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, partition, "outbox relay batch failed");
                        break;
                    }
                }
            }
        }
    }
}

/// What a batch got through.
enum Relayed {
    /// Every row read (possibly none, or the partition was locked by another relay).
    All(usize),
    /// Stopped at a publish the broker did not confirm.
    Stopped,
}

#[tracing::instrument(skip_all, fields(partition))]
async fn relay_batch(state: &WorkerState, partition: u16) -> anyhow::Result<Relayed> {
    let mut tx = state.db.begin().await?;
    if !outbox::try_lock_partition(&mut tx, partition).await? {
        return Ok(Relayed::All(0));
    }
    let rows = outbox::oldest(&mut *tx, partition, BATCH).await?;
    let queue = state.queues.event_partition(partition);
    let mut confirmed = Vec::with_capacity(rows.len());
    for row in &rows {
        let message_id = row.message_id.to_string();
        match state
            .publisher
            .publish(&queue, &message_id, &row.request_id, &row.body)
            .await
        {
            Ok(()) => confirmed.push(row.id),
            Err(error) => {
                tracing::debug!(%error, workspace_id = %row.workspace_id, "outbox row not confirmed yet");
                break;
            }
        }
    }
    outbox::delete(&mut *tx, &confirmed).await?;
    tx.commit().await?;
    state
        .metrics
        .outbox_relayed
        .with_label_values::<&str>(&[])
        .inc_by(confirmed.len() as u64);
    Ok(if confirmed.len() == rows.len() {
        Relayed::All(rows.len())
    } else {
        Relayed::Stopped
    })
}
