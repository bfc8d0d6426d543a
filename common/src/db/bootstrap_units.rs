//! `bootstrap_units`: the units a bootstrap job is split into (one list, the tasks of one
//! project, the time entries of one user), each checkpointed page by page so a unit whose worker
//! died resumes where it stopped.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::bootstrap_jobs::{JobMode, JobStatus};

/// Where a unit stands (`bootstrap_units.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum UnitStatus {
    Pending,
    Done,
    /// Ended with a reason (`error`).
    Failed,
    /// Ended because its job ended.
    Cancelled,
    /// Clockify answered 403 or 404 for the kind: the workspace's plan does not offer it. Does
    /// not count against the job's outcome.
    NotAvailable,
}

/// Adds units (`unit_keys`, each with the entity kind it imports) to a job, ignoring ones it
/// has; returns the keys added, whose messages the caller publishes after commit.
pub async fn insert_pending(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_keys: &[&str],
    kinds: &[&str],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "insert into bootstrap_units (job_id, workspace_id, unit_key, kind, status)
         select $1, $2, k, kind, 'pending' from unnest($3::text[], $4::text[]) as u(k, kind)
         on conflict do nothing
         returning unit_key",
        job_id,
        workspace_id,
        unit_keys as _,
        kinds as _,
    )
    .fetch_all(executor)
    .await
}

/// Progress of one kind: units (a list, or one per project / user), pages and items read.
#[derive(Debug, Clone, Serialize)]
pub struct KindProgress {
    pub kind: String,
    pub units: i64,
    pub units_done: i64,
    pub units_failed: i64,
    /// Units of a kind the workspace's plan does not offer.
    pub units_not_available: i64,
    pub pages: i64,
    pub items: i64,
    pub errors: Vec<String>,
}

/// A job's progress per kind, for the bootstrap API.
pub async fn progress(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Vec<KindProgress>> {
    sqlx::query_as!(
        KindProgress,
        r#"select kind, count(*) as "units!",
                  count(*) filter (where status = 'done') as "units_done!",
                  count(*) filter (where status = 'failed') as "units_failed!",
                  count(*) filter (where status = 'not_available') as "units_not_available!",
                  coalesce(sum(pages), 0)::bigint as "pages!", coalesce(sum(items), 0)::bigint as "items!",
                  coalesce(array_agg(unit_key || ': ' || error) filter (where error is not null), '{}') as "errors!"
           from bootstrap_units where workspace_id = $1 and job_id = $2
           group by kind order by kind"#,
        workspace_id,
        job_id,
    )
    .fetch_all(executor)
    .await
}

/// A unit's state as a runner sees it, with its job's.
#[derive(Debug, Clone)]
pub struct UnitState {
    pub status: UnitStatus,
    pub next_page: i32,
    /// When its first page was read (none before).
    pub started_at: Option<DateTime<Utc>>,
    pub job_status: JobStatus,
    pub job_mode: JobMode,
    pub job_created_at: DateTime<Utc>,
    pub feed_start: Option<DateTime<Utc>>,
    pub feed_end: Option<DateTime<Utc>>,
}

/// The unit and its job, read before each page.
pub async fn load_with_job(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
) -> sqlx::Result<Option<UnitState>> {
    sqlx::query_as!(
        UnitState,
        r#"select u.status as "status: UnitStatus", u.next_page, u.started_at,
                  j.status as "job_status: JobStatus", j.mode as "job_mode: JobMode",
                  j.created_at as job_created_at, j.feed_start, j.feed_end
           from bootstrap_units u join bootstrap_jobs j on j.id = u.job_id
           where u.workspace_id = $1 and u.job_id = $2 and u.unit_key = $3"#,
        workspace_id,
        job_id,
        unit_key,
    )
    .fetch_optional(executor)
    .await
}

/// A page read and stored: its number, how many items it held, whether it ended the list, and
/// when it was read (the unit's first read is kept as `started_at`).
#[derive(Debug, Clone, Copy)]
pub struct PageDone {
    pub page: i32,
    pub items: i32,
    pub last: bool,
    pub read_at: DateTime<Utc>,
}

/// Records a committed page: the checkpoint moves on, and the unit is done after a short page.
///
/// Optimistic: it applies only if the unit still expects `page` and is pending. `false` means
/// another runner of the same unit (a duplicate message) committed that page first, or an
/// uninstall purged the unit; the caller then rolls back, so no page is counted twice or skipped
/// and none is written after a purge. (The purge deletes the units before the entities: it either
/// waits for this row lock and then purges the committed page, or deletes the row first and this
/// update finds nothing.)
pub async fn checkpoint_page(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    page: &PageDone,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update bootstrap_units
         set next_page = next_page + 1, pages = pages + 1, items = items + $5,
             status = case when $6 then 'done' else status end, updated_at = now(),
             started_at = coalesce(started_at, $7)
         where workspace_id = $1 and job_id = $2 and unit_key = $3 and next_page = $4
           and status = 'pending'",
        workspace_id,
        job_id,
        unit_key,
        page.page,
        page.items,
        page.last,
        page.read_at,
    )
    .execute(executor)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Ends a pending unit as done with a note (a change feed that failed and was replaced by a
/// re-read).
pub async fn end_done_with_note(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    note: &str,
) -> sqlx::Result<()> {
    end_pending(
        executor,
        workspace_id,
        job_id,
        unit_key,
        UnitStatus::Done,
        Some(note),
    )
    .await
}

/// Ends a pending unit as `status` (failed or not available, with a reason, or cancelled because
/// its job ended).
pub async fn end_pending(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    status: UnitStatus,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update bootstrap_units set status = $4, error = $5, updated_at = now()
         where workspace_id = $1 and job_id = $2 and unit_key = $3 and status = 'pending'",
        workspace_id,
        job_id,
        unit_key,
        status as UnitStatus,
        error,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// How a job's units stand, which decides whether and how it ends.
#[derive(Debug, Clone, Copy)]
pub struct UnitCounts {
    pub pending: i64,
    pub failed: i64,
    pub not_available: i64,
    pub total: i64,
}

/// Counts the job's units by state.
pub async fn count_by_state(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<UnitCounts> {
    sqlx::query_as!(
        UnitCounts,
        r#"select count(*) filter (where status = 'pending') as "pending!",
                  count(*) filter (where status = 'failed') as "failed!",
                  count(*) filter (where status = 'not_available') as "not_available!",
                  count(*) as "total!"
           from bootstrap_units where workspace_id = $1 and job_id = $2"#,
        workspace_id,
        job_id,
    )
    .fetch_one(executor)
    .await
}

/// A pending unit whose message is to be published again.
#[derive(Debug, Clone)]
pub struct StalledUnit {
    pub workspace_id: String,
    pub job_id: Uuid,
    pub unit_key: String,
}

/// Pending units of running jobs in which nothing has moved for `idle_secs`: their messages were
/// lost between a commit and its publish (a crash in that window, or the broker away). A job
/// with any recent progress is alive and its pending units are queued, so they are left alone.
/// Touched when claimed, so each is republished at most once a period.
pub async fn claim_stalled(
    executor: impl PgExecutor<'_>,
    idle_secs: i32,
) -> sqlx::Result<Vec<StalledUnit>> {
    sqlx::query_as!(
        StalledUnit,
        "update bootstrap_units u set updated_at = now()
         from bootstrap_jobs j
         where j.id = u.job_id and j.workspace_id = u.workspace_id and j.status = 'running'
           and u.status = 'pending'
           and not exists (
               select 1 from bootstrap_units r
               where r.job_id = u.job_id and r.updated_at > now() - make_interval(secs => $1))
         returning u.workspace_id, u.job_id, u.unit_key",
        f64::from(idle_secs),
    )
    .fetch_all(executor)
    .await
}
