//! The coverage plan as one workspace lives it: `GET /api/coverage` (the viewer's workspace) and
//! `GET /admin/workspaces/{workspaceId}/coverage` (operators). Each event type Clockify documents
//! with its state (`manifest`, `registered`, `registration_pending`, `registration_failed` with
//! the reason and the next attempt, or `reconciliation` with the interval), each kind of the copy
//! with how fresh it is kept, and the reconciliation schedule with the latest pass.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use common::coverage::{EventSource, Freshness};
use common::db::webhook_registrations::{self, RegistrationState, RegistrationView};
use common::db::{bootstrap_jobs, installations};

use crate::error::ApiError;
use crate::state::AppState;
use crate::user_auth::{Operator, StudioUser};

pub async fn coverage_for_user(
    State(state): State<AppState>,
    user: StudioUser,
) -> Result<Json<Value>, ApiError> {
    coverage(&state, &user.workspace_id).await.map(Json)
}

pub async fn coverage_for_operator(
    State(state): State<AppState>,
    _operator: Operator,
    Path(workspace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    if installations::active_addon_id(&state.db, &workspace_id)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    coverage(&state, &workspace_id).await.map(Json)
}

async fn coverage(state: &AppState, workspace_id: &str) -> Result<Value, ApiError> {
    let internal = |e: sqlx::Error| ApiError::Internal(e.into());
    let plan = &state.config.coverage;
    let interval = plan.reconcile_interval().as_secs();
    let registrations = webhook_registrations::list(&state.db, workspace_id)
        .await
        .map_err(internal)?;
    let next_pass = bootstrap_jobs::next_reconcile_slot(
        &state.db,
        workspace_id,
        i64::try_from(interval).unwrap_or(i64::MAX),
    )
    .await
    .map_err(internal)?;
    let mut conn = state.db.acquire().await.map_err(internal)?;
    let last_pass = common::bootstrap_start::latest_passes(&mut conn, workspace_id, 1)
        .await
        .map_err(internal)?
        .into_iter()
        .next();
    let events: Vec<Value> = plan
        .events()
        .map(|(event, source)| {
            let mut line = json!({
                "event": event.as_str(),
                "kind": event.entity_kind().as_str(),
            });
            let state = match source {
                EventSource::Manifest => json!({"state": "manifest"}),
                EventSource::Registered => registration_state(
                    registrations
                        .iter()
                        .find(|r| r.event_type == event.as_str()),
                ),
                EventSource::Reconciliation => {
                    json!({"state": "reconciliation", "intervalSecs": interval})
                }
            };
            if let (Some(line), Some(state)) = (line.as_object_mut(), state.as_object()) {
                line.extend(state.clone());
            }
            line
        })
        .collect();
    let kinds: Vec<Value> = plan
        .kinds()
        .into_iter()
        .map(|kind| {
            let stale = match kind.freshness {
                Freshness::Webhooks => "seconds".to_owned(),
                Freshness::Partly => {
                    format!("seconds for the webhook events, up to {interval} s for the others")
                }
                Freshness::Reconciliation => format!("up to {interval} s"),
            };
            json!({
                "kind": kind.kind,
                "freshness": kind.freshness,
                "byWebhook": kind.by_webhook,
                "byReconciliation": kind.by_reconciliation,
                "staleFor": stale,
            })
        })
        .collect();
    Ok(json!({
        "workspaceId": workspace_id,
        "limits": {
            "manifestWebhooks": common::coverage::MANIFEST_WEBHOOK_LIMIT,
            "apiWebhooksPerAdmin": common::coverage::API_WEBHOOKS_PER_ADMIN,
        },
        "reconciliation": {
            "intervalSecs": interval,
            "nextScheduledAt": next_pass,
            "lastPass": last_pass,
        },
        "events": events,
        "kinds": kinds,
    }))
}

/// An extra webhook's state; a plan row not written yet (an installation older than the plan)
/// is pending.
fn registration_state(row: Option<&RegistrationView>) -> Value {
    match row {
        Some(row) if row.state == RegistrationState::Registered => json!({
            "state": "registered",
            "webhookId": row.clockify_webhook_id,
        }),
        Some(row) if row.state == RegistrationState::Failed => json!({
            "state": "registration_failed",
            "reason": row.last_error,
            "attempts": row.attempts,
            "nextAttemptAt": row.next_attempt_at,
        }),
        Some(row) => json!({
            "state": "registration_pending",
            "attempts": row.attempts,
            "nextAttemptAt": row.next_attempt_at,
        }),
        None => json!({"state": "registration_pending", "attempts": 0}),
    }
}
