//! The restart drills' harness: both tiers as real processes (so one can be killed and started
//! again) on the services a drill chooses (shared ones, or private instances from
//! [`crate::drill_services`]), four installed workspaces, and the simulator's steady signed load.
//! [`Drill::finish`] waits until every accepted event is stored, checks it was stored once and
//! in order, and prints the drill's figures.

mod check;
mod figures;
mod ready_watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use simulator::load::steady::{Finished, SteadyLoad};
use simulator::scenario::{DemoWorkspace, IngressCaller};

use crate::drill_services::free_port;
use crate::env::TestEnv;
use crate::process::TierProcess;

pub use figures::Figures;
pub use ready_watch::ReadyWatch;

/// Webhooks a second of every drill's load (the issue asks for at least 300).
pub const LOAD_RATE: f64 = 320.0;
/// Workspaces the load is spread over, each on its own event partition.
pub const LOAD_WORKSPACES: usize = 4;
/// Deliveries in flight at most, as a sender with bounded connections: a fault that slows the
/// answers slows the launches (counted as delayed) rather than piling up requests without end
/// (with 1,000 on a machine also running other suites, the pile-up itself timed requests out).
const LOAD_CONCURRENCY: usize = 256;
/// How long a tier may take to answer `/ready` after it starts.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// A running drill: ingress and one worker process, and the load's workspaces installed.
pub struct Drill {
    pub name: &'static str,
    pub env: TestEnv,
    overrides: Vec<(String, String)>,
    pub ingress: TierProcess,
    ingress_starts: usize,
    pub ingress_url: String,
    pub worker: TierProcess,
    worker_starts: usize,
    pub workers_url: String,
    pub db: PgPool,
    pub http: reqwest::Client,
    pub workspaces: Arc<Vec<DemoWorkspace>>,
    caller: Arc<IngressCaller>,
    /// Events ingress processes that ended outboxed (counters of processes killed since).
    outboxed_before: f64,
}

impl Drill {
    /// Starts ingress and a worker with `env` and `overrides` (the services' URLs, mostly),
    /// waits until both are ready, and installs the load's workspaces.
    pub async fn start(name: &'static str, env: TestEnv, overrides: &[(&str, &str)]) -> Self {
        let db = common::db::connect_and_migrate(&env.database_url, 5)
            .await
            .unwrap_or_else(|e| panic!("drill {name}: the test database: {e:#}"));
        let ingress_bind = format!("127.0.0.1:{}", free_port());
        let workers_bind = format!("127.0.0.1:{}", free_port());
        let mut all: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.push(("INGRESS_BIND".into(), ingress_bind.clone()));
        all.push(("WORKERS_BIND".into(), workers_bind.clone()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(LOAD_CONCURRENCY)
            .build()
            .expect("http client");
        let ingress_url = format!("http://{ingress_bind}");
        let caller = Arc::new(IngressCaller {
            base_url: ingress_url.clone(),
            signer: env.signer.clone(),
            http: http.clone(),
        });
        let ingress = spawn(&env, "ingress", &format!("drill-{name}-ingress-1"), &all);
        let worker = spawn(&env, "workers", &format!("drill-{name}-workers-1"), &all);
        let mut drill = Self {
            name,
            env,
            overrides: all,
            ingress,
            ingress_starts: 1,
            ingress_url,
            worker,
            worker_starts: 1,
            workers_url: format!("http://{workers_bind}"),
            db,
            http,
            workspaces: Arc::new(Vec::new()),
            caller,
            outboxed_before: 0.0,
        };
        drill.wait_ready(&drill.ingress_url, &drill.ingress).await;
        drill.wait_ready(&drill.workers_url, &drill.worker).await;
        let ids: Vec<String> =
            simulator::load::workspace_ids(LOAD_WORKSPACES, drill.env.partitions)
                .into_iter()
                .map(|id| format!("drill-{id}"))
                .collect();
        let installed = simulator::load::install_all(&drill.caller, &drill.db, &ids)
            .await
            .unwrap_or_else(|e| panic!("drill {name}: installing the load's workspaces: {e:#}"));
        drill.workspaces = Arc::new(installed);
        drill
    }

    /// Starts the steady signed load: [`LOAD_RATE`] webhooks a second over the workspaces.
    pub fn start_load(&self) -> SteadyLoad {
        SteadyLoad::start(
            self.caller.clone(),
            self.workspaces.clone(),
            LOAD_RATE,
            LOAD_CONCURRENCY,
        )
    }

    /// Signs and installs one more workspace, its API at `api_url` (a stand-in's).
    pub async fn install_at(&self, workspace_id: &str, api_url: &str) -> DemoWorkspace {
        self.caller
            .install(workspace_id, api_url)
            .await
            .unwrap_or_else(|e| panic!("drill {}: installing {workspace_id}: {e:#}", self.name))
    }

    /// SIGKILLs ingress: no shutdown, requests in flight cut.
    pub async fn kill_ingress(&mut self) {
        self.outboxed_before += self.ingress_metric("studio_events_outboxed_total").await;
        self.ingress.kill();
    }

    /// Starts ingress again on the same address; returns once it is ready.
    pub async fn restart_ingress(&mut self) {
        self.ingress_starts += 1;
        let name = format!("drill-{}-ingress-{}", self.name, self.ingress_starts);
        self.ingress = spawn(&self.env, "ingress", &name, &self.overrides);
        self.wait_ready(&self.ingress_url, &self.ingress).await;
    }

    /// SIGKILLs the worker: its batch in hand is neither committed nor acked (or committed and
    /// not acked), and redelivered to the next one.
    pub fn kill_worker(&mut self) {
        self.worker.kill();
    }

    /// Starts a worker again on the same address; returns once it is ready.
    pub async fn restart_worker(&mut self) {
        self.worker_starts += 1;
        let name = format!("drill-{}-workers-{}", self.name, self.worker_starts);
        self.worker = spawn(&self.env, "workers", &name, &self.overrides);
        self.wait_ready(&self.workers_url, &self.worker).await;
    }

    /// Sum of every sample of `metric` on ingress's `/metrics` (0 when absent or unreachable).
    pub async fn ingress_metric(&self, metric: &str) -> f64 {
        metric_sum(&self.http, &self.ingress_url, metric).await
    }

    /// Sum of every sample of `metric` on the worker's `/metrics`.
    pub async fn workers_metric(&self, metric: &str) -> f64 {
        metric_sum(&self.http, &self.workers_url, metric).await
    }

    /// Events all ingress processes of the drill sent to the outbox.
    pub async fn outboxed(&self) -> f64 {
        self.outboxed_before + self.ingress_metric("studio_events_outboxed_total").await
    }

    /// A `/ready` watch on ingress.
    pub fn watch_ingress_ready(&self) -> ReadyWatch {
        ReadyWatch::start(self.http.clone(), format!("{}/ready", self.ingress_url))
    }

    /// A `/ready` watch on the worker.
    pub fn watch_workers_ready(&self) -> ReadyWatch {
        ReadyWatch::start(self.http.clone(), format!("{}/ready", self.workers_url))
    }

    /// Rows waiting in the outbox (`None` while the database does not answer).
    pub async fn outbox_depth(&self) -> Option<i64> {
        sqlx::query_scalar("select count(*) from event_outbox")
            .fetch_one(&self.db)
            .await
            .ok()
    }

    /// Waits until the outbox is empty; how long that took.
    pub async fn wait_outbox_drained(&self, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let depth = self.outbox_depth().await;
            if depth == Some(0) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "drill {}: the outbox still holds {depth:?} rows after {limit:?} (the relay does not drain it; worker log: {})",
                self.name,
                self.worker.log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Once the load stopped: waits until the outbox is empty and every accepted event is
    /// stored (or a patient limit passed), then counts and checks it all and prints the figures.
    pub async fn finish(&self, load: &Finished, recovery: Vec<(String, Duration)>) -> Figures {
        self.wait_outbox_drained(Duration::from_secs(120)).await;
        let ids: Vec<String> = self
            .workspaces
            .iter()
            .map(|w| w.workspace_id.clone())
            .collect();
        let deliveries = &load.deliveries;
        let stored =
            check::wait_all_stored(&self.db, &ids, deliveries, Duration::from_secs(120)).await;
        let mut figures = Figures {
            drill: self.name,
            sent: deliveries.len(),
            seconds: launch_span(deliveries).as_secs_f64(),
            delayed: load.delayed,
            outboxed: self.outboxed().await,
            recovery,
            ..Figures::default()
        };
        for delivery in deliveries {
            let rows = stored.get(&delivery.seq).map_or(0, Vec::len);
            if delivery.accepted() {
                figures.accepted += 1;
                if rows == 0 {
                    figures.missing.push(delivery.seq);
                } else {
                    figures.stored += 1;
                }
            } else {
                *figures.refused.entry(delivery.status).or_default() += 1;
                if rows > 0 {
                    figures.stored_unanswered += 1;
                }
            }
            if rows > 1 {
                figures.duplicates.push(delivery.seq);
            }
        }
        figures.not_applied = stored
            .values()
            .flatten()
            .filter(|row| row.outcome != "applied")
            .count();
        figures.out_of_order = check::out_of_order(deliveries, &stored);
        figures.print();
        figures
    }

    /// Waits until at least `count` of the load's events are in the event log; how long it took
    /// from the call.
    pub async fn wait_stored_at_least(&self, count: usize, limit: Duration) -> Duration {
        let started = Instant::now();
        let ids: Vec<String> = self
            .workspaces
            .iter()
            .map(|w| w.workspace_id.clone())
            .collect();
        let mut stored = 0;
        while started.elapsed() < limit {
            stored = sqlx::query_scalar::<_, i64>(
                "select count(*) from event_log where workspace_id = any($1) and source = 'webhook'",
            )
            .bind(&ids)
            .fetch_one(&self.db)
            .await
            .unwrap_or(0);
            if stored >= count as i64 {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "drill {}: only {stored} of {count} accepted events stored after {limit:?} (worker log: {})",
            self.name,
            self.worker.log_path.display()
        );
    }

    async fn wait_ready(&self, base_url: &str, tier: &TierProcess) {
        let started = Instant::now();
        let url = format!("{base_url}/ready");
        loop {
            if let Ok(response) = self.http.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < START_PATIENCE,
                "drill {}: {url} was not ready within {START_PATIENCE:?} (log: {})",
                self.name,
                tier.log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops both tiers and drops the test's database and queues on the shared services (a
    /// private service goes away whole with its instance).
    pub async fn stop(mut self) {
        let _ = self.ingress.terminate();
        let _ = self.worker.terminate();
        self.db.close().await;
        self.env.cleanup().await;
    }
}

/// From the first launch to the last.
fn launch_span(deliveries: &[simulator::load::steady::Delivery]) -> Duration {
    let first = deliveries.iter().map(|d| d.launched).min();
    let last = deliveries.iter().map(|d| d.launched).max();
    first
        .zip(last)
        .map_or(Duration::ZERO, |(first, last)| last - first)
}

fn spawn(env: &TestEnv, binary: &str, name: &str, overrides: &[(String, String)]) -> TierProcess {
    let overrides: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    TierProcess::spawn_binary(binary, env, name, &overrides)
}

async fn metric_sum(http: &reqwest::Client, base_url: &str, metric: &str) -> f64 {
    let Ok(response) = http.get(format!("{base_url}/metrics")).send().await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
