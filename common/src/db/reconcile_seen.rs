//! `reconcile_seen`: the ids each unit of a reconciliation pass saw, so that when its list ends
//! the entities it did not see can be marked deleted. Kept until the pass ends.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Records the ids of one page.
pub async fn record(
    executor: impl PgExecutor<'_>,
    job_id: Uuid,
    unit_key: &str,
    ids: &[&str],
) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into reconcile_seen (job_id, unit_key, entity_id)
         select $1, $2, i from unnest($3::text[]) as i
         on conflict do nothing",
        job_id,
        unit_key,
        ids as _,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets what a pass saw, once it ended.
pub async fn delete_for_job(executor: impl PgExecutor<'_>, job_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("delete from reconcile_seen where job_id = $1", job_id)
        .execute(executor)
        .await?;
    Ok(())
}
