//! Fair API Studio calls: a workspace's queued and running calls are capped (429 with
//! `Retry-After` above the cap, nothing recorded), the cap holds against concurrent requests,
//! and one workspace's full backlog does not delay another workspace's call.

use std::time::{Duration, Instant};

use common::config::DEFAULT_API_CALL_PARTITIONS;
use common::messages::partition_of;
use integration_tests::{TestApp, TestEnv};
use serde_json::json;
use simulator::standin::{Fault, FaultMatch, StandIn, StandInConfig, WorkspaceSpec};

const WAIT: Duration = Duration::from_secs(20);

async fn standin(app: &TestApp, workspaces: &[&str]) -> StandIn {
    let config = StandInConfig {
        workspaces: workspaces
            .iter()
            .map(|ws| WorkspaceSpec::sized(ws, 20))
            .collect(),
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in starts")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds")
}

#[tokio::test]
async fn the_cap_holds_against_a_burst_of_concurrent_calls() {
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[("API_CALL_MAX_PENDING_PER_WORKSPACE", "5")],
    )
    .await;
    let clockify = standin(&app, &["ws-burst", "ws-quiet"]).await;
    let burst = app.install_at("ws-burst", &clockify.api_url()).await;
    let quiet = app.install_at("ws-quiet", &clockify.api_url()).await;
    // A worker applies the installs and stops, so every call then stays queued.
    let worker = app.start_worker(&[]).await;
    app.wait_for_count("select count(*) from installations", 2, WAIT)
        .await;
    worker.stop().await;
    let token = app.user_token(&burst, "USER");
    let call = json!({"operationId": "listTags"});

    let answers = futures::future::join_all((0..30).map(|_| app.post_call(&token, &call))).await;

    let accepted = answers.iter().filter(|r| r.status() == 202).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.status() == 429).collect();
    assert_eq!((accepted, refused.len()), (5, 25));
    assert!(refused.iter().all(|r| retry_after(r) >= 1));
    assert_eq!(
        app.count("select count(*) from api_calls where workspace_id = 'ws-burst'")
            .await,
        5,
        "a refused call is not recorded"
    );
    assert_eq!(app.api_call_messages().await.len(), 5);
    let other = app.post_call(&app.user_token(&quiet, "USER"), &call).await;
    assert_eq!(other.status(), 202, "the cap is per workspace");
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn one_workspaces_full_backlog_does_not_delay_another_workspaces_call() {
    let app = TestApp::spawn().await;
    let busy_id = "ws-busy";
    // The calm workspace shares the busy one's call queue: the hardest case.
    let calm_id = (0..)
        .map(|i| format!("ws-calm-{i}"))
        .find(|ws| {
            partition_of(ws, DEFAULT_API_CALL_PARTITIONS)
                == partition_of(busy_id, DEFAULT_API_CALL_PARTITIONS)
        })
        .expect("some id shares the partition");
    let clockify = standin(&app, &[busy_id, &calm_id]).await;
    // Every call of the busy workspace takes Clockify 3 seconds.
    clockify.faults().push(
        FaultMatch::path(&format!("/workspaces/{busy_id}/")),
        Fault::Delay(Duration::from_secs(3)),
        1_000,
    );
    let busy = app.install_at(busy_id, &clockify.api_url()).await;
    let calm = app.install_at(&calm_id, &clockify.api_url()).await;
    app.wait_for_count("select count(*) from installations", 2, WAIT)
        .await;
    let busy_user = app.user_token(&busy, "USER");
    let call = json!({"operationId": "listTags"});

    let mut accepted = 0;
    let over_cap = loop {
        let response = app.post_call(&busy_user, &call).await;
        if response.status() != 202 {
            break response;
        }
        accepted += 1;
        assert!(accepted <= 100, "the busy workspace was never capped");
    };
    assert_eq!(over_cap.status(), 429);
    assert!(retry_after(&over_cap) >= 1);
    assert_eq!(accepted, 20, "the default cap");

    let started = Instant::now();
    let calm_call = app
        .call_and_wait(&app.user_token(&calm, "USER"), &call)
        .await;
    let waited = started.elapsed();
    let busy_pending = app
        .count("select count(*) from api_calls where workspace_id = 'ws-busy' and status in ('queued', 'running')")
        .await;

    assert_eq!(calm_call["status"], "succeeded", "{calm_call}");
    assert!(busy_pending > 0, "the busy backlog was still pending");
    // The promise is "no more than a second" of delay from another workspace's backlog. The
    // call itself (publish, consume, limiter, the stand-in, 50 ms polling) takes a fraction of
    // that; a call that had to wait behind the backlog would take 3 seconds or more.
    assert!(
        waited < Duration::from_secs(2),
        "the calm workspace's call took {waited:?} behind another's backlog"
    );
    app.stop().await;
    clockify.stop().await;
}

#[tokio::test]
async fn calls_stranded_past_their_tokens_expiry_are_ended_and_free_the_cap() {
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[("API_CALL_MAX_PENDING_PER_WORKSPACE", "2")],
    )
    .await;
    let clockify = standin(&app, &["ws-stranded"]).await;
    let ws = app.install_at("ws-stranded", &clockify.api_url()).await;
    let worker = app.start_worker(&[]).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    worker.stop().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let short_lived = app.user_token_expiring_at(&ws, "USER", now + 2);
    let lasting = app.user_token(&ws, "USER");
    let call = json!({"operationId": "listTags"});
    for _ in 0..2 {
        TestApp::accepted_call_id(app.post_call(&short_lived, &call).await).await;
    }
    assert_eq!(app.post_call(&lasting, &call).await.status(), 429);

    // No worker will take these calls (as if their messages were lost); once their tokens
    // expire, the reconciler's sweep ends them.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ended = workers::jobs::api_call::expire_abandoned_calls(&app.db)
        .await
        .expect("sweep");

    assert_eq!(ended, 2);
    assert_eq!(
        app.count("select count(*) from api_calls where status = 'failed' and error_code = 'token_expired' and sealed_user_token is null")
            .await,
        2
    );
    assert_eq!(
        app.post_call(&lasting, &call).await.status(),
        202,
        "the cap is free again"
    );
    clockify.stop().await;
    app.stop().await;
}
