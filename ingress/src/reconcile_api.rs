//! Reconciliation on demand: `POST|GET /api/reconcile` for workspace owners and admins, and
//! `POST|GET /admin/workspaces/{workspaceId}/reconcile` for operators (recorded in the audit
//! log). A pass is a job of the bootstrap machinery: one job runs per workspace, so asking while
//! a bootstrap or a pass runs returns that job. `GET` lists the latest passes with what each
//! changed per kind.

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

/// Passes `GET` shows.
const PASSES_SHOWN: i64 = 10;

#[tracing::instrument(name = "reconcile.start", skip_all, fields(request_id = %request_id))]
pub async fn start_for_user(
    State(state): State<AppState>,
    user: StudioUser,
    Extension(RequestId(request_id)): Extension<RequestId>,
) -> Result<Response, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden(
            "only workspace owners and admins may start a reconciliation",
        ));
    }
    let by = format!("user:{}", user.user_id.as_deref().unwrap_or("unknown"));
    start(&state, &user.workspace_id, &by, &request_id).await
}

pub async fn passes_for_user(
    State(state): State<AppState>,
    user: StudioUser,
) -> Result<Response, ApiError> {
    passes(&state, &user.workspace_id).await
}

#[tracing::instrument(name = "admin.reconcile.start", skip_all, fields(request_id = %request_id))]
pub async fn start_for_operator(
    State(state): State<AppState>,
    operator: Operator,
    Path(workspace_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
) -> Result<Response, ApiError> {
    start_audited(
        &state,
        &operator,
        "reconcile.start",
        &workspace_id,
        &request_id,
        || start(&state, &workspace_id, "operator", &request_id),
    )
    .await
}

pub async fn passes_for_operator(
    State(state): State<AppState>,
    _operator: Operator,
    Path(workspace_id): Path<String>,
) -> Result<Response, ApiError> {
    passes(&state, &workspace_id).await
}

async fn start(
    state: &AppState,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
) -> Result<Response, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let mut tx = state.db.begin().await.map_err(internal)?;
    let started = common::bootstrap_start::start_reconcile(
        &mut tx,
        workspace_id,
        requested_by,
        request_id,
        state.config.freshness.feed_lag,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    queue_units(state, workspace_id, "reconciliation", &started.messages).await;
    let status = started_status(started.created);
    Ok((
        status,
        Json(json!({"created": started.created, "jobId": started.job_id})),
    )
        .into_response())
}

async fn passes(state: &AppState, workspace_id: &str) -> Result<Response, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let mut conn = state.db.acquire().await.map_err(internal)?;
    let passes = common::bootstrap_start::latest_passes(&mut conn, workspace_id, PASSES_SHOWN)
        .await
        .map_err(internal)?;
    Ok(Json(json!({"passes": passes})).into_response())
}
