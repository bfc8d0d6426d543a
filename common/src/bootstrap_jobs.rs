//! Bootstrap jobs in Postgres, shared by ingress (which starts them on request) and workers (which
//! start them on install and run them). One running job per workspace: asking again returns it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::jobs::{Job, JobMessage};

/// The units every bootstrap starts with; tasks and time entries are added as projects and users
/// are found.
pub const ROOT_UNITS: [&str; 4] = ["users", "projects", "clients", "tags"];

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
    let inserted: Option<(Uuid,)> = sqlx::query_as(
        "insert into bootstrap_jobs (id, workspace_id, status, requested_by, request_id)
         values ($1, $2, 'running', $3, $4)
         on conflict (workspace_id) where status = 'running' do nothing
         returning id",
    )
    .bind(job_id)
    .bind(workspace_id)
    .bind(requested_by)
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        let (running,): (Uuid,) = sqlx::query_as(
            "select id from bootstrap_jobs where workspace_id = $1 and status = 'running'",
        )
        .bind(workspace_id)
        .fetch_one(&mut *conn)
        .await?;
        return Ok(StartedJob {
            job_id: running,
            created: false,
            messages: vec![],
        });
    }
    let keys: Vec<&str> = ROOT_UNITS.to_vec();
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
    let added: Vec<(String,)> = sqlx::query_as(
        "insert into bootstrap_units (job_id, workspace_id, unit_key, kind, status)
         select $1, $2, k, kind, 'pending' from unnest($3::text[], $4::text[]) as u(k, kind)
         on conflict do nothing
         returning unit_key",
    )
    .bind(job_id)
    .bind(workspace_id)
    .bind(unit_keys)
    .bind(&kinds)
    .fetch_all(&mut *conn)
    .await?;
    Ok(added
        .into_iter()
        .map(|(unit_key,)| {
            JobMessage::new(
                workspace_id,
                request_id,
                Job::BootstrapUnit { job_id, unit_key },
            )
        })
        .collect())
}

/// The entity kind a unit imports: `tasks:p1` imports tasks.
pub fn unit_kind(unit_key: &str) -> &'static str {
    match unit_key.split(':').next().unwrap_or_default() {
        "users" => "users",
        "projects" => "projects",
        "clients" => "clients",
        "tags" => "tags",
        "tasks" => "tasks",
        "time_entries" => "time_entries",
        _ => "unknown",
    }
}

/// A job's state for the API: status and progress per kind.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: Uuid,
    pub status: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Vec<KindProgress>,
}

/// Progress of one kind: units (a list, or one per project / user), pages and items read.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct KindProgress {
    pub kind: String,
    pub units: i64,
    pub units_done: i64,
    pub units_failed: i64,
    pub pages: i64,
    pub items: i64,
    pub errors: Vec<String>,
}

/// The latest job of a workspace with its progress.
pub async fn latest_job(
    conn: &mut PgConnection,
    workspace_id: &str,
) -> sqlx::Result<Option<JobView>> {
    #[derive(sqlx::FromRow)]
    struct JobRow {
        id: Uuid,
        status: String,
        requested_by: String,
        created_at: DateTime<Utc>,
        finished_at: Option<DateTime<Utc>>,
    }
    let job: Option<JobRow> = sqlx::query_as(
        "select id, status, requested_by, created_at, finished_at from bootstrap_jobs
         where workspace_id = $1 order by created_at desc limit 1",
    )
    .bind(workspace_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(JobRow {
        id,
        status,
        requested_by,
        created_at,
        finished_at,
    }) = job
    else {
        return Ok(None);
    };
    let progress: Vec<KindProgress> = sqlx::query_as(
        "select kind, count(*) as units,
                count(*) filter (where status = 'done') as units_done,
                count(*) filter (where status = 'failed') as units_failed,
                coalesce(sum(pages), 0)::bigint as pages, coalesce(sum(items), 0)::bigint as items,
                coalesce(array_agg(unit_key || ': ' || error) filter (where error is not null), '{}') as errors
         from bootstrap_units where workspace_id = $1 and job_id = $2
         group by kind order by kind",
    )
    .bind(workspace_id)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(JobView {
        id,
        status,
        requested_by,
        created_at,
        finished_at,
        progress,
    }))
}
