//! One load run against the system: installs, the send phase, and the wait until every accepted
//! event is in the database, with what each phase cost; `--backlog` holds the workers off
//! during the send and times them draining the queues alone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::PgPool;

use common::db::event_log;

use crate::scenario::IngressCaller;
use crate::signer::ClockifySigner;

use super::options::LoadOptions;
use super::options::describe;
use super::raw::Rate;
use super::report::LoadReport;
use super::report::step;
use super::system::System;
use super::usage::CpuSample;
use super::wal::WalSample;
use super::watch::{services, tier_pids};
use super::{scrape, webhooks};

/// Installs, sends and waits for persistence, filling `report`.
pub async fn drive(
    options: &LoadOptions,
    signer: ClockifySigner,
    ids: &[String],
    vars: &HashMap<String, String>,
    mut system: Option<&mut System>,
    report: &mut LoadReport,
) -> anyhow::Result<()> {
    let db = PgPool::connect(&options.database_url)
        .await
        .with_context(|| format!("connecting to {}", options.database_url))?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let client = IngressCaller {
        base_url: options.url.clone(),
        signer,
        http: http.clone(),
    };
    let target = super::http1::Target::resolve(&options.url).await?;
    step(&format!(
        "installing {} workspaces (signed INSTALLED)",
        ids.len()
    ));
    let workspaces = Arc::new(webhooks::install_all(&client, &db, ids).await?);
    if let Some(system) = system.as_deref() {
        let partitions = common::config::Config::from_vars(vars)?.event_partitions;
        settle(&http, system, partitions).await;
    }
    let baseline = event_log::count_webhooks(&db).await?;
    if options.backlog
        && let Some(system) = system.as_deref_mut()
    {
        step("stopping the workers: the queues fill while ingress accepts");
        system.stop_workers().await;
    }

    step(&format!(
        "sending NEW_TIME_ENTRY webhooks for {:.0} s ({})",
        options.duration.as_secs_f64(),
        describe(options)
    ));
    let watched = services(&system.as_deref().map(tier_pids).unwrap_or_default());
    // Read before the clock starts, so its round trip is not counted as sending time.
    let mut wal_start = WalSample::take(&db).await?;
    let first_send = chrono::Utc::now();
    let started = Instant::now();
    let before = CpuSample::take();
    let sent = webhooks::send(
        target,
        workspaces,
        options.pace,
        options.concurrency,
        options.duration,
    )
    .await;
    let send_end = CpuSample::take();
    report.send_cpu = before.until(&send_end, &watched);
    report.send_elapsed = sent.elapsed;
    report.delayed_launches = sent.delayed_launches;
    report.answers = sent.answers;
    let accepted = report.answers.iter().filter(|(s, _)| *s == 200).count() as i64;
    let count = || async { event_log::count_webhooks(&db).await.map(|c| c - baseline) };
    report.persisted_at_send_end = count().await?;

    let mut drain_start = (Instant::now(), send_end);
    let mut drain_watched = watched.clone();
    let mut persisted_at_drain_start = report.persisted_at_send_end;
    if options.backlog
        && let Some(system) = system.as_deref_mut()
    {
        step(&format!(
            "starting {} workers on the backlog of {accepted} events",
            options.workers
        ));
        let ready_from = Instant::now();
        system.start_workers(vars, options.workers).await?;
        // Only what is persisted from here on counts: a worker may consume before it is ready.
        drain_start = (Instant::now(), CpuSample::take());
        wal_start = WalSample::take(&db).await?;
        persisted_at_drain_start = count().await?;
        println!(
            "    workers ready in {:.2} s, {persisted_at_drain_start} events persisted by then",
            ready_from.elapsed().as_secs_f64()
        );
        drain_watched = services(&tier_pids(system));
    }

    step(&format!(
        "waiting until all {accepted} accepted events are in the database"
    ));
    let patience = Duration::from_secs(120) + options.duration * 5;
    let worker_urls: Vec<String> = system
        .as_deref()
        .map(|system| system.workers.iter().map(|w| w.ops_url.clone()).collect())
        .unwrap_or_default();
    let mut progress = Progress::new(&http, worker_urls).await;
    loop {
        let persisted = count().await?;
        if persisted >= accepted {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < patience,
            "only {persisted} of {accepted} accepted events reached the database in {:.0} s",
            patience.as_secs_f64()
        );
        progress
            .wait_for(&http, (accepted - persisted) as f64)
            .await;
    }
    let done = Instant::now();
    report.persisted_after = done.duration_since(started);
    let drain_cpu = drain_start.1.until(&CpuSample::take(), &drain_watched);
    report.workers_wal = Some(wal_start.until(&WalSample::take(&db).await?));
    if options.backlog {
        let rate = Rate {
            count: (accepted - persisted_at_drain_start).max(0) as u64,
            elapsed: done.duration_since(drain_start.0),
        };
        report.backlog = Some((rate, drain_cpu));
    } else if report.persisted_after > report.send_elapsed + Duration::from_millis(500) {
        report.drain_cpu = Some(drain_cpu);
    }

    report.end_to_end_ms = end_to_end(&db, first_send).await?;
    if let Some(system) = system.as_deref() {
        report.groups = Some(scrape::group_figures(&http, &system.ingress.ops_url).await);
        for worker in &system.workers {
            let figures = scrape::batch_figures(&http, &worker.ops_url).await;
            report.batches.push((worker.label.clone(), figures));
        }
    }
    Ok(())
}

/// Waits until the workers have shared out the event partitions (their heartbeat assignment,
/// which starts with the first worker up taking them all) and the installs' follow-up jobs had a
/// moment, so that the load measures the running system, not partitions changing hands under it
/// in its first second. Gives up after 15 s and says so.
async fn settle(http: &reqwest::Client, system: &System, partitions: u16) {
    let started = Instant::now();
    step("waiting for the workers to share out the event partitions");
    loop {
        let mut owned = Vec::new();
        for worker in &system.workers {
            owned.push(
                scrape::partitions_owned(http, &worker.ops_url)
                    .await
                    .unwrap_or(0),
            );
        }
        // Every process owns some once they all see each other (unless there are more
        // processes than partitions), and none still holds a share it is giving up.
        let everyone = owned.len() > usize::from(partitions) || owned.iter().all(|n| *n > 0);
        let shared = everyone && owned.iter().sum::<u64>() == u64::from(partitions);
        if shared {
            println!(
                "    partitions {owned:?} after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            println!("    partitions {owned:?}: not shared out after 15 s; sending anyway");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// p50 and p99 of `processed_at - accepted_at` (ms) of the webhooks accepted since `since`.
async fn end_to_end(
    db: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Option<(f64, f64)>> {
    event_log::webhook_latency_percentiles(db, since).await
}

/// When to count the event log again while waiting for the workers. `count(*)` over a log of
/// 100,000 rows and more takes PostgreSQL 30–40 ms; asked every 20 ms, it would keep one of its
/// cores busy counting, slowing the very drain being timed. With the system started here, the
/// workers' own counter of events committed in batches (`studio_batch_size_sum`, read from their
/// `/metrics` every 20 ms, cheap) says when the rest may be in, and the log is counted then, or
/// at least every second; otherwise the log is counted every 250 ms.
struct Progress {
    worker_urls: Vec<String>,
    committed: f64,
    counted_at: Instant,
}

impl Progress {
    async fn new(http: &reqwest::Client, worker_urls: Vec<String>) -> Self {
        let committed = committed_in_batches(http, &worker_urls).await;
        Self {
            worker_urls,
            committed,
            counted_at: Instant::now(),
        }
    }

    /// Returns when the event log is worth counting again, `remaining` events short.
    async fn wait_for(&mut self, http: &reqwest::Client, remaining: f64) {
        let (poll, at_least) = if self.worker_urls.is_empty() {
            (Duration::from_millis(250), Duration::ZERO)
        } else {
            (Duration::from_millis(20), Duration::from_secs(1))
        };
        loop {
            tokio::time::sleep(poll).await;
            if self.counted_at.elapsed() >= at_least {
                break;
            }
            let committed = committed_in_batches(http, &self.worker_urls).await;
            if committed - self.committed >= remaining {
                break;
            }
        }
        self.committed = committed_in_batches(http, &self.worker_urls).await;
        self.counted_at = Instant::now();
    }
}

/// Events the workers at `urls` have committed in batches, in all (a restarted worker counts
/// from zero again, which only makes the log be counted sooner).
async fn committed_in_batches(http: &reqwest::Client, urls: &[String]) -> f64 {
    let mut committed = 0.0;
    for url in urls {
        committed += scrape::batch_figures(http, url).await.messages;
    }
    committed
}
