//! Helpers for the API Studio and bootstrap endpoints, used as the sidebar page would.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::test_app::TestApp;

impl TestApp {
    /// `POST /api/calls` with a user token.
    pub async fn post_call(&self, user_token: &str, call: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/calls"))
            .bearer_auth(user_token)
            .json(call)
            .send()
            .await
            .expect("ingress answers")
    }

    /// `GET` of a studio path with a user token.
    pub async fn get_as(&self, user_token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(user_token)
            .send()
            .await
            .expect("ingress answers")
    }

    /// Makes a call, expects 202, and waits until it has finished; returns the call's view.
    pub async fn call_and_wait(&self, user_token: &str, call: &Value) -> Value {
        let response = self.post_call(user_token, call).await;
        assert_eq!(response.status(), 202, "call accepted");
        let id = response.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        self.wait_for_call(user_token, &id).await
    }

    /// Polls `GET /api/calls/{id}` until the call succeeded or failed.
    pub async fn wait_for_call(&self, user_token: &str, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let view: Value = self
                .get_as(user_token, &format!("/api/calls/{id}"))
                .await
                .json()
                .await
                .expect("json");
            if matches!(view["status"].as_str(), Some("succeeded" | "failed")) {
                return view;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "call {id} never finished: {view}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the workspace's latest bootstrap job has ended; returns its status.
    pub async fn wait_for_bootstrap(&self, workspace_id: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let status: Option<String> = sqlx::query_scalar(
                "select status from bootstrap_jobs where workspace_id = $1 order by created_at desc limit 1",
            )
            .bind(workspace_id)
            .fetch_optional(&self.db)
            .await
            .expect("query");
            if let Some(status) = status.filter(|s| s != "running") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "bootstrap of {workspace_id} did not end within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
