//! `simulator demo`: starts ingress and workers against the local RabbitMQ, PostgreSQL and Redis
//! with the simulator's key, plays a scenario as Clockify, and reports what landed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use lapin::options::QueueDeleteOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::scenario::{ClockifyClient, deliver_stream, settings_body};
use crate::signer::ClockifySigner;

/// What the demo can be told on the command line.
pub struct DemoOptions {
    pub port: u16,
    pub webhooks_per_workspace: usize,
    pub exit: bool,
}

const DEMO_DB: &str = "studio_demo";
const ADDON_KEY: &str = "clockify-api-studio";

/// Runs the demo to the end (or until Ctrl-C when it stays up).
pub async fn run_demo(options: DemoOptions) -> anyhow::Result<()> {
    let signer = ClockifySigner::test_key(ADDON_KEY);
    let vars = demo_vars(&signer, options.port);
    let config = common::config::Config::from_vars(&vars).context("demo configuration")?;
    step("resetting the demo database and queues");
    reset(&config).await?;

    step("starting ingress and two workers");
    let shutdown = CancellationToken::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let ingress = ingress::App::build(config.clone()).await?;
    let ingress_addr = ingress.local_addr();
    let mut tiers = vec![tokio::spawn(ingress.run_until_stopped(shutdown.clone()))];
    let mut worker_addrs = Vec::new();
    for port in [options.port + 1010, options.port + 1011] {
        let mut worker_vars = vars.clone();
        worker_vars.insert("WORKERS_BIND".into(), format!("127.0.0.1:{port}"));
        let worker = workers::App::build(common::config::Config::from_vars(&worker_vars)?).await?;
        worker_addrs.push(worker.local_addr());
        tiers.push(tokio::spawn(worker.run_until_stopped(shutdown.clone())));
    }
    let db = PgPool::connect(&config.database_url).await?;
    let base_url = format!("http://{ingress_addr}");
    let client = ClockifyClient {
        base_url: base_url.clone(),
        signer,
        http: reqwest::Client::new(),
    };

    step("installing two workspaces (signed INSTALLED callbacks)");
    let alpha = client.install("demo-alpha").await?;
    let beta = client.install("demo-beta").await?;
    wait_until(&db, "select count(*) from installations", 2).await?;

    let per = options.webhooks_per_workspace;
    step(&format!(
        "delivering {} webhooks ({per} per workspace, 16 in flight)",
        per * 2
    ));
    let started = Instant::now();
    let workspaces = [alpha, beta];
    let results = deliver_stream(&client, &workspaces, per, 16).await;
    let accepted = results.iter().filter(|(status, _)| *status == 200).count();
    let send_time = started.elapsed();
    let logged = "select count(*) from event_log where source = 'webhook'";
    wait_until(&db, logged, accepted as i64).await?;
    let persisted_after = started.elapsed();

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
    let status = serde_json::json!({"workspaceId": "demo-alpha", "addonId": alpha.addon_id, "status": "INACTIVE"});
    client
        .lifecycle(
            "/lifecycle/status-changed",
            "demo-alpha",
            &alpha.addon_id,
            &status,
        )
        .await?;
    let back = serde_json::json!({"workspaceId": "demo-alpha", "addonId": alpha.addon_id, "status": "ACTIVE"});
    client
        .lifecycle(
            "/lifecycle/status-changed",
            "demo-alpha",
            &alpha.addon_id,
            &back,
        )
        .await?;
    let deleted = serde_json::json!({"workspaceId": "demo-beta", "addonId": beta.addon_id, "asUser": "owner"});
    client
        .lifecycle("/lifecycle/deleted", "demo-beta", &beta.addon_id, &deleted)
        .await?;
    wait_until(
        &db,
        "select count(*) from installations where deleted_at is not null",
        1,
    )
    .await?;

    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let report = Report {
        sent: results.len(),
        accepted,
        send_time,
        persisted_after,
        latencies,
        entities: counts(&db, "select workspace_id || ' ' || kind, count(*) from entities group by 1 order by 1").await?,
        outcomes: counts(&db, "select outcome, count(*) from event_log where workspace_id = 'demo-alpha' group by 1 order by 1").await?,
        installations: counts(&db, "select workspace_id || ' ' || case when deleted_at is null then status else 'DELETED' end, 1::bigint from installations order by 1").await?,
    };
    report.print();
    println!("\nRunning:");
    println!("  ingress   {base_url}  (/manifest /health /ready /metrics)");
    for addr in &worker_addrs {
        println!("  workers   http://{addr}  (/health /ready /metrics)");
    }
    println!("  database  {}", config.database_url);
    if options.exit {
        shutdown.cancel();
    } else {
        println!("\nCtrl-C to stop.");
    }
    for tier in tiers {
        tier.await??;
    }
    Ok(())
}

fn demo_vars(signer: &ClockifySigner, port: u16) -> HashMap<String, String> {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let defaults = [
        (
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{DEMO_DB}"),
        ),
        ("QUEUE_PREFIX", "demo".to_owned()),
        ("ADDON_KEY", ADDON_KEY.to_owned()),
        ("INGRESS_BIND", format!("127.0.0.1:{port}")),
        ("BASE_URL", format!("http://127.0.0.1:{port}")),
        ("CLOCKIFY_PUBLIC_KEY", signer.public_key_pem().to_owned()),
        (
            "TOKEN_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        ),
        ("LOG_FORMAT", "pretty".to_owned()),
        ("ALLOW_HTTP_LOOPBACK", "true".to_owned()),
        ("AUTO_BOOTSTRAP_ON_INSTALL", "false".to_owned()),
    ];
    for (name, value) in defaults {
        vars.insert(name.to_owned(), value);
    }
    vars.remove("CLOCKIFY_PUBLIC_KEY_FILE");
    vars.entry("CLOCKIFY_OPENAPI_PATH".to_owned())
        .or_insert_with(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json").to_owned());
    vars
}

async fn reset(config: &common::config::Config) -> anyhow::Result<()> {
    let admin = PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .context("PostgreSQL is not answering on 127.0.0.1:5432 (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {DEMO_DB} with (force)"
    )))
    .execute(&admin)
    .await?;
    let pool = common::broker::connection_pool(&config.amqp_url)?;
    let connection = pool.get().await.context(
        "RabbitMQ is not answering on 127.0.0.1:5672 (start it: rabbitmq-server -detached)",
    )?;
    let channel = connection.create_channel().await?;
    for queue in common::broker::QueueNames::from_config(config).all() {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    Ok(())
}

async fn wait_until(db: &PgPool, query: &'static str, expected: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let count: i64 = sqlx::query_scalar(query).fetch_one(db).await.unwrap_or(-1);
        if count >= expected {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "`{query}` reached {count}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn counts(db: &PgPool, query: &'static str) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(query).fetch_all(db).await?)
}

fn step(text: &str) {
    println!("==> {text}");
}

struct Report {
    sent: usize,
    accepted: usize,
    send_time: Duration,
    persisted_after: Duration,
    latencies: Vec<Duration>,
    entities: Vec<(String, i64)>,
    outcomes: Vec<(String, i64)>,
    installations: Vec<(String, i64)>,
}

impl Report {
    fn print(&self) {
        let percentile = |p: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies
                .get(index)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        println!("\nReport");
        println!(
            "  webhooks sent {}, accepted {}, lost {}",
            self.sent,
            self.accepted,
            self.sent - self.accepted
        );
        println!(
            "  ingress latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {:.0} accepted/s",
            percentile(0.5),
            percentile(0.95),
            percentile(0.99),
            self.accepted as f64 / self.send_time.as_secs_f64()
        );
        println!(
            "  every accepted webhook in the event log {:.2} s after the first was sent",
            self.persisted_after.as_secs_f64()
        );
        println!("  installations:");
        for (name, _) in &self.installations {
            println!("    {name}");
        }
        println!("  demo-alpha event log by outcome:");
        for (outcome, count) in &self.outcomes {
            println!("    {outcome:<10} {count}");
        }
        println!("  entities stored (demo-beta's were purged on uninstall):");
        for (kind, count) in &self.entities {
            println!("    {kind:<28} {count}");
        }
    }
}
