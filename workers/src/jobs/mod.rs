//! The job handlers, one file per job kind, and the dispatch from a job message to its handler.
//! Each returns a [`Disposition`]; an error is a failure that says nothing about the job (the
//! database away, say), which the consumer retries later.

pub mod api_call;
pub mod bootstrap_unit;
pub mod delete_webhooks;
pub mod register_webhooks;
pub mod replay_workspace;

use clockify_client::worker_slot::WorkerSlot;
use tokio_util::sync::CancellationToken;

use common::job_messages::{Job, JobMessage};

use crate::disposition::Disposition;
use crate::state::WorkerState;

/// Runs the job `message` names; `slot` is its consumer slot, lent out while a bootstrap page
/// waits for the workspace's rate limit.
pub async fn run(
    state: &WorkerState,
    message: &JobMessage,
    slot: &WorkerSlot,
    shutdown: &CancellationToken,
) -> anyhow::Result<Disposition> {
    let workspace_id = message.workspace_id.as_str();
    match &message.job {
        Job::BootstrapUnit { job_id, unit_key } => {
            bootstrap_unit::run_unit(
                state,
                workspace_id,
                &message.request_id,
                *job_id,
                unit_key,
                slot,
                shutdown,
            )
            .await
        }
        Job::ApiCall { call_id } => api_call::run_api_call(state, workspace_id, *call_id).await,
        Job::RegisterWebhooks { addon_id } => {
            register_webhooks::register(state, workspace_id, addon_id).await
        }
        Job::DeleteWebhooks => delete_webhooks::delete_registered(state, workspace_id).await,
        Job::ReplayWorkspace { replay_id } => {
            replay_workspace::replay(state, workspace_id, *replay_id, shutdown).await
        }
    }
}
