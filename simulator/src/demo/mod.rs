//! `simulator demo`: starts ingress and workers against the local RabbitMQ, PostgreSQL and Redis
//! with the simulator's key, and a stand-in Clockify API; then plays a scenario as Clockify and a
//! workspace admin would, and reports what landed.

mod report;
mod sidebar_urls;
pub(crate) mod system;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use common::db::bootstrap_jobs::{self, JobStatus};
use common::db::{entities, event_log, installations};
use common::events::EventType;

use crate::scenario::{DemoWorkspace, IngressCaller, deliver_stream, settings_body};
use crate::signer::ClockifySigner;
use crate::standin::{StandIn, StandInConfig, WorkspaceSpec};
use report::{BootstrapFigures, Report};

/// What the demo can be told on the command line.
pub struct DemoOptions {
    pub port: u16,
    pub webhooks_per_workspace: usize,
    pub entities_per_workspace: usize,
    pub exit: bool,
}

const ADDON_KEY: &str = "clockify-api-studio";
const WORKSPACES: [&str; 2] = ["demo-alpha", "demo-beta"];

/// Runs the demo to the end (or until Ctrl-C when it stays up).
pub async fn run_demo(options: DemoOptions) -> anyhow::Result<()> {
    let signer = ClockifySigner::test_key(ADDON_KEY);
    let vars = system::system_vars(&signer, options.port, "demo");
    step("resetting the demo database and queues");
    system::reset(&common::config::Config::from_vars(&vars)?, "demo").await?;

    step("starting ingress, two workers and a stand-in Clockify API (50 requests/s per workspace)");
    let shutdown = CancellationToken::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let system = system::start(&vars, options.port, &shutdown).await?;
    let specs: Vec<WorkspaceSpec> = WORKSPACES
        .iter()
        .map(|ws| WorkspaceSpec::sized(ws, options.entities_per_workspace))
        .collect();
    let standin_config = StandInConfig {
        workspaces: specs.clone(),
        ..StandInConfig::default()
    }
    .with_signer(signer.clone());
    let clockify = StandIn::start(standin_config, "127.0.0.1:0".parse()?).await?;
    let db = PgPool::connect(&system.config.database_url).await?;
    let base_url = format!("http://{}", system.ingress);
    let client = IngressCaller {
        base_url: base_url.clone(),
        signer: signer.clone(),
        http: reqwest::Client::new(),
    };

    step("installing two workspaces (signed INSTALLED callbacks); each starts a bootstrap");
    let started = Instant::now();
    let alpha = client.install(WORKSPACES[0], &clockify.api_url()).await?;
    let beta = client.install(WORKSPACES[1], &clockify.api_url()).await?;
    let installed = || installations::count_all(&db);
    wait_until("installations", installed, 2, Duration::from_secs(60)).await?;

    let per = options.webhooks_per_workspace;
    step(&format!(
        "delivering {} webhooks ({per} per workspace, 16 in flight) while the bootstraps run",
        per * 2
    ));
    let sent_at = Instant::now();
    let workspaces = [alpha, beta];
    let mut results = deliver_stream(&client, &workspaces, per, 16).await;
    step(&format!(
        "delivering one webhook of each of the {} event types to demo-alpha",
        EventType::ALL.len()
    ));
    for (i, event) in EventType::ALL.iter().enumerate() {
        let body = crate::event_bodies::body_for(*event, WORKSPACES[0], &format!("every-{i}"));
        results.push(client.deliver(&workspaces[0], *event, &body).await);
    }
    let accepted = results.iter().filter(|(status, _)| *status == 200).count();
    let send_time = sent_at.elapsed();
    let logged = || event_log::count_webhooks(&db);
    wait_until(
        "webhooks logged",
        logged,
        accepted as i64,
        Duration::from_secs(60),
    )
    .await?;
    let persisted_after = sent_at.elapsed();
    let logged = event_log::count_webhooks(&db).await?;

    step("waiting for both bootstraps to finish");
    let mut bootstraps = Vec::new();
    for spec in &specs {
        let status = wait_for_bootstrap(&db, &spec.workspace_id).await?;
        let recorder = clockify.recorder();
        bootstraps.push(BootstrapFigures {
            workspace_id: spec.workspace_id.clone(),
            status,
            entities: spec.entity_count(),
            seconds: started.elapsed().as_secs_f64(),
            requests: recorder.count(&spec.workspace_id),
            peak_rate: recorder.peak_rate(&spec.workspace_id),
            too_many_requests: recorder.too_many_requests(&spec.workspace_id),
        });
        println!(
            "    {} bootstrap {}",
            spec.workspace_id,
            bootstraps.last().map(|b| b.status.as_str()).unwrap_or("")
        );
    }

    step("making API Studio calls as demo-alpha's admin and a member");
    let calls = studio_calls(&client, &signer, &workspaces[0], &clockify.api_url()).await?;

    step("changing settings and status of demo-alpha, uninstalling demo-beta");
    let [alpha, beta] = workspaces;
    client
        .lifecycle(
            "/lifecycle/settings-updated",
            "demo-alpha",
            &alpha.addon_id,
            &settings_body(&alpha),
        )
        .await?;
    for status in ["INACTIVE", "ACTIVE"] {
        let body =
            json!({"workspaceId": "demo-alpha", "addonId": alpha.addon_id, "status": status});
        client
            .lifecycle(
                "/lifecycle/status-changed",
                "demo-alpha",
                &alpha.addon_id,
                &body,
            )
            .await?;
    }
    let deleted = json!({"workspaceId": "demo-beta", "addonId": beta.addon_id, "asUser": "owner"});
    client
        .lifecycle("/lifecycle/deleted", "demo-beta", &beta.addon_id, &deleted)
        .await?;
    let deleted = || installations::count_deleted(&db);
    wait_until("installations deleted", deleted, 1, Duration::from_secs(30)).await?;

    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    Report {
        sent: results.len(),
        accepted,
        send_time,
        persisted_after,
        latencies,
        bootstraps,
        calls,
        logged,
        entities: entities::counts_by_kind(&db).await?,
        outcomes: event_log::outcome_counts(&db, WORKSPACES[0]).await?,
        installations: installations::list_states(&db).await?,
    }
    .print();
    println!("\nRunning:");
    println!("  ingress    {base_url}  (/manifest /health /ready /metrics /ui)");
    for addr in &system.workers {
        println!("  workers    http://{addr}  (/health /ready /metrics)");
    }
    println!("  stand-in   {}", clockify.api_url());
    println!("  database   {}", system.config.database_url);
    if options.exit {
        shutdown.cancel();
    } else {
        sidebar_urls::print_sidebar_urls(
            &signer,
            &base_url,
            WORKSPACES[0],
            &alpha.addon_id,
            &clockify.api_url(),
        );
        println!("\nCtrl-C to stop.");
        shutdown.cancelled().await;
    }
    for tier in system.tiers {
        tier.await??;
    }
    clockify.stop().await;
    Ok(())
}

/// A few calls through `/api/calls`, waited for; returns (operation, status, upstream, ms).
async fn studio_calls(
    client: &IngressCaller,
    signer: &ClockifySigner,
    workspace: &DemoWorkspace,
    api_url: &str,
) -> anyhow::Result<Vec<(String, String, Option<i64>, Option<i64>)>> {
    let ws = &workspace.workspace_id;
    let admin = signer.user_token(ws, &workspace.addon_id, "demo-admin", "ADMIN", api_url);
    let member = signer.user_token(ws, &workspace.addon_id, "demo-member", "USER", api_url);
    let calls = [
        (
            &member,
            json!({"operationId": "listProjects", "query": {"page": 1, "page-size": 10}}),
        ),
        (
            &member,
            json!({"operationId": "listWorkspaceUsers", "query": {"page": 1, "page-size": 5}}),
        ),
        (
            &admin,
            json!({"operationId": "createProject", "body": {"name": "Made in API Studio"}}),
        ),
        (
            &member,
            json!({"operationId": "createProject", "body": {"name": "Refused: members may not write"}}),
        ),
    ];
    let mut results = Vec::new();
    for (token, call) in calls {
        let operation = call["operationId"].as_str().unwrap_or_default().to_owned();
        let response = client
            .http
            .post(format!("{}/api/calls", client.base_url))
            .bearer_auth(token)
            .json(&call)
            .send()
            .await?;
        if response.status() != 202 {
            results.push((
                operation,
                format!("refused {}", response.status().as_u16()),
                None,
                None,
            ));
            continue;
        }
        let id = response.json::<Value>().await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let started = Instant::now();
        let view = loop {
            let view: Value = client
                .http
                .get(format!("{}/api/calls/{id}", client.base_url))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            if matches!(view["status"].as_str(), Some("succeeded" | "failed"))
                || started.elapsed() > Duration::from_secs(30)
            {
                break view;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        results.push((
            operation,
            view["status"].as_str().unwrap_or("?").to_owned(),
            view["upstreamStatus"].as_i64(),
            view["durationMs"].as_i64(),
        ));
    }
    Ok(results)
}

async fn wait_for_bootstrap(db: &PgPool, workspace_id: &str) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        let status = bootstrap_jobs::latest_status(db, workspace_id).await?;
        if let Some(status) = status.filter(|s| *s != JobStatus::Running) {
            return Ok(status.to_string());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "bootstrap of {workspace_id} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `count` until it reaches `expected`, for at most `limit`.
async fn wait_until<F, Fut>(
    what: &str,
    count: F,
    expected: i64,
    limit: Duration,
) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = sqlx::Result<i64>>,
{
    let started = Instant::now();
    loop {
        let count: i64 = count().await.unwrap_or(-1);
        if count >= expected {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "{what} reached {count}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn step(text: &str) {
    println!("==> {text}");
}
