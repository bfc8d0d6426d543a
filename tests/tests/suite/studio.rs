//! API Studio calls against a stand-in Clockify: roles, workspace isolation, validation, retries,
//! and the outbound guards.

use std::time::Duration;

use integration_tests::TestApp;
use serde_json::{Value, json};
use simulator::standin::{Fault, FaultMatch, StandIn, StandInConfig, WorkspaceSpec};

async fn standin(app: &TestApp, workspaces: &[&str]) -> StandIn {
    let config = StandInConfig {
        workspaces: workspaces
            .iter()
            .map(|ws| WorkspaceSpec::sized(ws, 300))
            .collect(),
        ..StandInConfig::default()
    }
    .with_signer(app.env.signer.clone());
    StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("stand-in starts")
}

fn list_projects() -> Value {
    json!({"operationId": "listProjects", "query": {"page": 1, "page-size": 5}})
}

#[tokio::test]
async fn a_member_reads_an_admin_writes_and_other_workspaces_see_nothing() {
    let app = TestApp::spawn().await;
    let clockify = standin(&app, &["ws-a", "ws-b"]).await;
    let ws_a = app.install_at("ws-a", &clockify.api_url()).await;
    let ws_b = app.install_at("ws-b", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        2,
        Duration::from_secs(20),
    )
    .await;
    let member = app.user_token(&ws_a, "USER");
    let admin = app.user_token(&ws_a, "ADMIN");

    let read = app.call_and_wait(&member, &list_projects()).await;
    assert_eq!(read["status"], "succeeded", "{read}");
    assert_eq!(read["upstreamStatus"], 200);
    assert_eq!(read["responseBody"].as_array().map(Vec::len), Some(5));
    assert!(
        !read.to_string().contains(&ws_a.auth_token),
        "the installation token never appears"
    );

    let create = json!({"operationId": "createProject", "body": {"name": "Studio project"}});
    assert_eq!(app.post_call(&member, &create).await.status(), 403);
    let created = app.call_and_wait(&admin, &create).await;
    assert_eq!(created["status"], "succeeded", "{created}");
    assert_eq!(created["responseBody"]["name"], "Studio project");

    let other = app.user_token(&ws_b, "OWNER");
    let id = read["id"].as_str().expect("id");
    assert_eq!(
        app.get_as(&other, &format!("/api/calls/{id}"))
            .await
            .status(),
        404
    );
    let listed: Value = app
        .get_as(&other, "/api/calls")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
    let mine: Value = app
        .get_as(&admin, "/api/calls")
        .await
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [created["id"].as_str().expect("id"), id],
        "newest first"
    );
    assert_eq!(app.get_as("not-a-token", "/api/calls").await.status(), 401);
    // Installation and webhook tokens are Clockify's too, but are not user tokens.
    assert_eq!(
        app.get_as(&ws_a.auth_token, "/api/calls").await.status(),
        401
    );
    let webhook_token = app
        .env
        .signer
        .webhook_token("ws-a", &ws_a.addon_id, "NEW_PROJECT");
    assert_eq!(app.get_as(&webhook_token, "/api/calls").await.status(), 401);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_catalog_is_listed_grouped_and_filtered() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-cat", &[]).await;
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
    let tags: Vec<&str> = all["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["tag"].as_str())
        .collect();
    assert!(
        tags.contains(&"Projects") && tags.contains(&"Time entries") && tags.contains(&"Reports"),
        "{tags:?}"
    );
    let posts: Value = app
        .get_as(&token, "/api/operations?tag=Projects&method=POST")
        .await
        .json()
        .await
        .expect("json");
    let groups = posts["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert!(
        groups[0]["operations"]
            .as_array()
            .expect("ops")
            .iter()
            .all(|o| o["method"] == "POST")
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_calls_are_refused_with_a_reason_and_nothing_is_recorded() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-invalid", &[]).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let admin = app.user_token(&ws, "OWNER");
    let cases = [
        (json!({"operationId": "launchRockets"}), "launchRockets"),
        (json!({"operationId": "getProject"}), "projectId"),
        (
            json!({"operationId": "listProjects", "query": {"sneaky": "1"}}),
            "sneaky",
        ),
        (
            json!({"operationId": "listProjects", "pathParams": {"workspaceId": "ws-other"}}),
            "workspace",
        ),
        (json!({"operationId": "createProject"}), "body"),
        (
            json!({"method": "GET", "path": "/v1/workspaces/{workspaceId}/projects", "body": {"a": 1}}),
            "body",
        ),
    ];
    for (call, names) in cases {
        let response = app.post_call(&admin, &call).await;
        assert_eq!(response.status(), 422, "{call}");
        let body: Value = response.json().await.expect("json");
        let message = body["error"]["message"]
            .as_str()
            .expect("message")
            .to_lowercase();
        assert!(
            message.contains(&names.to_lowercase()),
            "{message} should name {names}"
        );
    }
    assert_eq!(app.count("select count(*) from api_calls").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn throttling_503s_and_dropped_connections_are_retried_but_a_lost_post_is_not_repeated() {
    let app = TestApp::spawn().await;
    let clockify = standin(&app, &["ws-retry"]).await;
    let ws = app.install_at("ws-retry", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let admin = app.user_token(&ws, "ADMIN");
    let projects = FaultMatch::method_path("GET", "/projects");

    clockify.faults().push(
        projects.clone(),
        Fault::Status {
            status: 429,
            retry_after_secs: Some(1),
        },
        1,
    );
    let throttled = app.call_and_wait(&admin, &list_projects()).await;
    assert_eq!(throttled["status"], "succeeded", "{throttled}");
    assert_eq!(throttled["attempts"], 2);
    assert!(
        throttled["durationMs"].as_i64().expect("duration") >= 1000,
        "Retry-After honoured: {throttled}"
    );

    clockify.faults().push(
        projects.clone(),
        Fault::Status {
            status: 503,
            retry_after_secs: None,
        },
        2,
    );
    let unavailable = app.call_and_wait(&admin, &list_projects()).await;
    assert_eq!(unavailable["status"], "succeeded");
    assert_eq!(unavailable["attempts"], 3);

    clockify.faults().push(projects, Fault::DropConnection, 1);
    let dropped = app.call_and_wait(&admin, &list_projects()).await;
    assert_eq!(dropped["status"], "succeeded", "{dropped}");

    clockify.recorder().reset();
    clockify.faults().push(
        FaultMatch::method_path("POST", "/projects"),
        Fault::DropAfterApplying,
        1,
    );
    let lost = app
        .call_and_wait(
            &admin,
            &json!({"operationId": "createProject", "body": {"name": "Once"}}),
        )
        .await;
    assert_eq!(lost["status"], "failed");
    assert!(
        lost["error"].as_str().expect("error").contains("lost"),
        "{lost}"
    );
    let posts = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "a POST whose answer was lost is sent once");
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn disallowed_hosts_plain_http_and_redirects_are_refused() {
    let app = TestApp::spawn_with(
        integration_tests::TestEnv::new(),
        true,
        &[("ALLOW_HTTP_LOOPBACK", "false")],
    )
    .await;
    let evil = app
        .install_at("ws-evil", "https://evil.example.com/api")
        .await;
    let plain = app.install_at("ws-plain", "http://127.0.0.1:9/api").await;
    app.wait_for_count(
        "select count(*) from installations",
        2,
        Duration::from_secs(20),
    )
    .await;

    let refused = app
        .call_and_wait(&app.user_token(&evil, "USER"), &list_projects())
        .await;
    assert_eq!(refused["status"], "failed");
    assert!(
        refused["error"]
            .as_str()
            .expect("error")
            .contains("ALLOWED_API_DOMAINS"),
        "{refused}"
    );
    let insecure = app
        .call_and_wait(&app.user_token(&plain, "USER"), &list_projects())
        .await;
    assert_eq!(insecure["status"], "failed");
    assert!(
        insecure["error"].as_str().expect("error").contains("https"),
        "{insecure}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let app = TestApp::spawn().await;
    let clockify = standin(&app, &["ws-redirect"]).await;
    let elsewhere = standin(&app, &["ws-redirect"]).await;
    let ws = app.install_at("ws-redirect", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    clockify.faults().push(
        FaultMatch::path("/projects"),
        Fault::Status {
            status: 302,
            retry_after_secs: None,
        },
        1,
    );

    let call = app
        .call_and_wait(&app.user_token(&ws, "USER"), &list_projects())
        .await;

    assert_eq!(call["status"], "failed");
    assert_eq!(call["upstreamStatus"], 302);
    assert!(
        call["error"].as_str().expect("error").contains("redirect"),
        "{call}"
    );
    assert_eq!(elsewhere.recorder().requests().len(), 0);
    clockify.stop().await;
    elsewhere.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_large_upstream_body_is_kept_truncated_with_a_flag() {
    let env = integration_tests::TestEnv::new();
    let app = TestApp::spawn_with(env, true, &[("API_CALL_RESULT_MAX_BYTES", "1024")]).await;
    let clockify = standin(&app, &["ws-big"]).await;
    let ws = app.install_at("ws-big", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let user = app.user_token(&ws, "USER");

    let small = app
        .call_and_wait(
            &user,
            &json!({"operationId": "listTags", "query": {"page-size": 1}}),
        )
        .await;
    let big = app
        .call_and_wait(
            &user,
            &json!({"operationId": "listProjects", "query": {"page-size": 50}}),
        )
        .await;

    assert_eq!(small["responseTruncated"], false);
    assert!(small["responseBody"].is_array(), "{small}");
    assert_eq!(big["status"], "succeeded");
    assert_eq!(big["responseTruncated"], true);
    let kept = big["responseBody"].as_str().expect("truncated text");
    assert!(
        kept.len() <= 1024 && kept.starts_with('['),
        "{} bytes kept",
        kept.len()
    );
    clockify.stop().await;
    app.stop().await;
}
