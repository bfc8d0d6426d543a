//! What the sidebar reads about the viewer's own workspace: who is looking (`GET /api/me`), the
//! synchronised copy (`GET /api/entities`, `GET /api/entities/{kind}/{id}`) and the webhooks
//! received (`GET /api/events`). Every query is scoped to the workspace of the viewer's token.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use common::db::{entities, event_log, webhook_tokens};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::StudioUser;

/// Entities per page of `GET /api/entities`.
const ENTITY_PAGE_SIZE: u32 = 25;
/// Webhooks listed by `GET /api/events`.
const LATEST_WEBHOOKS: i64 = 50;

fn internal(error: sqlx::Error) -> ApiError {
    ApiError::Internal(error.into())
}

/// `GET /api/me`: the viewer's role, theme and language, and what that role may do, so the page
/// disables what would be refused instead of offering it.
#[tracing::instrument(name = "studio.me", skip_all, fields(request_id = %request_id))]
pub async fn get_me(
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
) -> Json<Value> {
    let admin = user.is_admin();
    let reason = (!admin).then_some("only workspace owners and admins may do this");
    Json(json!({
        "workspaceId": user.workspace_id,
        "userId": user.user_id,
        "role": user.role,
        "theme": user.theme,
        "language": user.language,
        "tokenExpiresAt": user.token.expires_at,
        "may": {
            "read": true,
            "write": admin,
            "bootstrap": admin,
        },
        "deniedReason": reason,
    }))
}

/// Query of `GET /api/entities`.
#[derive(Debug, Deserialize)]
pub struct EntityQuery {
    pub kind: Option<String>,
    pub q: Option<String>,
    pub page: Option<u32>,
}

/// `GET /api/entities?kind=&q=&page=`: counts per kind and a page of entities.
#[tracing::instrument(name = "studio.list_entities", skip_all, fields(request_id = %request_id))]
pub async fn list_entities(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
    Query(query): Query<EntityQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.unwrap_or(1).max(1);
    let kind = query.kind.as_deref().filter(|k| !k.is_empty());
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let counts = entities::kind_counts(&state.db, &user.workspace_id)
        .await
        .map_err(internal)?;
    let (items, total) = entities::list_page(
        &state.db,
        &user.workspace_id,
        kind,
        search,
        i64::from(ENTITY_PAGE_SIZE),
        i64::from(page - 1) * i64::from(ENTITY_PAGE_SIZE),
    )
    .await
    .map_err(internal)?;
    Ok(Json(json!({
        "counts": counts,
        "page": page,
        "pageSize": ENTITY_PAGE_SIZE,
        "total": total,
        "items": items,
    })))
}

/// `GET /api/entities/{kind}/{id}`: one entity with its body.
#[tracing::instrument(name = "studio.get_entity", skip_all, fields(request_id = %request_id))]
pub async fn get_entity(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<entities::EntityView>, ApiError> {
    entities::find_one(&state.db, &user.workspace_id, &kind, &id)
        .await
        .map_err(internal)?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `GET /api/events`: the latest webhooks, counts per type over 24 hours, and the subscribed
/// types never heard from.
#[tracing::instrument(name = "studio.list_events", skip_all, fields(request_id = %request_id))]
pub async fn list_events(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    user: StudioUser,
) -> Result<Json<Value>, ApiError> {
    let workspace_id = &user.workspace_id;
    let latest = event_log::latest_webhooks(&state.db, workspace_id, LATEST_WEBHOOKS)
        .await
        .map_err(internal)?;
    let since = Utc::now() - Duration::hours(24);
    let counts: Vec<Value> = event_log::webhook_counts_since(&state.db, workspace_id, since)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(event_type, count)| json!({"type": event_type, "count": count}))
        .collect();
    let never_heard = webhook_tokens::never_heard_types(&state.db, workspace_id)
        .await
        .map_err(internal)?;
    Ok(Json(json!({
        "latest": latest,
        "last24h": counts,
        "neverHeard": never_heard,
    })))
}
