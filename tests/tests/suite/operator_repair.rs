//! Operator repairs: key rotation with re-sealing, replaying a workspace's event log, and the
//! audit log of operator actions.

use std::net::SocketAddr;

use base64::Engine as _;
use common::crypto::TokenCipher;
use common::events::EventType;
use integration_tests::{TestApp, TestEnv};
use serde_json::Value;
use simulator::payloads;
use tokio_util::sync::CancellationToken;

use super::bootstrap::OPERATOR_TOKEN;

fn random_key() -> (String, [u8; 32]) {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    (base64::engine::general_purpose::STANDARD.encode(key), key)
}

/// A second ingress on the same database and queues, with other settings (a rolled config).
async fn rolled_ingress(
    env: &TestEnv,
    overrides: &[(&str, &str)],
) -> (SocketAddr, CancellationToken) {
    let ingress = ingress::App::build(env.config(overrides))
        .await
        .expect("ingress builds");
    let address = ingress.local_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(ingress.run_until_stopped(shutdown.clone()));
    (address, shutdown)
}

async fn admin_post(
    app: &TestApp,
    address: SocketAddr,
    path: &str,
    request_id: &str,
) -> reqwest::Response {
    app.http
        .post(format!("http://{address}{path}"))
        .bearer_auth(OPERATOR_TOKEN)
        .header("X-Request-ID", request_id)
        .send()
        .await
        .expect("ingress answers")
}

async fn audit(app: &TestApp, address: SocketAddr) -> Vec<Value> {
    let body: Value = app
        .http
        .get(format!("http://{address}/admin/audit"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn tokens_sealed_under_an_old_key_are_resealed_under_the_new_one_and_the_old_key_can_go() {
    let (a_text, a_key) = random_key();
    let (b_text, b_key) = random_key();
    let only_a = format!("a:{a_text}");
    let app = TestApp::spawn_with(
        TestEnv::new(),
        true,
        &[
            ("TOKEN_ENCRYPTION_KEYS", &only_a),
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ],
    )
    .await;
    let ws = app.install("ws-rotate", &[]).await;
    app.wait_for_count(
        "select count(*) from installations where workspace_id = 'ws-rotate' and sealed_auth_token like 'v2:a:%'",
        1,
        std::time::Duration::from_secs(20),
    )
    .await;

    // Roll the config to B,A: B seals, A still opens; re-seal moves everything to B.
    let rotated = format!("b:{b_text},a:{a_text}");
    let (address, stop) = rolled_ingress(
        &app.env,
        &[
            ("TOKEN_ENCRYPTION_KEYS", &rotated),
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("OPERATOR_NAME", "ops-alice"),
        ],
    )
    .await;
    let response = admin_post(&app, address, "/admin/reseal", "req-reseal-1").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["resealed"], 1, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["remainingUnderOlderKeys"], 0, "{report}");

    // A is removed: the stored token opens with B alone, to the installation token.
    let sealed: String = sqlx::query_scalar(
        "select sealed_auth_token from installations where workspace_id = 'ws-rotate'",
    )
    .fetch_one(&app.db)
    .await
    .expect("row");
    assert!(sealed.starts_with("v2:b:"), "{sealed}");
    let only_b = TokenCipher::with_keys(&[("b", &b_key)]);
    assert_eq!(
        only_b.open("ws-rotate", &sealed).expect("opens under B"),
        ws.auth_token
    );
    assert!(
        TokenCipher::with_keys(&[("a", &a_key)])
            .open("ws-rotate", &sealed)
            .is_err()
    );
    // A second pass has nothing left to do.
    let again: Value = admin_post(&app, address, "/admin/reseal", "req-reseal-2")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["resealed"], 0, "{again}");

    // The re-seal is in the audit log: who, what, the request id, the outcome.
    let entries = audit(&app, address).await;
    let first = entries
        .iter()
        .find(|e| e["requestId"] == "req-reseal-1")
        .expect("the re-seal is audited");
    assert_eq!(first["actor"], "ops-alice");
    assert_eq!(first["action"], "tokens.reseal");
    assert_eq!(first["outcome"], "done");
    assert_eq!(first["detail"]["resealed"], 1);
    stop.cancel();
    app.stop().await;
}

#[tokio::test]
async fn operator_actions_are_audited_with_the_admin_tokens_id_when_no_name_is_configured() {
    let app = TestApp::spawn_with(TestEnv::new(), false, &[("ADMIN_TOKEN", OPERATOR_TOKEN)]).await;
    let missing = uuid::Uuid::new_v4();
    let discard = app
        .http
        .delete(app.url(&format!("/admin/dead-letters/{missing}")))
        .bearer_auth(OPERATOR_TOKEN)
        .header("X-Request-ID", "req-discard")
        .send()
        .await
        .expect("answer");
    assert_eq!(discard.status(), 404);
    let bootstrap = admin_post(
        &app,
        app.address,
        "/admin/workspaces/ws-nobody/bootstrap",
        "req-boot",
    )
    .await;
    assert_eq!(bootstrap.status(), 404);

    let entries = audit(&app, app.address).await;
    let token_id = format!(
        "admin-token:{}",
        &common::crypto::sha256_hex(OPERATOR_TOKEN.as_bytes())[..12]
    );
    let summary: Vec<(String, String, String, String, String)> = entries
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (
                text("actor"),
                text("action"),
                text("target"),
                text("requestId"),
                text("outcome"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                token_id.clone(),
                "bootstrap.start".into(),
                "ws-nobody".into(),
                "req-boot".into(),
                "not_found".into()
            ),
            (
                token_id,
                "dead_letter.discard".into(),
                missing.to_string(),
                "req-discard".into(),
                "not_found".into()
            ),
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| !e.to_string().contains(OPERATOR_TOKEN))
    );
    let unauthenticated = app
        .http
        .get(app.url("/admin/audit"))
        .send()
        .await
        .expect("answer");
    assert_eq!(unauthenticated.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_replayed_workspace_gets_back_the_entities_its_event_log_built() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &[("ADMIN_TOKEN", OPERATOR_TOKEN)]).await;
    let events = [
        EventType::NewProject,
        EventType::ProjectUpdated,
        EventType::NewTag,
        EventType::TagDeleted,
    ];
    let ws = app.install("ws-replay", &events).await;
    let deliveries = [
        (
            EventType::NewProject,
            payloads::project("ws-replay", "p1", "Apollo"),
        ),
        (
            EventType::NewProject,
            payloads::project("ws-replay", "p2", "Gemini"),
        ),
        (
            EventType::ProjectUpdated,
            payloads::project("ws-replay", "p1", "Apollo II"),
        ),
        (
            EventType::NewTag,
            payloads::named("ws-replay", "t1", "urgent"),
        ),
        (
            EventType::TagDeleted,
            payloads::named("ws-replay", "t1", "urgent"),
        ),
    ];
    for (event, body) in &deliveries {
        let response = app.post_webhook(*event, ws.token_for(*event), body).await;
        assert_eq!(response.status(), 200);
    }
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-replay' and source = 'webhook'",
        5,
        std::time::Duration::from_secs(20),
    )
    .await;
    let snapshot = || async {
        sqlx::query_as::<_, (String, String, Value, bool, String)>(
            "select kind, entity_id, data, deleted, body_sha256 from entities
             where workspace_id = 'ws-replay' order by kind, entity_id",
        )
        .fetch_all(&app.db)
        .await
        .expect("entities")
    };
    let before = snapshot().await;
    assert_eq!(before.len(), 3, "{before:?}");

    // The copy is lost; a replay of the whole log rebuilds it.
    sqlx::query("delete from entities where workspace_id = 'ws-replay'")
        .execute(&app.db)
        .await
        .expect("delete");
    let started = admin_post(
        &app,
        app.address,
        "/admin/workspaces/ws-replay/replay",
        "req-replay",
    )
    .await;
    assert_eq!(started.status(), 202);
    let started: Value = started.json().await.expect("json");
    let replay_id = started["replay"]["id"].as_str().expect("an id").to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let finished = loop {
        let replay: Value = app
            .http
            .get(app.url(&format!("/admin/workspaces/ws-replay/replay/{replay_id}")))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        if replay["replay"]["status"] == "completed" {
            break replay;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replay stuck: {replay}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(finished["replay"]["eventsApplied"], 5, "{finished}");
    assert_eq!(snapshot().await, before, "entities are back as they were");

    // Replaying again changes nothing (idempotent), and both replays are audited.
    let again = admin_post(
        &app,
        app.address,
        "/admin/workspaces/ws-replay/replay",
        "req-replay-2",
    )
    .await;
    assert_eq!(again.status(), 202);
    app.wait_for_count(
        "select count(*) from workspace_replays where workspace_id = 'ws-replay' and status = 'completed'",
        2,
        std::time::Duration::from_secs(30),
    )
    .await;
    assert_eq!(snapshot().await, before);
    let audited = audit(&app, app.address).await;
    let replays: Vec<&Value> = audited
        .iter()
        .filter(|e| e["action"] == "workspace.replay")
        .collect();
    assert_eq!(replays.len(), 2);
    assert!(
        replays
            .iter()
            .all(|e| e["target"] == "ws-replay" && e["outcome"] == "queued")
    );
    app.stop().await;
}
