//! Reads of `api_calls` for the sidebar and studio API: one call, or a filtered page.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{CallFailure, CallStatus};

/// One call as the API shows it. No token is ever part of it: the sealed user token is not
/// selected, and the stored body was redacted before it was stored.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: Uuid,
    /// Who made it (the Clockify user id from their token).
    pub user_id: Option<String>,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub query: Value,
    /// The request body as sent, so a past call can be re-run.
    pub body: Option<Value>,
    pub status: CallStatus,
    pub upstream_status: Option<i32>,
    pub duration_ms: Option<i32>,
    pub attempts: Option<i32>,
    pub response_body: Option<Value>,
    pub response_truncated: bool,
    pub error: Option<String>,
    /// Set for failed calls.
    pub error_code: Option<CallFailure>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One of the workspace's calls; another workspace's id finds nothing.
pub async fn get_view(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<CallView>> {
    sqlx::query_as!(
        CallView,
        r#"select id, user_id, operation_id, method, path, query, body, status as "status: CallStatus",
                  upstream_status, duration_ms, attempts, response_body, response_truncated, error,
                  error_code as "error_code: CallFailure", created_at, finished_at
           from api_calls where workspace_id = $1 and id = $2"#,
        workspace_id,
        id,
    )
    .fetch_optional(executor)
    .await
}

/// What narrows a list of calls; `None` keeps all.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallFilter<'a> {
    pub operation_id: Option<&'a str>,
    pub status: Option<CallStatus>,
}

/// A page of the workspace's calls passing `filter`, newest first.
pub async fn list_views(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    filter: CallFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<CallView>> {
    sqlx::query_as!(
        CallView,
        r#"select id, user_id, operation_id, method, path, query, body, status as "status: CallStatus",
                  upstream_status, duration_ms, attempts, response_body, response_truncated, error,
                  error_code as "error_code: CallFailure", created_at, finished_at
           from api_calls
           where workspace_id = $1 and ($4::text is null or operation_id = $4)
             and ($5::text is null or status = $5)
           order by created_at desc, id desc limit $2 offset $3"#,
        workspace_id,
        limit,
        offset,
        filter.operation_id,
        filter.status as Option<CallStatus>,
    )
    .fetch_all(executor)
    .await
}
