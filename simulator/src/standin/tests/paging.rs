//! Lists, pages, filters and the writable endpoints.

use serde_json::json;

use super::{Api, ids, small_workspace, start};
use crate::standin::StandInConfig;

fn config() -> StandInConfig {
    StandInConfig {
        workspaces: vec![small_workspace("w1")],
        ..StandInConfig::default()
    }
}

#[tokio::test]
async fn pagination_returns_exact_pages_and_a_short_last_page() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");

    let mut pages = Vec::new();
    for page in 1..=4 {
        let path = format!("/v1/workspaces/w1/users?page={page}&page-size=3");
        pages.push(ids(&api.get_json(&path).await));
    }
    let all_by_default = ids(&api.get_json("/v1/workspaces/w1/users").await);

    assert_eq!(pages[0], ["w1-u1", "w1-u2", "w1-u3"]);
    assert_eq!(pages[1], ["w1-u4", "w1-u5", "w1-u6"]);
    assert_eq!(pages[2], ["w1-u7"]);
    assert!(pages[3].is_empty());
    assert_eq!(all_by_default.len(), 7);
    standin.stop().await;
}

#[tokio::test]
async fn tasks_belong_to_their_project_and_lists_have_realistic_shapes() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");

    let tasks = api.get_json("/v1/workspaces/w1/projects/w1-p2/tasks").await;
    let projects = api
        .get_json("/v1/workspaces/w1/projects?page-size=2&page=3")
        .await;
    let clients = api.get_json("/v1/workspaces/w1/clients").await;
    let workspace = api.get_json("/v1/workspaces/w1").await;

    assert_eq!(
        ids(&tasks),
        ["w1-p2-k1", "w1-p2-k2", "w1-p2-k3", "w1-p2-k4"]
    );
    assert!(tasks[0]["projectId"] == "w1-p2" && tasks[0].get("workspaceId").is_none());
    assert_eq!(ids(&projects), ["w1-p5"]);
    assert_eq!(projects[0]["workspaceId"], "w1");
    assert_eq!(projects[0]["clientId"], "w1-c1");
    assert_eq!(clients[1]["archived"], false);
    assert_eq!(workspace["id"], "w1");
    standin.stop().await;
}

#[tokio::test]
async fn time_entries_are_newest_first_and_filtered_on_their_start() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");
    let path = "/v1/workspaces/w1/user/w1-u2/time-entries";

    let all = api.get_json(path).await;
    let starts: Vec<&str> = all
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["timeInterval"]["start"].as_str().expect("a start"))
        .collect();
    let (from, to) = (starts[6], starts[3]);
    let window = api.get_json(&format!("{path}?start={from}&end={to}")).await;

    assert_eq!(starts.len(), 11);
    assert!(
        starts.windows(2).all(|pair| pair[0] > pair[1]),
        "{starts:?}"
    );
    assert_eq!(all[0]["userId"], "w1-u2");
    assert!(
        all[0]["projectId"]
            .as_str()
            .is_some_and(|p| p.starts_with("w1-p"))
    );
    assert_eq!(ids(&window).len(), 4, "both bounds inclusive");
    assert_eq!(window[0]["timeInterval"]["start"], to);
    standin.stop().await;
}

#[tokio::test]
async fn unknown_paths_workspaces_and_users_answer_404_json() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");

    for path in [
        "/v1/nothing-here",
        "/v1/workspaces/w9/users",
        "/v1/workspaces/w1/user/w1-u8/time-entries",
        "/v1/workspaces/w1/projects/w1-p6/tasks",
    ] {
        let response = api.get(path).await.expect("an answer");
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        assert_eq!(body["code"], 404, "{path}");
        assert!(body["message"].is_string(), "{path}");
    }
    standin.stop().await;
}

#[tokio::test]
async fn projects_are_created_changed_and_deleted() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");
    let projects = "/v1/workspaces/w1/projects";
    let post = reqwest::Method::POST;

    let created = api
        .send_json(
            post.clone(),
            projects,
            &json!({"name": "Launch", "billable": false}),
        )
        .await
        .expect("an answer");
    let duplicate = api
        .send_json(post, projects, &json!({"name": "Launch"}))
        .await
        .expect("an answer");
    let created_status = created.status();
    let project: serde_json::Value = created.json().await.expect("a JSON body");
    let one = format!("{projects}/w1-p6");
    let renamed: serde_json::Value = api
        .send_json(
            reqwest::Method::PUT,
            &one,
            &json!({"name": "Relaunch", "id": "hijack"}),
        )
        .await
        .expect("an answer")
        .json()
        .await
        .expect("a JSON body");
    let listed = ids(&api.get_json(projects).await);
    let deleted = api
        .request(reqwest::Method::DELETE, &one)
        .send()
        .await
        .expect("an answer");
    let after = api.get(&one).await.expect("an answer");

    assert_eq!(created_status, 201);
    assert_eq!(project["id"], "w1-p6");
    assert_eq!(project["billable"], false);
    assert_eq!(project["workspaceId"], "w1");
    assert_eq!(duplicate.status(), 400);
    assert_eq!(
        (renamed["id"].as_str(), renamed["name"].as_str()),
        (Some("w1-p6"), Some("Relaunch"))
    );
    assert_eq!(listed.len(), 6);
    assert_eq!(deleted.status(), 200);
    assert_eq!(after.status(), 404);
    standin.stop().await;
}

#[tokio::test]
async fn settings_patches_are_upserted_by_id() {
    let standin = start(config()).await;
    let api = Api::new(&standin, "any-token");
    let path = "/addon/workspaces/w1/settings";
    let patch = reqwest::Method::PATCH;

    api.send_json(
        patch.clone(),
        path,
        &json!({"settings": [{"id": "a", "value": 1}]}),
    )
    .await
    .expect("an answer");
    api.send_json(
        patch.clone(),
        path,
        &json!({"settings": [{"id": "a", "value": 2}, {"id": "b", "value": "x"}]}),
    )
    .await
    .expect("an answer");
    let invalid = api
        .send_json(patch, path, &json!({"value": 3}))
        .await
        .expect("an answer");
    let settings = api.get_json(path).await;

    assert_eq!(
        settings,
        json!({"settings": [{"id": "a", "value": 2}, {"id": "b", "value": "x"}]})
    );
    assert_eq!(invalid.status(), 400);
    standin.stop().await;
}
