//! The system the demo runs: its configuration, a clean database and queues, ingress and two
//! workers in this process.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context as _;
use base64::Engine as _;
use lapin::options::QueueDeleteOptions;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::signer::ClockifySigner;

/// Ingress and workers running for the demo.
pub struct DemoSystem {
    pub config: common::config::Config,
    pub ingress: SocketAddr,
    pub workers: Vec<SocketAddr>,
    pub tiers: Vec<JoinHandle<anyhow::Result<()>>>,
}

/// The environment of both tiers: the process's own, with a database (`studio_{name}`), queue
/// prefix (`name`) and key of the run's own.
pub fn system_vars(signer: &ClockifySigner, port: u16, name: &str) -> HashMap<String, String> {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let defaults = [
        (
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/studio_{name}"),
        ),
        ("QUEUE_PREFIX", name.to_owned()),
        ("ADDON_KEY", signer.addon_key().to_owned()),
        ("INGRESS_BIND", format!("127.0.0.1:{port}")),
        ("BASE_URL", format!("http://127.0.0.1:{port}")),
        ("CLOCKIFY_PUBLIC_KEY", signer.public_key_pem().to_owned()),
        (
            "TOKEN_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        ),
        ("LOG_FORMAT", "pretty".to_owned()),
        ("ALLOW_HTTP_LOOPBACK", "true".to_owned()),
        ("AUTO_BOOTSTRAP_ON_INSTALL", "true".to_owned()),
    ];
    for (name, value) in defaults {
        vars.insert(name.to_owned(), value);
    }
    vars.remove("CLOCKIFY_PUBLIC_KEY_FILE");
    vars.entry("CLOCKIFY_OPENAPI_PATH".to_owned())
        .or_insert_with(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json").to_owned());
    vars
}

/// Drops the run's database and queues, so every run starts clean.
pub async fn reset(config: &common::config::Config, name: &str) -> anyhow::Result<()> {
    let admin = PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres").await.context(
        "PostgreSQL is not answering on 127.0.0.1:5432 (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)",
    )?;
    common::db::server::drop_database_if_exists(&admin, &format!("studio_{name}")).await?;
    let pool = common::broker::connection_pool(&config.amqp_url)?;
    // A broker that accepts connections but never answers would otherwise hang the run silently.
    let not_answering =
        "RabbitMQ is not answering on 127.0.0.1:5672 (start it: rabbitmq-server -detached)";
    let patience = std::time::Duration::from_secs(15);
    let connection = tokio::time::timeout(patience, pool.get())
        .await
        .context(not_answering)?
        .context(not_answering)?;
    let channel = tokio::time::timeout(patience, connection.create_channel())
        .await
        .context(not_answering)??;
    for queue in common::broker::QueueNames::from_config(config).all() {
        tokio::time::timeout(
            patience,
            channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()),
        )
        .await
        .context(not_answering)??;
    }
    Ok(())
}

/// Starts ingress on `port` and two workers on `port + 1010` and `port + 1011`.
pub async fn start(
    vars: &HashMap<String, String>,
    port: u16,
    shutdown: &CancellationToken,
) -> anyhow::Result<DemoSystem> {
    let config = common::config::Config::from_vars(vars).context("demo configuration")?;
    let mut tiers = Vec::new();
    let mut workers = Vec::new();
    for worker_port in [port + 1010, port + 1011] {
        let mut worker_vars = vars.clone();
        worker_vars.insert("WORKERS_BIND".into(), format!("127.0.0.1:{worker_port}"));
        let worker = workers::App::build(common::config::Config::from_vars(&worker_vars)?).await?;
        workers.push(worker.local_addr());
        tiers.push(tokio::spawn(worker.run_until_stopped(shutdown.clone())));
    }
    let ingress = ingress::App::build(config.clone()).await?;
    let ingress_addr = ingress.local_addr();
    tiers.push(tokio::spawn(ingress.run_until_stopped(shutdown.clone())));
    Ok(DemoSystem {
        config,
        ingress: ingress_addr,
        workers,
        tiers,
    })
}
