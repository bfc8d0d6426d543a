//! Reconciliation passes: after Clockify changed, deleted and added entities with no webhook
//! sent, a pass leaves the copy equal to Clockify's data (time entries through the change feeds,
//! or a re-read when a feed answers an error), records what it changed per kind, and never
//! overwrites a webhook newer than its read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use simulator::standin::{Fault, FaultMatch, StandIn, WorkspaceSpec};

use super::bootstrap::{BOOTSTRAP, standin};
use integration_tests::{Installation, TestApp, TestEnv};

const WAIT: Duration = Duration::from_secs(90);
const OPERATOR_TOKEN: &str = "reconcile-operator-token-0123456789abcdef";

fn overrides() -> Vec<(&'static str, &'static str)> {
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
async fn copy_items(
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

async fn start_pass(app: &TestApp, ws: &Installation) -> Value {
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

async fn latest_pass(app: &TestApp, ws: &Installation) -> Value {
    let admin = app.user_token(ws, "ADMIN");
    let passes: Value = app
        .get_as(&admin, "/api/reconcile")
        .await
        .json()
        .await
        .expect("json");
    passes["passes"][0].clone()
}

fn changed(pass: &Value, kind: &str, change: &str) -> i64 {
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
fn drift(clockify: &StandIn, ws: &str) {
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

fn time_entry_drift(clockify: &StandIn, ws: &str) {
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
async fn assert_copy_equals_clockify(app: &TestApp, clockify: &StandIn, ws: &Installation) {
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

async fn bootstrapped(app: &TestApp, clockify: &StandIn, ws: &str) -> Installation {
    let installation = app.install_at(ws, &clockify.api_url()).await;
    assert_eq!(app.wait_for_bootstrap(ws, WAIT).await, "completed");
    installation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_repairs_what_changed_behind_the_copys_back_using_the_change_feeds() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-rec", 600)]).await;
    let ws = bootstrapped(&app, &clockify, "ws-rec").await;
    drift(&clockify, "ws-rec");
    // A project deleted at Clockify (its webhook never sent): its tasks go with it.
    let deleted = app
        .http
        .delete(format!(
            "{}/v1/workspaces/ws-rec/projects/ws-rec-p2",
            clockify.api_url()
        ))
        .header("X-Addon-Token", &ws.auth_token)
        .send()
        .await
        .expect("stand-in answers");
    assert_eq!(deleted.status(), 200);
    let p2_tasks = copy_items(&app, "ws-rec", "task", Some(("projectId", "ws-rec-p2"))).await;
    assert!(!p2_tasks.is_empty());
    let entry_reads = |clockify: &StandIn| {
        clockify
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.path.contains("/time-entries"))
            .count()
    };
    let read_by_the_bootstrap = entry_reads(&clockify);
    // The feeds are asked in whole seconds: the changes are left a second to fall inside.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    assert_eq!(
        entry_reads(&clockify),
        read_by_the_bootstrap,
        "time entries came from the feeds"
    );
    assert_copy_equals_clockify(&app, &clockify, &ws).await;

    let pass = latest_pass(&app, &ws).await;
    assert_eq!(pass["status"], "completed");
    assert_eq!(
        (
            changed(&pass, "tag", "added"),
            changed(&pass, "tag", "updated"),
            changed(&pass, "tag", "deleted")
        ),
        (1, 1, 1)
    );
    assert_eq!(changed(&pass, "user", "updated"), 1);
    assert_eq!(
        (
            changed(&pass, "task", "updated"),
            changed(&pass, "task", "deleted")
        ),
        (1, 1 + p2_tasks.len() as i64),
        "the changed task, the deleted one, and the deleted project's"
    );
    assert_eq!(changed(&pass, "project", "deleted"), 1);
    assert!(
        copy_items(&app, "ws-rec", "task", Some(("projectId", "ws-rec-p2")))
            .await
            .is_empty()
    );
    assert_eq!(changed(&pass, "invoice", "added"), 1);
    assert_eq!(
        (
            changed(&pass, "time_entry", "added"),
            changed(&pass, "time_entry", "updated"),
            changed(&pass, "time_entry", "deleted")
        ),
        (1, 1, 1)
    );
    assert_eq!(
        changed(&pass, "project", "updated"),
        0,
        "nothing else changed"
    );
    let requests = clockify.recorder().requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/entities/deleted"))
    );
    let metrics = app.workers_metrics().await;
    assert!(
        metrics.contains(r#"studio_reconcile_changes_total{change="deleted",kind="tag"} 1"#),
        "{metrics}"
    );

    // A second pass over an unchanged workspace changes nothing.
    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(pass["changes"], json!([]), "{pass}");

    // Operators may start one too, recorded in the audit log.
    let answer = app
        .http
        .post(app.url("/admin/workspaces/ws-rec/reconcile"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .expect("ingress answers");
    assert_eq!(answer.status(), 202);
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    let audited = app
        .count("select count(*) from operator_audit where action = 'reconcile.start' and outcome = 'started'")
        .await;
    assert_eq!(audited, 1);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_answers_an_error_hands_over_to_a_re_read() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-refeed", 600)]).await;
    let ws = bootstrapped(&app, &clockify, "ws-refeed").await;
    time_entry_drift(&clockify, "ws-refeed");
    let broken = Fault::Status {
        status: 400,
        retry_after_secs: None,
    };
    clockify
        .faults()
        .push(FaultMatch::path("/entities/"), broken, 3);

    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-refeed", WAIT).await, "completed");
    assert_eq!(clockify.faults().pending(), 0, "every feed was asked");
    assert_copy_equals_clockify(&app, &clockify, &ws).await;
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(changed(&pass, "time_entry", "deleted"), 1);
    let progress = pass["progress"].as_array().expect("progress");
    let feeds = progress
        .iter()
        .find(|p| p["kind"] == "time_entries_deleted")
        .expect("the deletions feed's unit");
    assert!(
        feeds["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("re-read")),
        "{feeds}"
    );
    let rereads = progress
        .iter()
        .find(|p| p["kind"] == "time_entries")
        .expect("time entries re-read");
    assert_eq!(rereads["units"], rereads["units_done"]);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_newer_than_the_passs_read_is_kept() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-newer", 300)]).await;
    let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
    let events = [common::events::EventType::TagUpdated];
    let ws = app
        .install_full("ws-newer", &addon_id, &events, &clockify.api_url())
        .await;
    assert_eq!(app.wait_for_bootstrap("ws-newer", WAIT).await, "completed");
    // Clockify's answer to the pass's read of the tags is slow; meanwhile a webhook arrives.
    let stale = json!({"id": "ws-newer-t3", "name": "what the read says", "workspaceId": "ws-newer", "archived": false});
    clockify.change_entity("ws-newer", "tags", stale);
    clockify.faults().push(
        FaultMatch::path("/tags"),
        Fault::Delay(Duration::from_secs(4)),
        1,
    );
    start_pass(&app, &ws).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let newer = json!({"id": "ws-newer-t3", "name": "what the webhook says", "workspaceId": "ws-newer", "archived": false});
    let token = ws
        .token_for(common::events::EventType::TagUpdated)
        .to_owned();
    assert_eq!(
        app.post_webhook(common::events::EventType::TagUpdated, &token, &newer)
            .await
            .status(),
        200
    );
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-newer' and entity_id = 'ws-newer-t3' and data ->> 'name' = 'what the webhook says'",
        1,
        WAIT,
    )
    .await;
    let tags_pending = app
        .count("select count(*) from bootstrap_units u join bootstrap_jobs j on j.id = u.job_id where j.workspace_id = 'ws-newer' and j.mode = 'reconcile' and u.unit_key = 'tags' and u.status = 'pending'")
        .await;
    assert_eq!(
        tags_pending, 1,
        "the webhook landed before the pass wrote its read"
    );

    assert_eq!(app.wait_for_bootstrap("ws-newer", WAIT).await, "completed");
    let name: String = sqlx::query_scalar(
        "select data ->> 'name' from entities where workspace_id = 'ws-newer' and entity_id = 'ws-newer-t3' and not deleted",
    )
    .fetch_one(&app.db)
    .await
    .expect("the tag is live");
    assert_eq!(name, "what the webhook says");
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(changed(&pass, "tag", "updated"), 0);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_start_on_schedule_without_being_asked() {
    let overrides = [
        ("RECONCILE_INTERVAL", "2s"),
        ("FRESHNESS_SWEEP_SECS", "1"),
        ("RECONCILE_FEED_LAG_SECS", "0"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-sched", 200)]).await;
    app.install_at("ws-sched", &clockify.api_url()).await;
    // No bootstrap was asked for: the first scheduled pass imports the workspace.
    app.wait_for_count(
        "select least(count(*), 1) from bootstrap_jobs where workspace_id = 'ws-sched' and mode = 'reconcile' and requested_by = 'schedule' and status = 'completed'",
        1,
        WAIT,
    )
    .await;
    let users = app
        .count("select count(*) from entities where workspace_id = 'ws-sched' and kind = 'user' and not deleted")
        .await;
    assert_eq!(users, WorkspaceSpec::sized("ws-sched", 200).users as i64);
    clockify.stop().await;
    app.stop().await;
}
