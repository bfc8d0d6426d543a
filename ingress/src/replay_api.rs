//! `POST /admin/workspaces/{workspaceId}/replay` (body `{"from": ..., "to": ...}`, RFC 3339,
//! both optional: from the beginning, to now): queues a replay of the workspace's event log,
//! which the workers apply through the normal entity path; `GET .../replay` shows the newest
//! replay, `GET .../replay/{replayId}` one replay, with progress and outcome. Audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use common::db::workspace_replays;
use common::job_messages::{Job, JobMessage};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::Operator;

#[derive(Debug, Default, Deserialize)]
pub struct ReplayRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

fn internal(error: sqlx::Error) -> ApiError {
    ApiError::Internal(error.into())
}

#[tracing::instrument(name = "admin.replay.start", skip_all, fields(request_id = %request_id))]
pub async fn start_replay(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    operator: Operator,
    Path(workspace_id): Path<String>,
    range: Option<Json<ReplayRange>>,
) -> Result<Response, ApiError> {
    let range = range.map(|Json(r)| r).unwrap_or_default();
    let from = range.from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = range.to.unwrap_or_else(Utc::now);
    if from >= to {
        return Err(ApiError::BadRequest("from must be before to".into()));
    }
    let id = Uuid::now_v7();
    let result = queue(&state, &workspace_id, id, from, to, &operator, &request_id).await;
    let outcome = if result.is_ok() { "queued" } else { "failed" };
    let detail = json!({"replayId": id, "from": from, "to": to});
    crate::audit::record(
        &state,
        &operator,
        "workspace.replay",
        Some(&workspace_id),
        &request_id,
        outcome,
        Some(detail),
    )
    .await;
    result?;
    let replay = workspace_replays::get(&state.db, &workspace_id, id)
        .await
        .map_err(internal)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"replay": replay}))).into_response())
}

async fn queue(
    state: &AppState,
    workspace_id: &str,
    id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    operator: &Operator,
    request_id: &str,
) -> Result<(), ApiError> {
    workspace_replays::insert(
        &state.db,
        id,
        workspace_id,
        from,
        to,
        &operator.name,
        request_id,
    )
    .await
    .map_err(internal)?;
    let message = JobMessage::new(
        workspace_id,
        request_id,
        Job::ReplayWorkspace { replay_id: id },
    );
    if let Err(error) = crate::enqueue::enqueue_job(state, &message).await {
        let _ = workspace_replays::finish(
            &state.db,
            id,
            workspace_replays::ReplayStatus::Failed,
            Some("could not be queued"),
        )
        .await;
        return Err(error);
    }
    Ok(())
}

#[tracing::instrument(name = "admin.replay.latest", skip_all, fields(request_id = %request_id))]
pub async fn latest_replay(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Path(workspace_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let replay = workspace_replays::latest(&state.db, &workspace_id)
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({"replay": replay})))
}

#[tracing::instrument(name = "admin.replay.get", skip_all, fields(request_id = %request_id))]
pub async fn get_replay(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Path((workspace_id, replay_id)): Path<(String, Uuid)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let replay = workspace_replays::get(&state.db, &workspace_id, replay_id)
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({"replay": replay})))
}
