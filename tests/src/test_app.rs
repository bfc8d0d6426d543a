//! `TestApp`: ingress (and, when asked, workers) running in this process against the real
//! services, with helpers that act as Clockify would.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use common::events::EventType;
use simulator::payloads;

use crate::env::TestEnv;
use crate::logs::{CapturedLogs, capture};

/// An installed workspace as Clockify would know it: its tokens in clear.
#[derive(Debug, Clone)]
pub struct Installation {
    pub workspace_id: String,
    pub addon_id: String,
    pub auth_token: String,
    /// Webhook token per event type (the manifest's and a few more).
    pub webhook_tokens: Vec<(EventType, String)>,
}

impl Installation {
    /// The signature Clockify sends with `event`'s deliveries.
    pub fn token_for(&self, event: EventType) -> &str {
        self.webhook_tokens
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("{} has no webhook for {event:?}", self.workspace_id))
    }

    /// Every secret of this installation, for asserting none leaks.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![self.auth_token.clone()];
        all.extend(self.webhook_tokens.iter().map(|(_, t)| t.clone()));
        all
    }
}

/// The running system under test.
pub struct TestApp {
    pub env: TestEnv,
    pub address: SocketAddr,
    pub workers_address: Option<SocketAddr>,
    pub http: reqwest::Client,
    pub db: PgPool,
    pub logs: CapturedLogs,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Set by [`TestApp::stop`]; a test that panicked before it drops the app unstopped.
    stopped: bool,
}

impl TestApp {
    /// Ingress and one in-process worker.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestEnv::new(), true, &[]).await
    }

    /// Ingress only: accepted messages stay on the queue, where tests can count them.
    pub async fn spawn_ingress_only() -> Self {
        Self::spawn_with(TestEnv::new(), false, &[]).await
    }

    /// Full control: the environment, whether an in-process worker runs, config overrides.
    pub async fn spawn_with(env: TestEnv, with_worker: bool, overrides: &[(&str, &str)]) -> Self {
        let worker_overrides = with_worker.then_some(overrides);
        Self::spawn_tiers(env, overrides, worker_overrides).await
    }

    /// Ingress with `ingress_overrides`; a worker (when `Some`) with its own overrides, so one
    /// tier can be cut off from a service the other still reaches.
    pub async fn spawn_tiers(
        env: TestEnv,
        ingress_overrides: &[(&str, &str)],
        worker_overrides: Option<&[(&str, &str)]>,
    ) -> Self {
        let overrides = ingress_overrides;
        let logs = capture();
        let shutdown = CancellationToken::new();
        let db = common::db::connect_and_migrate(&env.database_url, 5)
            .await
            .expect("test database");
        let ingress = ingress::App::build(env.config(overrides))
            .await
            .expect("ingress builds");
        let address = ingress.local_addr();
        let mut tasks = vec![tokio::spawn(ingress.run_until_stopped(shutdown.clone()))];
        let mut workers_address = None;
        if let Some(worker_overrides) = worker_overrides {
            let worker = workers::App::build(env.config(worker_overrides))
                .await
                .expect("workers build");
            workers_address = Some(worker.local_addr());
            tasks.push(tokio::spawn(worker.run_until_stopped(shutdown.clone())));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self {
            env,
            address,
            workers_address,
            http,
            db,
            logs,
            shutdown,
            tasks,
            stopped: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// POSTs a lifecycle callback signed with `token` (none when `None`).
    pub async fn post_lifecycle(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.header("X-Addon-Lifecycle-Token", token);
        }
        request.send().await.expect("ingress answers")
    }

    /// POSTs a webhook delivery the way Clockify does.
    pub async fn post_webhook(
        &self,
        event: EventType,
        signature: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .post(self.url(&event.path()))
            .header("Clockify-Signature", signature)
            .header("Clockify-Webhook-Event-Type", event.as_str())
            .json(body)
            .send()
            .await
            .expect("ingress answers")
    }

    /// Posts `ws`'s signed NEW_PROJECT webhook for project `id` named `name`.
    pub async fn post_project(&self, ws: &Installation, id: &str, name: &str) -> reqwest::Response {
        let body = payloads::project(&ws.workspace_id, id, name);
        self.post_webhook(
            EventType::NewProject,
            ws.token_for(EventType::NewProject),
            &body,
        )
        .await
    }

    /// Uninstalls `ws` as Clockify does (a signed DELETED, answered 200) and waits until a worker
    /// has applied it.
    pub async fn uninstall(&self, ws: &Installation) {
        let token = self
            .env
            .signer
            .lifecycle_token(&ws.workspace_id, &ws.addon_id);
        let deleted = serde_json::json!({
            "addonId": ws.addon_id, "workspaceId": ws.workspace_id, "asUser": "u"
        });
        let response = self
            .post_lifecycle("/lifecycle/deleted", Some(&token), &deleted)
            .await;
        assert_eq!(response.status(), 200, "DELETED of {}", ws.workspace_id);
        let applied = format!(
            "select count(*) from installations where workspace_id = '{}' and deleted_at is not null",
            ws.workspace_id
        );
        self.wait_for_count(&applied, 1, Duration::from_secs(20))
            .await;
    }

    /// Installs `workspace_id` with a fresh addonId and one webhook token per event in `events`.
    pub async fn install(&self, workspace_id: &str, events: &[EventType]) -> Installation {
        let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
        self.install_as(workspace_id, &addon_id, events).await
    }

    /// Installs with a given addonId (a re-install brings a new one).
    pub async fn install_as(
        &self,
        workspace_id: &str,
        addon_id: &str,
        events: &[EventType],
    ) -> Installation {
        self.install_full(workspace_id, addon_id, events, "http://127.0.0.1:1/api")
            .await
    }

    /// Installs `workspace_id` with its API at `api_url` (a stand-in Clockify's).
    pub async fn install_at(&self, workspace_id: &str, api_url: &str) -> Installation {
        let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
        self.install_full(workspace_id, &addon_id, &[], api_url)
            .await
    }

    /// A user token of the installation's workspace with `role` (OWNER, ADMIN, USER...).
    pub fn user_token(&self, installation: &Installation, role: &str) -> String {
        self.env.signer.user_token(
            &installation.workspace_id,
            &installation.addon_id,
            &format!("user-{role}"),
            role,
            "http://127.0.0.1:1/api",
        )
    }

    /// Installs with webhook tokens for `events` and the API at `api_url`.
    pub async fn install_full(
        &self,
        workspace_id: &str,
        addon_id: &str,
        events: &[EventType],
        api_url: &str,
    ) -> Installation {
        let signer = &self.env.signer;
        let auth_token = signer.installation_token(workspace_id, addon_id, api_url);
        let webhook_tokens: Vec<(EventType, String)> = events
            .iter()
            .map(|e| (*e, signer.webhook_token(workspace_id, addon_id, e.as_str())))
            .collect();
        let hooks: Vec<(String, String)> = webhook_tokens
            .iter()
            .map(|(e, t)| (format!("http://127.0.0.1:8080{}", e.path()), t.clone()))
            .collect();
        let body = payloads::installed(workspace_id, addon_id, &auth_token, api_url, &hooks);
        let response = self
            .post_lifecycle(
                "/lifecycle/installed",
                Some(&signer.lifecycle_token(workspace_id, addon_id)),
                &body,
            )
            .await;
        assert_eq!(response.status(), 200, "INSTALLED accepted");
        Installation {
            workspace_id: workspace_id.to_owned(),
            addon_id: addon_id.to_owned(),
            auth_token,
            webhook_tokens,
        }
    }

    /// Messages waiting in all event partitions (only meaningful without consumers).
    pub async fn queued_events(&self) -> u32 {
        let names = common::broker::QueueNames::new(&self.env.queue_prefix, self.env.partitions);
        let mut total = 0;
        for queue in names.event_partitions() {
            total += self.queue_depth(&queue).await;
        }
        total
    }

    /// A channel on the test broker, with the connection it lives on (keep both).
    pub async fn broker_channel(&self) -> (deadpool_lapin::Object, lapin::Channel) {
        let connection = common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f")
            .expect("pool")
            .get()
            .await
            .expect("broker connection");
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }

    /// Messages waiting in `queue` (ready, not delivered).
    pub async fn queue_depth(&self, queue: &str) -> u32 {
        let (_connection, channel) = self.broker_channel().await;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .expect("queue exists");
        declared.message_count()
    }

    /// The in-process worker's `/metrics` text.
    pub async fn workers_metrics(&self) -> String {
        let address = self.workers_address.expect("an in-process worker");
        self.http
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Waits until `query` (a single count) returns `expected`, or fails after `limit`.
    pub async fn wait_for_count(&self, query: &str, expected: i64, limit: Duration) {
        let started = Instant::now();
        let mut last = -1;
        while started.elapsed() < limit {
            last = self.count(query).await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("`{query}` stayed at {last}, expected {expected} within {limit:?}");
    }

    /// Runs a `select count(*) ...`.
    pub async fn count(&self, query: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query.to_owned()))
            .fetch_one(&self.db)
            .await
            .expect("count query")
    }

    /// The current `/metrics` text of ingress.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Every column of every row of every table, as text: for proving a secret is stored nowhere.
    pub async fn all_stored_text(&self) -> String {
        let tables: Vec<String> = sqlx::query_scalar(
            "select table_name::text from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
        )
        .fetch_all(&self.db)
        .await
        .expect("tables");
        let mut text = String::new();
        for table in tables {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "select row_to_json(t)::text from \"{table}\" t"
            )))
            .fetch_all(&self.db)
            .await
            .expect("rows");
            for row in rows {
                text.push_str(&row);
                text.push('\n');
            }
        }
        text
    }

    /// Stops the tiers and drops the test's queues and database.
    pub async fn stop(mut self) {
        self.stopped = true;
        self.shutdown.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
        self.db.close().await;
        self.env.cleanup().await;
    }
}

impl Drop for TestApp {
    /// A test that failed before [`TestApp::stop`] still removes its queues and database: each
    /// quorum queue left behind holds broker file handles, and enough of them stop the shared
    /// broker from accepting connections at all.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.shutdown.cancel();
        self.env.cleanup_blocking();
    }
}
