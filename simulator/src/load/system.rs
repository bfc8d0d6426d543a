//! `--start-system`: `ingress` and N `workers` as child processes of the release binaries next to
//! the simulator, on a fresh database and queue prefix, stopped at the end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use lapin::options::QueueDeleteOptions;
use sqlx::PgPool;
use tokio::process::{Child, Command};

use common::broker::QueueNames;
use common::config::Config;

use crate::signer::ClockifySigner;

/// The first worker's ops port; worker `i` listens on `WORKERS_FIRST_PORT + i`.
const WORKERS_FIRST_PORT: u16 = 9190;

/// One started tier process.
pub struct Tier {
    pub label: String,
    pub ops_url: String,
    child: Child,
}

impl Tier {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// The started processes, killed when dropped.
pub struct System {
    pub ingress: Tier,
    pub workers: Vec<Tier>,
}

impl System {
    /// Every tier, ingress first.
    pub fn tiers(&self) -> impl Iterator<Item = &Tier> {
        std::iter::once(&self.ingress).chain(&self.workers)
    }

    /// Peak resident memory of every tier (read before they stop, while `/proc` still has it).
    pub fn peak_memory(&self) -> Vec<(String, Option<u64>)> {
        self.tiers()
            .map(|t| {
                let peak = t.pid().and_then(super::usage::peak_resident_bytes);
                (t.label.clone(), peak)
            })
            .collect()
    }

    /// SIGTERM to every tier, then waits for them (SIGKILL after 20 s).
    pub async fn stop(mut self) {
        terminate(&mut self.ingress).await;
        self.stop_workers().await;
    }

    /// Stops every worker process, gracefully; ingress keeps accepting.
    pub async fn stop_workers(&mut self) {
        for mut tier in self.workers.drain(..) {
            terminate(&mut tier).await;
        }
    }

    /// Starts `count` worker processes with `vars` and waits until each is ready.
    pub async fn start_workers(
        &mut self,
        vars: &HashMap<String, String>,
        count: usize,
    ) -> anyhow::Result<()> {
        for i in 0..count {
            let bind = format!("127.0.0.1:{}", WORKERS_FIRST_PORT + i as u16);
            let label = format!("workers-{}", i + 1);
            let overrides = [("WORKERS_BIND", bind.as_str())];
            let tier = spawn(
                "workers",
                &label,
                vars,
                &overrides,
                format!("http://{bind}"),
            )?;
            self.workers.push(tier);
        }
        let http = reqwest::Client::new();
        for tier in &self.workers {
            wait_ready(&http, tier).await?;
        }
        Ok(())
    }
}

async fn terminate(tier: &mut Tier) {
    if let Some(pid) = tier.child.id() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(20), tier.child.wait())
        .await
        .is_err()
    {
        let _ = tier.child.kill().await;
    }
}

/// The configuration the started tiers run with, as environment variables.
pub fn system_vars(
    signer: &ClockifySigner,
    ingress_url: &str,
    database_url: &str,
    queue_prefix: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let bind = ingress_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    vars.remove("CLOCKIFY_PUBLIC_KEY_FILE");
    let settings = [
        ("DATABASE_URL", database_url.to_owned()),
        ("QUEUE_PREFIX", queue_prefix.to_owned()),
        ("ADDON_KEY", signer.addon_key().to_owned()),
        ("INGRESS_BIND", bind),
        ("BASE_URL", ingress_url.to_owned()),
        ("CLOCKIFY_PUBLIC_KEY", signer.public_key_pem().to_owned()),
        (
            "TOKEN_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        ),
        ("AUTO_BOOTSTRAP_ON_INSTALL", "false".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    for (name, value) in settings {
        vars.insert(name.to_owned(), value);
    }
    vars.entry("CLOCKIFY_OPENAPI_PATH".to_owned())
        .or_insert_with(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json").to_owned());
    Config::from_vars(&vars).context("the started system's configuration")?;
    Ok(vars)
}

/// Drops and recreates nothing but `database_url`'s database and the prefix's queues; the tiers
/// create and migrate the database on start.
pub async fn reset(config: &Config) -> anyhow::Result<()> {
    let name = database_name(&config.database_url)?;
    let admin = PgPool::connect(&admin_url(&config.database_url))
        .await
        .context("PostgreSQL is not answering (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)")?;
    common::db::server::drop_database_if_exists(&admin, &name).await?;
    delete_queues(config, &QueueNames::from_config(config)).await
}

/// Deletes every queue of `names`, with what they hold.
pub async fn delete_queues(config: &Config, names: &QueueNames) -> anyhow::Result<()> {
    let pool = common::broker::connection_pool(&config.amqp_url)?;
    let connection = pool
        .get()
        .await
        .context("RabbitMQ is not answering (start it: rabbitmq-server -detached)")?;
    let channel = connection.create_channel().await?;
    for queue in names.all() {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    Ok(())
}

/// Starts ingress and `workers` workers with `vars`, and waits until every one is ready.
pub async fn start(vars: &HashMap<String, String>, workers: usize) -> anyhow::Result<System> {
    let ingress_url = vars.get("BASE_URL").cloned().unwrap_or_default();
    let ingress = spawn("ingress", "ingress", vars, &[], ingress_url)?;
    wait_ready(&reqwest::Client::new(), &ingress).await?;
    let mut system = System {
        ingress,
        workers: Vec::new(),
    };
    system.start_workers(vars, workers).await?;
    Ok(system)
}

fn spawn(
    binary: &str,
    label: &str,
    vars: &HashMap<String, String>,
    overrides: &[(&str, &str)],
    ops_url: String,
) -> anyhow::Result<Tier> {
    let path = sibling_binary(binary)?;
    let log_path = std::env::temp_dir().join(format!("studio-load-{label}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let child = Command::new(&path)
        .env_clear()
        .envs(vars)
        .envs(overrides.iter().copied())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", path.display()))?;
    Ok(Tier {
        label: label.to_owned(),
        ops_url,
        child,
    })
}

/// `binary` in the simulator's own directory (`target/release/` after a release build).
fn sibling_binary(binary: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("the simulator's own path")?;
    let path = exe
        .parent()
        .map(|dir| dir.join(binary))
        .context("the simulator's directory")?;
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it first (cargo build --release --bins)",
        path.display()
    );
    Ok(path)
}

async fn wait_ready(http: &reqwest::Client, tier: &Tier) -> anyhow::Result<()> {
    let started = Instant::now();
    let url = format!("{}/ready", tier.ops_url);
    loop {
        if let Ok(response) = http.get(&url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "{} did not become ready at {url} within 60 s (log: {})",
            tier.label,
            std::env::temp_dir()
                .join(format!("studio-load-{}.log", tier.label))
                .display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The database name at the end of a PostgreSQL URL.
pub fn database_name(url: &str) -> anyhow::Result<String> {
    let name = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .unwrap_or_default();
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name in {url:?} must be letters, digits and underscores"
    );
    Ok(name.to_owned())
}

/// The same server's `postgres` database, to drop and create others from.
pub fn admin_url(url: &str) -> String {
    sibling_database_url(url, "postgres")
}

/// The URL of database `name` on `url`'s server.
pub fn sibling_database_url(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => url.to_owned(),
    }
}
