//! Realistic lifecycle and webhook bodies, shaped as CLOCKIFY.md documents them.

use serde_json::{Value, json};

/// An INSTALLED body with one token per webhook path.
pub fn installed(
    workspace_id: &str,
    addon_id: &str,
    auth_token: &str,
    api_url: &str,
    webhooks: &[(String, String)],
) -> Value {
    let hooks: Vec<Value> = webhooks
        .iter()
        .map(|(path, token)| json!({"path": path, "webhookType": "ADDON", "authToken": token}))
        .collect();
    json!({
        "addonId": addon_id,
        "authToken": auth_token,
        "workspaceId": workspace_id,
        "asUser": format!("admin-{workspace_id}"),
        "apiUrl": api_url,
        "addonUserId": format!("addon-user-{addon_id}"),
        "webhooks": hooks,
    })
}

/// A time entry as the time entry events carry it; `end: None` is a running timer.
pub fn time_entry(workspace_id: &str, id: &str, description: &str, end: Option<&str>) -> Value {
    json!({
        "id": id,
        "description": description,
        "tagIds": [],
        "userId": "user-1",
        "billable": true,
        "taskId": null,
        "projectId": "project-1",
        "timeInterval": {"start": "2026-11-30T08:00:00Z", "end": end, "duration": end.map(|_| "PT1H")},
        "workspaceId": workspace_id,
        "isLocked": false,
        "hourlyRate": {"amount": 5000, "currency": "USD"},
        "costRate": null,
        "customFieldValues": [],
    })
}

/// A project as the project events carry it.
pub fn project(workspace_id: &str, id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "clientId": "", "workspaceId": workspace_id, "billable": true,
        "color": "#03A9F4", "archived": false, "estimate": {"estimate": "PT0S", "type": "AUTO"},
        "hourlyRate": null, "note": "", "public": true, "template": false,
    })
}

/// A client or tag.
pub fn named(workspace_id: &str, id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "workspaceId": workspace_id, "archived": false})
}

/// A task: it carries no `workspaceId`.
pub fn task(id: &str, project_id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "projectId": project_id, "assigneeIds": [], "estimate": "PT0S", "status": "ACTIVE", "duration": "PT0S"})
}

/// A user: it carries no `workspaceId`.
pub fn user(id: &str, email: &str, name: &str) -> Value {
    json!({"id": id, "email": email, "name": name, "status": "ACTIVE"})
}
