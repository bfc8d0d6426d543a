//! The statements of `entities` a reconciliation pass runs: comparing a page with the copy,
//! marking deleted what a finished list or a change feed says is gone, and the children of
//! deleted parents. None overwrites a version observed after the pass's read.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// What a reconciliation page changed: the ids it added and the ids it updated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: Vec<String>,
    pub updated: Vec<String>,
}

/// Compares a page a reconciliation read at `read_at` with the copy: a missing entity is added, a
/// different or deleted one replaced, an equal one left alone (nothing written), and a stored
/// version observed after the read (a webhook that arrived meanwhile) kept.
pub async fn reconcile_page(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
    items: &[(String, Value)],
    read_at: DateTime<Utc>,
) -> sqlx::Result<Reconciled> {
    if items.is_empty() {
        return Ok(Reconciled::default());
    }
    let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
    let data: Vec<&Value> = items.iter().map(|(_, v)| v).collect();
    let hashes: Vec<String> = items
        .iter()
        .map(|(_, v)| crate::crypto::sha256_hex(v.to_string().as_bytes()))
        .collect();
    let rows = sqlx::query!(
        r#"insert into entities (workspace_id, kind, entity_id, data, deleted, body_sha256, source, observed_at)
           select $1, $2, i, d, false, h, 'reconcile', $6
           from unnest($3::text[], $4::jsonb[], $5::text[]) as t(i, d, h)
           on conflict (workspace_id, kind, entity_id) do update set
               data = excluded.data, deleted = false, body_sha256 = excluded.body_sha256,
               source = 'reconcile', observed_at = excluded.observed_at, updated_at = now()
           where entities.observed_at < excluded.observed_at
             and (entities.deleted or entities.data <> excluded.data)
           returning entity_id, (xmax = 0) as "inserted!""#,
        workspace_id,
        kind,
        &ids as _,
        &data as _,
        &hashes,
        read_at,
    )
    .fetch_all(executor)
    .await?;
    let mut changed = Reconciled::default();
    for row in rows {
        if row.inserted {
            changed.added.push(row.entity_id);
        } else {
            changed.updated.push(row.entity_id);
        }
    }
    Ok(changed)
}

/// Which stored entities a finished list may mark deleted: one kind, narrowed to one parent's
/// (`parent_field` = `parent`) and to items whose `timeInterval.start` lies in `window` (both
/// bounds as `yyyy-MM-ddThh:mm:ssZ`).
#[derive(Debug, Clone, Copy)]
pub struct ListScope<'a> {
    pub kind: &'a str,
    pub parent: Option<(&'a str, &'a str)>,
    pub window: Option<(&'a str, &'a str)>,
}

/// Marks deleted the live entities in `scope` that the reconciliation unit `unit_key` of job
/// `job_id` did not see, unless the copy's version was observed at or after `started_at` (when
/// the unit's first page was read). Returns their ids.
pub async fn mark_unseen_deleted(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    scope: ListScope<'_>,
    job_id: Uuid,
    unit_key: &str,
    started_at: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    let (parent_field, parent) = scope.parent.unzip();
    let (from, to) = scope.window.unzip();
    sqlx::query_scalar!(
        r#"update entities e
           set deleted = true, source = 'reconcile', observed_at = $3, updated_at = now()
           where e.workspace_id = $1 and e.kind = $2 and not e.deleted and e.observed_at < $3
             and ($4::text is null or e.data ->> $4 = $5)
             and ($6::text is null or (e.data -> 'timeInterval' ->> 'start') >= $6)
             and ($7::text is null or (e.data -> 'timeInterval' ->> 'start') <= $7)
             and not exists (select 1 from reconcile_seen s
                             where s.job_id = $8 and s.unit_key = $9 and s.entity_id = e.entity_id)
           returning e.entity_id"#,
        workspace_id,
        scope.kind,
        started_at,
        parent_field,
        parent,
        from,
        to,
        job_id,
        unit_key,
    )
    .fetch_all(executor)
    .await
}

/// Marks deleted the live entities `ids` (a change feed's deletions read at `read_at`), unless
/// the copy's version was observed after the read. Returns their ids.
pub async fn mark_ids_deleted(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
    ids: &[String],
    read_at: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        "update entities set deleted = true, source = 'reconcile', observed_at = $4, updated_at = now()
         where workspace_id = $1 and kind = $2 and entity_id = any($3) and not deleted
           and observed_at < $4
         returning entity_id",
        workspace_id,
        kind,
        ids,
        read_at,
    )
    .fetch_all(executor)
    .await
}

/// The ids of the workspace's live entities of `kind` (the users whose time entries a
/// reconciliation re-reads when a change feed fails).
pub async fn live_ids(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "select entity_id from entities where workspace_id = $1 and kind = $2 and not deleted
         order by entity_id",
        workspace_id,
        kind,
    )
    .fetch_all(executor)
    .await
}

/// Marks deleted the live `kind` entities whose parent (`parent_field` naming an entity of
/// `parent_kind`) the copy holds as deleted, unless observed at or after `before` (the pass's
/// start): the tasks of a deleted project, whose list is no longer read. Returns their ids.
pub async fn mark_orphans_deleted(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
    parent_kind: &str,
    parent_field: &str,
    before: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "update entities c
         set deleted = true, source = 'reconcile', observed_at = $5, updated_at = now()
         from entities p
         where c.workspace_id = $1 and c.kind = $2 and not c.deleted and c.observed_at < $5
           and p.workspace_id = $1 and p.kind = $3 and p.entity_id = c.data ->> $4 and p.deleted
         returning c.entity_id",
        workspace_id,
        kind,
        parent_kind,
        parent_field,
        before,
    )
    .fetch_all(executor)
    .await
}
