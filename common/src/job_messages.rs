//! Job messages: bootstrap units, API Studio calls and webhook registrations, consumed by workers
//! from queues of their own so a long bootstrap never delays events. The rows they name live in
//! `db`.
//!
//! A job message names its work; the work itself (and every secret it needs) stays in Postgres.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::messages::ENVELOPE_VERSION;

/// One job on the bootstrap or API-call queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    pub v: u16,
    pub message_id: Uuid,
    pub workspace_id: String,
    pub request_id: String,
    pub enqueued_at: DateTime<Utc>,
    pub job: Job,
}

impl JobMessage {
    pub fn new(workspace_id: &str, request_id: &str, job: Job) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            message_id: Uuid::now_v7(),
            workspace_id: workspace_id.to_owned(),
            request_id: request_id.to_owned(),
            enqueued_at: Utc::now(),
            job,
        }
    }

    /// Which queue carries it.
    pub fn queue(&self) -> JobQueue {
        match self.job {
            Job::ApiCall { .. } => JobQueue::ApiCalls,
            Job::BootstrapUnit { .. }
            | Job::RegisterWebhooks { .. }
            | Job::DeleteWebhooks
            | Job::ReplayWorkspace { .. } => JobQueue::Bootstrap,
        }
    }
}

/// The two job queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobQueue {
    Bootstrap,
    ApiCalls,
}

impl JobQueue {
    pub fn label(self) -> &'static str {
        match self {
            JobQueue::Bootstrap => "bootstrap",
            JobQueue::ApiCalls => "api_calls",
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Import one unit of a bootstrap (a list, or the tasks of a project, or a user's entries).
    BootstrapUnit { job_id: Uuid, unit_key: String },
    /// Execute a recorded API Studio call. The viewer's token it runs with stays sealed in the
    /// call's row; it is never part of the message.
    ApiCall { call_id: Uuid },
    /// Attempt the due extra webhook registrations (`webhook_registrations`) of installation
    /// `addon_id`.
    RegisterWebhooks { addon_id: String },
    /// Delete the webhooks an uninstalled installation had registered (`webhook_deletions`).
    DeleteWebhooks,
    /// Re-apply the workspace's event log over the range recorded in `workspace_replays`.
    ReplayWorkspace { replay_id: Uuid },
}
