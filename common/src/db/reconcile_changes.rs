//! `reconcile_changes`: what each reconciliation pass changed in the copy, counted per kind and
//! change (`added`, `updated`, `deleted`).

use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

/// Adds `count` changes of one kind to a pass's tally.
pub async fn add(
    executor: impl PgExecutor<'_>,
    job_id: Uuid,
    workspace_id: &str,
    kind: &str,
    change: &str,
    count: i64,
) -> sqlx::Result<()> {
    if count == 0 {
        return Ok(());
    }
    sqlx::query!(
        "insert into reconcile_changes (job_id, workspace_id, kind, change, count)
         values ($1, $2, $3, $4, $5)
         on conflict (job_id, kind, change) do update
             set count = reconcile_changes.count + excluded.count",
        job_id,
        workspace_id,
        kind,
        change,
        count,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// One line of a pass's tally.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindChanges {
    pub kind: String,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// A pass's changes per kind.
pub async fn for_job(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Vec<KindChanges>> {
    sqlx::query_as!(
        KindChanges,
        r#"select kind,
                  coalesce(sum(count) filter (where change = 'added'), 0)::bigint as "added!",
                  coalesce(sum(count) filter (where change = 'updated'), 0)::bigint as "updated!",
                  coalesce(sum(count) filter (where change = 'deleted'), 0)::bigint as "deleted!"
           from reconcile_changes where workspace_id = $1 and job_id = $2
           group by kind order by kind"#,
        workspace_id,
        job_id,
    )
    .fetch_all(executor)
    .await
}
