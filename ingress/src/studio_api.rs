//! The API Studio endpoints the sidebar page uses: the catalog, making calls, reading results.
//! Every query is scoped to the caller's workspace; another workspace's call ids are 404.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use catalog::{ApiBase, CallRequest, OperationFilter};
use common::db::api_calls::{self, CallView};
use common::job_messages::{Job, JobMessage};

use crate::body::{read_limited, require_json};
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::StudioUser;

/// `GET /api/operations?tag=&method=&text=`: the catalog grouped by tag.
#[tracing::instrument(name = "studio.list_operations", skip_all, fields(request_id = %request_id))]
pub async fn list_operations(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    _user: StudioUser,
    Query(filter): Query<OperationFilter>,
) -> Response {
    let groups = state.catalog.grouped(&filter);
    Json(json!({"source": state.catalog.source(), "groups": groups})).into_response()
}

/// `POST /api/calls`: validates against the catalog, records, enqueues; 202 with the call's id.
///
/// The call runs with the viewer's own user token, sealed for the workspace in the call's row
/// (never on the queue). The role gate below is only a first check: Clockify applies the
/// viewer's permissions itself. The row commits, under the workspace's cap, before the job is
/// published; a publish that fails marks the call failed and erases the token.
#[tracing::instrument(name = "studio.create_call", skip_all, fields(request_id = %request_id))]
pub async fn create_call(
    State(state): State<AppState>,
    user: StudioUser,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let bytes = read_limited(&headers, body, state.config.api_call_max_payload_bytes).await?;
    let request: CallRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Unprocessable(format!("call request: {e}")))?;
    let call = state
        .catalog
        .validate(&request, &user.workspace_id)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let reads = matches!(call.method.as_str(), "GET" | "HEAD") || call.base == ApiBase::Reports;
    if !reads && !user.is_admin() {
        return Err(ApiError::Forbidden(
            "only workspace owners and admins may make calls that change data",
        ));
    }
    let Some(cipher) = state.cipher.as_deref() else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "TOKEN_ENCRYPTION_KEY is not set: a viewer's token cannot be sealed for a call"
        )));
    };
    let sealed_token = cipher.seal(&user.workspace_id, user.token.expose());
    let expires_at = i64::try_from(user.token.expires_at)
        .ok()
        .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
        .ok_or(ApiError::Unauthorized("a Clockify user token is required"))?;
    let id = Uuid::now_v7();
    let new_call = NewCall {
        id,
        request_id: &request_id,
        call: &call,
        sealed_token: &sealed_token,
        expires_at,
    };
    let recorded = record_call(&state, &user, &new_call)
        .await
        .map_err(ApiError::Internal)?;
    if let Recorded::OverCap { pending } = recorded {
        tracing::info!(workspace_id = %user.workspace_id, pending, "studio call refused: workspace at its cap");
        return Ok(too_many_pending(
            state.config.api_call_max_pending_per_workspace,
        ));
    }
    let message = JobMessage::new(
        &user.workspace_id,
        &request_id,
        Job::ApiCall { call_id: id },
    );
    if let Err(error) = crate::enqueue::enqueue_job(&state, &message).await {
        if let Err(db_error) = api_calls::mark_not_queued(&state.db, &user.workspace_id, id).await {
            tracing::warn!(error = %db_error, "a call that could not be queued was not marked failed");
        }
        return Err(error);
    }
    let answer = json!({"id": id, "status": "queued", "operationId": call.operation_id, "method": call.method, "path": call.path});
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// Seconds a client over the cap is asked to wait: a workspace's calls drain at up to its
/// Clockify rate (50 per second), so a slot is usually free again within a second or two.
const CAP_RETRY_AFTER_SECS: u32 = 2;

struct NewCall<'a> {
    id: Uuid,
    request_id: &'a str,
    call: &'a catalog::ValidatedCall,
    sealed_token: &'a str,
    expires_at: DateTime<Utc>,
}

enum Recorded {
    Queued,
    OverCap { pending: i64 },
}

/// Records the call unless the workspace already has its cap of queued and running calls. The
/// count and the insert happen under a transaction-scoped advisory lock on the workspace, so
/// concurrent requests cannot all see room for one more.
async fn record_call(
    state: &AppState,
    user: &StudioUser,
    new: &NewCall<'_>,
) -> anyhow::Result<Recorded> {
    let call = new.call;
    let api_base = match call.base {
        ApiBase::Backend => api_calls::ApiBase::Backend,
        ApiBase::Reports => api_calls::ApiBase::Reports,
        ApiBase::Pto => api_calls::ApiBase::Pto,
    };
    let mut tx = state.db.begin().await?;
    api_calls::lock_workspace_cap(&mut tx, &user.workspace_id).await?;
    let pending = api_calls::count_pending(&mut *tx, &user.workspace_id).await?;
    if pending >= i64::from(state.config.api_call_max_pending_per_workspace) {
        tx.rollback().await?;
        return Ok(Recorded::OverCap { pending });
    }
    let row = api_calls::NewCall {
        id: new.id,
        workspace_id: &user.workspace_id,
        user_id: user.user_id.as_deref(),
        request_id: new.request_id,
        operation_id: &call.operation_id,
        api_base,
        tag: &call.tag,
        method: &call.method,
        path: &call.path,
        query: serde_json::to_value(&call.query)?,
        body: call.body.as_ref(),
        sealed_user_token: new.sealed_token,
        user_token_expires_at: new.expires_at,
    };
    api_calls::insert_queued(&mut *tx, &row).await?;
    tx.commit().await?;
    Ok(Recorded::Queued)
}

/// 429 with `Retry-After`, in the shape of every other refusal.
fn too_many_pending(cap: u16) -> Response {
    let message = format!(
        "this workspace already has {cap} API Studio calls queued or running; retry when some have finished"
    );
    let body = Json(json!({"error": {"code": "too_many_requests", "message": message}}));
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(CAP_RETRY_AFTER_SECS),
    );
    response
}

/// `GET /api/calls/{id}`.
#[tracing::instrument(name = "studio.get_call", skip_all, fields(request_id = %request_id))]
pub async fn get_call(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    api_calls::get_view(&state.db, &user.workspace_id, id)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// Paging of `GET /api/calls`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// Only calls of this operation.
    pub operation: Option<String>,
    /// Only calls in this state (`queued`, `running`, `succeeded`, `failed`).
    pub outcome: Option<api_calls::CallStatus>,
}

/// `GET /api/calls?page=&pageSize=&operation=&outcome=`: newest first.
#[tracing::instrument(name = "studio.list_calls", skip_all, fields(request_id = %request_id))]
pub async fn list_calls(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
    Query(paging): Query<Paging>,
) -> Result<Json<Value>, ApiError> {
    let page = paging.page.unwrap_or(1).max(1);
    let page_size = paging.page_size.unwrap_or(20).clamp(1, 100);
    let filter = api_calls::CallFilter {
        operation_id: paging.operation.as_deref().filter(|o| !o.is_empty()),
        status: paging.outcome,
    };
    let items = api_calls::list_views(
        &state.db,
        &user.workspace_id,
        filter,
        i64::from(page_size),
        i64::from(page - 1) * i64::from(page_size),
    )
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(
        json!({"page": page, "pageSize": page_size, "items": items}),
    ))
}
