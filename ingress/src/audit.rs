//! The audit log of operator actions: recording one (who, what, on what, the request id, the
//! outcome) and `GET /admin/audit` to read them.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use common::db::operator_audit::{self, NewEntry};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::Operator;

/// Records an operator's action. A record that cannot be written is logged as an error: the
/// action has happened either way and is not undone.
pub async fn record(
    state: &AppState,
    operator: &Operator,
    action: &str,
    target: Option<&str>,
    request_id: &str,
    outcome: &str,
    detail: Option<Value>,
) {
    let entry = NewEntry {
        actor: &operator.name,
        action,
        target,
        request_id,
        outcome,
        detail,
    };
    if let Err(error) = operator_audit::record(&state.db, &entry).await {
        tracing::error!(%error, action, outcome, "operator action not recorded in the audit log");
    }
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub limit: Option<i64>,
    pub action: Option<String>,
}

/// `GET /admin/audit?limit=&action=`: newest first, at most 500.
#[tracing::instrument(name = "admin.audit.list", skip_all, fields(request_id = %request_id))]
pub async fn list_audit(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _operator: Operator,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let entries = operator_audit::newest(&state.db, query.action.as_deref(), limit)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(json!({"items": entries})))
}
