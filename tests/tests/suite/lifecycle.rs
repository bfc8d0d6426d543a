//! Status changes, settings, uninstall and late callbacks of an old installation.

use std::time::Duration;

use common::events::EventType;
use integration_tests::TestApp;
use serde_json::json;
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_inactive_installation_rejects_webhooks_until_reactivated() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-status", &[EventType::NewTag]).await;
    let token = app.env.signer.lifecycle_token("ws-status", &ws.addon_id);
    let status = |s: &str| json!({"addonId": ws.addon_id, "workspaceId": "ws-status", "status": s});

    assert_eq!(
        app.post_lifecycle(
            "/lifecycle/status-changed",
            Some(&token),
            &status("INACTIVE")
        )
        .await
        .status(),
        200
    );
    app.post_webhook(
        EventType::NewTag,
        ws.token_for(EventType::NewTag),
        &payloads::named("ws-status", "t1", "a"),
    )
    .await;
    assert_eq!(
        app.post_lifecycle("/lifecycle/status-changed", Some(&token), &status("ACTIVE"))
            .await
            .status(),
        200
    );
    app.post_webhook(
        EventType::NewTag,
        ws.token_for(EventType::NewTag),
        &payloads::named("ws-status", "t2", "b"),
    )
    .await;

    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-status' and source = 'webhook'",
        2,
        WAIT,
    )
    .await;
    let outcomes: Vec<(String, Option<String>)> = sqlx::query_as(
        "select outcome, reason from event_log where workspace_id = 'ws-status' and source = 'webhook' order by accepted_at",
    )
    .fetch_all(&app.db)
    .await
    .expect("log");
    assert_eq!(
        outcomes,
        vec![
            ("rejected".into(), Some("inactive".into())),
            ("applied".into(), None)
        ]
    );
    let ids: Vec<String> =
        sqlx::query_scalar("select entity_id from entities where workspace_id = 'ws-status'")
            .fetch_all(&app.db)
            .await
            .expect("entities");
    assert_eq!(ids, vec!["t2".to_owned()]);
    app.stop().await;
}

#[tokio::test]
async fn settings_updated_is_stored() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-settings", &[]).await;
    let token = app.env.signer.lifecycle_token("ws-settings", &ws.addon_id);
    let settings = json!([{"id": "page-size", "name": "Page size", "value": 100}]);

    let body = json!({"addonId": ws.addon_id, "workspaceId": "ws-settings", "settings": settings});
    assert_eq!(
        app.post_lifecycle("/lifecycle/settings-updated", Some(&token), &body)
            .await
            .status(),
        200
    );

    app.wait_for_count(
        "select count(*) from installations where workspace_id = 'ws-settings' and settings @> '[{\"id\": \"page-size\", \"value\": 100}]'",
        1,
        WAIT,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn deleted_erases_tokens_and_purges_data_but_a_stale_deleted_is_ignored() {
    let app = TestApp::spawn().await;
    let old = app.install("ws-del", &[EventType::NewClient]).await;
    let old_token = app.env.signer.lifecycle_token("ws-del", &old.addon_id);
    let deleted = |addon: &str| json!({"addonId": addon, "workspaceId": "ws-del", "asUser": "u"});
    app.post_webhook(
        EventType::NewClient,
        old.token_for(EventType::NewClient),
        &payloads::named("ws-del", "c1", "Acme"),
    )
    .await;
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-del'",
        1,
        WAIT,
    )
    .await;

    assert_eq!(
        app.post_lifecycle(
            "/lifecycle/deleted",
            Some(&old_token),
            &deleted(&old.addon_id)
        )
        .await
        .status(),
        200
    );
    app.wait_for_count("select count(*) from installations where workspace_id = 'ws-del' and deleted_at is not null", 1, WAIT).await;
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-del'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from webhook_tokens where workspace_id = 'ws-del'")
            .await,
        0
    );
    assert_eq!(app.count("select count(*) from installations where workspace_id = 'ws-del' and sealed_auth_token is not null").await, 0);

    // A re-install, then a late DELETED of the old installation: the new one must survive.
    let new = app.install("ws-del", &[EventType::NewClient]).await;
    assert_eq!(
        app.post_lifecycle(
            "/lifecycle/deleted",
            Some(&old_token),
            &deleted(&old.addon_id)
        )
        .await
        .status(),
        200
    );
    app.post_webhook(
        EventType::NewClient,
        new.token_for(EventType::NewClient),
        &payloads::named("ws-del", "c2", "Beta"),
    )
    .await;
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-del' and entity_id = 'c2'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count("select count(*) from event_log where workspace_id = 'ws-del' and event_type = 'DELETED' and outcome = 'ignored' and reason = 'stale_addon'").await,
        1
    );
    assert_eq!(
        app.count("select count(*) from installations where workspace_id = 'ws-del' and deleted_at is null and sealed_auth_token is not null").await,
        1
    );
    // The old installation's webhook tokens died with it.
    app.post_webhook(
        EventType::NewClient,
        old.token_for(EventType::NewClient),
        &payloads::named("ws-del", "c3", "Old"),
    )
    .await;
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-del' and outcome = 'rejected'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count(
            "select count(*) from entities where workspace_id = 'ws-del' and entity_id = 'c3'"
        )
        .await,
        0
    );
    app.stop().await;
}
