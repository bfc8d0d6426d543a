//! The workers binary: config, telemetry, build, consume until Ctrl-C or SIGTERM.
//! `workers migrate` applies the migrations and exits (compose runs it once, before the rest).

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: workers [migrate]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1);
    if matches!(command.as_deref(), Some("-h" | "--help")) {
        println!("{USAGE}");
        return Ok(());
    }
    let config = common::config::Config::from_env_or_exit();
    let telemetry = common::telemetry::init(&config, "workers");
    let ran = match command.as_deref() {
        None => run(config).await,
        Some("migrate") => migrate(&config).await,
        Some(other) => Err(anyhow::anyhow!("unknown command {other:?}; {USAGE}")),
    };
    // Flushing joins the exporter's thread: off the async workers.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    ran
}

async fn run(config: common::config::Config) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let app = workers::App::build(config).await?;
    app.run_until_stopped(shutdown).await
}

async fn migrate(config: &common::config::Config) -> anyhow::Result<()> {
    let pool = common::db::connect_and_migrate(&config.database_url, 1)
        .await
        .context("migrating")?;
    pool.close().await;
    tracing::info!("migrations applied");
    Ok(())
}
