//! Database access of the event pipeline: free functions over any executor, multi-row
//! statements built on `unnest`, every query filtered by workspace.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// What a worker needs to know of an installation to admit a webhook.
#[derive(Debug, Clone)]
pub struct InstallationView {
    pub addon_id: String,
    pub active: bool,
    pub deleted: bool,
    /// The SHA-256 of each webhook token with the event it may sign (`None`: signs nothing).
    pub webhook_tokens: Vec<(String, Option<String>)>,
}

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
    pub data: serde_json::Value,
    pub deleted: bool,
    pub body_sha256: String,
    pub observed_at: DateTime<Utc>,
    pub message_id: Uuid,
}

/// One `event_log` row.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub workspace_id: String,
    pub message_id: Uuid,
    pub source: &'static str,
    pub event_type: &'static str,
    pub entity_kind: Option<&'static str>,
    pub entity_id: Option<String>,
    pub outcome: &'static str,
    pub reason: Option<&'static str>,
    pub request_id: String,
    pub accepted_at: DateTime<Utc>,
    pub body_sha256: Option<String>,
    pub payload: Option<serde_json::Value>,
}

/// The message ids among `message_ids` that a worker already handled.
pub async fn already_logged(
    executor: impl PgExecutor<'_>,
    workspace_ids: &[String],
    message_ids: &[Uuid],
) -> sqlx::Result<HashSet<Uuid>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "select message_id from event_log where workspace_id = any($1) and message_id = any($2)",
    )
    .bind(workspace_ids)
    .bind(message_ids)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// An installation with its webhook token hashes and, in the same order, their events.
type InstallationRow = (
    String,
    String,
    String,
    bool,
    Vec<String>,
    Vec<Option<String>>,
);

/// The installations of `workspace_ids` with their webhook token hashes.
pub async fn load_installations(
    executor: impl PgExecutor<'_>,
    workspace_ids: &[String],
) -> sqlx::Result<HashMap<String, InstallationView>> {
    let rows: Vec<InstallationRow> = sqlx::query_as(
        "select i.workspace_id, i.addon_id, i.status, i.deleted_at is not null,
                coalesce(array_agg(t.token_sha256) filter (where t.token_sha256 is not null), '{}'),
                coalesce(array_agg(t.event_type) filter (where t.token_sha256 is not null), '{}')
         from installations i
         left join webhook_tokens t on t.workspace_id = i.workspace_id
         where i.workspace_id = any($1)
         group by i.workspace_id",
    )
    .bind(workspace_ids)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(workspace_id, addon_id, status, deleted, hashes, events)| {
                let view = InstallationView {
                    addon_id,
                    active: status == "ACTIVE",
                    deleted,
                    webhook_tokens: hashes.into_iter().zip(events).collect(),
                };
                (workspace_id, view)
            },
        )
        .collect())
}

/// The current state of each entity in `keys` that exists.
pub async fn load_entity_states(
    executor: impl PgExecutor<'_>,
    keys: &[EntityKey],
) -> sqlx::Result<HashMap<EntityKey, EntityState>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let workspaces: Vec<&str> = keys.iter().map(|k| k.workspace_id.as_str()).collect();
    let kinds: Vec<&str> = keys.iter().map(|k| k.kind).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.entity_id.as_str()).collect();
    let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "select e.workspace_id, e.kind, e.entity_id, e.body_sha256, e.deleted
         from entities e
         join unnest($1::text[], $2::text[], $3::text[]) as k(workspace_id, kind, entity_id)
           on e.workspace_id = k.workspace_id and e.kind = k.kind and e.entity_id = k.entity_id",
    )
    .bind(&workspaces)
    .bind(&kinds)
    .bind(&ids)
    .fetch_all(executor)
    .await?;
    let by_kind: HashMap<&str, &'static str> = keys.iter().map(|k| (k.kind, k.kind)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|(workspace_id, kind, entity_id, body_sha256, deleted)| {
            let kind = *by_kind.get(kind.as_str())?;
            Some((
                EntityKey {
                    workspace_id,
                    kind,
                    entity_id,
                },
                EntityState {
                    body_sha256,
                    deleted,
                },
            ))
        })
        .collect())
}

/// Writes entity versions from webhooks in one statement. Partition order decides between
/// webhooks; against a bootstrap's row, only an observation at least as new replaces it.
pub async fn upsert_webhook_entities(
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
        data.push(&write.data);
        deleted.push(write.deleted);
        hashes.push(write.body_sha256.as_str());
        observed.push(write.observed_at);
        message_ids.push(write.message_id);
    }
    sqlx::query(
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
    )
    .bind(&workspaces)
    .bind(&kinds)
    .bind(&ids)
    .bind(&data)
    .bind(&deleted)
    .bind(&hashes)
    .bind(&observed)
    .bind(&message_ids)
    .execute(executor)
    .await?;
    Ok(())
}

/// Appends rows to the event log in one statement; a row already there is left as it is.
pub async fn insert_log_rows(executor: impl PgExecutor<'_>, rows: &[LogRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&LogRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let message_ids: Vec<Uuid> = rows.iter().map(|r| r.message_id).collect();
    let accepted: Vec<DateTime<Utc>> = rows.iter().map(|r| r.accepted_at).collect();
    let payloads: Vec<Option<&serde_json::Value>> =
        rows.iter().map(|r| r.payload.as_ref()).collect();
    sqlx::query(
        "insert into event_log
             (workspace_id, message_id, source, event_type, entity_kind, entity_id, outcome, reason,
              request_id, accepted_at, body_sha256, payload)
         select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::jsonb[])
         on conflict (workspace_id, message_id) do nothing",
    )
    .bind(column(|r| Some(r.workspace_id.clone())))
    .bind(&message_ids)
    .bind(column(|r| Some(r.source.to_owned())))
    .bind(column(|r| Some(r.event_type.to_owned())))
    .bind(column(|r| r.entity_kind.map(str::to_owned)))
    .bind(column(|r| r.entity_id.clone()))
    .bind(column(|r| Some(r.outcome.to_owned())))
    .bind(column(|r| r.reason.map(str::to_owned)))
    .bind(column(|r| Some(r.request_id.clone())))
    .bind(&accepted)
    .bind(column(|r| r.body_sha256.clone()))
    .bind(&payloads)
    .execute(executor)
    .await?;
    Ok(())
}
