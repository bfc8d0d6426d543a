//! `event_log`: every message a worker handled, lifecycle callbacks and webhooks alike, with what
//! became of it. Its primary key makes a redelivered message a no-op.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use serde_json::value::RawValue;
use sqlx::types::Json;

use crate::db::entities::{EntityKey, EntityWrite};
use crate::json_text::JsonText;

/// Where a logged message came from (`event_log.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LogSource {
    Lifecycle,
    Webhook,
}

/// What became of a logged message (`event_log.outcome`). Redeliveries and dead letters are
/// never logged: the first is already there, the second never committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LogOutcome {
    Applied,
    Duplicate,
    Rejected,
    Ignored,
}

/// One `event_log` row.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub workspace_id: String,
    pub message_id: Uuid,
    pub source: LogSource,
    pub event_type: &'static str,
    pub entity_kind: Option<&'static str>,
    pub entity_id: Option<String>,
    pub outcome: LogOutcome,
    pub reason: Option<&'static str>,
    pub request_id: String,
    pub accepted_at: DateTime<Utc>,
    pub body_sha256: Option<String>,
    pub payload: Option<JsonText>,
}

/// The message ids among `message_ids` that a worker already handled: a batch skips them.
pub async fn already_logged(
    executor: impl PgExecutor<'_>,
    workspace_ids: &[String],
    message_ids: &[Uuid],
) -> sqlx::Result<HashSet<Uuid>> {
    let ids = sqlx::query_scalar!(
        "select message_id from event_log where workspace_id = any($1) and message_id = any($2)",
        workspace_ids,
        message_ids,
    )
    .fetch_all(executor)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Appends rows in one statement, so a batch costs one round trip; a row already there is left
/// as it is.
pub async fn insert_rows(executor: impl PgExecutor<'_>, rows: &[LogRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // Every column is bound from borrowed text: nothing is copied before the encoder does.
    let text = |f: fn(&LogRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let optional =
        |f: fn(&LogRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<Option<&str>>>();
    let message_ids: Vec<Uuid> = rows.iter().map(|r| r.message_id).collect();
    let sources: Vec<LogSource> = rows.iter().map(|r| r.source).collect();
    let outcomes: Vec<LogOutcome> = rows.iter().map(|r| r.outcome).collect();
    let accepted: Vec<DateTime<Utc>> = rows.iter().map(|r| r.accepted_at).collect();
    let payloads: Vec<Option<Json<&RawValue>>> = rows
        .iter()
        .map(|r| r.payload.as_deref().map(Json))
        .collect();
    sqlx::query!(
        "insert into event_log
             (workspace_id, message_id, source, event_type, entity_kind, entity_id, outcome, reason,
              request_id, accepted_at, body_sha256, payload)
         select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::jsonb[])
         on conflict (workspace_id, message_id) do nothing",
        &text(|r| &r.workspace_id) as _,
        &message_ids,
        &sources as &[LogSource],
        &text(|r| r.event_type) as _,
        &optional(|r| r.entity_kind) as _,
        &optional(|r| r.entity_id.as_deref()) as _,
        &outcomes as &[LogOutcome],
        &optional(|r| r.reason) as _,
        &text(|r| &r.request_id) as _,
        &accepted,
        &optional(|r| r.body_sha256.as_deref()) as _,
        // Borrowed, not cloned: a batch's payloads are the bulk of what it writes.
        &payloads as _,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// SQLSTATE of `studio_batch_fully_logged`'s refusal: a run held an id logged already.
const RUN_HAD_LOGGED_ID: &str = "SR001";

/// Writes a run of webhooks in one statement, without a transaction around it: their log rows
/// and the entity versions they staged (`entities::upsert_from_webhooks`'s shape and rule), but
/// only if none of the run's message ids is logged already. True when everything was written;
/// false when some id was logged (a redelivery): then nothing was, and the caller takes the
/// careful path. The log insert itself finds such an id (`ON CONFLICT DO NOTHING` takes fewer
/// rows than it was given) and `studio_batch_fully_logged` then ends the statement with an error,
/// so its entity writes are undone with it; a concurrent writer of the same ids is waited for.
pub async fn insert_webhook_run(
    executor: impl PgExecutor<'_>,
    rows: &[LogRow],
    writes: &[(EntityKey, EntityWrite)],
) -> sqlx::Result<bool> {
    if rows.is_empty() {
        return Ok(true);
    }
    // Every column is bound from borrowed text: nothing is copied before the encoder does.
    let text = |f: fn(&LogRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let optional =
        |f: fn(&LogRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<Option<&str>>>();
    let message_ids: Vec<Uuid> = rows.iter().map(|r| r.message_id).collect();
    let sources: Vec<LogSource> = rows.iter().map(|r| r.source).collect();
    let outcomes: Vec<LogOutcome> = rows.iter().map(|r| r.outcome).collect();
    let accepted: Vec<DateTime<Utc>> = rows.iter().map(|r| r.accepted_at).collect();
    let payloads: Vec<Option<Json<&RawValue>>> = rows
        .iter()
        .map(|r| r.payload.as_deref().map(Json))
        .collect();
    let mut e_workspaces = Vec::with_capacity(writes.len());
    let mut e_kinds = Vec::with_capacity(writes.len());
    let mut e_ids = Vec::with_capacity(writes.len());
    let mut e_data = Vec::with_capacity(writes.len());
    let mut e_deleted = Vec::with_capacity(writes.len());
    let mut e_hashes = Vec::with_capacity(writes.len());
    let mut e_observed = Vec::with_capacity(writes.len());
    let mut e_messages = Vec::with_capacity(writes.len());
    for (key, write) in writes {
        e_workspaces.push(key.workspace_id.as_str());
        e_kinds.push(key.kind);
        e_ids.push(key.entity_id.as_str());
        e_data.push(Json(&*write.data));
        e_deleted.push(write.deleted);
        e_hashes.push(write.body_sha256.as_str());
        e_observed.push(write.observed_at);
        e_messages.push(write.message_id);
    }
    let written = sqlx::query_scalar!(
        r#"with logged as (
               insert into event_log
                   (workspace_id, message_id, source, event_type, entity_kind, entity_id, outcome,
                    reason, request_id, accepted_at, body_sha256, payload)
               select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::text[], $8::text[], $9::text[],
                                    $10::timestamptz[], $11::text[], $12::jsonb[])
               on conflict (workspace_id, message_id) do nothing
               returning 1
           ), written as (
               insert into entities
                   (workspace_id, kind, entity_id, data, deleted, body_sha256, source, observed_at,
                    last_message_id)
               select w, k, i, d, x, h, 'webhook', o, m
               from unnest($13::text[], $14::text[], $15::text[], $16::jsonb[], $17::bool[],
                           $18::text[], $19::timestamptz[], $20::uuid[]) as t(w, k, i, d, x, h, o, m)
               on conflict (workspace_id, kind, entity_id) do update set
                   data = excluded.data,
                   deleted = excluded.deleted,
                   body_sha256 = excluded.body_sha256,
                   source = 'webhook',
                   observed_at = excluded.observed_at,
                   last_message_id = excluded.last_message_id,
                   updated_at = now()
               where entities.source = 'webhook' or entities.observed_at <= excluded.observed_at
               returning 1
           )
           select studio_batch_fully_logged((select count(*) from logged), cardinality($2::uuid[]))
               as "fully_logged!""#,
        &text(|r| &r.workspace_id) as _,
        &message_ids,
        &sources as &[LogSource],
        &text(|r| r.event_type) as _,
        &optional(|r| r.entity_kind) as _,
        &optional(|r| r.entity_id.as_deref()) as _,
        &outcomes as &[LogOutcome],
        &optional(|r| r.reason) as _,
        &text(|r| &r.request_id) as _,
        &accepted,
        &optional(|r| r.body_sha256.as_deref()) as _,
        &payloads as _,
        &e_workspaces as _,
        &e_kinds as _,
        &e_ids as _,
        &e_data as _,
        &e_deleted,
        &e_hashes as _,
        &e_observed,
        &e_messages,
    )
    .fetch_one(executor)
    .await;
    match written {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(RUN_HAD_LOGGED_ID) => {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// Forgets the workspace's log (on uninstall).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from event_log where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// How many webhooks the workers have handled in all: the demo and load tools count what is
/// persisted with it.
pub async fn count_webhooks(executor: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from event_log where source = 'webhook'"#)
        .fetch_one(executor)
        .await
}

/// The median and 99th percentile, in milliseconds, from a webhook's acceptance at ingress to
/// its commit, over webhooks accepted since `since`; `None` when there are none.
pub async fn webhook_latency_percentiles(
    executor: impl PgExecutor<'_>,
    since: DateTime<Utc>,
) -> sqlx::Result<Option<(f64, f64)>> {
    let row = sqlx::query!(
        "select percentile_cont(0.5) within group (order by ms) as p50,
                percentile_cont(0.99) within group (order by ms) as p99
         from (select extract(epoch from processed_at - accepted_at)::float8 * 1000 as ms
               from event_log where source = 'webhook' and accepted_at >= $1) as t",
        since,
    )
    .fetch_one(executor)
    .await?;
    Ok(row.p50.zip(row.p99))
}

/// How many of the workspace's messages ended with each outcome, for the demo's report.
pub async fn outcome_counts(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"select outcome, count(*) as "count!" from event_log where workspace_id = $1
           group by outcome order by outcome"#,
        workspace_id,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.outcome, row.count))
        .collect())
}

/// One applied webhook of the log, as a replay re-applies it.
#[derive(Debug, Clone)]
pub struct ReplayRow {
    pub message_id: Uuid,
    pub event_type: String,
    pub accepted_at: DateTime<Utc>,
    pub body_sha256: Option<String>,
    pub payload: Option<serde_json::Value>,
}

/// The next `limit` webhooks of `workspace_id` that were applied (or were duplicates of what was
/// stored) and accepted in `[from, to)`, after `(after_at, after_id)`, in acceptance order.
pub async fn replay_page(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<ReplayRow>> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        ReplayRow,
        "select message_id, event_type, accepted_at, body_sha256, payload from event_log
         where workspace_id = $1 and source = 'webhook' and outcome in ('applied', 'duplicate')
           and payload is not null and accepted_at >= $2 and accepted_at < $3
           and ($4::timestamptz is null or (accepted_at, message_id) > ($4, $5::uuid))
         order by accepted_at, message_id limit $6",
        workspace_id,
        from,
        to,
        after_at,
        after_id,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Deletes up to `limit` rows processed more than `days` days ago; how many went.
pub async fn purge_older_than(
    executor: impl PgExecutor<'_>,
    days: i32,
    limit: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from event_log where ctid = any(array(
             select ctid from event_log
             where processed_at < now() - make_interval(days => $1) limit $2))",
        days,
        limit,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// One received webhook as the sidebar's Events view shows it: no payload.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub message_id: Uuid,
    pub event_type: String,
    pub entity_kind: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub accepted_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
}

/// The workspace's latest webhooks, newest first.
pub async fn latest_webhooks(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<WebhookView>> {
    sqlx::query_as!(
        WebhookView,
        "select message_id, event_type, entity_kind, entity_id, outcome, reason, accepted_at, processed_at
         from event_log where workspace_id = $1 and source = 'webhook'
         order by accepted_at desc, message_id desc limit $2",
        workspace_id,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// How many webhooks of each type the workspace received since `since`.
pub async fn webhook_counts_since(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"select event_type, count(*) as "count!" from event_log
           where workspace_id = $1 and source = 'webhook' and accepted_at >= $2
           group by event_type order by event_type"#,
        workspace_id,
        since,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.event_type, row.count))
        .collect())
}
