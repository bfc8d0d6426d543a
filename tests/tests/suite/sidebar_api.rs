//! The sidebar's read endpoints: what the viewer's role allows, the stored entities and calls of
//! their own workspace only, searched, filtered and paged, and cancelling a bootstrap.

use std::time::Duration;

use integration_tests::TestApp;
use serde_json::{Value, json};
use simulator::standin::WorkspaceSpec;

use super::bootstrap::{BOOTSTRAP, standin};

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_and_calls_are_read_from_the_viewers_workspace_only() {
    let app = TestApp::spawn_with(integration_tests::TestEnv::new(), true, &BOOTSTRAP).await;
    let specs = vec![
        WorkspaceSpec::sized("ws-read-a", 120),
        WorkspaceSpec::sized("ws-read-b", 120),
    ];
    let clockify = standin(&app, specs).await;
    let ws_a = app.install_at("ws-read-a", &clockify.api_url()).await;
    app.install_at("ws-read-b", &clockify.api_url()).await;
    for ws in ["ws-read-a", "ws-read-b"] {
        assert_eq!(
            app.wait_for_bootstrap(ws, Duration::from_secs(60)).await,
            "completed"
        );
    }
    let member = app.user_token(&ws_a, "USER");

    let (status, me) = json_of(app.get_as(&member, "/api/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["workspaceId"], "ws-read-a");
    assert_eq!(
        me["may"],
        json!({"read": true, "write": false, "bootstrap": false})
    );

    let (status, listed) = json_of(app.get_as(&member, "/api/entities?kind=project").await).await;
    assert_eq!(status, 200);
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from entities where workspace_id = 'ws-read-a' and kind = 'project'",
    )
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(listed["total"], stored);
    let counts = listed["counts"].as_array().expect("counts");
    let project_count = counts
        .iter()
        .find(|c| c["kind"] == "project")
        .expect("projects counted");
    assert_eq!(project_count["count"], stored);
    let first = &listed["items"][0];
    assert!(
        first["id"]
            .as_str()
            .expect("an id")
            .starts_with("ws-read-a-"),
        "{first}"
    );

    // Search by part of a name finds it; one entity opens with its body.
    let name = first["name"].as_str().expect("a name");
    let search = format!("/api/entities?kind=project&q={}", &name[..name.len() - 1]);
    let (_, found) = json_of(app.get_as(&member, &search).await).await;
    assert!(
        found["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["name"] == name)
    );
    let own = format!(
        "/api/entities/project/{}",
        first["id"].as_str().expect("id")
    );
    let (status, entity) = json_of(app.get_as(&member, &own).await).await;
    assert_eq!(status, 200);
    assert_eq!(entity["data"]["name"], name);
    // Another workspace's entity is not found, even by its exact id.
    let (status, _) = json_of(
        app.get_as(&member, "/api/entities/project/ws-read-b-p1")
            .await,
    )
    .await;
    assert_eq!(status, 404);

    // History filters by operation and outcome.
    let call = json!({"operationId": "listProjects", "query": {"page": 1}});
    let view = app.call_and_wait(&member, &call).await;
    assert_eq!(view["status"], "succeeded", "{view}");
    for (query, expected) in [
        ("operation=listProjects&outcome=succeeded", 1),
        ("operation=listProjects&outcome=failed", 0),
        ("operation=getProject", 0),
        ("", 1),
    ] {
        let (status, page) =
            json_of(app.get_as(&member, &format!("/api/calls?{query}")).await).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(
            page["items"].as_array().expect("items").len(),
            expected,
            "{query}"
        );
    }
    let (status, _) = json_of(app.get_as(&member, "/api/calls?outcome=lost").await).await;
    assert_eq!(status, 400, "an unknown outcome is refused");

    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_cancel_a_running_bootstrap_and_members_cannot() {
    let app = TestApp::spawn_with(integration_tests::TestEnv::new(), true, &[]).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-cancel", 3000)]).await;
    let ws = app.install_at("ws-cancel", &clockify.api_url()).await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let owner = app.user_token(&ws, "OWNER");
    let member = app.user_token(&ws, "USER");
    let cancel = |token: &str| {
        app.http
            .delete(app.url("/api/bootstrap"))
            .bearer_auth(token.to_owned())
            .send()
    };

    let (status, _) = json_of(cancel(&owner).await.expect("answer")).await;
    assert_eq!(status, 404, "nothing runs yet");
    let started = app
        .http
        .post(app.url("/api/bootstrap"))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("answer");
    assert_eq!(started.status(), 202);
    let (status, _) = json_of(cancel(&member).await.expect("answer")).await;
    assert_eq!(status, 403);
    let (status, cancelled) = json_of(cancel(&owner).await.expect("answer")).await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["job"]["status"], "cancelled");
    let status = app
        .wait_for_bootstrap("ws-cancel", Duration::from_secs(5))
        .await;
    assert_eq!(status, "cancelled");
    // The job's units end without reading every page.
    app.wait_for_count(
        "select count(*) from bootstrap_units where status = 'pending'",
        0,
        Duration::from_secs(30),
    )
    .await;

    clockify.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_page_and_everything_it_loads_weigh_under_150_kb() {
    let app = TestApp::spawn_ingress_only().await;
    let page = app.http.get(app.url("/ui")).send().await.expect("page");
    let html = page.text().await.expect("html");
    let mut total = html.len();
    let mut assets = 0;
    for reference in html
        .split(['"', '\''])
        .filter(|part| part.starts_with("/ui/"))
    {
        let asset = app
            .http
            .get(app.url(reference))
            .send()
            .await
            .expect("asset");
        assert_eq!(asset.status(), 200, "{reference}");
        total += asset.bytes().await.expect("body").len();
        assets += 1;
    }
    assert!(assets >= 4, "the page names its scripts, style and icon");
    assert!(
        total < 150 * 1024,
        "the page and its assets weigh {total} bytes"
    );
    app.stop().await;
}
