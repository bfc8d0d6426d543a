//! Uninstall leaves nothing behind, even in a race: a bootstrap page in flight when DELETED
//! arrives writes nothing after the purge, and a stale INSTALLED (replayed from the dead letters
//! after a DELETED, say) never resurrects or overwrites an installation.

use std::time::Duration;

use chrono::Utc;
use common::crypto::TokenCipher;
use common::messages::{Event, EventMessage, Installed, partition_of};
use integration_tests::TestApp;
use serde_json::json;
use simulator::standin::{StandIn, StandInConfig, WorkspaceSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_page_in_flight_when_deleted_arrives_writes_nothing_after_the_purge() {
    let overrides = [
        ("AUTO_BOOTSTRAP_ON_INSTALL", "true"),
        ("BOOTSTRAP_PAGE_SIZE", "50"),
        ("BOOTSTRAP_CONCURRENCY", "4"),
    ];
    let app = TestApp::spawn_with(integration_tests::TestEnv::new(), true, &overrides).await;
    // Slow pages: at any moment some are on their way back from the stand-in.
    let config = StandInConfig {
        workspaces: vec![WorkspaceSpec::sized("ws-race", 3000)],
        latency: Duration::from_millis(400),
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    let clockify = StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in starts");
    let ws = app.install_at("ws-race", &clockify.api_url()).await;
    let settings = json!({"addonId": ws.addon_id, "workspaceId": "ws-race", "settings": [{"id": "s", "name": "S", "value": "x"}]});
    let token = app.env.signer.lifecycle_token("ws-race", &ws.addon_id);
    assert_eq!(
        app.post_lifecycle("/lifecycle/settings-updated", Some(&token), &settings)
            .await
            .status(),
        200
    );
    app.wait_for_count(
        "select least(count(*), 1) from entities where workspace_id = 'ws-race'",
        1,
        Duration::from_secs(30),
    )
    .await;

    app.uninstall(&ws).await;
    // Longer than a page takes to come back: whatever was in flight has landed or been dropped.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for (table, query) in [
        (
            "entities",
            "select count(*) from entities where workspace_id = 'ws-race'",
        ),
        (
            "bootstrap jobs",
            "select count(*) from bootstrap_jobs where workspace_id = 'ws-race'",
        ),
        (
            "bootstrap units",
            "select count(*) from bootstrap_units where workspace_id = 'ws-race'",
        ),
        (
            "event log (but the DELETED's own record)",
            "select count(*) from event_log where workspace_id = 'ws-race' and event_type <> 'DELETED'",
        ),
        (
            "call records",
            "select count(*) from api_calls where workspace_id = 'ws-race'",
        ),
        (
            "webhook tokens",
            "select count(*) from webhook_tokens where workspace_id = 'ws-race'",
        ),
        (
            "settings",
            "select count(*) from installations where workspace_id = 'ws-race' and settings <> '[]'::jsonb",
        ),
        (
            "the installation token",
            "select count(*) from installations where workspace_id = 'ws-race' and sealed_auth_token is not null",
        ),
    ] {
        assert_eq!(
            app.count(query).await,
            0,
            "{table} left after the uninstall"
        );
    }
    clockify.stop().await;
    app.stop().await;
}

/// Publishes an INSTALLED as ingress would have, but accepted `age` ago: what a replay of a
/// dead-lettered callback delivers.
async fn replay_installed(
    app: &TestApp,
    workspace_id: &str,
    addon_id: &str,
    age: chrono::Duration,
) {
    let key: [u8; 32] = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &app.env.encryption_key,
    )
    .expect("base64")
    .try_into()
    .expect("32 bytes");
    let token = app
        .env
        .signer
        .installation_token(workspace_id, addon_id, "http://127.0.0.1:1/api");
    let mut message = EventMessage::new(
        workspace_id.to_owned(),
        "replayed".to_owned(),
        Event::Installed(Installed {
            addon_id: addon_id.to_owned(),
            addon_user_id: None,
            as_user: None,
            api_url: Some("http://127.0.0.1:1/api".into()),
            backend_url: None,
            reports_url: None,
            pto_url: None,
            locations_url: None,
            screenshots_url: None,
            sealed_auth_token: TokenCipher::new(&key).seal(workspace_id, &token),
            webhooks: vec![],
        }),
    );
    message.accepted_at = Utc::now() - age;
    let queues = common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let queue = queues.event_partition(partition_of(workspace_id, app.env.partitions));
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    common::publisher::Publisher::new(pool, 1)
        .publish(
            &queue,
            &message.message_id.to_string(),
            "replayed",
            &serde_json::to_vec(&message).expect("json"),
        )
        .await
        .expect("published");
}

#[tokio::test]
async fn a_stale_installed_never_resurrects_an_uninstalled_installation_nor_overwrites_a_newer_one()
{
    let app = TestApp::spawn().await;
    // Uninstalled: an INSTALLED accepted before the DELETED is replayed.
    let gone = app.install("ws-gone", &[]).await;
    app.uninstall(&gone).await;
    replay_installed(
        &app,
        "ws-gone",
        &gone.addon_id,
        chrono::Duration::minutes(5),
    )
    .await;

    // Re-installed: the first installation's INSTALLED is replayed after the second's.
    let first = app.install("ws-newer", &[]).await;
    app.wait_for_count(
        "select count(*) from installations where workspace_id = 'ws-newer'",
        1,
        Duration::from_secs(20),
    )
    .await;
    let second = app.install("ws-newer", &[]).await;
    app.wait_for_count(
        &format!(
            "select count(*) from installations where workspace_id = 'ws-newer' and addon_id = '{}'",
            second.addon_id
        ),
        1,
        Duration::from_secs(20),
    )
    .await;
    replay_installed(
        &app,
        "ws-newer",
        &first.addon_id,
        chrono::Duration::minutes(5),
    )
    .await;

    app.wait_for_count(
        "select count(*) from event_log where request_id = 'replayed' and outcome = 'ignored' and reason = 'stale'",
        2,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from installations where workspace_id = 'ws-gone' and deleted_at is null")
            .await,
        0,
        "the uninstalled installation stays uninstalled"
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from installations where workspace_id = 'ws-newer' and addon_id = '{}' and deleted_at is null",
            second.addon_id
        ))
        .await,
        1,
        "the newer installation stays"
    );
    app.stop().await;
}
