//! `simulator bootstrap-bench`: times the bootstrap of one workspace of N entities of every kind
//! (users to scheduling assignments, time off through the `/pto` API) from the stand-in (50
//! requests/s per workspace, 429 above) against the ideal, its request count / 46 (50 less the
//! limiter's 8% headroom) and / 50. With `--reconcile` it then times a reconciliation pass of the
//! unchanged workspace (time entries through the change feeds) against its own ideal.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use common::db::bootstrap_jobs::{self, JobStatus};
use common::db::entities;

use crate::demo::system;
use crate::scenario::IngressCaller;
use crate::signer::ClockifySigner;
use crate::standin::{StandIn, StandInConfig, WorkspaceSpec};

/// What `bootstrap-bench` can be told on the command line.
pub struct BootstrapBenchOptions {
    pub entities: usize,
    pub page_size: u32,
    pub port: u16,
    /// Also time a reconciliation pass of the unchanged workspace after the bootstrap.
    pub reconcile: bool,
}

/// The operator secret the benchmark's ingress is started with.
const BENCH_ADMIN_TOKEN: &str = "bootstrap-bench-operator-token-0123456789";

/// Runs one bootstrap and prints its figures.
pub async fn run_bootstrap_bench(options: BootstrapBenchOptions) -> anyhow::Result<()> {
    let signer = ClockifySigner::test_key("clockify-api-studio");
    let mut vars = system::system_vars(&signer, options.port, "bench");
    vars.insert("BOOTSTRAP_PAGE_SIZE".into(), options.page_size.to_string());
    // The bootstrap alone is measured: no extra webhooks registered on install. A pass reads the
    // change feeds up to now (in production they lag 2 minutes behind).
    vars.insert("EXTRA_WEBHOOK_EVENTS".into(), "none".into());
    vars.insert("ADMIN_TOKEN".into(), BENCH_ADMIN_TOKEN.into());
    vars.insert("RECONCILE_FEED_LAG_SECS".into(), "0".into());
    system::reset(&common::config::Config::from_vars(&vars)?, "bench").await?;
    let shutdown = CancellationToken::new();
    let running = system::start(&vars, options.port, &shutdown).await?;
    let spec = WorkspaceSpec::sized("bench-ws", options.entities);
    let config = StandInConfig {
        workspaces: vec![spec.clone()],
        ..StandInConfig::default()
    }
    .with_signer(signer.clone());
    let clockify = StandIn::start(config, "127.0.0.1:0".parse()?).await?;
    let db = PgPool::connect(&running.config.database_url).await?;
    let client = IngressCaller {
        base_url: format!("http://{}", running.ingress),
        signer,
        http: reqwest::Client::new(),
    };

    let started = Instant::now();
    client.install("bench-ws", &clockify.api_url()).await?;
    let status = loop {
        let status = bootstrap_jobs::latest_status(&db, "bench-ws").await?;
        if let Some(status) = status.filter(|s| *s != JobStatus::Running) {
            break status;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the bootstrap did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let stored = entities::count_for_workspace(&db, "bench-ws").await?;
    let recorder = clockify.recorder();
    let ideal_requests = spec.bootstrap_request_count(options.page_size as usize);
    let ideal = ideal_requests as f64 / 46.0;
    println!(
        "bootstrap of {} entities (page size {}): {status}",
        spec.entity_count(),
        options.page_size
    );
    println!("  entities stored          {stored}");
    let kinds: Vec<String> = entities::counts_by_kind(&db)
        .await?
        .into_iter()
        .filter_map(|(label, count)| {
            let kind = label.strip_prefix("bench-ws ")?;
            Some(format!("{kind} {count}"))
        })
        .collect();
    println!(
        "  by kind ({:>2})            {}",
        kinds.len(),
        kinds.join(", ")
    );
    println!(
        "  requests                 {} (a page-by-page import needs {ideal_requests})",
        recorder.count("bench-ws")
    );
    println!(
        "  time                     {elapsed:.2} s; ideal {ideal:.2} s at 46/s (ratio {:.3}), {:.2} s at 50/s (ratio {:.3})",
        elapsed / ideal,
        ideal * 46.0 / 50.0,
        elapsed / (ideal * 46.0 / 50.0)
    );
    println!(
        "  rate the stand-in saw    mean {:.1}/s, peak {}/s in any second, {} answered 429",
        recorder.mean_rate("bench-ws"),
        recorder.peak_rate("bench-ws"),
        recorder.too_many_requests("bench-ws")
    );
    if options.reconcile {
        reconcile_pass(&client, &db, &clockify, &spec, options.page_size).await?;
    }
    shutdown.cancel();
    for tier in running.tiers {
        tier.await??;
    }
    clockify.stop().await;
    Ok(())
}

/// Times an operator's reconciliation pass of the unchanged workspace and prints its figures.
async fn reconcile_pass(
    client: &IngressCaller,
    db: &PgPool,
    clockify: &StandIn,
    spec: &WorkspaceSpec,
    page_size: u32,
) -> anyhow::Result<()> {
    // The feeds are asked in whole seconds from where the bootstrap started.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let before = clockify.recorder().count("bench-ws");
    let started = Instant::now();
    let answer = client
        .http
        .post(format!(
            "{}/admin/workspaces/bench-ws/reconcile",
            client.base_url
        ))
        .bearer_auth(BENCH_ADMIN_TOKEN)
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == 202,
        "the pass did not start: {}",
        answer.status()
    );
    let status = loop {
        let status = bootstrap_jobs::latest_status(db, "bench-ws").await?;
        if let Some(status) = status.filter(|s| *s != JobStatus::Running) {
            break status;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the pass did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let requests = clockify.recorder().count("bench-ws") - before;
    let ideal_requests = spec.reconcile_request_count(page_size as usize);
    let ideal = ideal_requests as f64 / 46.0;
    let mut conn = db.acquire().await?;
    let pass = common::bootstrap_start::latest_passes(&mut conn, "bench-ws", 1)
        .await?
        .into_iter()
        .next();
    let changes: i64 = pass
        .iter()
        .flat_map(|p| &p.changes)
        .map(|c| c.added + c.updated + c.deleted)
        .sum();
    println!("reconciliation pass of the unchanged workspace: {status}");
    println!("  changes                  {changes}");
    println!(
        "  requests                 {requests} (every list but the time entries, and one page of each of the 3 feeds: {ideal_requests})"
    );
    println!(
        "  time                     {elapsed:.2} s; ideal {ideal:.2} s at 46/s; ratio {:.3}",
        elapsed / ideal
    );
    Ok(())
}
