//! The stand-in over real sockets, with reqwest as the client, as the add-on will use it.

mod bootstrap;
mod faults;
mod limits;
mod paging;
mod tokens;

use serde_json::Value;

use super::{MoreKinds, StandIn, StandInConfig, WorkspaceSpec};

/// Starts a stand-in on a free loopback port.
async fn start(config: StandInConfig) -> StandIn {
    let bind = "127.0.0.1:0".parse().expect("a loopback address");
    StandIn::start(config, bind)
        .await
        .expect("the stand-in starts")
}

/// A small workspace whose lists do not divide evenly into pages of 3.
fn small_workspace(workspace_id: &str) -> WorkspaceSpec {
    WorkspaceSpec {
        workspace_id: workspace_id.to_owned(),
        users: 7,
        projects: 5,
        clients: 2,
        tags: 3,
        tasks_per_project: 4,
        time_entries_per_user: 11,
        more: MoreKinds::default(),
    }
}

/// A client of one stand-in, sending `token` as `X-Addon-Token` (none when empty).
struct Api {
    http: reqwest::Client,
    api_url: String,
    token: String,
}

impl Api {
    fn new(standin: &StandIn, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            api_url: standin.api_url(),
            token: token.to_owned(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.api_url));
        if self.token.is_empty() {
            builder
        } else {
            builder.header("X-Addon-Token", &self.token)
        }
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, reqwest::Error> {
        self.request(reqwest::Method::GET, path).send().await
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.request(method, path).json(body).send().await
    }

    /// GETs `path`, expecting 200 with a JSON body.
    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await.expect("an answer");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("a JSON body")
    }
}

/// The `id`s of a JSON array.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}
