//! `bootstrap_jobs`: a workspace's imports from the Clockify API. At most one runs per
//! workspace at a time (a partial unique index), so asking again finds the running one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Where a job stands (`bootstrap_jobs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Completed,
    /// Some units failed, not all.
    CompletedWithErrors,
    /// Every unit failed.
    Failed,
    Cancelled,
}

impl JobStatus {
    /// The stored name, also the outcome label of the bootstrap metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::CompletedWithErrors => "completed_with_errors",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job does (`bootstrap_jobs.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobMode {
    /// Imports every kind.
    Bootstrap,
    /// Compares every kind with the copy and repairs what drifted.
    Reconcile,
}

/// Inserts reconciliation pass `id` as running unless the workspace already has a running job
/// (of either mode); `true` when it was inserted. `feed` is the range the time-entry change
/// feeds are read over, when the pass has a baseline.
pub async fn insert_running_reconcile(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
    feed: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query_scalar!(
        "insert into bootstrap_jobs (id, workspace_id, status, requested_by, request_id, mode, feed_start, feed_end)
         values ($1, $2, 'running', $3, $4, 'reconcile', $5, $6)
         on conflict (workspace_id) where status = 'running' do nothing
         returning id",
        id,
        workspace_id,
        requested_by,
        request_id,
        feed.map(|(start, _)| start),
        feed.map(|(_, end)| end),
    )
    .fetch_optional(executor)
    .await?;
    Ok(inserted.is_some())
}

/// Up to when the copy's time entries are known complete: the end of the last completed pass's
/// feed range, else the start of the last completed job (bootstrap or pass without feeds).
pub async fn time_entries_known_until(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        r#"select coalesce(feed_end, created_at) as "at!" from bootstrap_jobs
           where workspace_id = $1 and status = 'completed'
           order by created_at desc limit 1"#,
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// Active installations due for a scheduled pass, at most `limit`. Each workspace's passes fall
/// on its own slots, `interval` apart and offset by a hash of its id, so workspaces do not all
/// start together; one is due when it was installed before its latest slot, no job of it started
/// since, and none runs.
pub async fn due_for_reconcile(
    executor: impl PgExecutor<'_>,
    interval_secs: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select i.workspace_id as "workspace_id!" from installations i
           cross join lateral (
               select to_timestamp(floor((extract(epoch from now())::bigint - o.off)::numeric / $1) * $1 + o.off) as slot
               from (select (hashtext(i.workspace_id)::bigint & 2147483647) % $1 as off) o
           ) s
           where i.deleted_at is null and i.status = 'ACTIVE' and i.sealed_auth_token is not null
             and i.installed_at < s.slot
             and not exists (
                 select 1 from bootstrap_jobs j
                 where j.workspace_id = i.workspace_id
                   and (j.status = 'running' or j.created_at >= s.slot))
           order by i.workspace_id limit $2"#,
        interval_secs,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// When the workspace's next scheduled pass falls due (its next slot), for the coverage view.
pub async fn next_reconcile_slot(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    interval_secs: i64,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        r#"select to_timestamp(
               (floor((extract(epoch from now())::bigint - (hashtext($1)::bigint & 2147483647) % $2)::numeric / $2) + 1) * $2
               + (hashtext($1)::bigint & 2147483647) % $2) as "at!""#,
        workspace_id,
        interval_secs,
    )
    .fetch_one(executor)
    .await
}

/// Inserts job `id` as running unless the workspace already has a running job; `true` when it
/// was inserted.
pub async fn insert_running(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query_scalar!(
        "insert into bootstrap_jobs (id, workspace_id, status, requested_by, request_id)
         values ($1, $2, 'running', $3, $4)
         on conflict (workspace_id) where status = 'running' do nothing
         returning id",
        id,
        workspace_id,
        requested_by,
        request_id,
    )
    .fetch_optional(executor)
    .await?;
    Ok(inserted.is_some())
}

/// The id of the workspace's running job; an error when there is none.
pub async fn running_id(executor: impl PgExecutor<'_>, workspace_id: &str) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "select id from bootstrap_jobs where workspace_id = $1 and status = 'running'",
        workspace_id,
    )
    .fetch_one(executor)
    .await
}

/// A job row as the API shows it.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Uuid,
    pub mode: JobMode,
    pub status: JobStatus,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The workspace's latest job, running or not.
pub async fn latest(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as!(
        JobRow,
        r#"select id, mode as "mode: JobMode", status as "status: JobStatus", requested_by,
                  created_at, finished_at
           from bootstrap_jobs where workspace_id = $1 order by created_at desc limit 1"#,
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// The status of the workspace's latest job, which the demo and the benchmark wait on.
pub async fn latest_status(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<JobStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: JobStatus" from bootstrap_jobs
           where workspace_id = $1 order by created_at desc limit 1"#,
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// Locks the job row until the caller's transaction ends and returns its status and mode, so two
/// units finishing at once cannot both miss the job's end. `for no key update`: the caller's
/// transaction has already inserted rows referencing the job (units, a pass's seen ids and
/// changes), which hold `for key share` on it; `for update` would wait on another finishing
/// unit's share while that unit waits on ours, a deadlock.
pub async fn lock_status(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Option<(JobStatus, JobMode)>> {
    let row = sqlx::query!(
        r#"select status as "status: JobStatus", mode as "mode: JobMode" from bootstrap_jobs
           where workspace_id = $1 and id = $2 for no key update"#,
        workspace_id,
        job_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.status, row.mode)))
}

/// When a job started.
pub async fn created_at(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        "select created_at from bootstrap_jobs where workspace_id = $1 and id = $2",
        workspace_id,
        job_id,
    )
    .fetch_optional(executor)
    .await
}

/// The workspace's latest reconciliation passes, newest first.
pub async fn latest_passes(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as!(
        JobRow,
        r#"select id, mode as "mode: JobMode", status as "status: JobStatus", requested_by,
                  created_at, finished_at
           from bootstrap_jobs where workspace_id = $1 and mode = 'reconcile'
           order by created_at desc limit $2"#,
        workspace_id,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Ends the job with `status`.
pub async fn finish(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    status: JobStatus,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update bootstrap_jobs set status = $3, finished_at = now(), updated_at = now()
         where workspace_id = $1 and id = $2",
        workspace_id,
        job_id,
        status as JobStatus,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets the workspace's jobs, and with them (by cascade) their units, on uninstall. It waits
/// for a page being written, whose transaction holds its unit's row lock.
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from bootstrap_jobs where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Bootstrap jobs running now, in every workspace (a gauge for stalled-import alerts).
pub async fn count_running(executor: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from bootstrap_jobs where status = 'running'"#
    )
    .fetch_one(executor)
    .await
}

/// Cancels the workspace's running job, if any, and returns its id. Its pending units end as
/// cancelled when a worker next picks them up.
pub async fn cancel_running(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "update bootstrap_jobs set status = 'cancelled', finished_at = now(), updated_at = now()
         where workspace_id = $1 and status = 'running' returning id",
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}
