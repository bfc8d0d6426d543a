//! The `ReplayWorkspace` job: re-applies a workspace's event log over a time range, rebuilding
//! its entities.
//!
//! The log's applied webhooks are read in acceptance order, a page at a time, and go through the
//! same staging as live webhooks (`StagedWrites`: the last version of each entity wins within a
//! page) and the same entity statement (`entities::upsert_from_webhooks`). Admission is not
//! decided again: only rows that were applied (or duplicates of what was stored) are replayed.
//! Each page commits with the replay's position, so a replay interrupted (a worker stopping)
//! resumes where it stopped, and applying a page twice writes the same versions again
//! (idempotent). Nothing is appended to the event log.

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::crypto::sha256_hex;
use common::db::entities::{self, EntityKey, EntityWrite};
use common::db::event_log::{self, ReplayRow};
use common::db::workspace_replays::{self, ReplayStatus};
use common::events::{Effect, EventType};

use crate::disposition::Disposition;
use crate::state::WorkerState;
use crate::webhooks::StagedWrites;

/// Log rows per transaction.
const PAGE: i64 = 500;

#[tracing::instrument(name = "job.replay_workspace", skip_all, fields(workspace_id, %replay_id))]
pub async fn replay(
    state: &WorkerState,
    workspace_id: &str,
    replay_id: Uuid,
    shutdown: &CancellationToken,
) -> anyhow::Result<Disposition> {
    let Some(replay) = workspace_replays::get(&state.db, workspace_id, replay_id).await? else {
        return Ok(Disposition::GiveUp("no such replay".into()));
    };
    if matches!(
        replay.status,
        ReplayStatus::Completed | ReplayStatus::Failed
    ) {
        return Ok(Disposition::done());
    }
    let mut after = replay.last_accepted_at.zip(replay.last_message_id);
    loop {
        if shutdown.is_cancelled() {
            return Ok(Disposition::RetryLater("shutting down"));
        }
        let mut tx = state.db.begin().await?;
        let rows = event_log::replay_page(
            &mut *tx,
            workspace_id,
            replay.from_at,
            replay.to_at,
            after,
            PAGE,
        )
        .await?;
        let Some(last) = rows.last() else {
            workspace_replays::finish(&mut *tx, replay_id, ReplayStatus::Completed, None).await?;
            tx.commit().await?;
            tracing::info!("workspace replay completed");
            return Ok(Disposition::done());
        };
        let position = (last.accepted_at, last.message_id);
        let staged = stage(workspace_id, &rows);
        entities::upsert_from_webhooks(&mut *tx, &staged.entities).await?;
        workspace_replays::advance(
            &mut *tx,
            replay_id,
            rows.len() as i64,
            position.0,
            position.1,
        )
        .await?;
        tx.commit().await?;
        after = Some(position);
    }
}

/// Stages the entity version each row carries, in order.
fn stage(workspace_id: &str, rows: &[ReplayRow]) -> StagedWrites {
    let mut staged = StagedWrites::default();
    for row in rows {
        let (Some(event), Some(payload)) = (EventType::parse(&row.event_type), &row.payload) else {
            continue;
        };
        let kind = event.entity_kind();
        let Some(entity_id) = kind.entity_id(payload) else {
            continue;
        };
        staged.stage_entity(
            EntityKey {
                workspace_id: workspace_id.to_owned(),
                kind: kind.as_str(),
                entity_id,
            },
            EntityWrite {
                data: common::json_text::json_text(payload),
                deleted: event.effect() == Effect::Delete,
                body_sha256: row
                    .body_sha256
                    .clone()
                    .unwrap_or_else(|| sha256_hex(payload.to_string().as_bytes())),
                observed_at: row.accepted_at,
                message_id: row.message_id,
            },
        );
    }
    staged
}
