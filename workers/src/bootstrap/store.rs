//! Bootstrap units in Postgres: page checkpoints, entity upserts and job completion.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// A unit's state as a runner sees it.
#[derive(Debug, Clone)]
pub struct UnitState {
    pub status: String,
    pub next_page: i32,
    pub job_status: String,
    pub job_created_at: DateTime<Utc>,
}

pub async fn load_unit(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
) -> sqlx::Result<Option<UnitState>> {
    let row: Option<(String, i32, String, DateTime<Utc>)> = sqlx::query_as(
        "select u.status, u.next_page, j.status, j.created_at
         from bootstrap_units u join bootstrap_jobs j on j.id = u.job_id
         where u.workspace_id = $1 and u.job_id = $2 and u.unit_key = $3",
    )
    .bind(workspace_id)
    .bind(job_id)
    .bind(unit_key)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(
        |(status, next_page, job_status, job_created_at)| UnitState {
            status,
            next_page,
            job_status,
            job_created_at,
        },
    ))
}

/// Upserts a page of entities read at `read_at`: a stored row observed later (a newer webhook)
/// is kept.
pub async fn upsert_bootstrap_entities(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
    items: &[(String, Value)],
    read_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
    let data: Vec<&Value> = items.iter().map(|(_, v)| v).collect();
    let hashes: Vec<String> = items
        .iter()
        .map(|(_, v)| common::crypto::sha256_hex(v.to_string().as_bytes()))
        .collect();
    sqlx::query(
        "insert into entities (workspace_id, kind, entity_id, data, deleted, body_sha256, source, observed_at)
         select $1, $2, i, d, false, h, 'bootstrap', $6
         from unnest($3::text[], $4::jsonb[], $5::text[]) as t(i, d, h)
         on conflict (workspace_id, kind, entity_id) do update set
             data = excluded.data, deleted = false, body_sha256 = excluded.body_sha256,
             source = 'bootstrap', observed_at = excluded.observed_at, updated_at = now()
         where entities.observed_at < excluded.observed_at",
    )
    .bind(workspace_id)
    .bind(kind)
    .bind(&ids)
    .bind(&data)
    .bind(&hashes)
    .bind(read_at)
    .execute(executor)
    .await?;
    Ok(())
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
    page: i32,
    items: usize,
    done: bool,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "update bootstrap_units
         set next_page = next_page + 1, pages = pages + 1, items = items + $5,
             status = case when $6 then 'done' else status end, updated_at = now()
         where workspace_id = $1 and job_id = $2 and unit_key = $3 and next_page = $4
           and status = 'pending'",
    )
    .bind(workspace_id)
    .bind(job_id)
    .bind(unit_key)
    .bind(page)
    .bind(items as i32)
    .bind(done)
    .execute(executor)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Ends a unit with a reason (`failed`) or because its job ended (`cancelled`).
pub async fn end_unit(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    status: &str,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bootstrap_units set status = $4, error = $5, updated_at = now()
         where workspace_id = $1 and job_id = $2 and unit_key = $3 and status = 'pending'",
    )
    .bind(workspace_id)
    .bind(job_id)
    .bind(unit_key)
    .bind(status)
    .bind(error)
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends the job when no unit is pending; returns its final status when this call ended it.
/// The job row is locked first, so two units finishing at once cannot both miss the end.
pub async fn finish_job_if_complete(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Option<String>> {
    let status: Option<String> = sqlx::query_scalar(
        "select status from bootstrap_jobs where workspace_id = $1 and id = $2 for update",
    )
    .bind(workspace_id)
    .bind(job_id)
    .fetch_optional(&mut *conn)
    .await?;
    if status.as_deref() != Some("running") {
        return Ok(None);
    }
    let (pending, failed, total): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'pending'), count(*) filter (where status = 'failed'), count(*)
         from bootstrap_units where workspace_id = $1 and job_id = $2",
    )
    .bind(workspace_id)
    .bind(job_id)
    .fetch_one(&mut *conn)
    .await?;
    if pending > 0 {
        return Ok(None);
    }
    let outcome = if failed == 0 {
        "completed"
    } else if failed == total {
        "failed"
    } else {
        "completed_with_errors"
    };
    sqlx::query("update bootstrap_jobs set status = $3, finished_at = now(), updated_at = now() where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(job_id)
        .bind(outcome)
        .execute(&mut *conn)
        .await?;
    Ok(Some(outcome.to_owned()))
}

/// Pending units of running jobs in which nothing has moved for `idle_secs`: their messages were
/// lost between a commit and its publish (a crash in that window, or the broker away). A job
/// with any recent progress is alive and its pending units are queued, so they are left alone.
/// Touched when claimed, so each is republished at most once a period.
pub async fn claim_stalled_units(
    executor: impl PgExecutor<'_>,
    idle_secs: i32,
) -> sqlx::Result<Vec<(String, Uuid, String)>> {
    sqlx::query_as(
        "update bootstrap_units u set updated_at = now()
         from bootstrap_jobs j
         where j.id = u.job_id and j.workspace_id = u.workspace_id and j.status = 'running'
           and u.status = 'pending'
           and not exists (
               select 1 from bootstrap_units r
               where r.job_id = u.job_id and r.updated_at > now() - make_interval(secs => $1))
         returning u.workspace_id, u.job_id, u.unit_key",
    )
    .bind(f64::from(idle_secs))
    .fetch_all(executor)
    .await
}
