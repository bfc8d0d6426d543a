//! The ingress binary: config, telemetry, build, serve until Ctrl-C or SIGTERM.

use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = common::config::Config::from_env_or_exit();
    common::telemetry::init(config.log_format);
    let shutdown = CancellationToken::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let app = ingress::App::build(config).await?;
    app.run_until_stopped(shutdown).await
}
