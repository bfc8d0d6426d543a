//! Trust boundaries, tried as a hostile member and a hostile network would: a member's user token
//! on Clockify's routes, an INSTALLED carrying a token that is not the installation's, one
//! webhook's token signing another event, tokens not valid yet, and captured HMAC deliveries.

use std::time::Duration;

use common::events::EventType;
use integration_tests::TestApp;
use integration_tests::env::HMAC_SECRET;
use serde_json::json;
use simulator::payloads;

const LIFECYCLE_ROUTES: [&str; 4] = [
    "/lifecycle/installed",
    "/lifecycle/deleted",
    "/lifecycle/status-changed",
    "/lifecycle/settings-updated",
];

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_members_user_token_is_refused_on_every_lifecycle_route_and_as_a_webhook_signature() {
    let app = TestApp::spawn_ingress_only().await;
    let ws = "ws-member";
    let member =
        app.env
            .signer
            .user_token(ws, "addon-1", "member-1", "USER", "http://127.0.0.1:1/api");
    let body = json!({
        "addonId": "addon-1", "workspaceId": ws, "asUser": "member-1", "status": "INACTIVE",
        "authToken": member, "apiUrl": "http://127.0.0.1:1/api", "settings": [], "webhooks": []
    });

    for route in LIFECYCLE_ROUTES {
        let response = app.post_lifecycle(route, Some(&member), &body).await;
        assert_eq!(response.status(), 401, "{route} refuses a user token");
    }
    let webhook = app
        .post_webhook(
            EventType::ProjectDeleted,
            &member,
            &payloads::project(ws, "p1", "X"),
        )
        .await;
    assert_eq!(webhook.status(), 401, "a user token signs no webhook");

    assert_eq!(app.queued_events().await, 0, "nothing queued");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("studio_rejections_total{reason=\"user_token\",scope=\"lifecycle\"} 4"),
        "lifecycle refusals counted: {metrics}"
    );
    assert!(metrics.contains("studio_rejections_total{reason=\"user_token\",scope=\"webhook\"} 1"));
    app.stop().await;
}

#[tokio::test]
async fn an_installed_whose_auth_token_is_not_this_installations_token_is_refused_and_changes_nothing()
 {
    let app = TestApp::spawn().await;
    let ws = "ws-hijack";
    let original = app.install(ws, &[EventType::NewTag]).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let signer = &app.env.signer;
    let addon = original.addon_id.as_str();
    let api = "http://127.0.0.1:1/api";
    let candidates = [
        (
            "a user token",
            signer.user_token(ws, addon, "member-1", "USER", api),
        ),
        (
            "a webhook token",
            signer.webhook_token(ws, addon, "NEW_TAG"),
        ),
        (
            "another workspace's",
            signer.installation_token("ws-other", addon, api),
        ),
        (
            "another installation's",
            signer.installation_token(ws, "addon-other", api),
        ),
        ("a forged one", "not-a-token".to_owned()),
    ];
    for (what, auth_token) in candidates {
        let body = payloads::installed(ws, addon, &auth_token, api, &[]);
        let response = app
            .post_lifecycle(
                "/lifecycle/installed",
                Some(&signer.lifecycle_token(ws, addon)),
                &body,
            )
            .await;
        assert_eq!(response.status(), 422, "INSTALLED with {what} as authToken");
    }
    assert_eq!(app.queued_events().await, 0);
    let tokens: i64 = app
        .count("select count(*) from webhook_tokens where workspace_id = 'ws-hijack'")
        .await;
    assert_eq!(tokens, 1, "the installation's webhook tokens are untouched");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            "studio_rejections_total{reason=\"installation_token\",scope=\"lifecycle\"} 5"
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_not_valid_yet_are_refused() {
    let app = TestApp::spawn_ingress_only().await;
    let signer = &app.env.signer;
    let ws = "ws-future";
    let mut not_before = signer.base_claims(ws, "addon-1");
    not_before["nbf"] = json!(unix_now() + 3_600);
    let mut issued_later = signer.base_claims(ws, "addon-1");
    issued_later["iat"] = json!(unix_now() + 3_600);
    let mut slightly_skewed = signer.base_claims(ws, "addon-1");
    slightly_skewed["iat"] = json!(unix_now() + 5);
    let deleted = json!({"addonId": "addon-1", "workspaceId": ws, "asUser": "u"});

    for claims in [&not_before, &issued_later] {
        let response = app
            .post_lifecycle("/lifecycle/deleted", Some(&signer.sign(claims)), &deleted)
            .await;
        assert_eq!(response.status(), 401, "{claims}");
    }
    let skewed = app
        .post_lifecycle(
            "/lifecycle/deleted",
            Some(&signer.sign(&slightly_skewed)),
            &deleted,
        )
        .await;
    assert_eq!(
        skewed.status(),
        200,
        "a few seconds of clock skew are tolerated"
    );
    assert!(app.metrics().await.contains(
        "studio_signature_failures_total{reason=\"not_yet_valid\",scope=\"lifecycle\"} 2"
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_token_signs_only_its_own_event() {
    let app = TestApp::spawn().await;
    let ws = "ws-cross";
    let installation = app
        .install(
            ws,
            &[
                EventType::NewTag,
                EventType::NewProject,
                EventType::ProjectDeleted,
            ],
        )
        .await;
    let project = payloads::project(ws, "p-keep", "Keep me");
    let created = app
        .post_webhook(
            EventType::NewProject,
            installation.token_for(EventType::NewProject),
            &project,
        )
        .await;
    assert_eq!(created.status(), 200);
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-cross' and not deleted",
        1,
        Duration::from_secs(20),
    )
    .await;

    // The NEW_TAG webhook's token, on the project-deleted route with a matching event header.
    let forged = app
        .post_webhook(
            EventType::ProjectDeleted,
            installation.token_for(EventType::NewTag),
            &project,
        )
        .await;
    assert_eq!(forged.status(), 200, "ingress cannot tell; the worker can");
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-cross'
         and outcome = 'rejected' and reason = 'token_of_another_webhook'",
        1,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-cross' and deleted")
            .await,
        0,
        "the project was not deleted"
    );
    let metrics = app.workers_metrics().await;
    assert!(
        metrics.contains("type=\"PROJECT_DELETED\"") && metrics.contains("outcome=\"rejected\""),
        "rejection counted: {metrics}"
    );

    // Its own token still deletes it.
    let own = app
        .post_webhook(
            EventType::ProjectDeleted,
            installation.token_for(EventType::ProjectDeleted),
            &project,
        )
        .await;
    assert_eq!(own.status(), 200);
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-cross' and deleted",
        1,
        Duration::from_secs(20),
    )
    .await;
    app.stop().await;
}

async fn post_hmac(
    app: &TestApp,
    route: EventType,
    header_event: &str,
    signature: &str,
    body: &[u8],
) -> u16 {
    app.http
        .post(app.url(&route.path()))
        .header("Content-Type", "application/json")
        .header("Clockify-Signature", signature)
        .header("Clockify-Webhook-Event-Type", header_event)
        .body(body.to_vec())
        .send()
        .await
        .expect("answer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_captured_hmac_delivery_cannot_be_replayed_later_elsewhere_or_for_an_uninstalled_workspace()
 {
    let app = TestApp::spawn().await;
    let installation = app.install("ws-hmac", &[]).await;
    let secret = HMAC_SECRET.as_bytes();
    let tag = serde_json::to_vec(&payloads::named("ws-hmac", "t1", "Tag one")).expect("json");
    let now = unix_now();
    let captured = common::webhook_hmac::sign(secret, now, "NEW_TAG", &tag);

    assert_eq!(
        post_hmac(&app, EventType::NewTag, "NEW_TAG", &captured, &tag).await,
        200
    );
    // The same header and body to another route (and the event header to match it).
    assert_eq!(
        post_hmac(&app, EventType::TagDeleted, "TAG_DELETED", &captured, &tag).await,
        401
    );
    // A delivery signed an hour ago, replayed now.
    let old = common::webhook_hmac::sign(secret, now - 3_600, "NEW_TAG", &tag);
    assert_eq!(
        post_hmac(&app, EventType::NewTag, "NEW_TAG", &old, &tag).await,
        401
    );
    // The bare body HMAC of the old scheme signs nothing any more.
    let bare = hex::encode(aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        &tag,
    ));
    assert_eq!(
        post_hmac(&app, EventType::NewTag, "NEW_TAG", &bare, &tag).await,
        401
    );
    // A fresh, valid signature for a workspace that never installed is stored nowhere.
    let stranger =
        serde_json::to_vec(&payloads::named("ws-never", "t2", "Intruder")).expect("json");
    let signed = common::webhook_hmac::sign(secret, now, "NEW_TAG", &stranger);
    assert_eq!(
        post_hmac(&app, EventType::NewTag, "NEW_TAG", &signed, &stranger).await,
        200
    );

    app.wait_for_count(
        "select count(*) from event_log where workspace_id in ('ws-hmac', 'ws-never') and source = 'webhook'",
        2,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-hmac'")
            .await,
        1,
        "the genuine delivery applied once"
    );
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-never'")
            .await,
        0,
        "nothing stored for a workspace without an installation"
    );
    assert_eq!(
        app.count(
            "select count(*) from event_log where workspace_id = 'ws-never' and payload is not null"
        )
        .await,
        0
    );
    let metrics = app.metrics().await;
    for reason in ["hmac", "hmac_stale", "hmac_malformed"] {
        assert!(
            metrics.contains(&format!(
                "studio_rejections_total{{reason=\"{reason}\",scope=\"webhook\"}} 1"
            )),
            "{reason} counted: {metrics}"
        );
    }
    drop(installation);
    app.stop().await;
}

#[tokio::test]
async fn an_unsigned_request_announcing_five_megabytes_is_answered_before_its_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_ingress_only().await;
    for path in [
        EventType::NewProject.path(),
        "/lifecycle/installed".to_owned(),
    ] {
        let mut stream = tokio::net::TcpStream::connect(app.address)
            .await
            .expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: ingress\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nClockify-Webhook-Event-Type: NEW_PROJECT\r\n\r\n"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("headers sent");
        // Not a byte of the body follows: the answer must come anyway.
        let mut answer = vec![0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer before the body"))
            .expect("read");
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
    }
    app.stop().await;
}

#[test]
fn operator_and_hmac_secrets_shorter_than_32_bytes_are_refused_at_start() {
    let env = integration_tests::TestEnv::new();
    let mut vars = env.vars();
    vars.insert("ADMIN_TOKEN".into(), "short-admin-token".into());
    let error = common::config::Config::from_vars(&vars).expect_err("short ADMIN_TOKEN");
    assert!(error.to_string().contains("ADMIN_TOKEN"), "{error}");
    assert!(
        !error.to_string().contains("short-admin-token"),
        "the value is not echoed"
    );

    let mut vars = env.vars();
    vars.insert("WEBHOOK_HMAC_SECRET".into(), "0123456789abcdef".into());
    let error = common::config::Config::from_vars(&vars).expect_err("short HMAC secret");
    assert!(error.to_string().contains("WEBHOOK_HMAC_SECRET"), "{error}");

    let mut vars = env.vars();
    vars.insert("ADMIN_TOKEN".into(), "a".repeat(32));
    assert!(common::config::Config::from_vars(&vars).is_ok());
}
