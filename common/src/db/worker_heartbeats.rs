//! `worker_heartbeats`: the live worker processes, so event partitions can be spread over them.
//! Process bookkeeping, not workspace data, so it has no workspace_id.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Records `worker_id` as alive now.
pub async fn beat(executor: impl PgExecutor<'_>, worker_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into worker_heartbeats (worker_id) values ($1)
         on conflict (worker_id) do update set seen_at = now()",
        worker_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets workers not seen for `secs`, so the table holds no long-dead processes.
pub async fn forget_older_than(executor: impl PgExecutor<'_>, secs: f64) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from worker_heartbeats where seen_at < now() - make_interval(secs => $1)",
        secs,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The workers seen within `secs`, by the database's clock, in a stable order every worker
/// agrees on.
pub async fn live_workers(executor: impl PgExecutor<'_>, secs: f64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "select worker_id from worker_heartbeats
         where seen_at > now() - make_interval(secs => $1) order by worker_id",
        secs,
    )
    .fetch_all(executor)
    .await
}

/// Removes a stopping worker's heartbeat so the others take its partitions at once.
pub async fn remove(executor: impl PgExecutor<'_>, worker_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from worker_heartbeats where worker_id = $1",
        worker_id
    )
    .execute(executor)
    .await?;
    Ok(())
}
