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
use chrono::Utc;
use reqwest::Method;
use uuid::Uuid;

use clockify_client::client::{OutboundError, OutboundRequest, RetryPolicy, is_idempotent};
use clockify_client::rate_limit::Priority;
use common::db::api_calls::{self, ApiBase, CallStatus, CallToRun, Outcome};

use crate::api_call_body::capture_body;
use crate::api_call_failure::{CallFailure, upstream_failure};
use crate::disposition::Disposition;
use crate::installation::{InstallationError, load_active_bases};
use crate::state::WorkerState;

/// The message of a call whose token expired before it ran.
const EXPIRED_MESSAGE: &str = "the viewer's token expired before the call ran; nothing was sent. Make the call again from the sidebar";

/// Runs the call `call_id` of `workspace_id` once.
#[tracing::instrument(name = "job.api_call", skip_all, fields(workspace_id, %call_id))]
pub async fn run_api_call(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
) -> anyhow::Result<Disposition> {
    let call = api_calls::load_to_run(&state.db, workspace_id, call_id).await?;
    let Some(call) = call else {
        return Ok(Disposition::done());
    };
    // The row was written from a validated catalog operation; a method that does not parse means
    // the row is corrupt, and guessing one could send a request nobody asked for.
    let Ok(method) = Method::from_bytes(call.method.as_bytes()) else {
        anyhow::bail!("call {call_id} has an unparsable method");
    };
    let idempotent = is_idempotent(&method);
    match call.status {
        CallStatus::Succeeded | CallStatus::Failed => return Ok(Disposition::done()),
        CallStatus::Running if !idempotent => {
            let failure = Outcome::failed(
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
    api_calls::mark_running(&state.db, workspace_id, call_id).await?;
    let bases = match load_active_bases(&state.db, workspace_id).await {
        Ok(bases) => bases,
        Err(InstallationError::Database(error)) => return Err(error.into()),
        Err(error) => {
            let failure = Outcome::failed(CallFailure::NotInstalled, &error.to_string());
            finish(state, workspace_id, call_id, failure).await?;
            return Ok(Disposition::done());
        }
    };
    let base_url = match call.api_base {
        ApiBase::Reports => &bases.reports_url,
        ApiBase::Pto => &bases.pto_url,
        ApiBase::Backend => &bases.backend_url,
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
            priority: Priority::Interactive,
            slot: None,
            first_attempt_paced: false,
        })
        .await;
    drop(token);
    let result = match answer {
        Ok(response) => {
            let (body, truncated) =
                capture_body(&response.body, state.config.api_call_result_max_bytes);
            Outcome {
                upstream_status: Some(i32::from(response.status)),
                duration_ms: Some(response.duration.as_millis().min(i32::MAX as u128) as i32),
                attempts: Some(response.attempts as i32),
                body,
                truncated,
                failure: upstream_failure(response.status, response.location.as_deref()),
            }
        }
        Err(OutboundError::Host(error)) => Outcome::failed(
            CallFailure::NotSent,
            &format!("refused before sending: {error}"),
        ),
        Err(error) => Outcome::failed(CallFailure::RequestFailed, &error.to_string()),
    };
    finish(state, workspace_id, call_id, result).await?;
    Ok(Disposition::done())
}

/// Opens the viewer's token, unless it is missing, expired or cannot be opened.
fn viewer_token(
    state: &WorkerState,
    workspace_id: &str,
    call: &CallToRun,
) -> Result<String, Outcome> {
    let (Some(sealed), Some(expires_at)) = (&call.sealed_user_token, call.user_token_expires_at)
    else {
        return Err(Outcome::failed(
            CallFailure::TokenMissing,
            "the call has no user token to run with; make it again from the sidebar",
        ));
    };
    if expires_at <= Utc::now() {
        return Err(Outcome::failed(CallFailure::TokenExpired, EXPIRED_MESSAGE));
    }
    state
        .cipher
        .as_deref()
        .and_then(|cipher| cipher.open(workspace_id, sealed).ok())
        .ok_or_else(|| {
            Outcome::failed(
                CallFailure::TokenUnreadable,
                "the viewer's token cannot be opened with TOKEN_ENCRYPTION_KEY",
            )
        })
}

/// Stores the outcome and erases the viewer's token; counts the outcome.
async fn finish(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
    result: Outcome,
) -> sqlx::Result<()> {
    api_calls::finish(&state.db, workspace_id, call_id, &result).await?;
    let label = match &result.failure {
        Some((failure, _)) => failure.as_str(),
        None => result.status().as_str(),
    };
    state.metrics.api_calls.with_label_values(&[label]).inc();
    Ok(())
}

/// Ends a call whose job could not be handled (it panicked and was dead-lettered), erasing its
/// token, unless it already has an outcome.
pub async fn abandon_api_call(state: &WorkerState, workspace_id: &str, call_id: Uuid) {
    if let Err(error) = api_calls::abandon(&state.db, workspace_id, call_id).await {
        tracing::warn!(error = %error, "could not mark an abandoned call failed");
    }
}

/// Ends calls nobody will run any more, erasing their tokens and freeing their workspace's cap:
/// queued calls whose token has expired (a worker would refuse them anyway), and running ones
/// whose token expired ten minutes ago (their message was lost or dead-lettered). A call that a
/// worker finishes later still gets its real outcome.
pub async fn expire_abandoned_calls(executor: impl sqlx::PgExecutor<'_>) -> sqlx::Result<u64> {
    api_calls::expire_abandoned(
        executor,
        EXPIRED_MESSAGE,
        "the call's worker stopped and the viewer's token has since expired; the call may or may not have taken effect",
    )
    .await
}
