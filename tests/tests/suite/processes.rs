//! Real worker processes: ordering across two of them, a SIGKILL mid-stream, graceful SIGTERM,
//! and what reaches their logs.

use std::sync::Arc;
use std::time::Duration;

use common::events::EventType;
use futures::StreamExt as _;
use integration_tests::process::WorkerProcess;
use integration_tests::{Installation, TestApp, TestEnv};
use simulator::payloads;

use super::hostile_clients::sample;

/// Posts `count` webhooks built by `body(i)` with `concurrency` in flight, in order per slot.
async fn post_many(
    app: &Arc<TestApp>,
    ws: &Installation,
    event: EventType,
    count: usize,
    concurrency: usize,
    body: impl Fn(usize) -> serde_json::Value,
) {
    let token = ws.token_for(event).to_owned();
    let bodies: Vec<_> = (0..count).map(body).collect();
    futures::stream::iter(bodies)
        .map(|b| {
            let app = app.clone();
            let token = token.clone();
            async move {
                let response = app.post_webhook(event, &token, &b).await;
                assert_eq!(response.status(), 200);
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_updates_of_one_entity_through_two_worker_processes_end_at_the_last() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let env = TestEnv::new();
    let app = Arc::new(TestApp::spawn_with(env.clone(), false, &[]).await);
    let _first = WorkerProcess::spawn(&env, "order-a");
    let _second = WorkerProcess::spawn(&env, "order-b");
    let ws = app
        .install("ws-order", &[EventType::TimeEntryUpdated])
        .await;
    let token = ws.token_for(EventType::TimeEntryUpdated).to_owned();

    // Sequential posts: ingress accepts them in this order, so the last accepted is update 999.
    for i in 0..1000 {
        let body = payloads::time_entry("ws-order", "te-1", &format!("update {i}"), None);
        let response = app
            .post_webhook(EventType::TimeEntryUpdated, &token, &body)
            .await;
        assert_eq!(response.status(), 200);
    }

    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-order' and source = 'webhook'",
        1000,
        Duration::from_secs(60),
    )
    .await;
    let description: String = sqlx::query_scalar("select data->>'description' from entities where workspace_id = 'ws-order' and entity_id = 'te-1'")
        .fetch_one(&app.db)
        .await
        .expect("entity");
    assert_eq!(description, "update 999");
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-order' and outcome = 'applied' and source = 'webhook'").await, 1000);
    Arc::into_inner(app).expect("sole owner").stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_stream_loses_and_duplicates_nothing_after_restart() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let env = TestEnv::new();
    let app = Arc::new(TestApp::spawn_with(env.clone(), false, &[]).await);
    let mut victim = WorkerProcess::spawn(&env, "kill-a");
    let workspaces = ["ws-kill-1", "ws-kill-2", "ws-kill-3", "ws-kill-4"];
    let mut installs = Vec::new();
    for ws in workspaces {
        installs.push(app.install(ws, &[EventType::NewTimeEntry]).await);
    }

    let sender = {
        let app = app.clone();
        let installs = installs.clone();
        tokio::spawn(async move {
            for (n, ws) in installs.iter().enumerate() {
                let id = ws.workspace_id.clone();
                post_many(&app, ws, EventType::NewTimeEntry, 1250, 16, move |i| {
                    payloads::time_entry(&id, &format!("te-{n}-{i}"), "x", None)
                })
                .await;
            }
        })
    };
    // Kill the worker once it has committed part of the stream, while events keep arriving.
    let webhooks = "select count(*) from event_log where source = 'webhook'";
    while app.count(webhooks).await < 1000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill();
    let killed_at = app.count(webhooks).await;
    assert!(
        killed_at < 5000,
        "the kill must land mid-stream (it landed at {killed_at})"
    );
    let _restarted = WorkerProcess::spawn(&env, "kill-b");
    sender.await.expect("sender");

    app.wait_for_count(webhooks, 5000, Duration::from_secs(120))
        .await;
    assert_eq!(
        app.count("select count(distinct message_id) from event_log where source = 'webhook'")
            .await,
        5000
    );
    assert_eq!(
        app.count(
            "select count(*) from event_log where source = 'webhook' and outcome <> 'applied'"
        )
        .await,
        0
    );
    assert_eq!(app.count("select count(*) from entities").await, 5000);
    assert_eq!(
        app.count("select count(*) from entities where kind = 'time_entry' and not deleted")
            .await,
        5000
    );
    Arc::into_inner(app).expect("sole owner").stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhooks_request_id_reaches_the_workers_log_and_no_token_reaches_any_log() {
    let env = TestEnv::new();
    let app = TestApp::spawn_with(env.clone(), false, &[]).await;
    let mut worker = WorkerProcess::spawn(&env, "logs");
    let ws = app.install("ws-logs", &[EventType::NewClient]).await;

    let response = app
        .http
        .post(app.url(&EventType::NewClient.path()))
        .header("Clockify-Signature", ws.token_for(EventType::NewClient))
        .header("Clockify-Webhook-Event-Type", "NEW_CLIENT")
        .header("X-Request-ID", "req-trace-42")
        .json(&payloads::named("ws-logs", "c1", "Acme"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.headers()["x-request-id"], "req-trace-42");
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-logs'",
        1,
        Duration::from_secs(20),
    )
    .await;
    // A refused delivery must not log its token either.
    let forged = app.env.signer.webhook_token("ws-logs", "addon-x", "x");
    app.post_webhook(
        EventType::NewTag,
        &forged,
        &payloads::named("ws-logs", "t", "x"),
    )
    .await;

    let status = worker.terminate();
    assert!(
        status.success(),
        "SIGTERM ends the worker cleanly: {status}"
    );
    let worker_logs = worker.logs();
    let line = worker_logs
        .lines()
        .find(|l| l.contains("req-trace-42"))
        .expect("a worker log line carries the request id");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(parsed["request_id"], "req-trace-42");
    assert_eq!(parsed["workspace_id"], "ws-logs");
    let lifecycle_token = app.env.signer.lifecycle_token("ws-logs", &ws.addon_id);
    let mut secrets = ws.secrets();
    secrets.extend([forged, lifecycle_token]);
    for logs in [worker_logs, app.logs.text()] {
        assert!(!logs.is_empty());
        for secret in &secrets {
            assert!(!logs.contains(secret.as_str()), "a token reached a log");
        }
        assert!(!logs.contains("eyJ"), "something JWT-shaped reached a log");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_the_partitions_and_a_survivor_takes_them_all() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let env = TestEnv::new();
    let app = Arc::new(TestApp::spawn_with(env.clone(), false, &[]).await);
    let mut first = WorkerProcess::spawn(&env, "share-a");
    let second = WorkerProcess::spawn(&env, "share-b");
    // Workspaces on both partitions.
    let names: Vec<String> = (0..40)
        .map(|i| format!("ws-share-{i}"))
        .filter(|ws| common::messages::partition_of(ws, env.partitions) == 0)
        .take(2)
        .chain(
            (0..40)
                .map(|i| format!("ws-share-{i}"))
                .filter(|ws| common::messages::partition_of(ws, env.partitions) == 1)
                .take(2),
        )
        .collect();
    let mut installs = Vec::new();
    for ws in &names {
        installs.push(app.install(ws, &[EventType::NewTag]).await);
    }
    // Both workers have seen each other (heartbeats every 2 s) before the events flow.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let owned = "studio_event_partitions_owned";
    let a = sample(&first.metrics().await, owned);
    let b = sample(&second.metrics().await, owned);
    assert!(
        a > 0.0 && b > 0.0,
        "each worker says it owns some partitions: {a}, {b}"
    );
    assert_eq!(
        a + b,
        f64::from(env.partitions),
        "the owned partitions add up to all of them"
    );
    for ws in &installs {
        let id = ws.workspace_id.clone();
        post_many(&app, ws, EventType::NewTag, 50, 8, move |i| {
            payloads::named(&id, &format!("tag-{i}"), "t")
        })
        .await;
    }
    app.wait_for_count(
        "select count(*) from event_log where source = 'webhook'",
        200,
        Duration::from_secs(60),
    )
    .await;
    let processed = |logs: String| {
        logs.lines()
            .filter(|l| l.contains("event processed") && l.contains("NEW_TAG"))
            .count()
    };
    // A batch is committed, then acked, then logged: its lines may follow the count by a moment.
    let logged_by_both = || (processed(first.logs()), processed(second.logs()));
    let waiting = std::time::Instant::now();
    while {
        let (a, b) = logged_by_both();
        a + b < 200 && waiting.elapsed() < Duration::from_secs(10)
    } {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (by_first, by_second) = logged_by_both();
    assert_eq!(
        by_first + by_second,
        200,
        "each event processed once, by one of them"
    );
    assert!(
        by_first > 0 && by_second > 0,
        "both workers consume: {by_first} and {by_second}"
    );

    // One dies: the other takes its partitions once the heartbeat expires.
    first.kill();
    for ws in &installs {
        let id = ws.workspace_id.clone();
        post_many(&app, ws, EventType::NewTag, 10, 8, move |i| {
            payloads::named(&id, &format!("late-{i}"), "t")
        })
        .await;
    }
    app.wait_for_count(
        "select count(*) from event_log where source = 'webhook'",
        240,
        Duration::from_secs(60),
    )
    .await;
    // Its log lines reach the captured output a moment after the commit: wait for them.
    let started = std::time::Instant::now();
    while processed(second.logs()) < by_second + 40 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(processed(second.logs()), by_second + 40);
    assert_eq!(
        sample(&second.metrics().await, owned),
        f64::from(env.partitions),
        "the survivor owns every partition"
    );
    drop(second);
    Arc::into_inner(app).expect("sole owner").stop().await;
}
