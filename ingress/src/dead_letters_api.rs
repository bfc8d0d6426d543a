//! The operator's dead-letter API (`ADMIN_TOKEN`): list, inspect, replay, discard.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dead_letters::{Action, DeadLetterError, act, list};

use crate::error::ApiError;
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
pub async fn list_dead_letters(
    State(state): State<AppState>,
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
pub async fn inspect_dead_letter(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    run(&state, &id, Action::Inspect).await
}

/// `POST /admin/dead-letters/{messageId}/replay`: back onto the queue it died on.
pub async fn replay_dead_letter(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    run(&state, &id, Action::Replay).await
}

/// `DELETE /admin/dead-letters/{messageId}`: gone for good.
pub async fn discard_dead_letter(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    run(&state, &id, Action::Discard).await
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
