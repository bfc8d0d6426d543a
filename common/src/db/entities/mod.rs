//! `entities`: the workspace's entities, written by webhooks and bootstraps alike. A row is
//! replaced only by an observation at least as new as the one it holds (`source` says which
//! writer set it: a webhook's row yields to any later webhook, a bootstrap's only to a newer
//! observation); deletions are marked.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use sqlx::types::Json;

use crate::json_text::JsonText;
use sqlx::PgExecutor;
use uuid::Uuid;

mod reconcile;

pub use reconcile::{
    ListScope, Reconciled, live_ids, mark_ids_deleted, mark_orphans_deleted, mark_unseen_deleted,
    reconcile_page,
};

/// Identifies one stored entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityKey {
    pub workspace_id: String,
    pub kind: &'static str,
    pub entity_id: String,
}

/// What decides whether a webhook changes an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityState {
    pub body_sha256: String,
    pub deleted: bool,
}

/// An entity version to write.
#[derive(Debug, Clone)]
pub struct EntityWrite {
    pub data: JsonText,
    pub deleted: bool,
    pub body_sha256: String,
    pub observed_at: DateTime<Utc>,
    pub message_id: Uuid,
}

/// The current state of each entity in `keys` that exists, read in one statement per batch.
pub async fn load_states(
    executor: impl PgExecutor<'_>,
    keys: &[EntityKey],
) -> sqlx::Result<HashMap<EntityKey, EntityState>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let workspaces: Vec<&str> = keys.iter().map(|k| k.workspace_id.as_str()).collect();
    let kinds: Vec<&str> = keys.iter().map(|k| k.kind).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.entity_id.as_str()).collect();
    let rows = sqlx::query!(
        "select e.workspace_id, e.kind, e.entity_id, e.body_sha256, e.deleted
         from entities e
         join unnest($1::text[], $2::text[], $3::text[]) as k(workspace_id, kind, entity_id)
           on e.workspace_id = k.workspace_id and e.kind = k.kind and e.entity_id = k.entity_id",
        &workspaces as _,
        &kinds as _,
        &ids as _,
    )
    .fetch_all(executor)
    .await?;
    // The stored kind is matched back to the caller's `&'static str`.
    let by_kind: HashMap<&str, &'static str> = keys.iter().map(|k| (k.kind, k.kind)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let kind = *by_kind.get(row.kind.as_str())?;
            Some((
                EntityKey {
                    workspace_id: row.workspace_id,
                    kind,
                    entity_id: row.entity_id,
                },
                EntityState {
                    body_sha256: row.body_sha256,
                    deleted: row.deleted,
                },
            ))
        })
        .collect())
}

/// Writes entity versions from webhooks in one statement. Partition order decides between
/// webhooks; against a bootstrap's row, only an observation at least as new replaces it.
pub async fn upsert_from_webhooks(
    executor: impl PgExecutor<'_>,
    writes: &[(EntityKey, EntityWrite)],
) -> sqlx::Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    let mut workspaces = Vec::with_capacity(writes.len());
    let mut kinds = Vec::with_capacity(writes.len());
    let mut ids = Vec::with_capacity(writes.len());
    let mut data = Vec::with_capacity(writes.len());
    let mut deleted = Vec::with_capacity(writes.len());
    let mut hashes = Vec::with_capacity(writes.len());
    let mut observed = Vec::with_capacity(writes.len());
    let mut message_ids = Vec::with_capacity(writes.len());
    for (key, write) in writes {
        workspaces.push(key.workspace_id.as_str());
        kinds.push(key.kind);
        ids.push(key.entity_id.as_str());
        data.push(Json(&*write.data));
        deleted.push(write.deleted);
        hashes.push(write.body_sha256.as_str());
        observed.push(write.observed_at);
        message_ids.push(write.message_id);
    }
    // Slices of borrowed values (`as _`): a batch's bodies are not copied to be bound.
    sqlx::query!(
        "insert into entities
             (workspace_id, kind, entity_id, data, deleted, body_sha256, source, observed_at, last_message_id)
         select w, k, i, d, x, h, 'webhook', o, m
         from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bool[], $6::text[],
                     $7::timestamptz[], $8::uuid[]) as t(w, k, i, d, x, h, o, m)
         on conflict (workspace_id, kind, entity_id) do update set
             data = excluded.data,
             deleted = excluded.deleted,
             body_sha256 = excluded.body_sha256,
             source = 'webhook',
             observed_at = excluded.observed_at,
             last_message_id = excluded.last_message_id,
             updated_at = now()
         where entities.source = 'webhook' or entities.observed_at <= excluded.observed_at",
        &workspaces as _,
        &kinds as _,
        &ids as _,
        &data as _,
        &deleted,
        &hashes as _,
        &observed,
        &message_ids,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Upserts a page of entities a bootstrap read at `read_at`, `(id, body)` each: a stored row
/// observed later (a newer webhook) is kept.
pub async fn upsert_from_bootstrap(
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
        .map(|(_, v)| crate::crypto::sha256_hex(v.to_string().as_bytes()))
        .collect();
    sqlx::query!(
        "insert into entities (workspace_id, kind, entity_id, data, deleted, body_sha256, source, observed_at)
         select $1, $2, i, d, false, h, 'bootstrap', $6
         from unnest($3::text[], $4::jsonb[], $5::text[]) as t(i, d, h)
         on conflict (workspace_id, kind, entity_id) do update set
             data = excluded.data, deleted = false, body_sha256 = excluded.body_sha256,
             source = 'bootstrap', observed_at = excluded.observed_at, updated_at = now()
         where entities.observed_at < excluded.observed_at",
        workspace_id,
        kind,
        &ids as _,
        &data as _,
        &hashes,
        read_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets the workspace's entities (on uninstall).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!("delete from entities where workspace_id = $1", workspace_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// How many entities the workspace holds, for the bootstrap benchmark.
pub async fn count_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from entities where workspace_id = $1"#,
        workspace_id,
    )
    .fetch_one(executor)
    .await
}

/// How many entities each workspace holds of each kind (`"workspace kind"`), for the demo's
/// report.
pub async fn counts_by_kind(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"select workspace_id || ' ' || kind as "label!", count(*) as "count!" from entities
           group by workspace_id, kind order by 1"#
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|row| (row.label, row.count)).collect())
}

/// How many entities of one kind a workspace holds, for the sidebar's Data view.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindCount {
    pub kind: String,
    /// Live entities (not marked deleted).
    pub count: i64,
    pub deleted: i64,
}

/// The workspace's counts per kind, whatever kinds it holds.
pub async fn kind_counts(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<KindCount>> {
    let rows = sqlx::query!(
        r#"select kind, count(*) filter (where not deleted) as "count!",
                  count(*) filter (where deleted) as "deleted!"
           from entities where workspace_id = $1 group by kind order by kind"#,
        workspace_id,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| KindCount {
            kind: row.kind,
            count: row.count,
            deleted: row.deleted,
        })
        .collect())
}

/// One line of an entity list: no body.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitySummary {
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    pub deleted: bool,
    pub updated_at: DateTime<Utc>,
}

/// A page of the workspace's entities, by name then id, with the total matching. `kind` and
/// `search` (a case-insensitive part of the name or id) narrow it when given.
pub async fn list_page(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: Option<&str>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<EntitySummary>, i64)> {
    let pattern = search.map(|text| {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let rows = sqlx::query!(
        r#"select kind, entity_id, name, deleted, updated_at, count(*) over () as "total!"
           from entities
           where workspace_id = $1 and ($2::text is null or kind = $2)
             and ($3::text is null or name ilike $3 or entity_id ilike $3)
           order by kind, lower(name) nulls last, entity_id
           limit $4 offset $5"#,
        workspace_id,
        kind,
        pattern,
        limit,
        offset,
    )
    .fetch_all(executor)
    .await?;
    let total = rows.first().map_or(0, |row| row.total);
    let items = rows
        .into_iter()
        .map(|row| EntitySummary {
            kind: row.kind,
            id: row.entity_id,
            name: row.name,
            deleted: row.deleted,
            updated_at: row.updated_at,
        })
        .collect();
    Ok((items, total))
}

/// One stored entity with its body and where it came from.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityView {
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    pub deleted: bool,
    pub source: String,
    pub observed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub data: Value,
}

/// One of the workspace's entities; another workspace's finds nothing.
pub async fn find_one(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    kind: &str,
    entity_id: &str,
) -> sqlx::Result<Option<EntityView>> {
    sqlx::query_as!(
        EntityView,
        r#"select kind, entity_id as id, name, deleted, source, observed_at, updated_at, data
           from entities where workspace_id = $1 and kind = $2 and entity_id = $3"#,
        workspace_id,
        kind,
        entity_id,
    )
    .fetch_optional(executor)
    .await
}
