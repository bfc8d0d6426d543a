//! The manifest, health, readiness, metrics, request ids, and the 503 when the broker cannot take a message.

use common::events::EventType;
use integration_tests::TestApp;
use lapin::options::QueueDeleteOptions;
use serde_json::Value;
use simulator::payloads;

#[tokio::test]
async fn manifest_lists_exactly_the_routes_that_answer() {
    let app = TestApp::spawn_ingress_only().await;
    let manifest: Value = app
        .http
        .get(app.url("/manifest"))
        .send()
        .await
        .expect("manifest")
        .json()
        .await
        .expect("json");

    assert_eq!(manifest["schemaVersion"], "1.3");
    assert_eq!(manifest["key"], integration_tests::env::ADDON_KEY);
    assert_eq!(manifest["baseUrl"], "http://127.0.0.1:8080");
    assert_eq!(manifest["minimalSubscriptionPlan"], "FREE");
    assert_eq!(manifest["components"][0]["type"], "sidebar");
    assert_eq!(manifest["components"][0]["path"], "/ui");
    let lifecycle = manifest["lifecycle"].as_array().expect("lifecycle");
    let types: Vec<&str> = lifecycle
        .iter()
        .map(|l| l["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        ["INSTALLED", "DELETED", "STATUS_CHANGED", "SETTINGS_UPDATED"]
    );
    let webhooks = manifest["webhooks"].as_array().expect("webhooks");
    assert_eq!(webhooks.len(), 10);
    // Every advertised path answers (401 without a signature, never 404).
    for entry in lifecycle.iter().chain(webhooks) {
        let path = entry["path"].as_str().expect("path");
        let status = app
            .http
            .post(app.url(path))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("answer")
            .status();
        assert_eq!(status, 401, "{path}");
    }
    assert_eq!(
        app.http
            .get(app.url("/ui"))
            .send()
            .await
            .expect("ui")
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn health_ready_and_metrics_answer_on_both_tiers() {
    let app = TestApp::spawn().await;
    let workers = format!("http://{}", app.workers_address.expect("worker"));
    for base in [app.url(""), workers] {
        let health: Value = app
            .http
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        assert_eq!(health["status"], "ok");
        let ready = app
            .http
            .get(format!("{base}/ready"))
            .send()
            .await
            .expect("ready");
        assert_eq!(ready.status(), 200);
        let ready: Value = ready.json().await.expect("json");
        assert_eq!(ready["checks"]["rabbitmq"]["status"], "ok");
        let metrics = app
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .all(|l| l.starts_with("studio_")),
            "{metrics}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn request_id_is_taken_or_made_and_echoed() {
    let app = TestApp::spawn_ingress_only().await;
    let given = app
        .http
        .get(app.url("/health"))
        .header("X-Request-ID", "abc-123")
        .send()
        .await
        .expect("answer");
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    let made = app
        .http
        .get(app.url("/health"))
        .send()
        .await
        .expect("answer");
    assert!(!made.headers()["x-request-id"].is_empty());
    let hostile = app
        .http
        .get(app.url("/health"))
        .header("X-Request-ID", "a b<script>")
        .send()
        .await
        .expect("answer");
    assert_ne!(hostile.headers()["x-request-id"], "a b<script>");
    app.stop().await;
}

#[tokio::test]
async fn a_publish_the_broker_cannot_take_is_a_503_with_retry_after_when_the_outbox_is_away_too() {
    let app = TestApp::spawn_with(
        integration_tests::TestEnv::new(),
        false,
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")],
    )
    .await;
    let token = app.env.signer.webhook_token("ws-503", "addon-1", "NEW_TAG");
    // Remove the partition the workspace routes to: the mandatory publish comes back unroutable.
    let names = common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let queue = names.event_partition(common::messages::partition_of("ws-503", app.env.partitions));
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    let connection = pool.get().await.expect("connection");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .expect("delete");

    let response = app
        .post_webhook(
            EventType::NewTag,
            &token,
            &payloads::named("ws-503", "t1", "x"),
        )
        .await;

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(
        app.metrics()
            .await
            .contains("studio_publish_failures_total{reason=\"unroutable\"} 1")
    );
    app.stop().await;
}
