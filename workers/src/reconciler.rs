//! Republishes bootstrap units whose message was lost between a commit and its publish (a crash
//! in that window, or the broker away): pending units of running jobs in which nothing has
//! moved for 30 seconds. It also ends API Studio calls nobody will run any more (see
//! [`expire_abandoned_calls`]), so their sealed tokens are erased and their workspace's cap freed.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use common::db::bootstrap_units::{StalledUnit, claim_stalled};
use common::job_messages::{Job, JobMessage};

use crate::jobs::api_call::expire_abandoned_calls;
use crate::publish::publish_jobs;
use crate::state::WorkerState;

const IDLE_SECS: i32 = 30;

/// Runs until `shutdown`, checking every 15 seconds.
pub async fn run_reconciler(state: WorkerState, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(15)) => {}
        }
        match expire_abandoned_calls(&state.db).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(calls = ended, "ended studio calls whose token expired"),
            Err(error) => tracing::warn!(error = %error, "reconciler could not end expired calls"),
        }
        match claim_stalled(&state.db, IDLE_SECS).await {
            Ok(stalled) if !stalled.is_empty() => {
                tracing::info!(
                    units = stalled.len(),
                    "republishing stalled bootstrap units"
                );
                let messages: Vec<JobMessage> = stalled
                    .into_iter()
                    .map(
                        |StalledUnit {
                             workspace_id,
                             job_id,
                             unit_key,
                         }| {
                            JobMessage::new(
                                &workspace_id,
                                "reconciler",
                                Job::BootstrapUnit { job_id, unit_key },
                            )
                        },
                    )
                    .collect();
                publish_jobs(&state, &messages).await;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "reconciler could not read stalled units"),
        }
    }
}
