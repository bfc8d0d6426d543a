//! Helpers for the API Studio and bootstrap endpoints, used as the sidebar page would.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::test_app::{Installation, TestApp};

/// A worker process started by a test after ingress, so calls can wait in the queue first.
pub struct LateWorker {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl LateWorker {
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

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

    /// A user token of the installation's workspace with `role` that expires at `exp` (seconds
    /// since the epoch).
    pub fn user_token_expiring_at(
        &self,
        installation: &Installation,
        role: &str,
        exp: u64,
    ) -> String {
        let signer = &self.env.signer;
        let mut claims = signer.base_claims(&installation.workspace_id, &installation.addon_id);
        claims["user"] = json!(format!("user-{role}"));
        claims["workspaceRole"] = json!(role);
        claims["exp"] = json!(exp);
        signer.sign(&claims)
    }

    /// Starts a worker in this process now (for apps spawned without one).
    pub async fn start_worker(&self, overrides: &[(&str, &str)]) -> LateWorker {
        let shutdown = CancellationToken::new();
        let worker = workers::App::build(self.env.config(overrides))
            .await
            .expect("workers build");
        let task = tokio::spawn(worker.run_until_stopped(shutdown.clone()));
        LateWorker { shutdown, task }
    }

    /// The `id` of an accepted call.
    pub async fn accepted_call_id(response: reqwest::Response) -> String {
        assert_eq!(response.status(), 202, "call accepted");
        response.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// The bodies of the messages waiting on the API-call queues, read without taking them:
    /// unacknowledged, they go back to their queue when the channel closes.
    pub async fn api_call_messages(&self) -> Vec<String> {
        let names = common::broker::QueueNames::new(&self.env.queue_prefix, self.env.partitions);
        let pool =
            common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
        let connection = pool.get().await.expect("broker connection");
        let channel = connection.create_channel().await.expect("channel");
        let mut bodies = Vec::new();
        for queue in names.api_call_partitions() {
            while let Some(message) = channel
                .basic_get(
                    queue.as_str().into(),
                    lapin::options::BasicGetOptions::default(),
                )
                .await
                .expect("basic.get")
            {
                bodies.push(String::from_utf8_lossy(&message.delivery.data).into_owned());
            }
        }
        let _ = channel.close(200, "peeked".into()).await;
        bodies
    }

    /// Makes a call, expects 202, and waits until it has finished; returns the call's view.
    pub async fn call_and_wait(&self, user_token: &str, call: &Value) -> Value {
        let response = self.post_call(user_token, call).await;
        let id = Self::accepted_call_id(response).await;
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
