//! `api_calls`: API Studio calls made by workspace users, with what Clockify answered. Ingress
//! records and lists them; a worker runs each and stores its outcome; the reconciler ends those
//! nobody will run. The viewer's sealed token lives in the row only while the call waits.

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

/// What a worker needs to run a call.
#[derive(Debug, Clone)]
pub struct CallToRun {
    pub status: CallStatus,
    pub method: String,
    pub path: String,
    pub query: Value,
    pub body: Option<Value>,
    pub api_base: ApiBase,
    pub tag: String,
    pub sealed_user_token: Option<String>,
    pub user_token_expires_at: Option<DateTime<Utc>>,
}

/// The call a job names, with the viewer's sealed token.
pub async fn load_to_run(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<CallToRun>> {
    sqlx::query_as!(
        CallToRun,
        r#"select status as "status: CallStatus", method, path, query, body,
                  api_base as "api_base: ApiBase", tag, sealed_user_token, user_token_expires_at
           from api_calls where workspace_id = $1 and id = $2"#,
        workspace_id,
        id,
    )
    .fetch_optional(executor)
    .await
}

/// Marks a call as being sent, so a worker that dies after sending leaves a trace: a
/// non-idempotent call found running is not sent again.
pub async fn mark_running(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update api_calls set status = 'running' where workspace_id = $1 and id = $2",
        workspace_id,
        id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// What is stored of a finished call.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub upstream_status: Option<i32>,
    pub duration_ms: Option<i32>,
    pub attempts: Option<i32>,
    /// Clockify's answer, secrets redacted.
    pub body: Option<Value>,
    pub truncated: bool,
    /// `None` for a success.
    pub failure: Option<(CallFailure, String)>,
}

impl Outcome {
    /// A failure before or instead of an answer.
    pub fn failed(failure: CallFailure, message: &str) -> Self {
        Self {
            upstream_status: None,
            duration_ms: None,
            attempts: None,
            body: None,
            truncated: false,
            failure: Some((failure, message.to_owned())),
        }
    }

    /// The status the outcome gives the call.
    pub fn status(&self) -> CallStatus {
        if self.failure.is_some() {
            CallStatus::Failed
        } else {
            CallStatus::Succeeded
        }
    }
}

/// Stores a call's outcome and erases the viewer's token.
pub async fn finish(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
    outcome: &Outcome,
) -> sqlx::Result<()> {
    let (code, error) = match &outcome.failure {
        None => (None, None),
        Some((failure, message)) => (Some(*failure), Some(message.as_str())),
    };
    sqlx::query!(
        "update api_calls set status = $3, upstream_status = $4, duration_ms = $5, attempts = $6,
                response_body = $7, response_truncated = $8, error = $9, error_code = $10,
                sealed_user_token = null, finished_at = now()
         where workspace_id = $1 and id = $2",
        workspace_id,
        id,
        outcome.status() as CallStatus,
        outcome.upstream_status,
        outcome.duration_ms,
        outcome.attempts,
        outcome.body,
        outcome.truncated,
        error,
        code as Option<CallFailure>,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends a call whose job could not be handled (it was dead-lettered), erasing its token, unless
/// it already has an outcome.
pub async fn abandon(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update api_calls set status = 'failed', error_code = $3, sealed_user_token = null,
                error = 'the call could not be handled and was dead-lettered', finished_at = now()
         where workspace_id = $1 and id = $2 and status in ('queued', 'running')",
        workspace_id,
        id,
        CallFailure::RequestFailed as CallFailure,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends calls nobody will run any more, erasing their tokens and freeing their workspace's cap:
/// queued calls whose token has expired (ended with `queued_message`), and running ones whose
/// token expired ten minutes ago (their message was lost or dead-lettered; ended with
/// `running_message`). Returns how many were ended.
pub async fn expire_abandoned(
    executor: impl PgExecutor<'_>,
    queued_message: &str,
    running_message: &str,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update api_calls set status = 'failed', error_code = $3,
                error = case when status = 'queued' then $1 else $2 end,
                sealed_user_token = null, finished_at = now()
         where status in ('queued', 'running')
           and coalesce(user_token_expires_at, created_at + interval '30 minutes')
               < now() - case when status = 'running' then interval '10 minutes' else interval '0 seconds' end",
        queued_message,
        running_message,
        CallFailure::TokenExpired as CallFailure,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// Forgets the workspace's calls (on uninstall).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from api_calls where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Up to `limit` sealed user tokens of waiting calls not starting with `current_prefix`, after
/// `after_key` (the call id as text).
pub async fn sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
    after_key: &str,
    limit: i64,
) -> sqlx::Result<Vec<super::SealedToken>> {
    sqlx::query_as!(
        super::SealedToken,
        r#"select id::text as "row_key!", workspace_id, sealed_user_token as "sealed!"
           from api_calls
           where sealed_user_token is not null and not starts_with(sealed_user_token, $1)
             and id::text > $2
           order by id::text limit $3"#,
        current_prefix,
        after_key,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Replaces a waiting call's sealed user token, only if it is still `old`.
pub async fn replace_sealed(
    executor: impl PgExecutor<'_>,
    row_key: &str,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update api_calls set sealed_user_token = $3
         where id::text = $1 and sealed_user_token = $2",
        row_key,
        old,
        new,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sealed user tokens of waiting calls not under the current key.
pub async fn count_sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from api_calls
           where sealed_user_token is not null and not starts_with(sealed_user_token, $1)"#,
        current_prefix,
    )
    .fetch_one(executor)
    .await
}

/// Deletes up to `limit` finished calls created more than `days` days ago; how many went.
pub async fn purge_older_than(
    executor: impl PgExecutor<'_>,
    days: i32,
    limit: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from api_calls where id = any(array(
             select id from api_calls
             where status in ('succeeded', 'failed')
               and created_at < now() - make_interval(days => $1) limit $2))",
        days,
        limit,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
