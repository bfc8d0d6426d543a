//! Spreading the event partitions over the live worker processes.
//!
//! Each partition queue has a single active consumer, which keeps a workspace's events in order;
//! but RabbitMQ makes the first consumer of a queue the active one and never rebalances, so if
//! every worker subscribed to every partition, the first worker to start would take them all.
//! Instead each worker beats a heartbeat in Postgres every two seconds, reads the live workers
//! (by the database's clock), and subscribes only to the partitions `p` with
//! `p % live == its rank`. While an assignment moves, the old and new owner may both be
//! subscribed for a moment; single-active-consumer still lets only one of them receive, and the
//! old owner finishes and acks its batch before it lets go, so order holds. A worker that dies
//! stops beating and its partitions move to the others within `EXPIRY`.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::db::worker_heartbeats;

/// How often a worker beats and re-reads the live set.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A worker not seen for this long is taken for dead.
pub const EXPIRY_SECS: f64 = 10.0;

/// The partitions `rank` of `live` workers owns.
pub fn owned_partitions(partitions: u16, live: usize, rank: usize) -> Vec<u16> {
    let live = live.max(1);
    (0..partitions)
        .filter(|p| usize::from(*p) % live == rank % live)
        .collect()
}

/// Beats for `worker_id` and publishes its partitions on `assigned` until `shutdown`; then
/// removes its heartbeat so the others take over at once.
pub async fn run_assignment(
    db: PgPool,
    worker_id: Uuid,
    partitions: u16,
    assigned: watch::Sender<Vec<u16>>,
    shutdown: CancellationToken,
) {
    loop {
        match beat_and_rank(&db, worker_id).await {
            Ok((live, rank)) => {
                let owned = owned_partitions(partitions, live, rank);
                assigned.send_if_modified(|current| {
                    let changed = *current != owned;
                    if changed {
                        tracing::info!(live, rank, partitions = ?owned, "event partitions assigned");
                        *current = owned.clone();
                    }
                    changed
                });
            }
            // Keep what it has: a database blip must not drop every consumer.
            Err(error) => {
                tracing::warn!(error = %error, "heartbeat failed; keeping the current partitions")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
    if let Err(error) = worker_heartbeats::remove(&db, worker_id).await {
        // The others take over once this heartbeat expires instead.
        tracing::warn!(error = %error, "could not remove this worker's heartbeat");
    }
}

/// Records this worker as alive; returns how many workers are alive and this one's rank.
async fn beat_and_rank(db: &PgPool, worker_id: Uuid) -> sqlx::Result<(usize, usize)> {
    worker_heartbeats::beat(db, worker_id).await?;
    worker_heartbeats::forget_older_than(db, EXPIRY_SECS * 6.0).await?;
    let live = worker_heartbeats::live_workers(db, EXPIRY_SECS).await?;
    let rank = live.iter().position(|id| *id == worker_id).unwrap_or(0);
    Ok((live.len().max(1), rank))
}

/// Runs a consumer for each partition this worker owns, starting and stopping them as the
/// assignment moves. A stopped consumer finishes and acks its batch before it lets go.
pub async fn supervise_partitions(
    state: crate::state::WorkerState,
    mut assigned: watch::Receiver<Vec<u16>>,
    shutdown: CancellationToken,
) {
    let mut running: std::collections::HashMap<u16, CancellationToken> =
        std::collections::HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let owned = assigned.borrow_and_update().clone();
        running.retain(|partition, token| {
            let keep = owned.contains(partition);
            if !keep {
                token.cancel();
            }
            keep
        });
        for partition in owned {
            if let std::collections::hash_map::Entry::Vacant(slot) = running.entry(partition) {
                let token = shutdown.child_token();
                let queue = state.queues.event_partition(partition);
                tasks.spawn(crate::event_consumer::run_partition(
                    state.clone(),
                    queue,
                    token.clone(),
                ));
                slot.insert(token);
            }
        }
        state
            .metrics
            .event_partitions_owned
            .set(i64::try_from(running.len()).unwrap_or(i64::MAX));
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = assigned.changed() => if changed.is_err() { break },
        }
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_split_without_overlap_or_gaps() {
        for live in 1..=5 {
            let mut all: Vec<u16> = (0..live)
                .flat_map(|rank| owned_partitions(8, live, rank))
                .collect();
            all.sort();
            assert_eq!(all, (0..8).collect::<Vec<_>>(), "{live} workers");
        }
        assert_eq!(owned_partitions(8, 3, 1), vec![1, 4, 7]);
    }
}
