//! The installations (and webhook-token hashes) a partition's consumer admits webhooks with,
//! kept between batches so a batch of webhooks reads none.
//!
//! Safe to keep because every lifecycle callback of a workspace passes through the same
//! partition, hence through this consumer: a batch holding one forgets its workspace first
//! ([`InstallationCache::forget`]). What changes an installation outside the partition only
//! adds (webhook tokens registered by a job, a resealed token the view does not hold), so a
//! webhook the cached view would refuse is decided again on a fresh read. The cache belongs to
//! one subscription (a new one starts empty, since another process may have owned the
//! partition meanwhile), and an entry is read again after [`MAX_AGE`] in any case.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use common::db::installations::{self, InstallationView};
use common::messages::{Event, EventMessage};

/// The longest an entry is trusted without a read.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// Installations by workspace; `None` is a workspace without one.
#[derive(Default)]
pub struct InstallationCache {
    entries: HashMap<String, (Instant, Option<InstallationView>)>,
}

impl InstallationCache {
    /// Forgets `workspace_id` (a lifecycle callback of it is being applied).
    pub fn forget(&mut self, workspace_id: &str) {
        self.entries.remove(workspace_id);
    }

    /// The installations of every workspace `messages` hold webhooks of, reading (in one
    /// statement) those not known, too old, or whose view would refuse one of the webhooks.
    pub async fn views(
        &mut self,
        pool: &PgPool,
        messages: &[EventMessage],
    ) -> sqlx::Result<HashMap<String, InstallationView>> {
        let now = Instant::now();
        let mut stale: Vec<String> = Vec::new();
        for message in messages {
            let Event::Webhook(webhook) = &message.event else {
                continue;
            };
            let fresh = match self.entries.get(&message.workspace_id) {
                Some((at, view)) if now.duration_since(*at) < MAX_AGE => {
                    crate::webhooks::admit(webhook, view.as_ref()).is_ok()
                }
                _ => false,
            };
            if !fresh && !stale.contains(&message.workspace_id) {
                stale.push(message.workspace_id.clone());
            }
        }
        if !stale.is_empty() {
            let mut loaded = installations::load_for_admission(pool, &stale).await?;
            for workspace_id in stale {
                let view = loaded.remove(&workspace_id);
                self.entries.insert(workspace_id, (now, view));
            }
        }
        let mut views = HashMap::new();
        for message in messages {
            if views.contains_key(&message.workspace_id) {
                continue;
            }
            if let Some((_, Some(view))) = self.entries.get(&message.workspace_id) {
                views.insert(message.workspace_id.clone(), view.clone());
            }
        }
        Ok(views)
    }
}
