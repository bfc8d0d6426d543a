//! The coverage plan per workspace (`GET /api/coverage`), checked against Clockify's limits at
//! start, and extra webhook registrations that heal: a refused one is retried with backoff until
//! it succeeds, and shown with its reason meanwhile.

use std::time::{Duration, Instant};

use serde_json::Value;
use simulator::standin::{Fault, FaultMatch, WorkspaceSpec};

use super::bootstrap::standin;
use integration_tests::{TestApp, TestEnv};

const WAIT: Duration = Duration::from_secs(30);
const OPERATOR_TOKEN: &str = "coverage-operator-token-0123456789abcdef";

async fn coverage(app: &TestApp, token: &str) -> Value {
    let response = app.get_as(token, "/api/coverage").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

fn events_in<'a>(coverage: &'a Value, state: &str) -> Vec<&'a Value> {
    coverage["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["state"] == state)
        .collect()
}

#[tokio::test]
async fn the_default_plan_registers_ten_extra_webhooks_and_shows_every_event_type() {
    let overrides = [
        ("EXTRA_WEBHOOK_EVENTS", "default"),
        ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ("RECONCILE_INTERVAL", "6h"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-cov", 50)]).await;
    let ws = app.install_at("ws-cov", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from webhook_registrations where workspace_id = 'ws-cov' and state = 'registered'",
        10,
        WAIT,
    )
    .await;

    let member = app.user_token(&ws, "USER");
    let plan = coverage(&app, &member).await;
    assert_eq!(plan["events"].as_array().map(Vec::len), Some(51));
    assert_eq!(events_in(&plan, "manifest").len(), 10);
    let registered = events_in(&plan, "registered");
    assert_eq!(registered.len(), 10);
    let names: Vec<&str> = registered
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for event in ["NEW_TASK", "TASK_DELETED", "TAG_UPDATED", "USER_UPDATED"] {
        assert!(names.contains(&event), "{event} in {names:?}");
    }
    let reconciled = events_in(&plan, "reconciliation");
    assert_eq!(reconciled.len(), 31);
    assert!(reconciled.iter().all(|e| e["intervalSecs"] == 21_600));
    let kinds = plan["kinds"].as_array().expect("kinds");
    let freshness = |kind: &str| {
        kinds
            .iter()
            .find(|k| k["kind"] == kind)
            .map(|k| k["freshness"].clone())
    };
    assert_eq!(freshness("task"), Some("webhooks".into()));
    assert_eq!(freshness("holiday"), Some("reconciliation".into()));
    assert!(plan["reconciliation"]["nextScheduledAt"].is_string());

    // Clockify holds the ten webhooks the plan asked for.
    let hooks = clockify
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/webhooks"))
        .count();
    assert_eq!(hooks, 10);

    // Operators see the same for any workspace; an unknown one is 404.
    let operator = |path: String| {
        app.http
            .get(app.url(&path))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
    };
    let answer = operator("/admin/workspaces/ws-cov/coverage".into())
        .await
        .expect("ingress answers");
    assert_eq!(answer.status(), 200);
    let answer = operator("/admin/workspaces/ws-none/coverage".into())
        .await
        .expect("ingress answers");
    assert_eq!(answer.status(), 404);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_registration_refused_twice_is_shown_with_its_reason_and_then_succeeds() {
    let overrides = [
        ("EXTRA_WEBHOOK_EVENTS", "NEW_TASK"),
        ("FRESHNESS_SWEEP_SECS", "1"),
        ("WEBHOOK_REGISTRATION_RETRY_SECS", "1"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-heal", 50)]).await;
    let quota_full = Fault::Status {
        status: 403,
        retry_after_secs: None,
    };
    clockify
        .faults()
        .push(FaultMatch::method_path("POST", "/webhooks"), quota_full, 2);
    let ws = app.install_at("ws-heal", &clockify.api_url()).await;
    let member = app.user_token(&ws, "USER");
    app.wait_for_count(
        "select count(*) from webhook_registrations where workspace_id = 'ws-heal'",
        1,
        WAIT,
    )
    .await;

    let started = Instant::now();
    let mut seen_failed = None;
    loop {
        let plan = coverage(&app, &member).await;
        let task = plan["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["event"] == "NEW_TASK")
            .cloned()
            .expect("NEW_TASK listed");
        if task["state"] == "registration_failed" {
            seen_failed = Some(task);
        } else if task["state"] == "registered" {
            break;
        }
        assert!(started.elapsed() < WAIT, "NEW_TASK never registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = seen_failed.expect("the refusal was shown before the success");
    let reason = failed["reason"].as_str().expect("a reason");
    assert!(reason.contains("403"), "{reason}");
    assert!(failed["nextAttemptAt"].is_string());
    assert_eq!(clockify.faults().pending(), 0, "both refusals were used");
    let attempts: i32 = sqlx::query_scalar(
        "select attempts from webhook_registrations where workspace_id = 'ws-heal' and event_type = 'NEW_TASK'",
    )
    .fetch_one(&app.db)
    .await
    .expect("row");
    assert_eq!(attempts, 3, "two refusals, then the registration");
    let metrics = app.workers_metrics().await;
    assert!(
        metrics
            .contains(r#"studio_webhook_registrations_total{event="NEW_TASK",outcome="failed"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(
        r#"studio_webhook_registrations_total{event="NEW_TASK",outcome="registered"} 1"#
    ));
    // The registered token admits the webhook it was issued for.
    app.wait_for_count(
        "select count(*) from webhook_tokens where workspace_id = 'ws-heal' and event_type = 'NEW_TASK'",
        1,
        WAIT,
    )
    .await;
    clockify.stop().await;
    app.stop().await;
}

#[test]
fn a_plan_over_clockifys_limits_stops_the_process_naming_the_variable() {
    let env = TestEnv::new();
    let eleven = "NEW_INVOICE,INVOICE_UPDATED,EXPENSE_CREATED,EXPENSE_UPDATED,EXPENSE_DELETED,\
                  USER_GROUP_CREATED,USER_GROUP_UPDATED,USER_GROUP_DELETED,ASSIGNMENT_CREATED,\
                  ASSIGNMENT_UPDATED,ASSIGNMENT_DELETED";
    let output = std::process::Command::new(integration_tests::process::workers_binary())
        .envs(env.vars())
        .env("EXTRA_WEBHOOK_EVENTS", eleven)
        .output()
        .expect("the workers binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid configuration: EXTRA_WEBHOOK_EVENTS")
            && stderr.contains("at most 10"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_installation_from_before_the_plan_gets_its_registrations_when_a_worker_starts() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &[]).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-older", 50)]).await;
    app.install_at("ws-older", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations where workspace_id = 'ws-older'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count("select count(*) from webhook_registrations")
            .await,
        0
    );

    let late = app
        .start_worker(&[
            ("EXTRA_WEBHOOK_EVENTS", "NEW_TASK"),
            ("FRESHNESS_SWEEP_SECS", "1"),
        ])
        .await;
    app.wait_for_count(
        "select count(*) from webhook_registrations where workspace_id = 'ws-older' and event_type = 'NEW_TASK' and state = 'registered'",
        1,
        WAIT,
    )
    .await;
    late.stop().await;
    clockify.stop().await;
    app.stop().await;
}
