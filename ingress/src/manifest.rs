//! `GET /manifest`: generated from the same route table the router is built from, so the paths
//! Clockify is told about are exactly the paths that answer.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use common::config::Config;

use crate::route_table::{SIDEBAR_PATH, lifecycle_routes, subscribed_webhook_routes};
use crate::state::AppState;

/// Scopes the studio needs: reads for bootstrap and the catalog, writes for studio calls.
const SCOPES: [&str; 22] = [
    "WORKSPACE_READ",
    "USER_READ",
    "GROUP_READ",
    "PROJECT_READ",
    "PROJECT_WRITE",
    "TASK_READ",
    "TASK_WRITE",
    "CLIENT_READ",
    "CLIENT_WRITE",
    "TAG_READ",
    "TAG_WRITE",
    "TIME_ENTRY_READ",
    "TIME_ENTRY_WRITE",
    "CUSTOM_FIELDS_READ",
    "EXPENSE_READ",
    "INVOICE_READ",
    "APPROVAL_READ",
    "TIME_OFF_READ",
    "SCHEDULING_READ",
    "REPORTS_READ",
    "GROUP_WRITE",
    "CUSTOM_FIELDS_WRITE",
];

/// The manifest document for this configuration.
pub fn build_manifest(config: &Config) -> Value {
    let lifecycle: Vec<Value> = lifecycle_routes()
        .map(|kind| json!({"type": kind.manifest_type(), "path": kind.path()}))
        .collect();
    let webhooks: Vec<Value> = subscribed_webhook_routes(config)
        .map(|event| json!({"event": event.as_str(), "path": event.path()}))
        .collect();
    json!({
        "schemaVersion": "1.3",
        "key": config.addon_key,
        "name": config.addon_name,
        "description": "Explore and call the Clockify API from inside Clockify, with a synchronised copy of your workspace.",
        "baseUrl": config.base_url,
        "minimalSubscriptionPlan": "FREE",
        "lifecycle": lifecycle,
        "webhooks": webhooks,
        "components": [{
            "type": "sidebar",
            "accessLevel": "EVERYONE",
            "path": SIDEBAR_PATH,
            "label": config.addon_name,
        }],
        "scopes": SCOPES,
    })
}

/// Serves the manifest.
pub async fn get_manifest(State(state): State<AppState>) -> Json<Value> {
    Json(build_manifest(&state.config))
}
