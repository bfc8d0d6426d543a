//! What a reconciliation pass does with a page its unit read, in the page's transaction: a list
//! is compared with the copy (missing entities added, changed ones updated, equal ones left
//! alone) and its ids remembered, and when the list ends the entities of its scope it did not
//! contain are marked deleted; a change feed is applied as it says. A version the copy observed
//! after the read (a webhook that arrived meanwhile) is never overwritten. What changed is
//! counted per kind in `reconcile_changes`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use common::bootstrap_kinds::{KINDS, KindRole, KindWindow, TIME_ENTRIES_KEY};
use common::db::entities::{self, ListScope};
use common::db::{reconcile_changes, reconcile_seen};

use super::units::{JobWindow, Unit, instant};

/// What one page changed in the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageChanges {
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
}

impl PageChanges {
    /// `(change, count)` for the metrics and the tally.
    pub fn counts(&self) -> [(&'static str, i64); 3] {
        [
            ("added", self.added),
            ("updated", self.updated),
            ("deleted", self.deleted),
        ]
    }
}

/// The page being stored and where it belongs.
pub struct PageContext<'a> {
    pub workspace_id: &'a str,
    pub job_id: Uuid,
    pub unit: &'a Unit,
    pub unit_key: &'a str,
    pub read_at: DateTime<Utc>,
    /// When the unit's first page was read (this page's read for the first page).
    pub started_at: DateTime<Utc>,
    pub window: &'a JobWindow,
}

/// Compares or applies one page; `last` when it ends the unit's list.
pub async fn store_page(
    conn: &mut PgConnection,
    page: &PageContext<'_>,
    items: &[(String, Value)],
    last: bool,
) -> sqlx::Result<PageChanges> {
    let kind = page.unit.entity_kind();
    let ws = page.workspace_id;
    let mut changes = PageChanges::default();
    match page.unit.kind.role {
        KindRole::FeedDeletions => {
            let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
            let gone = entities::mark_ids_deleted(&mut *conn, ws, kind, &ids, page.read_at).await?;
            changes.deleted = gone.len() as i64;
        }
        KindRole::FeedUpserts => {
            let done = entities::reconcile_page(&mut *conn, ws, kind, items, page.read_at).await?;
            changes.added = done.added.len() as i64;
            changes.updated = done.updated.len() as i64;
        }
        KindRole::List => {
            let done = entities::reconcile_page(&mut *conn, ws, kind, items, page.read_at).await?;
            changes.added = done.added.len() as i64;
            changes.updated = done.updated.len() as i64;
            let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
            reconcile_seen::record(&mut *conn, page.job_id, page.unit_key, &ids).await?;
            if last && let Some(window) = deletion_window(page) {
                let bounds = window.map(|(from, to)| (instant(from), instant(to)));
                let scope = ListScope {
                    kind,
                    parent: page.unit.kind.parent_field.zip(page.unit.parent.as_deref()),
                    window: bounds.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
                };
                let gone = entities::mark_unseen_deleted(
                    &mut *conn,
                    ws,
                    scope,
                    page.job_id,
                    page.unit_key,
                    page.started_at,
                )
                .await?;
                changes.deleted = gone.len() as i64;
            }
        }
    }
    for (change, count) in changes.counts() {
        reconcile_changes::add(&mut *conn, page.job_id, ws, kind, change, count).await?;
    }
    Ok(changes)
}

/// Which start times a finished list covers: `Some(None)` all of the kind's (in the unit's
/// parent), `Some(Some(range))` those starting in the range (a user's time entries), `None`
/// when the list cannot say what is missing (scheduling assignments are read over a window whose
/// items carry their dates elsewhere), so nothing is marked deleted.
fn deletion_window(page: &PageContext<'_>) -> Option<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    match page.unit.kind.window {
        KindWindow::None => Some(None),
        KindWindow::Past => Some(page.window.range(KindWindow::Past)),
        KindWindow::Around => None,
    }
}

/// At the end of a pass: marks deleted the children (tasks, balances) of parents the copy now
/// holds as deleted, counted as the pass's deletions. Time entries stay: Clockify keeps a removed
/// user's entries. Returns the count per kind.
pub async fn delete_orphans(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Vec<(&'static str, i64)>> {
    let Some(started) =
        common::db::bootstrap_jobs::created_at(&mut *conn, workspace_id, job_id).await?
    else {
        return Ok(Vec::new());
    };
    let mut deleted = Vec::new();
    for child in KINDS.iter().filter(|k| k.key != TIME_ENTRIES_KEY) {
        let (Some(parent_key), Some(field)) = (child.parent, child.parent_field) else {
            continue;
        };
        let Some(parent) = KINDS.iter().find(|k| k.key == parent_key) else {
            continue;
        };
        let kind = child.entity.as_str();
        let gone = entities::mark_orphans_deleted(
            &mut *conn,
            workspace_id,
            kind,
            parent.entity.as_str(),
            field,
            started,
        )
        .await?;
        let count = gone.len() as i64;
        reconcile_changes::add(&mut *conn, job_id, workspace_id, kind, "deleted", count).await?;
        if count > 0 {
            deleted.push((kind, count));
        }
    }
    Ok(deleted)
}
