//! `simulator load`: drives signed webhooks through ingress and workers and reports what the
//! system sustains, optionally beside the raw limits of the broker and the database it sits on.
//!
//! Order of a run: the raw limits (nothing of the system running), then the system (started
//! here or already running), the installs, the send phase, and the wait until every accepted
//! event is in the database (`drive`). [`steady`] is the same signed load run in the background
//! until stopped, for the restart drills.

mod drive;
mod http1;
mod options;
mod raw;
mod report;
mod scrape;
pub mod steady;
mod system;
mod usage;
mod wal;
mod watch;
mod webhooks;

use std::time::Duration;

use crate::signer::ClockifySigner;

use options::describe;
pub use options::{HELP, LoadOptions, Pace, Parsed, parse_args};
use report::LoadReport;
use report::step;
use usage::CpuSample;
use watch::services;
pub use webhooks::{install_all, workspace_ids};

const ADDON_KEY: &str = "clockify-api-studio";
/// Concurrent writers of the database measurement: one per event partition, as workers run.
const DATABASE_WRITERS: usize = 8;

/// Runs the load described by `options` and prints the report.
pub async fn run_load(options: LoadOptions) -> anyhow::Result<()> {
    let signer = ClockifySigner::test_key(ADDON_KEY);
    let vars = system::system_vars(
        &signer,
        &options.url,
        &options.database_url,
        &options.queue_prefix,
    )?;
    let config = common::config::Config::from_vars(&vars)?;
    let ids = webhooks::workspace_ids(options.workspaces, config.event_partitions);
    let mut report = LoadReport {
        setup: describe(&options),
        message_bytes: raw::webhook_message(&ids[0], 0)?.len(),
        ..LoadReport::default()
    };

    // Other work on the machine shares its cores with the run: say so rather than hide it.
    let before = CpuSample::take();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = before.until(&CpuSample::take(), &[]);
    if idle.machine_busy > 15.0 {
        println!(
            "warning: the machine was {:.0}% busy before the run (mostly {}); figures share it",
            idle.machine_busy,
            idle.others
                .first()
                .map(|(name, _)| name.as_str())
                .unwrap_or("the kernel")
        );
    }

    if options.raw_limits {
        step(&format!(
            "raw broker: confirmed persistent publishes, {} channels, {} in flight, {:.0} s",
            config.publish_channels,
            options.concurrency,
            options.duration.as_secs_f64()
        ));
        report.broker_raw = Some(
            raw::broker_rate(
                &config,
                &ids,
                config.publish_channels,
                options.concurrency,
                options.duration,
                &services(&[]),
            )
            .await?,
        );

        step(&format!(
            "raw database: {DATABASE_WRITERS} writers, transactions of 250 events, {:.0} s",
            options.duration.as_secs_f64()
        ));
        let (rate, cpu, wal) = raw::database_rate(
            &options.database_url,
            &ids,
            DATABASE_WRITERS,
            options.duration,
            &services(&[]),
        )
        .await?;
        report.database_raw = Some((rate, cpu));
        report.database_raw_wal = Some(wal);
    }

    let mut system = if options.start_system {
        step(&format!(
            "starting ingress and {} workers on a fresh database and queue prefix `{}`",
            options.workers, options.queue_prefix
        ));
        system::reset(&config).await?;
        Some(system::start(&vars, options.workers).await?)
    } else {
        None
    };
    let outcome = drive::drive(&options, signer, &ids, &vars, system.as_mut(), &mut report).await;
    if let Some(system) = system {
        report.memory = system.peak_memory();
        system.stop().await;
        system::delete_queues(&config, &common::broker::QueueNames::from_config(&config)).await?;
    }
    outcome?;
    report.print();
    Ok(())
}
