//! Every refusal of ingress: the status, nothing queued, and the refusal counted by reason.

use base64::Engine as _;
use common::events::EventType;
use integration_tests::TestApp;
use integration_tests::env::ADDON_KEY;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use simulator::payloads;

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(value).expect("json"))
}

fn claims(workspace: &str) -> Value {
    json!({"iss": "clockify", "sub": ADDON_KEY, "type": "addon", "workspaceId": workspace, "addonId": "addon-1"})
}

/// Posts a webhook and asserts its status, that nothing reached the queue, and the counted reason.
async fn assert_webhook_refused(
    app: &TestApp,
    signature: Option<&str>,
    event_header: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
    status: u16,
    reason: &str,
) {
    let mut request = app
        .http
        .post(app.url(&EventType::NewProject.path()))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(signature) = signature {
        request = request.header("Clockify-Signature", signature);
    }
    if let Some(event) = event_header {
        request = request.header("Clockify-Webhook-Event-Type", event);
    }
    let response = request.send().await.expect("answer");
    assert_eq!(
        response.status().as_u16(),
        status,
        "status for reason {reason}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "error shape: {body}"
    );
    assert_eq!(
        app.queued_events().await,
        0,
        "nothing may be queued for reason {reason}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(&format!(
            "studio_rejections_total{{reason=\"{reason}\",scope=\"webhook\"}}"
        )),
        "rejection counted under {reason}"
    );
}

#[tokio::test]
async fn every_webhook_refusal_has_its_status_queues_nothing_and_is_counted() {
    let app = TestApp::spawn_ingress_only().await;
    let signer = &app.env.signer;
    let project = serde_json::to_vec(&payloads::project("ws-r", "p1", "X")).expect("json");
    let good = signer.sign(&claims("ws-r"));
    let event = Some("NEW_PROJECT");
    let json_type = "application/json";

    assert_webhook_refused(
        &app,
        None,
        event,
        json_type,
        project.clone(),
        401,
        "missing",
    )
    .await;
    let mut tampered = good.clone();
    tampered.truncate(good.len() - 4);
    tampered.push_str("AAAA");
    assert_webhook_refused(
        &app,
        Some(&tampered),
        event,
        json_type,
        project.clone(),
        401,
        "signature",
    )
    .await;
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims("ws-r"))
    );
    assert_webhook_refused(
        &app,
        Some(&none),
        event,
        json_type,
        project.clone(),
        401,
        "algorithm",
    )
    .await;
    let hs256 = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("ws-r"),
        &EncodingKey::from_secret(signer.public_key_pem().as_bytes()).expect("hmac key"),
    )
    .expect("hs256");
    assert_webhook_refused(
        &app,
        Some(&hs256),
        event,
        json_type,
        project.clone(),
        401,
        "algorithm",
    )
    .await;
    let mut wrong = claims("ws-r");
    wrong["iss"] = json!("evil");
    assert_webhook_refused(
        &app,
        Some(&signer.sign(&wrong)),
        event,
        json_type,
        project.clone(),
        401,
        "issuer",
    )
    .await;
    let mut wrong = claims("ws-r");
    wrong["sub"] = json!("another-addon");
    assert_webhook_refused(
        &app,
        Some(&signer.sign(&wrong)),
        event,
        json_type,
        project.clone(),
        401,
        "subject",
    )
    .await;
    let mut wrong = claims("ws-r");
    wrong["type"] = json!("user");
    assert_webhook_refused(
        &app,
        Some(&signer.sign(&wrong)),
        event,
        json_type,
        project.clone(),
        401,
        "type",
    )
    .await;
    let mut wrong = claims("ws-r");
    wrong["exp"] = json!(1_000_000_000);
    assert_webhook_refused(
        &app,
        Some(&signer.sign(&wrong)),
        event,
        json_type,
        project.clone(),
        401,
        "expired",
    )
    .await;
    let other_key =
        simulator::ClockifySigner::from_pem(OTHER_KEY, "", ADDON_KEY).expect("other key");
    assert_webhook_refused(
        &app,
        Some(&other_key.sign(&claims("ws-r"))),
        event,
        json_type,
        project.clone(),
        401,
        "signature",
    )
    .await;
    assert_webhook_refused(
        &app,
        Some(&good),
        Some("NEW_CLIENT"),
        json_type,
        project.clone(),
        403,
        "event_type_mismatch",
    )
    .await;
    let foreign = serde_json::to_vec(&payloads::project("ws-other", "p1", "X")).expect("json");
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        json_type,
        foreign,
        403,
        "workspace_mismatch",
    )
    .await;
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        json_type,
        b"{not json".to_vec(),
        400,
        "malformed",
    )
    .await;
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        json_type,
        b"[1,2]".to_vec(),
        422,
        "malformed",
    )
    .await;
    // Escapes are checked as a parsed document would check them, though the body travels as text:
    // a lone surrogate is not JSON, and `jsonb` cannot hold U+0000.
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        json_type,
        br#"{"id": "p1", "workspaceId": "ws-r", "name": "\ud800"}"#.to_vec(),
        400,
        "malformed",
    )
    .await;
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        json_type,
        br#"{"id": "p1", "workspaceId": "ws-r", "name": "a\u0000b"}"#.to_vec(),
        422,
        "malformed",
    )
    .await;
    assert_webhook_refused(
        &app,
        Some(&good),
        event,
        "text/plain",
        project.clone(),
        415,
        "content_type",
    )
    .await;
    let huge = serde_json::to_vec(&json!({"id": "p1", "note": "x".repeat(70_000)})).expect("json");
    assert_webhook_refused(&app, Some(&good), event, json_type, huge, 413, "too_large").await;
    assert_webhook_refused(
        &app,
        Some("deadbeef"),
        event,
        json_type,
        project.clone(),
        401,
        "hmac_malformed",
    )
    .await;
    let wrong_tag = format!(
        "t={},v1={}",
        chrono::Utc::now().timestamp(),
        "ab".repeat(32)
    );
    assert_webhook_refused(
        &app,
        Some(&wrong_tag),
        event,
        json_type,
        project.clone(),
        401,
        "hmac",
    )
    .await;

    // The control: the same request, correctly signed, is queued, so the zero counts above mean something.
    let response = app
        .post_webhook(
            EventType::NewProject,
            &good,
            &payloads::project("ws-r", "p1", "X"),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.queued_events().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn lifecycle_refusals_have_their_status_and_queue_nothing() {
    let app = TestApp::spawn_ingress_only().await;
    let signer = &app.env.signer;
    let body = json!({"addonId": "addon-1", "workspaceId": "ws-l", "status": "INACTIVE"});
    let cases: Vec<(Option<String>, Value, u16)> = vec![
        (None, body.clone(), 401),
        (Some("not-a-jwt".into()), body.clone(), 401),
        (
            Some(signer.lifecycle_token("ws-other", "addon-1")),
            body.clone(),
            403,
        ),
        (
            Some(signer.lifecycle_token("ws-l", "addon-2")),
            body.clone(),
            403,
        ),
        (
            Some(signer.lifecycle_token("ws-l", "addon-1")),
            json!({"addonId": "addon-1", "workspaceId": "ws-l", "status": "SLEEPING"}),
            422,
        ),
        (
            Some(signer.lifecycle_token("ws-l", "addon-1")),
            json!({"addonId": "addon-1"}),
            422,
        ),
    ];
    for (token, body, status) in cases {
        let response = app
            .post_lifecycle("/lifecycle/status-changed", token.as_deref(), &body)
            .await;
        assert_eq!(response.status().as_u16(), status, "body {body}");
    }
    // An INSTALLED whose installation token is not Clockify's is refused too.
    let forged = payloads::installed(
        "ws-l",
        "addon-1",
        "forged-token",
        "http://127.0.0.1:1/api",
        &[],
    );
    let response = app
        .post_lifecycle(
            "/lifecycle/installed",
            Some(&signer.lifecycle_token("ws-l", "addon-1")),
            &forged,
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.queued_events().await, 0);
    assert_eq!(app.count("select count(*) from installations").await, 0);
    let metrics = app.metrics().await;
    assert!(
        metrics
            .contains("studio_signature_failures_total{reason=\"missing\",scope=\"lifecycle\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "studio_rejections_total{reason=\"workspace_mismatch\",scope=\"lifecycle\"} 1"
        )
    );

    let ok = app
        .post_lifecycle(
            "/lifecycle/status-changed",
            Some(&signer.lifecycle_token("ws-l", "addon-1")),
            &body,
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(app.queued_events().await, 1);
    app.stop().await;
}

/// A second RSA key that is not the configured one (generated for this test suite only).
const OTHER_KEY: &str = include_str!("other-key.pem");
