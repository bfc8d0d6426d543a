//! The operator's dead-letter API (`ADMIN_TOKEN`): list, inspect, replay, discard.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dead_letters::{Action, DeadLetterError, act, list};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::Operator;

#[derive(Debug, Deserialize)]
pub struct Limit {
    pub limit: Option<usize>,
}

fn api_error(error: DeadLetterError) -> ApiError {
    match error {
        DeadLetterError::NotFound => ApiError::NotFound,
        DeadLetterError::NoOrigin => ApiError::Unprocessable(error.to_string()),
        DeadLetterError::Broker(_) => ApiError::Unavailable {
            retry_after_secs: 5,
        },
    }
}

/// `GET /admin/dead-letters?limit=`: oldest first, at most 500.
#[tracing::instrument(name = "admin.dead_letters.list", skip_all, fields(request_id = %request_id))]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Query(limit): Query<Limit>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit.limit.unwrap_or(50).clamp(1, 500);
    let letters = list(state.publisher.pool(), &state.queues, limit)
        .await
        .map_err(api_error)?;
    Ok(Json(json!({"items": letters})))
}

/// `GET /admin/dead-letters/{messageId}`: one dead letter with its body.
#[tracing::instrument(name = "admin.dead_letters.inspect", skip_all, fields(request_id = %request_id))]
pub async fn inspect_dead_letter(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    run(&state, &id, Action::Inspect).await
}

/// `POST /admin/dead-letters/{messageId}/replay`: back onto the queue it died on.
#[tracing::instrument(name = "admin.dead_letters.replay", skip_all, fields(request_id = %request_id))]
pub async fn replay_dead_letter(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let result = run(&state, &id, Action::Replay).await;
    audited(
        &state,
        &operator,
        "dead_letter.replay",
        &id,
        &request_id,
        &result,
    )
    .await;
    result
}

/// `DELETE /admin/dead-letters/{messageId}`: gone for good.
#[tracing::instrument(name = "admin.dead_letters.discard", skip_all, fields(request_id = %request_id))]
pub async fn discard_dead_letter(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let result = run(&state, &id, Action::Discard).await;
    audited(
        &state,
        &operator,
        "dead_letter.discard",
        &id,
        &request_id,
        &result,
    )
    .await;
    result
}

async fn run(state: &AppState, id: &str, action: Action) -> Result<Json<Value>, ApiError> {
    let letter = act(
        state.publisher.pool(),
        &state.publisher,
        &state.queues,
        id,
        action,
    )
    .await
    .map_err(api_error)?;
    tracing::info!(message_id = id, action = ?action, "dead letter handled by an operator");
    Ok(Json(json!({"deadLetter": letter})))
}

/// Records a replay or discard with its outcome (`done`, or the error's kind).
async fn audited(
    state: &AppState,
    operator: &Operator,
    action: &str,
    id: &str,
    request_id: &str,
    result: &Result<Json<Value>, ApiError>,
) {
    let outcome = match result {
        Ok(_) => "done",
        Err(ApiError::NotFound) => "not_found",
        Err(_) => "failed",
    };
    crate::audit::record(state, operator, action, Some(id), request_id, outcome, None).await;
}
