//! `api_calls` as a worker runs them: load, mark running, store the outcome; and the ends of
//! calls nobody will run.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{ApiBase, CallFailure, CallStatus};

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
