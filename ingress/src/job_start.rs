//! What starting a bootstrap and starting a reconciliation pass share: queueing a started job's
//! units, the status that says whether this request started it, and an operator's start, checked
//! against the installation and recorded in the audit log.

use std::future::Future;

use axum::http::StatusCode;
use axum::response::Response;

use common::job_messages::JobMessage;

use crate::error::ApiError;
use crate::state::AppState;
use crate::user_auth::Operator;

/// Queues a started job's units. A unit whose publish fails stays in the database, where the
/// workers' reconciler finds and republishes it, so the request still succeeds.
pub async fn queue_units(state: &AppState, workspace_id: &str, job: &str, units: &[JobMessage]) {
    for unit in units {
        if crate::enqueue::enqueue_job(state, unit).await.is_err() {
            tracing::warn!(workspace_id, job, "unit not queued; left to the reconciler");
        }
    }
}

/// 202 for a job this request created, 200 for the one that was already running.
pub fn started_status(created: bool) -> StatusCode {
    if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    }
}

/// An operator's start of `action` (`bootstrap.start`, `reconcile.start`) for `workspace_id`:
/// 404 without an active installation, and the outcome recorded in the audit log whatever it is.
pub async fn start_audited<Start>(
    state: &AppState,
    operator: &Operator,
    action: &str,
    workspace_id: &str,
    request_id: &str,
    start: impl FnOnce() -> Start,
) -> Result<Response, ApiError>
where
    Start: Future<Output = Result<Response, ApiError>>,
{
    let installed = common::db::installations::active_addon_id(&state.db, workspace_id)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let result = match installed {
        None => Err(ApiError::NotFound),
        Some(_) => start().await,
    };
    let outcome = match &result {
        Ok(response) if response.status() == StatusCode::ACCEPTED => "started",
        Ok(_) => "already_running",
        Err(ApiError::NotFound) => "not_found",
        Err(_) => "failed",
    };
    crate::audit::record(
        state,
        operator,
        action,
        Some(workspace_id),
        request_id,
        outcome,
        None,
    )
    .await;
    result
}
