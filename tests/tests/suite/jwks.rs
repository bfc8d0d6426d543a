//! Keys by id from `CLOCKIFY_JWKS_URL`: a rotated key is taken without a restart, a flood of
//! unknown key ids costs one fetch per refresh interval, only RS256 keys are taken, and the
//! configured key stands in while the document cannot be fetched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use integration_tests::{TestApp, TestEnv};
use serde_json::{Value, json};
use simulator::ClockifySigner;
use tokio::sync::RwLock;

/// A JWKS server whose document the test changes, counting fetches; `None` answers 503.
#[derive(Clone, Default)]
struct Jwks {
    document: Arc<RwLock<Option<Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_jwks(State(jwks): State<Jwks>) -> axum::response::Response {
    jwks.fetches.fetch_add(1, Ordering::SeqCst);
    match jwks.document.read().await.clone() {
        Some(document) => Json(document).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn start_jwks_server(jwks: Jwks) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new()
        .route("/jwks.json", axum::routing::get(serve_jwks))
        .with_state(jwks);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/jwks.json")
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    let deleted = json!({"addonId": "addon-1", "workspaceId": "ws-jwks", "asUser": "u"});
    app.post_lifecycle("/lifecycle/deleted", Some(token), &deleted)
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_through_the_jwks_without_a_restart_and_the_static_key_stands_in_when_it_is_away()
 {
    let env = TestEnv::new();
    let configured = env.signer.clone();
    let rotated =
        simulator::keys::generate_signer(configured.addon_key()).expect("a second key pair");
    let jwks = Jwks::default();
    *jwks.document.write().await = Some(json!({"keys": [configured.jwk("k1")]}));
    let url = start_jwks_server(jwks.clone()).await;
    let app = TestApp::spawn_with(
        env,
        false,
        &[
            ("CLOCKIFY_JWKS_URL", url.as_str()),
            ("CLOCKIFY_JWKS_MIN_REFRESH_SECS", "2"),
        ],
    )
    .await;
    let claims = |signer: &ClockifySigner| signer.base_claims("ws-jwks", "addon-1");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "fetched at start");

    // Known id, and no id at all (the configured key): both verify without a fetch.
    assert_eq!(
        status_of(&app, &configured.sign_with_kid(&claims(&configured), "k1")).await,
        200
    );
    assert_eq!(
        status_of(&app, &configured.sign(&claims(&configured))).await,
        200
    );
    // A key the document does not list yet: one fetch, then refused.
    let k2_token = rotated.sign_with_kid(&claims(&rotated), "k2");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(status_of(&app, &k2_token).await, 401);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
    // A flood of made-up ids inside the refresh interval fetches nothing more.
    let flood = (0..30).map(|i| {
        let token = rotated.sign_with_kid(&claims(&rotated), &format!("made-up-{i}"));
        let app = &app;
        async move { status_of(app, &token).await }
    });
    let statuses = futures::future::join_all(flood).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        2,
        "no fetch per made-up id"
    );

    // Clockify rotates: the document lists the new key (and keys of other kinds, not taken).
    let mut rs512 = rotated.jwk("k3");
    rs512["alg"] = json!("RS512");
    *jwks.document.write().await = Some(json!({"keys": [
        configured.jwk("k1"),
        rotated.jwk("k2"),
        rs512,
        {"kty": "oct", "kid": "k4", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
    ]}));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        status_of(&app, &k2_token).await,
        200,
        "rotated key taken without a restart"
    );
    assert_eq!(
        status_of(&app, &rotated.sign_with_kid(&claims(&rotated), "k3")).await,
        401,
        "a key published for RS512 is not an RS256 key"
    );

    // The document goes away: the configured key verifies tokens naming ids not seen before.
    *jwks.document.write().await = None;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        status_of(&app, &configured.sign_with_kid(&claims(&configured), "k9")).await,
        200,
        "configured key as the fallback"
    );
    assert_eq!(
        status_of(&app, &rotated.sign_with_kid(&claims(&rotated), "k8")).await,
        401,
        "the fallback is the configured key, not any key"
    );
    app.stop().await;
}
