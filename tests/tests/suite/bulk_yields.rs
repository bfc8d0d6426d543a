//! Bulk work never stands in anyone's way: two workspaces whose bootstraps share a queue both
//! start at once, and a studio call made while a bootstrap saturates its workspace's budget
//! waits for at most about the next free slot.

use std::time::{Duration, Instant};

use common::config::DEFAULT_BOOTSTRAP_PARTITIONS;
use common::messages::partition_of;
use serde_json::json;
use simulator::standin::{Caller, WorkspaceSpec};

use super::bootstrap::{BOOTSTRAP, standin};
use integration_tests::{TestApp, TestEnv};

/// A second workspace id whose bootstrap lands on the same queue as `first`'s.
fn same_partition_as(first: &str) -> String {
    let partition = partition_of(first, DEFAULT_BOOTSTRAP_PARTITIONS);
    (0..)
        .map(|n| format!("ws-share-{n}"))
        .find(|ws| ws != first && partition_of(ws, DEFAULT_BOOTSTRAP_PARTITIONS) == partition)
        .expect("some id shares the partition")
}

/// When the stand-in first saw a request of `workspace_id`.
fn first_request(clockify: &simulator::standin::StandIn, workspace_id: &str) -> Option<Instant> {
    clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.workspace_id == workspace_id)
        .map(|r| r.at)
        .min()
}

async fn first_request_within(
    clockify: &simulator::standin::StandIn,
    workspace_id: &str,
    limit: Duration,
) -> Instant {
    let started = Instant::now();
    loop {
        if let Some(at) = first_request(clockify, workspace_id) {
            return at;
        }
        assert!(started.elapsed() < limit, "{workspace_id} made no request");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_on_one_bootstrap_queue_both_start_at_once() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &BOOTSTRAP).await;
    let first = "ws-share-a";
    let second = same_partition_as(first);
    let specs = vec![
        WorkspaceSpec::sized(first, 3_000),
        WorkspaceSpec::sized(&second, 3_000),
    ];
    let clockify = standin(&app, specs.clone()).await;

    let installed_first = Instant::now();
    app.install_at(first, &clockify.api_url()).await;
    let started_first = first_request_within(&clockify, first, Duration::from_secs(20)).await;
    // Let the first import fill the queue with units sleeping on its budget.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let installed_second = Instant::now();
    app.install_at(&second, &clockify.api_url()).await;
    let started_second = first_request_within(&clockify, &second, Duration::from_secs(20)).await;

    // Measured in the budget's own unit, so a slower machine does not change the verdict: how
    // many of the first workspace's requests went out between the second's install and its
    // first request. Starting the second import takes a few of them (an install and a job,
    // through ingress, the queue and a worker); before bulk work lent its worker slot out, the
    // second waited for the first's queued units to drain: hundreds.
    let admitted_meanwhile = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.workspace_id == first && r.at > installed_second && r.at < started_second)
        .count();
    println!("the first workspace's requests before the second began: {admitted_meanwhile}");
    assert!(
        admitted_meanwhile <= 92,
        "the second workspace began only after {admitted_meanwhile} of the first's requests \
         (first began {:?} after its install, second {:?})",
        started_first.saturating_duration_since(installed_first),
        started_second.saturating_duration_since(installed_second),
    );
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
    }
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_studio_call_waits_at_most_about_one_slot_while_a_bootstrap_saturates_the_budget() {
    // Many bulk units at once: each would have booked a slot ahead of the studio call before
    // bulk work yielded (48 slots at about 45/s is a second of waiting).
    let overrides = [
        BOOTSTRAP[0],
        BOOTSTRAP[1],
        ("BOOTSTRAP_CONCURRENCY", "48"),
        ("BOOTSTRAP_PREFETCH", "256"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let ws = "ws-busy";
    let clockify = standin(&app, vec![WorkspaceSpec::sized(ws, 8_000)]).await;
    let installation = app.install_at(ws, &clockify.api_url()).await;
    let started = Instant::now();
    while clockify.recorder().count(ws) < 150 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no bootstrap load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = app.user_token(&installation, "ADMIN");
    let list = json!({"operationId": "listProjects", "query": {"page": 1, "page-size": 5}});
    let mut bulk_meanwhile = Vec::new();
    for _ in 0..3 {
        let call = app.call_and_wait(&admin, &list).await;
        assert_eq!(call["status"], "succeeded", "{call}");
        let id = uuid::Uuid::parse_str(call["id"].as_str().expect("id")).expect("uuid");
        let duration_ms: Option<i32> =
            sqlx::query_scalar("select duration_ms from api_calls where id = $1")
                .bind(id)
                .fetch_one(&app.db)
                .await
                .expect("duration");
        let waited = Duration::from_millis(
            duration_ms.expect("a finished call has a duration").max(0) as u64,
        );
        bulk_meanwhile.push(bulk_requests_during(&clockify, ws, waited));
    }
    let running: Option<String> = sqlx::query_scalar(
        "select status from bootstrap_jobs where workspace_id = $1 order by created_at desc limit 1",
    )
    .bind(ws)
    .fetch_optional(&app.db)
    .await
    .expect("status");
    assert_eq!(
        running.as_deref(),
        Some("running"),
        "the calls met a busy budget"
    );
    // Counted in the budget's own unit, so a slower machine does not change the verdict: the
    // bootstrap requests admitted while a studio call waited for its slot and was answered. The
    // call takes the next free slot, so at most the one or two bulk requests already reserved
    // go first; when bulk work booked the budget ahead, about 48 did.
    println!("bootstrap requests admitted during each studio call: {bulk_meanwhile:?}");
    assert!(
        bulk_meanwhile.iter().all(|count| *count <= 4),
        "bootstrap requests admitted during each studio call: {bulk_meanwhile:?}"
    );
    assert_eq!(clockify.recorder().too_many_requests(ws), 0);
    clockify.stop().await;
    app.stop().await;
}

/// How many bootstrap requests (the installation's token) of `workspace_id` the stand-in
/// admitted during the `waited` before the last studio request (a user's token) arrived.
fn bulk_requests_during(
    clockify: &simulator::standin::StandIn,
    workspace_id: &str,
    waited: Duration,
) -> usize {
    let requests: Vec<_> = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.workspace_id == workspace_id)
        .collect();
    let studio_at = requests
        .iter()
        .filter(|r| matches!(r.caller, Caller::User { .. }))
        .map(|r| r.at)
        .max()
        .expect("the studio request reached the stand-in");
    let since = studio_at.checked_sub(waited).unwrap_or(studio_at);
    requests
        .iter()
        .filter(|r| matches!(r.caller, Caller::Addon) && r.at >= since && r.at < studio_at)
        .count()
}
