//! `WorkspaceSpec::bootstrap_request_count` against a real page-by-page import.

use serde_json::Value;

use super::{Api, ids, start};
use crate::standin::{MoreKinds, StandInConfig, WorkspaceSpec};

/// Fetches every page of `path`, stopping on a short one, as a bootstrap does.
async fn fetch_all(api: &Api, path: &str, page_size: usize, requests: &mut usize) -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{separator}page={page}&page-size={page_size}");
        let list = api.get_json(&url).await;
        *requests += 1;
        let list = list.as_array().expect("a JSON array").clone();
        let short = list.len() < page_size;
        items.extend(list);
        if short {
            break;
        }
    }
    items
}

/// A complete import of `ws`: (requests made, entities imported).
async fn import(api: &Api, ws: &str, page_size: usize) -> (usize, usize) {
    let mut requests = 0;
    let base = format!("/v1/workspaces/{ws}");
    let users = fetch_all(api, &format!("{base}/users"), page_size, &mut requests).await;
    let projects = fetch_all(api, &format!("{base}/projects"), page_size, &mut requests).await;
    let clients = fetch_all(api, &format!("{base}/clients"), page_size, &mut requests).await;
    let tags = fetch_all(api, &format!("{base}/tags"), page_size, &mut requests).await;
    let mut entities = users.len() + projects.len() + clients.len() + tags.len();
    for project in ids(&Value::Array(projects)) {
        let path = format!("{base}/projects/{project}/tasks");
        entities += fetch_all(api, &path, page_size, &mut requests).await.len();
    }
    for user in ids(&Value::Array(users)) {
        let path = format!("{base}/user/{user}/time-entries");
        entities += fetch_all(api, &path, page_size, &mut requests).await.len();
    }
    (requests, entities)
}

#[tokio::test]
async fn bootstrap_request_count_matches_the_requests_a_page_by_page_import_makes() {
    // The core kinds only: this importer walks the bare-array lists (the further kinds are
    // counted by the integration tests, which import them through the workers).
    let sized = WorkspaceSpec {
        more: MoreKinds::default(),
        ..WorkspaceSpec::sized("big", 2_000)
    };
    let even = WorkspaceSpec {
        workspace_id: "even".to_owned(),
        users: 10,
        projects: 5,
        clients: 0,
        tags: 5,
        tasks_per_project: 10,
        time_entries_per_user: 15,
        more: MoreKinds::default(),
    };
    let standin = start(StandInConfig {
        rate_limit_per_second: 0,
        workspaces: vec![sized.clone(), even.clone()],
        ..StandInConfig::default()
    })
    .await;
    let api = Api::new(&standin, "any-token");

    for (spec, page_size) in [(&sized, 7), (&sized, 50), (&even, 5), (&even, 1)] {
        standin.recorder().reset();
        let (requests, entities) = import(&api, &spec.workspace_id, page_size).await;

        // Less the further kinds' (empty) lists, which this importer does not ask for.
        let expected = spec.bootstrap_request_count(page_size) - spec.more.request_count(page_size);
        assert_eq!(
            requests, expected,
            "{} with pages of {page_size}",
            spec.workspace_id
        );
        assert_eq!(standin.recorder().count(&spec.workspace_id), expected);
        assert_eq!(entities, spec.entity_count());
    }
    standin.stop().await;
}
