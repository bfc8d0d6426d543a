//! The freshness sweep: every `FRESHNESS_SWEEP_SECS`, any worker (each claim goes through the
//! database, so workers never double up) retries the extra webhook registrations that are due and
//! starts the reconciliation passes whose slot has come (`RECONCILE_INTERVAL`, each workspace
//! offset by a hash of its id so they do not all start together).

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use common::db::{bootstrap_jobs, webhook_registrations};

use crate::jobs::register_webhooks;
use crate::publish::publish_jobs;
use crate::state::WorkerState;

/// Registrations one sweep attempts at most.
const REGISTRATIONS_PER_SWEEP: i64 = 50;

/// Runs until `shutdown`.
pub async fn run_freshness_sweep(state: WorkerState, shutdown: CancellationToken) {
    match plan_installations(&state).await {
        Ok(0) => {}
        Ok(added) => tracing::info!(
            added,
            "webhook registrations planned for earlier installations"
        ),
        Err(error) => tracing::warn!(error = %error, "could not plan webhook registrations"),
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(state.config.freshness.sweep_interval) => {}
        }
        if let Err(error) = retry_registrations(&state).await {
            tracing::warn!(error = %error, "freshness sweep could not retry webhook registrations");
        }
        if let Err(error) = start_due_passes(&state).await {
            tracing::warn!(error = %error, "freshness sweep could not start reconciliation passes");
        }
    }
}

/// Installations from before the plan (or a change of it) get its registrations.
async fn plan_installations(state: &WorkerState) -> anyhow::Result<u64> {
    let events: Vec<&str> = state
        .config
        .extra_webhook_events
        .iter()
        .map(|e| e.as_str())
        .collect();
    let mut conn = state.db.acquire().await?;
    Ok(webhook_registrations::plan_everywhere(&mut conn, &events).await?)
}

async fn retry_registrations(state: &WorkerState) -> anyhow::Result<()> {
    let claimed = webhook_registrations::claim_due(&state.db, REGISTRATIONS_PER_SWEEP).await?;
    let mut by_workspace: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for registration in claimed {
        by_workspace
            .entry(registration.workspace_id.clone())
            .or_default()
            .push(registration);
    }
    for (workspace_id, claimed) in by_workspace {
        register_webhooks::attempt(state, &workspace_id, &claimed).await?;
    }
    Ok(())
}

async fn start_due_passes(state: &WorkerState) -> anyhow::Result<()> {
    let settings = &state.config.freshness;
    let interval = i64::try_from(state.config.coverage.reconcile_interval().as_secs())
        .unwrap_or(i64::MAX)
        .max(1);
    let due = bootstrap_jobs::due_for_reconcile(&state.db, interval, settings.max_starts_per_sweep)
        .await?;
    for workspace_id in due {
        let mut tx = state.db.begin().await?;
        let started = common::bootstrap_start::start_reconcile(
            &mut tx,
            &workspace_id,
            "schedule",
            "reconcile-schedule",
            settings.feed_lag,
        )
        .await?;
        tx.commit().await?;
        if started.created {
            tracing::info!(workspace_id, job_id = %started.job_id, "scheduled reconciliation pass started");
            publish_jobs(state, &started.messages).await;
        }
    }
    Ok(())
}
