//! `workspace_replays`: operators' replays of a workspace's event log, with their progress.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

/// Where a replay stands (`workspace_replays.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ReplayStatus {
    Queued,
    Running,
    Completed,
    Failed,
}

/// A replay as `GET /admin/workspaces/{id}/replay` shows it, and as the job reads it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    pub id: Uuid,
    pub workspace_id: String,
    pub from_at: DateTime<Utc>,
    pub to_at: DateTime<Utc>,
    pub status: ReplayStatus,
    pub events_applied: i64,
    #[serde(skip)]
    pub last_accepted_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub last_message_id: Option<Uuid>,
    pub requested_by: String,
    pub request_id: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Records a queued replay.
pub async fn insert(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    workspace_id: &str,
    from_at: DateTime<Utc>,
    to_at: DateTime<Utc>,
    requested_by: &str,
    request_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into workspace_replays (id, workspace_id, from_at, to_at, requested_by, request_id)
         values ($1, $2, $3, $4, $5, $6)",
        id,
        workspace_id,
        from_at,
        to_at,
        requested_by,
        request_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// One replay of `workspace_id`.
pub async fn get(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Replay>> {
    sqlx::query_as!(
        Replay,
        r#"select id, workspace_id, from_at, to_at, status as "status: ReplayStatus",
                  events_applied, last_accepted_at, last_message_id, requested_by, request_id,
                  error, created_at, finished_at
           from workspace_replays where workspace_id = $1 and id = $2"#,
        workspace_id,
        id,
    )
    .fetch_optional(executor)
    .await
}

/// The newest replay of `workspace_id`.
pub async fn latest(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<Replay>> {
    sqlx::query_as!(
        Replay,
        r#"select id, workspace_id, from_at, to_at, status as "status: ReplayStatus",
                  events_applied, last_accepted_at, last_message_id, requested_by, request_id,
                  error, created_at, finished_at
           from workspace_replays where workspace_id = $1 order by created_at desc limit 1"#,
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// Records a page applied: the position reached and the events it applied.
pub async fn advance(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    applied: i64,
    last_accepted_at: DateTime<Utc>,
    last_message_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update workspace_replays set status = 'running', events_applied = events_applied + $2,
                last_accepted_at = $3, last_message_id = $4
         where id = $1",
        id,
        applied,
        last_accepted_at,
        last_message_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends a replay.
pub async fn finish(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    status: ReplayStatus,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update workspace_replays set status = $2, error = $3, finished_at = now() where id = $1",
        id,
        status as ReplayStatus,
        error,
    )
    .execute(executor)
    .await?;
    Ok(())
}
