//! `simulator bootstrap-bench`: times the bootstrap of one workspace of N entities of every kind
//! (users to scheduling assignments, time off through the `/pto` API) from the stand-in (50
//! requests/s per workspace, 429 above) against the ideal, its request count / 50.

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
}

/// Runs one bootstrap and prints its figures.
pub async fn run_bootstrap_bench(options: BootstrapBenchOptions) -> anyhow::Result<()> {
    let signer = ClockifySigner::test_key("clockify-api-studio");
    let mut vars = system::system_vars(&signer, options.port, "bench");
    vars.insert("BOOTSTRAP_PAGE_SIZE".into(), options.page_size.to_string());
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
    let ideal = ideal_requests as f64 / 50.0;
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
        "  time                     {elapsed:.2} s; ideal {ideal:.2} s at 50/s; ratio {:.3}",
        elapsed / ideal
    );
    println!(
        "  rate the stand-in saw    mean {:.1}/s, peak {}/s in any second, {} answered 429",
        recorder.mean_rate("bench-ws"),
        recorder.peak_rate("bench-ws"),
        recorder.too_many_requests("bench-ws")
    );
    shutdown.cancel();
    for tier in running.tiers {
        tier.await??;
    }
    clockify.stop().await;
    Ok(())
}
