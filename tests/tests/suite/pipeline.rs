//! A signed install followed by webhooks of several kinds ends in the expected rows.

use std::time::Duration;

use common::events::EventType;
use integration_tests::TestApp;
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn installed_then_webhooks_of_several_kinds_end_in_the_expected_rows() {
    let app = TestApp::spawn().await;
    let events = [
        EventType::NewProject,
        EventType::NewTimeEntry,
        EventType::NewTask,
        EventType::UserUpdated,
        EventType::TagDeleted,
    ];
    let ws = app.install("ws-pipeline", &events).await;

    let deliveries = [
        (
            EventType::NewProject,
            payloads::project("ws-pipeline", "p1", "Apollo"),
        ),
        (
            EventType::NewTimeEntry,
            payloads::time_entry(
                "ws-pipeline",
                "te1",
                "design review",
                Some("2026-11-30T09:00:00Z"),
            ),
        ),
        (EventType::NewTask, payloads::task("t1", "p1", "Write spec")),
        (
            EventType::UserUpdated,
            payloads::user("u1", "ada@example.com", "Ada"),
        ),
        (
            EventType::TagDeleted,
            payloads::named("ws-pipeline", "tag1", "old"),
        ),
    ];
    for (event, body) in &deliveries {
        let response = app.post_webhook(*event, ws.token_for(*event), body).await;
        assert_eq!(response.status(), 200, "{event:?} accepted");
    }

    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-pipeline' and source = 'webhook'",
        5,
        WAIT,
    )
    .await;
    let rows: Vec<(String, String, bool, Option<String>)> = sqlx::query_as(
        "select kind, entity_id, deleted, name from entities where workspace_id = 'ws-pipeline' order by kind",
    )
    .fetch_all(&app.db)
    .await
    .expect("entities");
    assert_eq!(
        rows,
        vec![
            ("project".into(), "p1".into(), false, Some("Apollo".into())),
            ("tag".into(), "tag1".into(), true, Some("old".into())),
            ("task".into(), "t1".into(), false, Some("Write spec".into())),
            ("time_entry".into(), "te1".into(), false, None),
            ("user".into(), "u1".into(), false, Some("Ada".into())),
        ]
    );
    let (addon_id, status, sealed): (String, String, Option<String>) =
        sqlx::query_as("select addon_id, status, sealed_auth_token from installations where workspace_id = 'ws-pipeline'")
            .fetch_one(&app.db)
            .await
            .expect("installation");
    assert_eq!(addon_id, ws.addon_id);
    assert_eq!(status, "ACTIVE");
    let sealed = sealed.expect("token kept, sealed");
    let cipher =
        common::crypto::TokenCipher::new(app.env.config(&[]).encryption_key().expect("key"));
    assert_eq!(
        cipher
            .open("ws-pipeline", &sealed)
            .expect("opens with the workspace"),
        ws.auth_token
    );
    assert_eq!(
        app.count("select count(*) from webhook_tokens where workspace_id = 'ws-pipeline'")
            .await,
        5
    );

    let stored = app.all_stored_text().await;
    for secret in ws.secrets() {
        assert!(
            !stored.contains(&secret),
            "a raw token is stored in some column"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_valid_webhook_for_a_workspace_that_is_not_installed_is_not_applied() {
    let app = TestApp::spawn().await;
    let token = app
        .env
        .signer
        .webhook_token("ws-stranger", "addon-x", "NEW_PROJECT");

    let response = app
        .post_webhook(
            EventType::NewProject,
            &token,
            &payloads::project("ws-stranger", "p1", "Nope"),
        )
        .await;

    assert_eq!(
        response.status(),
        200,
        "authentic deliveries are accepted and judged by the worker"
    );
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-stranger' and outcome = 'rejected' and reason = 'not_installed'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-stranger'")
            .await,
        0
    );
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-stranger' and payload is not null").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_with_another_installations_token_is_rejected_by_the_worker() {
    let app = TestApp::spawn().await;
    let _ws = app.install("ws-forged", &[EventType::NewProject]).await;
    // Signed by Clockify's key for the right workspace, but not a token this installation was given.
    let other = app
        .env
        .signer
        .webhook_token("ws-forged", "addon-old", "NEW_PROJECT");

    app.post_webhook(
        EventType::NewProject,
        &other,
        &payloads::project("ws-forged", "p1", "X"),
    )
    .await;

    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-forged' and outcome = 'rejected'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-forged'")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn every_event_type_lands_in_the_entity_store_and_deletions_are_marked() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-every", EventType::ALL).await;

    for (i, event) in EventType::ALL.iter().enumerate() {
        let body = simulator::event_bodies::body_for(*event, "ws-every", &format!("e{i}"));
        let response = app.post_webhook(*event, ws.token_for(*event), &body).await;
        assert_eq!(response.status(), 200, "{event:?}");
    }

    let total = EventType::ALL.len() as i64;
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-every' and source = 'webhook'",
        total,
        WAIT,
    )
    .await;
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-every' and source = 'webhook' and outcome = 'applied'").await, total);
    for (i, event) in EventType::ALL.iter().enumerate() {
        let body = simulator::event_bodies::body_for(*event, "ws-every", &format!("e{i}"));
        let entity_id = event
            .entity_kind()
            .entity_id(&body)
            .expect("every body names its entity");
        let deleted: bool = sqlx::query_scalar("select deleted from entities where workspace_id = 'ws-every' and kind = $1 and entity_id = $2")
            .bind(event.entity_kind().as_str())
            .bind(&entity_id)
            .fetch_one(&app.db)
            .await
            .unwrap_or_else(|_| panic!("{event:?} stored no entity"));
        assert_eq!(
            deleted,
            event.effect() == common::events::Effect::Delete,
            "{event:?}"
        );
    }
    app.stop().await;
}
