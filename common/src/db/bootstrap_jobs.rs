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
        r#"select id, status as "status: JobStatus", requested_by, created_at, finished_at
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

/// Locks the job row until the caller's transaction ends and returns its status, so two units
/// finishing at once cannot both miss the job's end.
pub async fn lock_status(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Option<JobStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: JobStatus" from bootstrap_jobs
           where workspace_id = $1 and id = $2 for update"#,
        workspace_id,
        job_id,
    )
    .fetch_optional(conn)
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
