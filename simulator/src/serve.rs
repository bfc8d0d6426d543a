//! `simulator serve`: the stand-in Clockify API on its own, for running the add-on against it by
//! hand or from another tool. It signs with a generated key (or one read from files) and writes
//! the public key where the add-on can be pointed at it (`CLOCKIFY_PUBLIC_KEY_FILE`).

use std::net::SocketAddr;
use std::time::Duration;

use crate::keys::{generate_signer, signer_from_files};
use crate::standin::{StandIn, StandInConfig, WorkspaceSpec};

/// What `serve` can be told on the command line.
pub struct ServeOptions {
    pub bind: SocketAddr,
    pub workspaces: usize,
    pub entities: usize,
    pub rate_limit: u32,
    pub latency_ms: u64,
    pub failure_rate: f64,
    pub drop_rate: f64,
    pub addon_key: String,
    /// Private and public PEM files; a new key pair is generated when absent.
    pub key_files: Option<(String, String)>,
    pub public_key_out: String,
}

/// Serves until Ctrl-C, then prints what each workspace's traffic looked like.
pub async fn run_serve(options: ServeOptions) -> anyhow::Result<()> {
    let signer = match &options.key_files {
        Some((private, public)) => signer_from_files(private, public, &options.addon_key)?,
        None => generate_signer(&options.addon_key)?,
    };
    std::fs::write(&options.public_key_out, signer.public_key_pem())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", options.public_key_out))?;
    let specs: Vec<WorkspaceSpec> = (1..=options.workspaces)
        .map(|i| WorkspaceSpec::sized(&format!("ws-{i}"), options.entities))
        .collect();
    let config = StandInConfig {
        rate_limit_per_second: options.rate_limit,
        workspaces: specs.clone(),
        latency: Duration::from_millis(options.latency_ms),
        failure_rate_5xx: options.failure_rate,
        drop_rate: options.drop_rate,
        ..StandInConfig::default()
    }
    .with_signer(signer);
    let standin = StandIn::start(config, options.bind).await?;
    println!("stand-in Clockify API at {}", standin.api_url());
    println!(
        "public key written to {} (set CLOCKIFY_PUBLIC_KEY_FILE to it)",
        options.public_key_out
    );
    for spec in &specs {
        println!(
            "  workspace {} with {} entities",
            spec.workspace_id,
            spec.entity_count()
        );
    }
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    for spec in &specs {
        let recorder = standin.recorder();
        let ws = &spec.workspace_id;
        println!(
            "{ws}: {} requests, peak {}/s, mean {:.1}/s, {} answered 429",
            recorder.count(ws),
            recorder.peak_rate(ws),
            recorder.mean_rate(ws),
            recorder.too_many_requests(ws)
        );
    }
    standin.stop().await;
    Ok(())
}
