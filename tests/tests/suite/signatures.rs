//! Signatures that are accepted: the HMAC fallback, legacy header names, and the token cache.

use common::events::EventType;
use integration_tests::TestApp;
use integration_tests::env::{ADDON_KEY, HMAC_SECRET};
use serde_json::{Value, json};
use simulator::payloads;

fn claims(workspace: &str) -> Value {
    json!({"iss": "clockify", "sub": ADDON_KEY, "type": "addon", "workspaceId": workspace, "addonId": "addon-1"})
}

#[tokio::test]
async fn hmac_fallback_and_legacy_header_are_accepted_and_counted() {
    let app = TestApp::spawn_ingress_only().await;
    let body = serde_json::to_vec(&payloads::named("ws-h", "c1", "Acme")).expect("json");
    let signature = common::webhook_hmac::sign(
        HMAC_SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        "NEW_CLIENT",
        &body,
    );

    let response = app
        .http
        .post(app.url(&EventType::NewClient.path()))
        .header("Content-Type", "application/json")
        .header("Clockify-Signature", &signature)
        .header("Clockify-Webhook-Event-Type", "NEW_CLIENT")
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let legacy = app
        .http
        .post(app.url(&EventType::NewClient.path()))
        .header("Content-Type", "application/json")
        .header("X-Clockify-Signature", app.env.signer.sign(&claims("ws-h")))
        .header("Clockify-Webhook-Event-Type", "NEW_CLIENT")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(legacy.status(), 200);

    assert_eq!(app.queued_events().await, 2);
    let metrics = app.metrics().await;
    assert!(metrics.contains("studio_hmac_fallback_total{outcome=\"accepted\"} 1"));
    assert!(
        metrics.contains("studio_legacy_signature_header_total{header=\"x-clockify-signature\"} 1")
    );
    app.stop().await;
}

#[tokio::test]
async fn repeated_webhook_tokens_are_verified_once() {
    let app = TestApp::spawn_ingress_only().await;
    let token = app.env.signer.webhook_token("ws-c", "addon-1", "NEW_TAG");
    for i in 0..5 {
        let response = app
            .post_webhook(
                EventType::NewTag,
                &token,
                &payloads::named("ws-c", &format!("t{i}"), "x"),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("studio_webhook_token_cache_total{outcome=\"miss\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("studio_webhook_token_cache_total{outcome=\"hit\"} 4"));
    app.stop().await;
}
