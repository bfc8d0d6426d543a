//! Starting and following bootstraps: `POST|GET /api/bootstrap` for workspace admins and
//! `POST|GET /admin/workspaces/{workspaceId}/bootstrap` for operators. One runs per workspace:
//! asking while one runs returns it.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::job_start::{queue_units, start_audited, started_status};
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::{Operator, StudioUser};

#[tracing::instrument(name = "bootstrap.start", skip_all, fields(request_id = %request_id))]
pub async fn start_for_user(
    State(state): State<AppState>,
    user: StudioUser,
    Extension(RequestId(request_id)): Extension<RequestId>,
) -> Result<Response, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden(
            "only workspace owners and admins may start a bootstrap",
        ));
    }
    let by = format!("user:{}", user.user_id.as_deref().unwrap_or("unknown"));
    start(&state, &user.workspace_id, &by, &request_id).await
}

#[tracing::instrument(name = "bootstrap.latest", skip_all, fields(request_id = %request_id))]
pub async fn latest_for_user(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
) -> Result<Response, ApiError> {
    latest(&state, &user.workspace_id).await
}

#[tracing::instrument(name = "admin.bootstrap.start", skip_all, fields(request_id = %request_id))]
pub async fn start_for_operator(
    State(state): State<AppState>,
    operator: Operator,
    Path(workspace_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
) -> Result<Response, ApiError> {
    start_audited(
        &state,
        &operator,
        "bootstrap.start",
        &workspace_id,
        &request_id,
        || start(&state, &workspace_id, "operator", &request_id),
    )
    .await
}

#[tracing::instrument(name = "admin.bootstrap.latest", skip_all, fields(request_id = %request_id))]
pub async fn latest_for_operator(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Path(workspace_id): Path<String>,
) -> Result<Response, ApiError> {
    latest(&state, &workspace_id).await
}

async fn start(
    state: &AppState,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
) -> Result<Response, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let mut tx = state.db.begin().await.map_err(internal)?;
    let started =
        common::bootstrap_start::start_job(&mut tx, workspace_id, requested_by, request_id)
            .await
            .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    queue_units(state, workspace_id, "bootstrap", &started.messages).await;
    let status = started_status(started.created);
    let mut conn = state.db.acquire().await.map_err(internal)?;
    let job = common::bootstrap_start::latest_job(&mut conn, workspace_id)
        .await
        .map_err(internal)?;
    Ok((
        status,
        Json(json!({"created": started.created, "job": job})),
    )
        .into_response())
}

async fn latest(state: &AppState, workspace_id: &str) -> Result<Response, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let mut conn = state.db.acquire().await.map_err(internal)?;
    let job = common::bootstrap_start::latest_job(&mut conn, workspace_id)
        .await
        .map_err(internal)?;
    job.map(|job| Json(json!({"job": job})).into_response())
        .ok_or(ApiError::NotFound)
}

/// `DELETE /api/bootstrap`: cancels the running bootstrap (owners and admins); 404 when none runs.
#[tracing::instrument(name = "bootstrap.cancel", skip_all, fields(request_id = %request_id))]
pub async fn cancel_for_user(
    State(state): State<AppState>,
    user: StudioUser,
    Extension(RequestId(request_id)): Extension<RequestId>,
) -> Result<Response, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden(
            "only workspace owners and admins may cancel a bootstrap",
        ));
    }
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let cancelled = common::db::bootstrap_jobs::cancel_running(&state.db, &user.workspace_id)
        .await
        .map_err(internal)?;
    if cancelled.is_none() {
        return Err(ApiError::NotFound);
    }
    tracing::info!(workspace_id = %user.workspace_id, "bootstrap cancelled by a workspace admin");
    latest(&state, &user.workspace_id).await
}
