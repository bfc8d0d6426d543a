//! The workspaces this ingress has sent to the outbox, so their later events follow them there
//! instead of overtaking them on the broker.
//!
//! The healthy path asks only this in-memory map: a workspace absent from it publishes straight
//! to the broker, with no database round trip. A workspace enters the map when one of its events
//! is committed to the outbox (or is being written there), and leaves it once the relay has
//! published and deleted every row of it: [`run_refresher`] asks the database, only while the map
//! is not empty, which of its workspaces still have rows. An entry with a write in flight, or
//! one written after the question was asked, is kept, so the answer can never be stale for it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use common::db::outbox::Waiting;
use common::publisher::Publisher;
use tokio_util::sync::CancellationToken;

/// How often the refresher asks which outboxed workspaces the relay has drained.
const REFRESH_INTERVAL: Duration = Duration::from_millis(250);
/// A workspace with at most this many rows left is drained (one batch of the relay).
const DRAIN_BELOW_ROWS: i64 = 200;
/// The longest an event is held while its workspace drains.
pub const DRAIN_HOLD: Duration = Duration::from_secs(3);
/// How often a held event looks whether its workspace has drained.
const HOLD_POLL: Duration = Duration::from_millis(20);

#[derive(Debug)]
struct Entry {
    /// Outbox writes in flight for the workspace.
    writing: usize,
    /// Whether a write of it has committed (rows may be waiting).
    committed: bool,
    /// When its last write ended.
    last_write: Instant,
    /// Since when its new events are held while the relay publishes the last rows.
    draining_since: Option<Instant>,
    /// Its rows at the last refresh: fewer now means the relay is publishing them.
    rows_seen: Option<i64>,
}

/// Where an event of a workspace goes now.
pub enum Route {
    /// Not outboxed: straight to the broker.
    Direct,
    /// Behind its workspace's rows in the outbox.
    Outbox(OutboxWrite),
    /// Its workspace is draining: wait, then ask again.
    Hold,
}

/// The outboxed workspaces of this ingress process.
#[derive(Clone, Default)]
pub struct OutboxedWorkspaces {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

/// One outbox write in flight; ends (and updates the map) when dropped.
pub struct OutboxWrite {
    map: OutboxedWorkspaces,
    workspace_id: String,
    committed: bool,
}

impl OutboxWrite {
    /// The row is committed: the workspace has rows waiting.
    pub fn committed(mut self) {
        self.committed = true;
    }
}

impl Drop for OutboxWrite {
    fn drop(&mut self) {
        let mut entries = self.map.lock();
        if let Some(entry) = entries.get_mut(&self.workspace_id) {
            entry.writing = entry.writing.saturating_sub(1);
            entry.committed |= self.committed;
            entry.last_write = Instant::now();
            if entry.writing == 0 && !entry.committed {
                // Nothing of it ever reached the outbox: nothing to wait behind.
                entries.remove(&self.workspace_id);
            }
        }
    }
}

impl OutboxedWorkspaces {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock leaves a consistent map (every update is one step).
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where an event of `workspace_id` goes now; an outbox write is started for it.
    fn route(&self, workspace_id: &str) -> Route {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(workspace_id) else {
            return Route::Direct;
        };
        match entry.draining_since {
            Some(since) if since.elapsed() < DRAIN_HOLD => return Route::Hold,
            // The drain did not finish in time: write again, drain again later.
            Some(_) => entry.draining_since = None,
            None => {}
        }
        entry.writing += 1;
        Route::Outbox(self.write(workspace_id))
    }

    /// Waits (at most [`DRAIN_HOLD`]) while `workspace_id` drains, so its event reaches its
    /// partition's lane only once the relay has published the workspace's last rows.
    pub async fn wait_while_draining(&self, workspace_id: &str) {
        loop {
            let draining = self.lock().get(workspace_id).is_some_and(|entry| {
                entry
                    .draining_since
                    .is_some_and(|since| since.elapsed() < DRAIN_HOLD)
            });
            if !draining {
                return;
            }
            tokio::time::sleep(HOLD_POLL).await;
        }
    }

    /// An outbox write for an event of `workspace_id` if the workspace is outboxed (its event
    /// must queue behind its rows), `None` when it goes straight to the broker. A workspace that
    /// started draining after its event's wait is written to the outbox again: never ahead of
    /// its rows.
    pub fn write_if_outboxed(&self, workspace_id: &str) -> Option<OutboxWrite> {
        match self.route(workspace_id) {
            Route::Direct => None,
            Route::Outbox(write) => Some(write),
            Route::Hold => Some(self.start_write(workspace_id)),
        }
    }

    /// Starts an outbox write for `workspace_id` after a publish was not confirmed.
    pub fn start_write(&self, workspace_id: &str) -> OutboxWrite {
        let mut entries = self.lock();
        entries
            .entry(workspace_id.to_owned())
            .or_insert(Entry {
                writing: 0,
                committed: false,
                last_write: Instant::now(),
                draining_since: None,
                rows_seen: None,
            })
            .writing += 1;
        self.write(workspace_id)
    }

    /// Marks workspaces found in the outbox at start (rows left by an earlier process).
    pub fn remember(&self, workspace_ids: Vec<String>) {
        let mut entries = self.lock();
        for workspace_id in workspace_ids {
            entries.entry(workspace_id).or_insert(Entry {
                writing: 0,
                committed: true,
                last_write: Instant::now(),
                draining_since: None,
                rows_seen: None,
            });
        }
    }

    /// How many workspaces are outboxed now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn write(&self, workspace_id: &str) -> OutboxWrite {
        OutboxWrite {
            map: self.clone(),
            workspace_id: workspace_id.to_owned(),
            committed: false,
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Notes how many rows each workspace has left; returns those ready to drain: at most
    /// [`DRAIN_BELOW_ROWS`] left, and fewer than at the last refresh (the relay is publishing
    /// them: with the relay stuck or no worker running, holding events would only delay them).
    fn note_rows(&self, waiting: &[Waiting]) -> Vec<String> {
        let mut entries = self.lock();
        let mut ready = Vec::new();
        for w in waiting {
            if let Some(entry) = entries.get_mut(&w.workspace_id) {
                let relayed = entry.rows_seen.is_some_and(|seen| w.rows < seen);
                entry.rows_seen = Some(w.rows);
                if relayed && w.rows <= DRAIN_BELOW_ROWS && entry.draining_since.is_none() {
                    ready.push(w.workspace_id.clone());
                }
            }
        }
        ready
    }

    /// Starts draining `workspace_ids` (those not draining already).
    fn start_draining(&self, workspace_ids: &[String]) {
        let mut entries = self.lock();
        for workspace_id in workspace_ids {
            if let Some(entry) = entries.get_mut(workspace_id) {
                entry.draining_since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// Forgets the workspaces without rows at `asked_at`, unless written since or in flight.
    fn forget_drained(&self, still_waiting: &HashSet<String>, asked_at: Instant) {
        self.lock().retain(|workspace_id, entry| {
            still_waiting.contains(workspace_id)
                || entry.writing > 0
                || entry.last_write >= asked_at
        });
    }
}

/// Loads the workspaces an earlier process left in the outbox; a database that is away (or not
/// migrated yet) leaves the map empty, with a warning.
pub async fn load_waiting(map: &OutboxedWorkspaces, db: &PgPool) {
    match tokio::time::timeout(
        Duration::from_secs(5),
        common::db::outbox::all_workspaces(db),
    )
    .await
    {
        Ok(Ok(workspaces)) => map.remember(workspaces),
        Ok(Err(error)) => tracing::warn!(%error, "could not read the outbox at start"),
        Err(_) => tracing::warn!("reading the outbox at start timed out"),
    }
}

/// While any workspace is outboxed, asks the database which still have rows and forgets the
/// others, and drains those with few rows left while the broker takes channels; touches the
/// database only while the map is not empty.
pub async fn run_refresher(
    map: OutboxedWorkspaces,
    db: PgPool,
    publisher: Publisher,
    gauge: prometheus::IntGauge,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
        }
        let outboxed = map.snapshot();
        gauge.set(outboxed.len() as i64);
        if outboxed.is_empty() {
            continue;
        }
        let asked_at = Instant::now();
        match common::db::outbox::workspaces_waiting(&db, &outboxed).await {
            Ok(waiting) => {
                let nearly_drained = map.note_rows(&waiting);
                let still_waiting = waiting.into_iter().map(|w| w.workspace_id).collect();
                map.forget_drained(&still_waiting, asked_at);
                gauge.set(map.len() as i64);
                if !nearly_drained.is_empty() && publisher.check().await.is_ok() {
                    map.start_draining(&nearly_drained);
                }
            }
            Err(error) => tracing::debug!(%error, "outbox refresh failed; keeping the map"),
        }
    }
}
