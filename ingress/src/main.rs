//! The ingress binary: config, telemetry, build, serve until Ctrl-C or SIGTERM.

use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = common::config::Config::from_env_or_exit();
    let telemetry = common::telemetry::init(&config, "ingress");
    let shutdown = CancellationToken::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let served = async {
        let app = ingress::App::build(config).await?;
        app.run_until_stopped(shutdown).await
    }
    .await;
    // Flushing joins the exporter's thread: off the async workers.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    served
}
