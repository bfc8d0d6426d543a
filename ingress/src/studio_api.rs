//! The API Studio endpoints the sidebar page uses: the catalog, making calls, reading results.
//! Every query is scoped to the caller's workspace; another workspace's call ids are 404.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use catalog::{ApiBase, CallRequest, OperationFilter};
use common::jobs::{Job, JobMessage};

use crate::AppState;
use crate::body::{read_limited, require_json};
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::user_auth::StudioUser;

/// `GET /api/operations?tag=&method=&text=`: the catalog grouped by tag.
pub async fn list_operations(
    State(state): State<AppState>,
    _user: StudioUser,
    Query(filter): Query<OperationFilter>,
) -> Response {
    let groups = state.catalog.grouped(&filter);
    Json(json!({"source": state.catalog.source(), "groups": groups})).into_response()
}

/// `POST /api/calls`: validates against the catalog, records, enqueues; 202 with the call's id.
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
    let id = Uuid::now_v7();
    let api_base = match call.base {
        ApiBase::Backend => "backend",
        ApiBase::Reports => "reports",
        ApiBase::Pto => "pto",
    };
    sqlx::query(
        "insert into api_calls (id, workspace_id, user_id, request_id, operation_id, api_base, tag, method, path, query, body, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued')",
    )
    .bind(id)
    .bind(&user.workspace_id)
    .bind(&user.user_id)
    .bind(&request_id)
    .bind(&call.operation_id)
    .bind(api_base)
    .bind(&call.tag)
    .bind(&call.method)
    .bind(&call.path)
    .bind(serde_json::to_value(&call.query).map_err(|e| ApiError::Internal(e.into()))?)
    .bind(&call.body)
    .execute(&state.db)
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let message = JobMessage::new(
        &user.workspace_id,
        &request_id,
        Job::ApiCall { call_id: id },
    );
    if let Err(error) = crate::enqueue::enqueue_job(&state, &message).await {
        let _ = sqlx::query("update api_calls set status = 'failed', error = 'could not be queued', finished_at = now() where workspace_id = $1 and id = $2")
            .bind(&user.workspace_id)
            .bind(id)
            .execute(&state.db)
            .await;
        return Err(error);
    }
    let answer = json!({"id": id, "status": "queued", "operationId": call.operation_id, "method": call.method, "path": call.path});
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// One call as the API shows it. The installation token is never part of it.
#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: Uuid,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub query: Value,
    pub status: String,
    pub upstream_status: Option<i32>,
    pub duration_ms: Option<i32>,
    pub attempts: Option<i32>,
    pub response_body: Option<Value>,
    pub response_truncated: bool,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const CALL_COLUMNS: &str =
    "id, operation_id, method, path, query, status, upstream_status, duration_ms, attempts,
     response_body, response_truncated, error, created_at, finished_at";

/// `GET /api/calls/{id}`.
pub async fn get_call(
    State(state): State<AppState>,
    user: StudioUser,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let query = format!("select {CALL_COLUMNS} from api_calls where workspace_id = $1 and id = $2");
    sqlx::query_as::<_, CallView>(sqlx::AssertSqlSafe(query))
        .bind(&user.workspace_id)
        .bind(id)
        .fetch_optional(&state.db)
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
}

/// `GET /api/calls?page=&pageSize=`: newest first.
pub async fn list_calls(
    State(state): State<AppState>,
    user: StudioUser,
    Query(paging): Query<Paging>,
) -> Result<Json<Value>, ApiError> {
    let page = paging.page.unwrap_or(1).max(1);
    let page_size = paging.page_size.unwrap_or(20).clamp(1, 100);
    let query = format!(
        "select {CALL_COLUMNS} from api_calls where workspace_id = $1 order by created_at desc, id desc limit $2 offset $3"
    );
    let items = sqlx::query_as::<_, CallView>(sqlx::AssertSqlSafe(query))
        .bind(&user.workspace_id)
        .bind(i64::from(page_size))
        .bind(i64::from(page - 1) * i64::from(page_size))
        .fetch_all(&state.db)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(
        json!({"page": page, "pageSize": page_size, "items": items}),
    ))
}
