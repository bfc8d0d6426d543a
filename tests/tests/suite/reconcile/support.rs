//! What the reconciliation tests share: the stand-in's and the copy's items side by side, the
//! drift made behind the copy's back, and starting and reading passes.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use simulator::standin::StandIn;

use super::super::bootstrap::BOOTSTRAP;
use integration_tests::{Installation, TestApp};

pub(super) const WAIT: Duration = Duration::from_secs(90);
pub(super) const OPERATOR_TOKEN: &str = "reconcile-operator-token-0123456789abcdef";

pub(super) fn overrides() -> Vec<(&'static str, &'static str)> {
    let mut all = BOOTSTRAP.to_vec();
    all.extend([
        ("RECONCILE_FEED_LAG_SECS", "0"),
        ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ("WEBHOOK_EVENTS", "NEW_TAG,TAG_UPDATED,TAG_DELETED"),
    ]);
    all
}

/// Every item of a stand-in list, by id.
async fn clockify_items(
    app: &TestApp,
    clockify: &StandIn,
    ws: &Installation,
    path: &str,
    list_at: Option<&str>,
) -> BTreeMap<String, Value> {
    let answer: Value = app
        .http
        .get(format!(
            "{}/v1/workspaces/{}{path}",
            clockify.api_url(),
            ws.workspace_id
        ))
        .query(&[("page-size", "5000")])
        .header("X-Addon-Token", &ws.auth_token)
        .send()
        .await
        .expect("stand-in answers")
        .json()
        .await
        .expect("json");
    let list = match list_at {
        Some(pointer) => answer.pointer(pointer).cloned().expect("the list"),
        None => answer,
    };
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| (item["id"].as_str().expect("id").to_owned(), item.clone()))
        .collect()
}

/// The copy's live entities of `kind` (narrowed to one `field` = `value` when given), by id.
pub(super) async fn copy_items(
    app: &TestApp,
    ws: &str,
    kind: &str,
    narrow: Option<(&str, &str)>,
) -> BTreeMap<String, Value> {
    let (field, value) = narrow.unzip();
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "select entity_id, data from entities
         where workspace_id = $1 and kind = $2 and not deleted
           and ($3::text is null or data ->> $3 = $4)",
    )
    .bind(ws)
    .bind(kind)
    .bind(field)
    .bind(value)
    .fetch_all(&app.db)
    .await
    .expect("entities");
    rows.into_iter().collect()
}

pub(super) async fn start_pass(app: &TestApp, ws: &Installation) -> Value {
    let admin = app.user_token(ws, "ADMIN");
    let response = app
        .http
        .post(app.url("/api/reconcile"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("ingress answers");
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.expect("json");
    assert_eq!(started["created"], true);
    started
}

pub(super) async fn latest_pass(app: &TestApp, ws: &Installation) -> Value {
    let admin = app.user_token(ws, "ADMIN");
    let passes: Value = app
        .get_as(&admin, "/api/reconcile")
        .await
        .json()
        .await
        .expect("json");
    passes["passes"][0].clone()
}

pub(super) fn changed(pass: &Value, kind: &str, change: &str) -> i64 {
    pass["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["kind"] == kind)
        .and_then(|c| c[change].as_i64())
        .unwrap_or(0)
}

/// Changes a tag, a user, a task and a time entry, deletes a tag, a task and a time entry, and
/// adds a tag, an invoice and a time entry, all behind the add-on's back.
pub(super) fn drift(clockify: &StandIn, ws: &str) {
    let changed_tag =
        json!({"id": format!("{ws}-t2"), "name": "renamed", "workspaceId": ws, "archived": false});
    assert!(clockify.change_entity(ws, "tags", changed_tag));
    let gone = json!({"id": format!("{ws}-t1")});
    clockify.delete_entity(ws, "tags", &format!("{ws}-t1"), gone);
    let new_tag = json!({"id": format!("{ws}-t-new"), "name": "new tag", "workspaceId": ws, "archived": false});
    clockify.add_entity(ws, "tags", new_tag);
    let user = json!({"id": format!("{ws}-u1"), "name": "Ana Renamed", "email": "ana@example.com", "status": "ACTIVE"});
    clockify.change_entity(ws, "users", user);
    let tasks = format!("tasks:{ws}-p1");
    let task = json!({"id": format!("{ws}-p1-k1"), "name": "Changed task", "projectId": format!("{ws}-p1"), "status": "ACTIVE"});
    clockify.change_entity(ws, &tasks, task);
    let gone = json!({"id": format!("{ws}-p1-k2")});
    clockify.delete_entity(ws, &tasks, &format!("{ws}-p1-k2"), gone);
    let invoice =
        json!({"id": format!("{ws}-i-new"), "workspaceId": ws, "number": "99", "status": "UNSENT"});
    clockify.add_entity(ws, "invoices", invoice);
    time_entry_drift(clockify, ws);
}

pub(super) fn time_entry_drift(clockify: &StandIn, ws: &str) {
    let entries = format!("time_entries:{ws}-u1");
    let start = (Utc::now() - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let end = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let entry = |id: String, description: &str| {
        json!({
            "id": id, "description": description, "userId": format!("{ws}-u1"), "workspaceId": ws,
            "billable": true, "tagIds": [], "projectId": null, "taskId": null,
            "timeInterval": {"start": start.to_string(), "end": end.to_string(), "duration": "PT1H"},
        })
    };
    clockify.change_entity(
        ws,
        &entries,
        entry(format!("{ws}-u1-e1"), "changed behind our back"),
    );
    let gone = entry(format!("{ws}-u1-e2"), "was here");
    clockify.delete_entity(ws, &entries, &format!("{ws}-u1-e2"), gone);
    clockify.add_entity(ws, &entries, entry(format!("{ws}-u1-e-new"), "added"));
}

/// The copy holds what the stand-in holds, kind by kind.
pub(super) async fn assert_copy_equals_clockify(
    app: &TestApp,
    clockify: &StandIn,
    ws: &Installation,
) {
    let id = ws.workspace_id.as_str();
    for (kind, path, list_at) in [
        ("tag", "/tags", None),
        ("user", "/users", None),
        ("client", "/clients", None),
        ("project", "/projects", None),
        ("invoice", "/invoices", Some("/invoices")),
    ] {
        let theirs = clockify_items(app, clockify, ws, path, list_at).await;
        assert_eq!(copy_items(app, id, kind, None).await, theirs, "{kind}");
    }
    let project = format!("{id}-p1");
    let theirs = clockify_items(
        app,
        clockify,
        ws,
        &format!("/projects/{project}/tasks"),
        None,
    )
    .await;
    let ours = copy_items(app, id, "task", Some(("projectId", &project))).await;
    assert_eq!(ours, theirs, "tasks");
    let user = format!("{id}-u1");
    let path = format!("/user/{user}/time-entries");
    let theirs = clockify_items(app, clockify, ws, &path, None).await;
    let ours = copy_items(app, id, "time_entry", Some(("userId", &user))).await;
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    assert_eq!(ours, theirs, "time entries");
}

pub(super) async fn bootstrapped(app: &TestApp, clockify: &StandIn, ws: &str) -> Installation {
    let installation = app.install_at(ws, &clockify.api_url()).await;
    assert_eq!(app.wait_for_bootstrap(ws, WAIT).await, "completed");
    installation
}
