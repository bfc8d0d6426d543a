//! The outbox relay: publishes the events ingress committed to `event_outbox` while the broker
//! was away, in order, once the broker confirms again.
//!
//! Every worker process runs one relay loop; a partition is relayed by one of them at a time,
//! the one holding its transaction-scoped advisory lock. A batch is read in `id` order and
//! published in that order on one channel, all of it in flight at once (a confirm per event
//! one after the other held the relay under 100 events a second, below a steady load, so an
//! outbox filled during an outage never drained). Only the rows up to the first one the broker
//! did not confirm are deleted; the rest stay and go again, and the event consumer drops the
//! ones that got through twice by message id. The broker enqueues a channel's messages in order,
//! so what it took keeps the outbox's order, except after a refusal (nack) of a full partition:
//! a message refused with later ones taken would be overtaken by them. So when the partition has
//! less room than two batches, the relay publishes one event at a time, each waiting for its
//! confirm, and stops at the first failure. The confirmed rows are deleted and the transaction
//! commits. A crash between confirm and commit republishes those rows: duplicates again, dropped
//! the same way.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use common::db::outbox::{self, OutboxRow};
use common::publisher::{Outgoing, PublishError};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

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
    let confirmed = if has_room(state, &queue, rows.len()).await {
        publish_all_at_once(state, &queue, &rows).await
    } else {
        publish_one_by_one(state, &queue, &rows).await
    };
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

/// Publishes the rows all in flight at once, in order; the ids of the confirmed leading rows.
async fn publish_all_at_once(state: &WorkerState, queue: &str, rows: &[OutboxRow]) -> Vec<i64> {
    let message_ids: Vec<String> = rows.iter().map(|r| r.message_id.to_string()).collect();
    let outgoing: Vec<Outgoing<'_>> = rows
        .iter()
        .zip(&message_ids)
        .map(|(row, message_id)| Outgoing::traced(message_id, &row.request_id, &row.body))
        .collect();
    let outcomes = state.publisher.publish_in_order(queue, &outgoing).await;
    let leading = outcomes.iter().take_while(|o| o.is_ok()).count();
    if let Some(Err(error)) = outcomes.get(leading) {
        tracing::debug!(%error, workspace_id = %rows[leading].workspace_id, "outbox row not confirmed yet");
        if matches!(error, PublishError::Nacked) && outcomes[leading..].iter().any(Result::is_ok) {
            tracing::warn!(
                workspace_id = %rows[leading].workspace_id,
                "the broker refused an outbox event and took a later one: they may apply out of order"
            );
        }
    }
    rows[..leading].iter().map(|r| r.id).collect()
}

/// Publishes the rows one at a time, each waiting for its confirm, stopping at the first failure;
/// the ids of the confirmed rows.
async fn publish_one_by_one(state: &WorkerState, queue: &str, rows: &[OutboxRow]) -> Vec<i64> {
    let mut confirmed = Vec::with_capacity(rows.len());
    for row in rows {
        let message_id = row.message_id.to_string();
        match state
            .publisher
            .publish(queue, &message_id, &row.request_id, &row.body)
            .await
        {
            Ok(()) => confirmed.push(row.id),
            Err(error) => {
                tracing::debug!(%error, workspace_id = %row.workspace_id, "outbox row not confirmed yet");
                break;
            }
        }
    }
    confirmed
}

/// Whether `queue` holds so few messages that `batch` more cannot meet its maximum length, with a
/// second batch's margin for what ingress publishes meanwhile. False when the broker cannot say.
async fn has_room(state: &WorkerState, queue: &str, batch: usize) -> bool {
    let depth = async {
        let connection = state.broker.get().await.ok()?;
        let channel = connection.create_channel().await.ok()?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .ok()?;
        let _ = channel.close(200, "done".into()).await;
        Some(declared.message_count())
    };
    match tokio::time::timeout(Duration::from_secs(3), depth).await {
        Ok(Some(depth)) => {
            u64::from(depth) + 2 * batch as u64 <= u64::from(state.config.event_queue_max_length)
        }
        _ => false,
    }
}
