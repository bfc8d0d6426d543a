//! `CLOCKIFY_OPENAPI_PATH` as a URL: fetched at start and cached; when the fetch fails the
//! bundled catalog serves, and `/ready` shows the catalog degraded, not down.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use integration_tests::{TestApp, TestEnv};
use serde_json::{Value, json};

/// A one-operation OpenAPI document, unlike the bundled catalog.
fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Served", "version": "1"},
        "servers": [{"url": "https://api.clockify.me/api"}],
        "paths": {"/v1/workspaces/{workspaceId}/holidays": {"get": {
            "tags": ["Holidays"], "operationId": "listServedHolidays",
            "parameters": [{"name": "workspaceId", "in": "path", "required": true,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}
        }}}
    })
}

/// Serves `document()` on a loopback port until the test ends.
async fn serve_document() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route("/openapi.json", get(|| async { axum::Json(document()) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/openapi.json")
}

async fn operation_ids(app: &TestApp) -> Vec<String> {
    let ws = app.install("ws-catalog-url", &[]).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let token = app.user_token(&ws, "USER");
    let all: Value = app
        .get_as(&token, "/api/operations")
        .await
        .json()
        .await
        .expect("json");
    all["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["operations"].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o["operationId"].as_str().map(str::to_owned))
        .collect()
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let response = app
        .http
        .get(app.url("/ready"))
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_catalog_url_is_fetched_and_cached_at_start() {
    let url = serve_document().await;
    let cache = std::env::temp_dir().join(format!("catalog-{}.json", uuid::Uuid::new_v4()));
    let cache_path = cache.display().to_string();
    let overrides = [
        ("CLOCKIFY_OPENAPI_PATH", url.as_str()),
        ("ALLOW_HTTP_LOOPBACK", "true"),
        ("CLOCKIFY_OPENAPI_CACHE_PATH", cache_path.as_str()),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;

    assert_eq!(operation_ids(&app).await, vec!["listServedHolidays"]);
    let (status, body) = ready(&app).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["checks"].get("catalog").is_none(), "{body}");
    let cached = std::fs::read_to_string(&cache).expect("the document is cached");
    assert!(cached.contains("listServedHolidays"));
    let _ = std::fs::remove_file(&cache);
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_catalog_url_falls_back_to_the_bundled_catalog_and_is_degraded() {
    let cache = std::env::temp_dir().join(format!("catalog-{}.json", uuid::Uuid::new_v4()));
    let cache_path = cache.display().to_string();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let overrides = [
        ("CLOCKIFY_OPENAPI_PATH", "http://127.0.0.1:9/openapi.json"),
        ("ALLOW_HTTP_LOOPBACK", "true"),
        ("CLOCKIFY_OPENAPI_CACHE_PATH", cache_path.as_str()),
        ("CLOCKIFY_OPENAPI_FETCH_TIMEOUT", "2"),
        (
            "CLOCKIFY_OPENAPI_FALLBACK_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json"),
        ),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;

    let ids = operation_ids(&app).await;
    assert!(ids.iter().any(|id| id == "listProjects"), "bundled catalog");
    assert!(ids.iter().any(|id| id == "listTimeOffPolicies"));
    let (status, body) = ready(&app).await;
    assert_eq!(status, 200, "degraded is not down: {body}");
    assert_eq!(body["checks"]["catalog"]["status"], "degraded", "{body}");
    app.stop().await;
}
