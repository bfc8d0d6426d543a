//! `api_calls`: API Studio calls made by workspace users, with what Clockify answered. Ingress
//! records and lists them; a worker runs each and stores its outcome; the reconciler ends those
//! nobody will run. The viewer's sealed token lives in the row only while the call waits.
//!
//! Split by who asks: [`views`] for the API's reads, [`runs`] for the worker that runs a call
//! and the reconciler, [`upkeep`] for uninstall, key rotation and retention.

mod runs;
mod upkeep;
mod views;

pub use runs::*;
pub use upkeep::*;
pub use views::*;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Where a call stands (`api_calls.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CallStatus {
    Queued,
    /// A worker is sending it, or died while it did.
    Running,
    Succeeded,
    Failed,
}

impl CallStatus {
    /// The stored name, also an outcome label of `studio_api_calls_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Running => "running",
            CallStatus::Succeeded => "succeeded",
            CallStatus::Failed => "failed",
        }
    }
}

/// Which of Clockify's APIs a call goes to (`api_calls.api_base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ApiBase {
    Backend,
    Reports,
    Pto,
}

/// Why a call failed: the closed set stored as `error_code`, shown by the API, and used as the
/// outcome label of `studio_api_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CallFailure {
    /// The viewer's token expired before the call ran; nothing was sent.
    TokenExpired,
    /// The call has no user token (recorded before calls ran as the viewer).
    TokenMissing,
    /// The sealed token does not open with `TOKEN_ENCRYPTION_KEY`.
    TokenUnreadable,
    /// Clockify answered 401 to the viewer's token.
    TokenRefused,
    /// Clockify answered 403: the viewer's rights do not allow the call.
    Forbidden,
    /// Any other answer outside 2xx.
    UpstreamError,
    /// A redirect, which is never followed.
    Redirect,
    /// Refused before sending (host not allowed, plain HTTP).
    NotSent,
    /// No answer: connection, timeout, or an answer lost after sending.
    RequestFailed,
    /// The workspace has no active installation.
    NotInstalled,
    /// A worker stopped after sending a non-idempotent call; it was not repeated.
    Interrupted,
    /// Ingress recorded the call but could not publish its job.
    NotQueued,
}

impl CallFailure {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallFailure::TokenExpired => "token_expired",
            CallFailure::TokenMissing => "token_missing",
            CallFailure::TokenUnreadable => "token_unreadable",
            CallFailure::TokenRefused => "token_refused",
            CallFailure::Forbidden => "forbidden",
            CallFailure::UpstreamError => "upstream_error",
            CallFailure::Redirect => "redirect",
            CallFailure::NotSent => "not_sent",
            CallFailure::RequestFailed => "request_failed",
            CallFailure::NotInstalled => "not_installed",
            CallFailure::Interrupted => "interrupted",
            CallFailure::NotQueued => "not_queued",
        }
    }
}

/// First key of the advisory lock that serialises one workspace's cap checks ("CALL").
const CAP_LOCK_CLASS: i32 = 0x4341_4c4c;

/// Takes the workspace's cap lock until the caller's transaction ends, so concurrent requests
/// cannot all count room for one more call.
pub async fn lock_workspace_cap(conn: &mut PgConnection, workspace_id: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "select pg_advisory_xact_lock($1, hashtext($2))",
        CAP_LOCK_CLASS,
        workspace_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How many of the workspace's calls are queued or running: what its cap counts.
pub async fn count_pending(executor: impl PgExecutor<'_>, workspace_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from api_calls
           where workspace_id = $1 and status in ('queued', 'running')"#,
        workspace_id,
    )
    .fetch_one(executor)
    .await
}

/// A call to record, as the catalog validated it.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub id: Uuid,
    pub workspace_id: &'a str,
    pub user_id: Option<&'a str>,
    pub request_id: &'a str,
    pub operation_id: &'a str,
    pub api_base: ApiBase,
    pub tag: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Value,
    pub body: Option<&'a Value>,
    /// The viewer's token, sealed for the workspace.
    pub sealed_user_token: &'a str,
    pub user_token_expires_at: DateTime<Utc>,
}

/// Records a call as queued.
pub async fn insert_queued(executor: impl PgExecutor<'_>, call: &NewCall<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into api_calls (id, workspace_id, user_id, request_id, operation_id, api_base, tag, method, path, query, body,
                                status, sealed_user_token, user_token_expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', $12, $13)",
        call.id,
        call.workspace_id,
        call.user_id,
        call.request_id,
        call.operation_id,
        call.api_base as ApiBase,
        call.tag,
        call.method,
        call.path,
        call.query,
        call.body,
        call.sealed_user_token,
        call.user_token_expires_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends a call whose job could not be published, erasing the viewer's token.
pub async fn mark_not_queued(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update api_calls set status = 'failed', error = 'could not be queued', error_code = $3,
                sealed_user_token = null, finished_at = now()
         where workspace_id = $1 and id = $2",
        workspace_id,
        id,
        CallFailure::NotQueued as CallFailure,
    )
    .execute(executor)
    .await?;
    Ok(())
}
