//! Bootstraps against a stand-in Clockify that enforces 50 requests per second per workspace.

use std::time::{Duration, Instant};

use integration_tests::process::WorkerProcess;
use integration_tests::{TestApp, TestEnv};
use serde_json::Value;
use simulator::payloads;
use simulator::standin::{Fault, FaultMatch, StandIn, StandInConfig, WorkspaceSpec};

const PAGE_SIZE: usize = 50;
/// The operator API's bearer token in these tests (at least 32 characters, as config requires).
pub(super) const OPERATOR_TOKEN: &str = "operator-secret-of-at-least-32-characters";
pub(super) const BOOTSTRAP: [(&str, &str); 2] = [
    ("AUTO_BOOTSTRAP_ON_INSTALL", "true"),
    ("BOOTSTRAP_PAGE_SIZE", "50"),
];

pub(super) async fn standin(app: &TestApp, specs: Vec<WorkspaceSpec>) -> StandIn {
    let config = StandInConfig {
        workspaces: specs,
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in starts")
}

/// Admitted requests per second between the 10th and the 90th percentile request: the pace the
/// limiter held once the import had work for every slot, without its ramp-up and its tail.
fn steady_rate(clockify: &StandIn, workspace_id: &str) -> f64 {
    let times: Vec<_> = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.workspace_id == workspace_id && r.admitted)
        .map(|r| r.at)
        .collect();
    let (from, to) = (times.len() / 10, times.len() * 9 / 10);
    let span = times[to].duration_since(times[from]).as_secs_f64();
    (to - from) as f64 / span
}

/// When the 10th and the 90th percentile admitted request of a workspace arrived.
fn admitted_span(clockify: &StandIn, workspace_id: &str) -> (Instant, Instant) {
    let times: Vec<_> = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.workspace_id == workspace_id && r.admitted)
        .map(|r| r.at)
        .collect();
    (times[times.len() / 10], times[times.len() * 9 / 10])
}

pub(super) async fn entity_count(app: &TestApp, workspace_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from entities where workspace_id = $1")
        .bind(workspace_id)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_bootstrapping_one_workspace_get_no_429_and_use_the_budget() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let env = TestEnv::new();
    let app = TestApp::spawn_with(env.clone(), false, &BOOTSTRAP).await;
    let spec = WorkspaceSpec::sized("ws-boot3", 6000);
    let clockify = standin(&app, vec![spec.clone()]).await;
    let _workers: Vec<WorkerProcess> = (0..3)
        .map(|i| WorkerProcess::spawn_with(&env, &format!("boot3-{i}"), &BOOTSTRAP))
        .collect();

    app.install_at("ws-boot3", &clockify.api_url()).await;

    assert_eq!(
        app.wait_for_bootstrap("ws-boot3", Duration::from_secs(90))
            .await,
        "completed"
    );
    let recorder = clockify.recorder();
    assert_eq!(
        recorder.too_many_requests("ws-boot3"),
        0,
        "no request was throttled"
    );
    // The pace reached is a figure for BENCHMARKS.md, not a floor: it depends on the machine.
    println!(
        "ws-boot3 steady rate {:.1} requests/s",
        steady_rate(&clockify, "ws-boot3")
    );
    assert_eq!(
        entity_count(&app, "ws-boot3").await,
        spec.entity_count() as i64
    );
    assert_eq!(
        recorder.count("ws-boot3"),
        spec.bootstrap_request_count(PAGE_SIZE),
        "every page read once"
    );
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_bootstrapping_at_once_each_get_their_own_fifty_per_second() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let overrides = [BOOTSTRAP[0], BOOTSTRAP[1], ("BOOTSTRAP_CONCURRENCY", "12")];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let specs = vec![
        WorkspaceSpec::sized("ws-two-a", 3000),
        WorkspaceSpec::sized("ws-two-b", 3000),
    ];
    let clockify = standin(&app, specs.clone()).await;

    app.install_at("ws-two-a", &clockify.api_url()).await;
    app.install_at("ws-two-b", &clockify.api_url()).await;

    for spec in &specs {
        let ws = spec.workspace_id.as_str();
        assert_eq!(
            app.wait_for_bootstrap(ws, Duration::from_secs(120)).await,
            "completed"
        );
        assert_eq!(
            clockify.recorder().too_many_requests(ws),
            0,
            "{ws} throttled"
        );
        // Every entity stored once. (Not "every page read once": on a loaded machine the stall
        // detector may hand a slow unit to a second runner, which rereads one page and drops it.)
        assert_eq!(entity_count(&app, ws).await, spec.entity_count() as i64);
        println!(
            "{ws} steady rate {:.1} requests/s",
            steady_rate(&clockify, ws)
        );
    }
    // Both imports ran side by side: each one's middle 80% of requests overlaps the other's, so
    // neither waited for the other's budget (that the two budgets are separate buckets is shown
    // without timing by `limiter::one_workspace_spending_its_budget_leaves_another_untouched`).
    let (a, b) = (
        admitted_span(&clockify, "ws-two-a"),
        admitted_span(&clockify, "ws-two-b"),
    );
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the two bootstraps ran one after the other: {a:?} vs {b:?}"
    );
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_bootstrap_resumes_and_imports_every_entity_once() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let env = TestEnv::new();
    let app = TestApp::spawn_with(env.clone(), false, &BOOTSTRAP).await;
    let spec = WorkspaceSpec::sized("ws-bootkill", 4000);
    let clockify = standin(&app, vec![spec.clone()]).await;
    let mut victim = WorkerProcess::spawn_with(&env, "bootkill-a", &BOOTSTRAP);

    app.install_at("ws-bootkill", &clockify.api_url()).await;
    let started = Instant::now();
    while clockify.recorder().count("ws-bootkill") < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the bootstrap of ws-bootkill never reached 40 requests (is the workers binary built? `cargo build --workspace --bins`)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill();
    let _survivor = WorkerProcess::spawn_with(&env, "bootkill-b", &BOOTSTRAP);

    assert_eq!(
        app.wait_for_bootstrap("ws-bootkill", Duration::from_secs(120))
            .await,
        "completed"
    );
    assert_eq!(
        entity_count(&app, "ws-bootkill").await,
        spec.entity_count() as i64
    );
    let items: i64 = sqlx::query_scalar(
        "select sum(items)::bigint from bootstrap_units where workspace_id = 'ws-bootkill'",
    )
    .fetch_one(&app.db)
    .await
    .expect("items");
    assert_eq!(
        items,
        spec.entity_count() as i64,
        "checkpoints count every entity once"
    );
    let ideal = spec.bootstrap_request_count(PAGE_SIZE);
    let made = clockify.recorder().count("ws-bootkill");
    // Only pages in flight at the kill (at most one per running unit) are read again.
    assert!(
        made <= ideal + 4,
        "{made} requests for an ideal of {ideal}: the import started over"
    );
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_newer_than_the_bootstraps_read_is_not_overwritten() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &BOOTSTRAP).await;
    let spec = WorkspaceSpec::sized("ws-race", 200);
    let clockify = standin(&app, vec![spec]).await;
    clockify.faults().push(
        FaultMatch::method_path("GET", "/projects"),
        Fault::Delay(Duration::from_millis(1500)),
        1,
    );
    let event = common::events::EventType::ProjectUpdated;
    let ws = app
        .install_full("ws-race", "addon-race", &[event], &clockify.api_url())
        .await;
    let project_id = "ws-race-p1";
    // Installed, and the projects page is in flight (the stand-in took its delay fault and
    // holds the answer back): the webhook lands after the bootstrap's read and before its write.
    let started = std::time::Instant::now();
    while clockify.faults().pending() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the projects page was never requested"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = app
        .post_webhook(
            event,
            ws.token_for(event),
            &payloads::project("ws-race", project_id, "Renamed by webhook"),
        )
        .await;
    assert_eq!(response.status(), 200);

    assert_eq!(
        app.wait_for_bootstrap("ws-race", Duration::from_secs(60))
            .await,
        "completed"
    );
    let name: String = sqlx::query_scalar("select name from entities where workspace_id = 'ws-race' and kind = 'project' and entity_id = $1")
        .bind(project_id)
        .fetch_one(&app.db)
        .await
        .expect("project");
    assert_eq!(name, "Renamed by webhook");
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstraps_are_started_once_by_admins_and_operators_and_purged_by_uninstall() {
    let overrides = [
        ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ("BOOTSTRAP_PAGE_SIZE", "50"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let spec = WorkspaceSpec::sized("ws-start", 3000);
    let clockify = standin(&app, vec![spec]).await;
    let ws = app.install_at("ws-start", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let admin = app.user_token(&ws, "ADMIN");
    let member = app.user_token(&ws, "USER");

    let refused = app
        .http
        .post(app.url("/api/bootstrap"))
        .bearer_auth(&member)
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 403);
    let first = app
        .http
        .post(app.url("/api/bootstrap"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answer");
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.expect("json");
    let operator = app
        .http
        .post(app.url("/admin/workspaces/ws-start/bootstrap"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(operator.status(), 200, "the running job is returned");
    let operator: Value = operator.json().await.expect("json");
    assert_eq!(operator["job"]["id"], first["job"]["id"]);
    // The audit log says the operator found one running, not that it started one.
    assert_eq!(
        app.count(
            "select count(*) from operator_audit where action = 'bootstrap.start' \
             and target = 'ws-start' and outcome = 'already_running'"
        )
        .await,
        1
    );
    let wrong = app
        .http
        .get(app.url("/admin/workspaces/ws-start/bootstrap"))
        .bearer_auth("guess")
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), 401);

    let started = Instant::now();
    loop {
        let progress: Value = app
            .get_as(&member, "/api/bootstrap")
            .await
            .json()
            .await
            .expect("json");
        let items: i64 = progress["job"]["progress"]
            .as_array()
            .expect("progress")
            .iter()
            .filter_map(|k| k["items"].as_i64())
            .sum();
        if items > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no progress: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deleted =
        serde_json::json!({"addonId": ws.addon_id, "workspaceId": "ws-start", "asUser": "u"});
    let token = app.env.signer.lifecycle_token("ws-start", &ws.addon_id);
    assert_eq!(
        app.post_lifecycle("/lifecycle/deleted", Some(&token), &deleted)
            .await
            .status(),
        200
    );
    app.wait_for_count(
        "select count(*) from bootstrap_jobs where workspace_id = 'ws-start'",
        0,
        Duration::from_secs(20),
    )
    .await;
    let requests_at_cancel = clockify.recorder().count("ws-start");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        clockify.recorder().count("ws-start") <= requests_at_cancel + 8,
        "units stop after the cancel"
    );
    clockify.stop().await;
    app.stop().await;
}
