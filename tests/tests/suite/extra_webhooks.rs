//! Event types beyond the manifest's ten: registered through the webhooks API on install, checked
//! like the manifest's, deleted on uninstall.

use std::time::Duration;

use common::events::EventType;
use integration_tests::{TestApp, TestEnv};
use serde_json::{Value, json};
use simulator::standin::{StandIn, StandInConfig, WorkspaceSpec};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn extra_webhooks_are_registered_on_install_accepted_and_deleted_on_uninstall() {
    let overrides = [("EXTRA_WEBHOOK_EVENTS", "NEW_INVOICE,EXPENSE_CREATED")];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let config = StandInConfig {
        workspaces: vec![WorkspaceSpec::sized("ws-extra", 50)],
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    let clockify = StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in");
    let ws = app.install_at("ws-extra", &clockify.api_url()).await;

    app.wait_for_count(
        "select count(*) from webhook_tokens where workspace_id = 'ws-extra' and clockify_webhook_id is not null",
        2,
        WAIT,
    )
    .await;
    let registered: Value = app
        .http
        .get(format!(
            "{}/v1/workspaces/ws-extra/webhooks",
            clockify.api_url()
        ))
        .header("X-Addon-Token", &ws.auth_token)
        .send()
        .await
        .expect("stand-in answers")
        .json()
        .await
        .expect("json");
    let hooks = registered.as_array().expect("list");
    assert_eq!(hooks.len(), 2);
    let invoice = hooks
        .iter()
        .find(|h| h["webhookEvent"] == "NEW_INVOICE")
        .expect("NEW_INVOICE registered");
    assert!(
        invoice["url"]
            .as_str()
            .expect("url")
            .ends_with("/webhooks/new-invoice")
    );
    let token = invoice["authToken"].as_str().expect("token");

    let body = json!({"id": "inv-1", "workspaceId": "ws-extra", "number": "1", "clientId": "c1"});
    assert_eq!(
        app.post_webhook(EventType::NewInvoice, token, &body)
            .await
            .status(),
        200
    );
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-extra' and kind = 'invoice'",
        1,
        WAIT,
    )
    .await;

    let deleted = json!({"addonId": ws.addon_id, "workspaceId": "ws-extra", "asUser": "u"});
    let lifecycle = app.env.signer.lifecycle_token("ws-extra", &ws.addon_id);
    assert_eq!(
        app.post_lifecycle("/lifecycle/deleted", Some(&lifecycle), &deleted)
            .await
            .status(),
        200
    );
    let started = std::time::Instant::now();
    while clockify
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("/webhooks/"))
        .count()
        < 2
    {
        assert!(
            started.elapsed() < WAIT,
            "registered webhooks were not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.wait_for_count("select count(*) from webhook_deletions", 0, WAIT)
        .await;
    clockify.stop().await;
    app.stop().await;
}
