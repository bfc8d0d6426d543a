//! Applying a batch of event messages atomically.
//!
//! Messages are taken in queue order. Runs of webhooks are staged in memory and written with
//! multi-row statements; a lifecycle callback flushes the run before it and applies on its own,
//! so later messages see its effect. Everything commits together, and the consumer acks only
//! after the commit: a crash before it leaves every message to be redelivered, and a redelivered
//! message is recognised by its id in the event log and changes nothing.
//!
//! A batch of webhooks only (the common case) takes two statements and no transaction: one read
//! of the entities' current state, then one statement that writes the log rows and the entity
//! versions only if none of the batch's ids is logged yet (an atomic statement needs no
//! transaction around it); installations come from the partition's [`InstallationCache`]. When
//! some id is logged already (a redelivery), nothing was written and the batch takes the careful
//! path: one transaction that reads the log first, as does any batch holding a lifecycle
//! callback.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgPool};

use common::db::entities::{self, EntityKey, EntityState};
use common::db::event_log;
use common::db::installations::{self, InstallationView};
use common::job_messages::JobMessage;
use common::messages::{Event, EventMessage};

use crate::event_outcome::Processed;
use crate::installation_cache::InstallationCache;
use crate::lifecycle::{InstallFollowUps, apply_lifecycle};
use crate::webhooks::{StagedWrites, entity_key, stage_webhook};

/// A committed batch: each message's outcome in order, and the jobs to publish now.
pub struct Applied {
    pub results: Vec<Processed>,
    pub jobs: Vec<JobMessage>,
}

/// Applies `messages` and commits.
pub async fn apply_batch(
    pool: &PgPool,
    messages: &[EventMessage],
    follow_ups: InstallFollowUps<'_>,
    cache: &mut InstallationCache,
) -> sqlx::Result<Applied> {
    if let Some(staged) = stage_webhooks(pool, messages, cache, None).await?
        && write_staged(pool, &staged).await?
    {
        return Ok(Applied {
            results: staged.results,
            jobs: Vec::new(),
        });
    }
    apply_carefully(pool, messages, follow_ups, cache).await
}

/// The careful path: one transaction that reads the event log first, for a batch holding a
/// lifecycle callback or a message already logged (a redelivery).
pub async fn apply_carefully(
    pool: &PgPool,
    messages: &[EventMessage],
    follow_ups: InstallFollowUps<'_>,
    cache: &mut InstallationCache,
) -> sqlx::Result<Applied> {
    for message in messages {
        if !matches!(message.event, Event::Webhook(_)) {
            cache.forget(&message.workspace_id);
        }
    }
    let mut tx = pool.begin().await?;
    let mut jobs = Vec::new();
    let results = apply_in(&mut tx, messages, follow_ups, &mut jobs).await?;
    tx.commit().await?;
    Ok(Applied { results, jobs })
}

/// A batch of webhooks decided in memory, to be written in one statement.
pub struct StagedBatch {
    /// Each message's outcome, in order, once written.
    pub results: Vec<Processed>,
    staged: StagedWrites,
}

/// What a written batch leaves for the next one of its partition to be decided against: the
/// state of every entity it wrote. The next batch can be staged while this one is written,
/// reading the stored states and laying these over them.
pub type StatesAfter = HashMap<EntityKey, EntityState>;

impl StagedBatch {
    /// The states of the entities this batch writes, once it is written.
    pub fn states_after(&self) -> StatesAfter {
        self.staged
            .entities
            .iter()
            .map(|(key, write)| {
                let state = EntityState {
                    body_sha256: write.body_sha256.clone(),
                    deleted: write.deleted,
                };
                (key.clone(), state)
            })
            .collect()
    }
}

/// Decides a batch of webhooks only (`None` for any other batch: one holding a lifecycle
/// callback or the same id twice takes the careful path) against the installations and the
/// entities' stored states, with `overlay` (what the partition's previous batch writes) on top.
pub async fn stage_webhooks(
    pool: &PgPool,
    messages: &[EventMessage],
    cache: &mut InstallationCache,
    overlay: Option<&StatesAfter>,
) -> sqlx::Result<Option<StagedBatch>> {
    let distinct_ids = messages
        .iter()
        .map(|m| m.message_id)
        .collect::<HashSet<_>>();
    let webhooks_only = messages
        .iter()
        .all(|m| matches!(m.event, Event::Webhook(_)));
    if distinct_ids.len() != messages.len() || !webhooks_only {
        return Ok(None);
    }
    let installations = cache.views(pool, messages).await?;
    let keys: Vec<EntityKey> = unique(messages.iter().filter_map(|m| match &m.event {
        Event::Webhook(webhook) => entity_key(m, webhook),
        _ => None,
    }));
    let mut entities = entities::load_states(pool, &keys).await?;
    if let Some(overlay) = overlay {
        for key in &keys {
            if let Some(state) = overlay.get(key) {
                entities.insert(key.clone(), state.clone());
            }
        }
    }
    let mut staged = StagedWrites::default();
    let mut results = Vec::with_capacity(messages.len());
    for message in messages {
        if let Event::Webhook(webhook) = &message.event {
            let installation = installations.get(&message.workspace_id);
            results.push(stage_webhook(
                message,
                webhook,
                installation,
                &mut entities,
                &mut staged,
            ));
        }
    }
    Ok(Some(StagedBatch { results, staged }))
}

/// Writes a staged batch in one statement, without a transaction around it. False when some of
/// its ids was logged already: then nothing was written, and the batch takes the careful path.
pub async fn write_staged(pool: &PgPool, batch: &StagedBatch) -> sqlx::Result<bool> {
    let staged = &batch.staged;
    event_log::insert_webhook_run(pool, &staged.log, &staged.entities).await
}

async fn apply_in(
    conn: &mut PgConnection,
    messages: &[EventMessage],
    follow_ups: InstallFollowUps<'_>,
    jobs: &mut Vec<JobMessage>,
) -> sqlx::Result<Vec<Processed>> {
    let workspace_ids: Vec<String> = unique(messages.iter().map(|m| m.workspace_id.clone()));
    let message_ids: Vec<_> = messages.iter().map(|m| m.message_id).collect();
    let mut handled = event_log::already_logged(&mut *conn, &workspace_ids, &message_ids).await?;
    let mut installations: HashMap<String, InstallationView> =
        installations::load_for_admission(&mut *conn, &workspace_ids).await?;
    let keys: Vec<EntityKey> = unique(messages.iter().filter_map(|m| match &m.event {
        Event::Webhook(webhook) => entity_key(m, webhook),
        _ => None,
    }));
    let mut entities: HashMap<EntityKey, EntityState> =
        entities::load_states(&mut *conn, &keys).await?;
    let mut staged = StagedWrites::default();
    let mut results = Vec::with_capacity(messages.len());
    for message in messages {
        if !handled.insert(message.message_id) {
            results.push(Processed::redelivered());
            continue;
        }
        match &message.event {
            Event::Webhook(webhook) => {
                let installation = installations.get(&message.workspace_id);
                results.push(stage_webhook(
                    message,
                    webhook,
                    installation,
                    &mut entities,
                    &mut staged,
                ));
            }
            _ => {
                flush(conn, &mut staged).await?;
                results.push(apply_lifecycle(conn, message, follow_ups, jobs).await?);
                // Later messages of this workspace must see the new installation and entities.
                let workspace = std::slice::from_ref(&message.workspace_id);
                match installations::load_for_admission(&mut *conn, workspace)
                    .await?
                    .remove(&message.workspace_id)
                {
                    Some(view) => installations.insert(message.workspace_id.clone(), view),
                    None => installations.remove(&message.workspace_id),
                };
                if matches!(message.event, Event::Deleted(_)) {
                    entities.retain(|key, _| key.workspace_id != message.workspace_id);
                }
            }
        }
    }
    flush(conn, &mut staged).await?;
    Ok(results)
}

async fn flush(conn: &mut PgConnection, staged: &mut StagedWrites) -> sqlx::Result<()> {
    if staged.is_empty() {
        return Ok(());
    }
    entities::upsert_from_webhooks(&mut *conn, &staged.entities).await?;
    event_log::insert_rows(&mut *conn, &staged.log).await?;
    staged.clear();
    Ok(())
}

fn unique<T: Eq + std::hash::Hash + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(item.clone())).collect()
}
