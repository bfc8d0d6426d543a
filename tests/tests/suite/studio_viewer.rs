//! API Studio calls act as the viewer: Clockify sees the viewer's own user token (never the
//! installation token) and applies that user's rights; the token rests sealed and is erased when
//! the call ends; an expired token or a 401 ends a call at once; no secret shows in a result.

use std::time::Duration;

use common::crypto::sha256_hex;
use integration_tests::TestApp;
use serde_json::{Value, json};
use simulator::standin::{Caller, Fault, FaultMatch, StandIn, StandInConfig, WorkspaceSpec};

const WAIT: Duration = Duration::from_secs(20);

async fn standin(app: &TestApp, workspace_id: &str) -> StandIn {
    let config = StandInConfig {
        workspaces: vec![WorkspaceSpec::sized(workspace_id, 50)],
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in starts")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[tokio::test]
async fn a_member_cannot_read_webhook_tokens_and_an_admin_sees_them_redacted() {
    let app = TestApp::spawn().await;
    let clockify = standin(&app, "ws-view").await;
    let ws = app.install_at("ws-view", &clockify.api_url()).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    let member = app.user_token(&ws, "USER");
    let admin = app.user_token(&ws, "ADMIN");
    let create = json!({"operationId": "createWebhook", "body": {
        "name": "studio hook", "url": "https://example.com/hook", "webhookEvent": "NEW_PROJECT"}});
    let list = json!({"operationId": "listWebhooks"});

    let created = app.call_and_wait(&admin, &create).await;
    let member_list = app.call_and_wait(&member, &list).await;
    let admin_list = app.call_and_wait(&admin, &list).await;

    assert_eq!(created["status"], "succeeded", "{created}");
    assert_eq!(created["responseBody"]["authToken"], "[redacted]");
    // The member's own rights apply: Clockify refuses them the webhooks.
    assert_eq!(member_list["status"], "failed", "{member_list}");
    assert_eq!(member_list["upstreamStatus"], 403);
    assert_eq!(member_list["errorCode"], "forbidden");
    assert_eq!(admin_list["status"], "succeeded", "{admin_list}");
    let hooks = admin_list["responseBody"].as_array().expect("webhooks");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["authToken"], "[redacted]");
    assert_eq!(hooks[0]["name"], "studio hook", "other fields are kept");

    let installation_token = sha256_hex(ws.auth_token.as_bytes());
    let studio_requests: Vec<_> = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/webhooks"))
        .collect();
    assert_eq!(studio_requests.len(), 3, "{studio_requests:?}");
    for request in &studio_requests {
        assert_ne!(
            request.token_sha256.as_deref(),
            Some(installation_token.as_str())
        );
        let Caller::User { role, .. } = &request.caller else {
            panic!("a studio call without a user token: {request:?}");
        };
        let expected = if role == "USER" { &member } else { &admin };
        assert_eq!(request.token_sha256, Some(sha256_hex(expected.as_bytes())));
    }
    let real: Value = app
        .http
        .get(format!(
            "{}/v1/workspaces/ws-view/webhooks",
            clockify.api_url()
        ))
        .header("X-Addon-Token", &ws.auth_token)
        .send()
        .await
        .expect("stand-in answers")
        .json()
        .await
        .expect("json");
    let webhook_token = real[0]["authToken"].as_str().expect("a real token");
    let listed = app
        .get_as(&admin, "/api/calls")
        .await
        .text()
        .await
        .expect("text");
    let stored = app.all_stored_text().await;
    for (place, text) in [
        ("a result", admin_list.to_string()),
        ("the list", listed),
        ("the database", stored.clone()),
    ] {
        assert!(!text.contains(webhook_token), "a webhook token in {place}");
        for secret in [&ws.auth_token, &member, &admin] {
            assert!(!text.contains(secret.as_str()), "a token in {place}");
        }
    }

    assert_eq!(
        app.count("select count(*) from api_calls where sealed_user_token is not null")
            .await,
        0,
        "every finished call's token is erased"
    );
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_queued_token_rests_sealed_and_one_that_expired_before_the_call_ran_is_never_sent() {
    let app = TestApp::spawn_ingress_only().await;
    let clockify = standin(&app, "ws-exp").await;
    let ws = app.install_at("ws-exp", &clockify.api_url()).await;
    // Ingress alone: a worker applies INSTALLED and stops, so the calls then wait in the queue.
    let worker = app.start_worker(&[]).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    worker.stop().await;
    let lasting = app.user_token(&ws, "USER");
    let short_lived = app.user_token_expiring_at(&ws, "USER", now() + 2);
    let call = json!({"operationId": "listTags"});

    let runs = TestApp::accepted_call_id(app.post_call(&lasting, &call).await).await;
    let expires = TestApp::accepted_call_id(app.post_call(&short_lived, &call).await).await;

    let stored = app.all_stored_text().await;
    assert!(!stored.contains(&lasting) && !stored.contains(&short_lived));
    let sealed: Vec<(String, i64)> = sqlx::query_as(
        "select sealed_user_token, extract(epoch from user_token_expires_at)::bigint from api_calls order by id",
    )
    .fetch_all(&app.db)
    .await
    .expect("rows");
    assert_eq!(sealed.len(), 2);
    assert!(
        sealed.iter().all(|(token, _)| token.starts_with("v1:")),
        "sealed at rest"
    );
    assert_eq!(
        sealed[1].1 as u64,
        exp_claim(&short_lived),
        "the expiry is kept"
    );
    // The queue holds only the call's id.
    let queued = app.api_call_messages().await;
    assert_eq!(queued.len(), 2);
    assert!(
        queued
            .iter()
            .all(|m| !m.contains(&lasting) && !m.contains(&short_lived) && !m.contains("v1:"))
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    let worker = app.start_worker(&[]).await;
    let ran = app.wait_for_call(&lasting, &runs).await;
    let expired = app.wait_for_call(&lasting, &expires).await;

    assert_eq!(ran["status"], "succeeded", "{ran}");
    assert_eq!(expired["status"], "failed");
    assert_eq!(expired["errorCode"], "token_expired", "{expired}");
    assert!(expired["upstreamStatus"].is_null());
    let sent = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/tags"))
        .count();
    assert_eq!(sent, 1, "the expired call was never sent");
    assert_eq!(
        app.count("select count(*) from api_calls where sealed_user_token is not null")
            .await,
        0
    );
    worker.stop().await;
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_401_from_clockify_ends_the_call_without_a_retry() {
    let app = TestApp::spawn().await;
    let clockify = standin(&app, "ws-401").await;
    let ws = app.install_at("ws-401", &clockify.api_url()).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    clockify.faults().push(
        FaultMatch::path("/tags"),
        Fault::Status {
            status: 401,
            retry_after_secs: None,
        },
        5,
    );

    let call = app
        .call_and_wait(
            &app.user_token(&ws, "ADMIN"),
            &json!({"operationId": "listTags"}),
        )
        .await;

    assert_eq!(call["status"], "failed");
    assert_eq!(call["errorCode"], "token_refused", "{call}");
    assert_eq!(call["attempts"], 1);
    assert_eq!(clockify.faults().pending(), 4, "sent once");
    clockify.stop().await;
    app.stop().await;
}

/// The `exp` claim of a token the test signed.
fn exp_claim(token: &str) -> u64 {
    let claims: Value =
        jsonwebtoken::dangerous::insecure_decode_claims(token).expect("a token the test signed");
    claims["exp"].as_u64().expect("exp")
}
