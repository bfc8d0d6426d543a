//! Executing a recorded API Studio call as the viewer who made it, and storing Clockify's answer
//! with its secrets redacted.
//!
//! The call runs with the viewer's own user token, opened from its sealed form in the call's
//! row, never with the installation token: Clockify applies that user's permissions. The token
//! is erased from the row when the call ends, whatever the outcome. A token that expired before
//! the call ran ends it as `token_expired` without sending anything; a 401 is not retried.
//!
//! The call row is the source of truth: a redelivered job whose call already has a result is
//! acked untouched, and a non-idempotent call found `running` (its worker died after sending)
//! is marked failed rather than sent again, since it may have taken effect.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use clockify_client::client::{OutboundError, OutboundRequest, RetryPolicy, is_idempotent};

use crate::api_call_body::capture_body;
use crate::api_call_failure::{CallFailure, upstream_failure};
use crate::disposition::Disposition;
use crate::installation::{InstallationError, load_active_bases};
use crate::state::WorkerState;

#[derive(sqlx::FromRow)]
struct CallRow {
    status: String,
    method: String,
    path: String,
    query: Value,
    body: Option<Value>,
    api_base: String,
    tag: String,
    sealed_user_token: Option<String>,
    user_token_expires_at: Option<DateTime<Utc>>,
}

/// The message of a call whose token expired before it ran.
const EXPIRED_MESSAGE: &str = "the viewer's token expired before the call ran; nothing was sent. Make the call again from the sidebar";

/// Runs the call `call_id` of `workspace_id` once.
#[tracing::instrument(name = "job.api_call", skip_all, fields(workspace_id, %call_id))]
pub async fn run_api_call(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
) -> anyhow::Result<Disposition> {
    let call: Option<CallRow> = sqlx::query_as(
        "select status, method, path, query, body, api_base, tag, sealed_user_token, user_token_expires_at
         from api_calls where workspace_id = $1 and id = $2",
    )
    .bind(workspace_id)
    .bind(call_id)
    .fetch_optional(&state.db)
    .await?;
    let Some(call) = call else {
        return Ok(Disposition::done());
    };
    // The row was written from a validated catalog operation; a method that does not parse means
    // the row is corrupt, and guessing one could send a request nobody asked for.
    let Ok(method) = Method::from_bytes(call.method.as_bytes()) else {
        anyhow::bail!("call {call_id} has an unparsable method");
    };
    let idempotent = is_idempotent(&method);
    match call.status.as_str() {
        "succeeded" | "failed" => return Ok(Disposition::done()),
        "running" if !idempotent => {
            let failure = Finish::failed(
                CallFailure::Interrupted,
                "the worker stopped after sending this request; it was not repeated because it may have taken effect",
            );
            finish(state, workspace_id, call_id, failure).await?;
            return Ok(Disposition::done());
        }
        _ => {}
    }
    let token = match viewer_token(state, workspace_id, &call) {
        Ok(token) => token,
        Err(failure) => {
            finish(state, workspace_id, call_id, failure).await?;
            return Ok(Disposition::done());
        }
    };
    sqlx::query("update api_calls set status = 'running' where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(call_id)
        .execute(&state.db)
        .await?;
    let bases = match load_active_bases(&state.db, workspace_id).await {
        Ok(bases) => bases,
        Err(InstallationError::Database(error)) => return Err(error.into()),
        Err(error) => {
            let failure = Finish::failed(CallFailure::NotInstalled, &error.to_string());
            finish(state, workspace_id, call_id, failure).await?;
            return Ok(Disposition::done());
        }
    };
    let base_url = if call.api_base == "reports" {
        &bases.reports_url
    } else {
        &bases.backend_url
    };
    let query: Vec<(String, String)> = serde_json::from_value(call.query)
        .with_context(|| format!("call {call_id} has a query that is not a list of pairs"))?;
    let answer = state
        .client
        .send(&OutboundRequest {
            workspace_id,
            base_url,
            method,
            path: &call.path,
            query: &query,
            body: call.body.as_ref(),
            token: &token,
            group: &call.tag,
            retry: RetryPolicy::for_calls(&state.config.outbound),
        })
        .await;
    drop(token);
    let result = match answer {
        Ok(response) => {
            let (body, truncated) =
                capture_body(&response.body, state.config.api_call_result_max_bytes);
            Finish {
                upstream_status: Some(i32::from(response.status)),
                duration_ms: Some(response.duration.as_millis().min(i32::MAX as u128) as i32),
                attempts: Some(response.attempts as i32),
                body,
                truncated,
                failure: upstream_failure(response.status, response.location.as_deref()),
            }
        }
        Err(OutboundError::Host(error)) => Finish::failed(
            CallFailure::NotSent,
            &format!("refused before sending: {error}"),
        ),
        Err(error) => Finish::failed(CallFailure::RequestFailed, &error.to_string()),
    };
    finish(state, workspace_id, call_id, result).await?;
    Ok(Disposition::done())
}

/// Opens the viewer's token, unless it is missing, expired or cannot be opened.
fn viewer_token(state: &WorkerState, workspace_id: &str, call: &CallRow) -> Result<String, Finish> {
    let (Some(sealed), Some(expires_at)) = (&call.sealed_user_token, call.user_token_expires_at)
    else {
        return Err(Finish::failed(
            CallFailure::TokenMissing,
            "the call has no user token to run with; make it again from the sidebar",
        ));
    };
    if expires_at <= Utc::now() {
        return Err(Finish::failed(CallFailure::TokenExpired, EXPIRED_MESSAGE));
    }
    state
        .cipher
        .as_deref()
        .and_then(|cipher| cipher.open(workspace_id, sealed).ok())
        .ok_or_else(|| {
            Finish::failed(
                CallFailure::TokenUnreadable,
                "the viewer's token cannot be opened with TOKEN_ENCRYPTION_KEY",
            )
        })
}

/// What is stored of a finished call.
struct Finish {
    upstream_status: Option<i32>,
    duration_ms: Option<i32>,
    attempts: Option<i32>,
    body: Option<Value>,
    truncated: bool,
    failure: Option<(CallFailure, String)>,
}

impl Finish {
    fn failed(failure: CallFailure, message: &str) -> Self {
        Self {
            upstream_status: None,
            duration_ms: None,
            attempts: None,
            body: None,
            truncated: false,
            failure: Some((failure, message.to_owned())),
        }
    }
}

/// Stores the outcome and erases the viewer's token; counts the outcome.
async fn finish(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
    result: Finish,
) -> sqlx::Result<()> {
    let (status, code, error) = match &result.failure {
        None => ("succeeded", None, None),
        Some((failure, message)) => ("failed", Some(failure.as_str()), Some(message.as_str())),
    };
    sqlx::query(
        "update api_calls set status = $3, upstream_status = $4, duration_ms = $5, attempts = $6,
                response_body = $7, response_truncated = $8, error = $9, error_code = $10,
                sealed_user_token = null, finished_at = now()
         where workspace_id = $1 and id = $2",
    )
    .bind(workspace_id)
    .bind(call_id)
    .bind(status)
    .bind(result.upstream_status)
    .bind(result.duration_ms)
    .bind(result.attempts)
    .bind(result.body)
    .bind(result.truncated)
    .bind(error)
    .bind(code)
    .execute(&state.db)
    .await?;
    state
        .metrics
        .api_calls
        .with_label_values(&[code.unwrap_or(status)])
        .inc();
    Ok(())
}

/// Ends a call whose job could not be handled (it panicked and was dead-lettered), erasing its
/// token, unless it already has an outcome.
pub async fn abandon_api_call(state: &WorkerState, workspace_id: &str, call_id: Uuid) {
    let result = sqlx::query(
        "update api_calls set status = 'failed', error_code = $3, sealed_user_token = null,
                error = 'the call could not be handled and was dead-lettered', finished_at = now()
         where workspace_id = $1 and id = $2 and status in ('queued', 'running')",
    )
    .bind(workspace_id)
    .bind(call_id)
    .bind(CallFailure::RequestFailed.as_str())
    .execute(&state.db)
    .await;
    if let Err(error) = result {
        tracing::warn!(error = %error, "could not mark an abandoned call failed");
    }
}

/// Ends calls nobody will run any more, erasing their tokens and freeing their workspace's cap:
/// queued calls whose token has expired (a worker would refuse them anyway), and running ones
/// whose token expired `RUNNING_GRACE` ago (their message was lost or dead-lettered). A call
/// that a worker finishes later still gets its real outcome.
pub async fn expire_abandoned_calls(executor: impl sqlx::PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "update api_calls set status = 'failed', error_code = $3,
                error = case when status = 'queued' then $1 else $2 end,
                sealed_user_token = null, finished_at = now()
         where status in ('queued', 'running')
           and coalesce(user_token_expires_at, created_at + interval '30 minutes')
               < now() - case when status = 'running' then interval '10 minutes' else interval '0 seconds' end",
    )
    .bind(EXPIRED_MESSAGE)
    .bind("the call's worker stopped and the viewer's token has since expired; the call may or may not have taken effect")
    .bind(CallFailure::TokenExpired.as_str())
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
