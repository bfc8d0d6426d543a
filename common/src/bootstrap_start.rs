//! Starting and reading bootstrap jobs, shared by ingress (which starts them on request) and
//! workers (which start them on install and run them). One running job per workspace: asking
//! again returns it. The rows are `db::bootstrap_jobs` and `db::bootstrap_units`.

use chrono::{DateTime, SubsecRound as _, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db::bootstrap_jobs::{self, JobMode, JobStatus};
use crate::db::bootstrap_units::{self, KindProgress};
use crate::db::reconcile_changes::{self, KindChanges};
use crate::job_messages::{Job, JobMessage};

/// A job just started or the one already running.
#[derive(Debug, Clone)]
pub struct StartedJob {
    pub job_id: Uuid,
    /// False when a running job already existed and was returned instead.
    pub created: bool,
    /// Messages to publish after the transaction commits (empty when not created).
    pub messages: Vec<JobMessage>,
}

/// Starts a bootstrap of `workspace_id` inside the caller's transaction, or returns the running one.
pub async fn start_job(
    conn: &mut PgConnection,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
) -> sqlx::Result<StartedJob> {
    let job_id = Uuid::now_v7();
    if !bootstrap_jobs::insert_running(&mut *conn, job_id, workspace_id, requested_by, request_id)
        .await?
    {
        let running = bootstrap_jobs::running_id(&mut *conn, workspace_id).await?;
        return Ok(StartedJob {
            job_id: running,
            created: false,
            messages: vec![],
        });
    }
    // Tasks, time entries and balances are added as projects, users and policies are found.
    let keys: Vec<&str> = crate::bootstrap_kinds::root_keys().collect();
    let messages = add_units(conn, workspace_id, job_id, &keys, request_id).await?;
    Ok(StartedJob {
        job_id,
        created: true,
        messages,
    })
}

/// Feeds older than this are not trusted to reach back: the pass re-reads the time entries.
const MAX_FEED_RANGE: chrono::Duration = chrono::Duration::days(30);

/// Starts a reconciliation pass of `workspace_id` inside the caller's transaction, or returns
/// the running job (a bootstrap or another pass). The time entries are read from the change feeds
/// from where the copy is known complete up to `feed_lag` ago; without such a baseline (or one
/// older than 30 days) they are re-read per user as a bootstrap reads them.
pub async fn start_reconcile(
    conn: &mut PgConnection,
    workspace_id: &str,
    requested_by: &str,
    request_id: &str,
    feed_lag: std::time::Duration,
) -> sqlx::Result<StartedJob> {
    let job_id = Uuid::now_v7();
    // Whole seconds, as the feeds are asked (`yyyy-MM-ddThh:mm:ssZ`): the next pass starts where
    // this one's range really ended.
    let end =
        (Utc::now() - chrono::Duration::from_std(feed_lag).unwrap_or_default()).trunc_subsecs(0);
    let feed = bootstrap_jobs::time_entries_known_until(&mut *conn, workspace_id)
        .await?
        .filter(|start| *start < end && end - *start <= MAX_FEED_RANGE)
        .map(|start| (start, end));
    if !bootstrap_jobs::insert_running_reconcile(
        &mut *conn,
        job_id,
        workspace_id,
        requested_by,
        request_id,
        feed,
    )
    .await?
    {
        let running = bootstrap_jobs::running_id(&mut *conn, workspace_id).await?;
        return Ok(StartedJob {
            job_id: running,
            created: false,
            messages: vec![],
        });
    }
    let keys: Vec<&str> = crate::bootstrap_kinds::reconcile_root_keys(feed.is_some()).collect();
    let messages = add_units(conn, workspace_id, job_id, &keys, request_id).await?;
    Ok(StartedJob {
        job_id,
        created: true,
        messages,
    })
}

/// Adds units to a job (ignoring ones it has) and returns the messages that run them.
pub async fn add_units(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
    unit_keys: &[&str],
    request_id: &str,
) -> sqlx::Result<Vec<JobMessage>> {
    let kinds: Vec<&str> = unit_keys.iter().map(|k| unit_kind(k)).collect();
    let added =
        bootstrap_units::insert_pending(&mut *conn, workspace_id, job_id, unit_keys, &kinds)
            .await?;
    Ok(added
        .into_iter()
        .map(|unit_key| {
            JobMessage::new(
                workspace_id,
                request_id,
                Job::BootstrapUnit { job_id, unit_key },
            )
        })
        .collect())
}

/// The kind a unit imports, as its progress is labelled: `tasks:p1` imports tasks.
pub fn unit_kind(unit_key: &str) -> &'static str {
    crate::bootstrap_kinds::parse_unit(unit_key).map_or("unknown", |(kind, _)| kind.key)
}

/// A job's state for the API: status and progress per kind.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: Uuid,
    pub mode: JobMode,
    pub status: JobStatus,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Vec<KindProgress>,
}

/// The latest job of a workspace with its progress.
pub async fn latest_job(
    conn: &mut PgConnection,
    workspace_id: &str,
) -> sqlx::Result<Option<JobView>> {
    let Some(job) = bootstrap_jobs::latest(&mut *conn, workspace_id).await? else {
        return Ok(None);
    };
    let progress = bootstrap_units::progress(&mut *conn, workspace_id, job.id).await?;
    Ok(Some(JobView {
        id: job.id,
        mode: job.mode,
        status: job.status,
        requested_by: job.requested_by,
        created_at: job.created_at,
        finished_at: job.finished_at,
        progress,
    }))
}

/// A reconciliation pass as the API shows it: its job and what it changed per kind.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassView {
    pub id: Uuid,
    pub status: JobStatus,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Vec<KindProgress>,
    pub changes: Vec<KindChanges>,
}

/// The workspace's latest reconciliation passes (newest first), each with its changes.
pub async fn latest_passes(
    conn: &mut PgConnection,
    workspace_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<PassView>> {
    let jobs = bootstrap_jobs::latest_passes(&mut *conn, workspace_id, limit).await?;
    let mut passes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let progress = bootstrap_units::progress(&mut *conn, workspace_id, job.id).await?;
        let changes = reconcile_changes::for_job(&mut *conn, workspace_id, job.id).await?;
        passes.push(PassView {
            id: job.id,
            status: job.status,
            requested_by: job.requested_by,
            created_at: job.created_at,
            finished_at: job.finished_at,
            progress,
            changes,
        });
    }
    Ok(passes)
}
