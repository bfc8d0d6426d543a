//! Admitting a webhook and staging its effect on the entity store.
//!
//! A webhook is applied only for an installed, active installation whose `addonId` matches the
//! token's and whose stored token of this very event is the delivery's: a token issued for
//! another webhook of the installation signs nothing here. Its entity changes
//! only when the content differs from what is stored, so the same delivery twice is applied
//! once, while A, B, A for one entity ends at A.

use std::collections::HashMap;

use common::crypto::constant_time_eq;
use common::db::entities::{EntityKey, EntityState, EntityWrite};
use common::db::event_log::{LogRow, LogSource};
use common::db::installations::InstallationView;
use common::events::Effect;
use common::messages::{EventMessage, SignatureScheme, WebhookEvent};

use crate::event_outcome::Processed;

/// Writes staged by a run of webhooks, flushed in two multi-row statements.
#[derive(Default)]
pub struct StagedWrites {
    pub log: Vec<LogRow>,
    /// The last version of each entity; insertion order kept for deterministic statements.
    pub entities: Vec<(EntityKey, EntityWrite)>,
    positions: HashMap<EntityKey, usize>,
}

impl StagedWrites {
    pub(crate) fn stage_entity(&mut self, key: EntityKey, write: EntityWrite) {
        match self.positions.get(&key) {
            Some(&index) => self.entities[index].1 = write,
            None => {
                self.positions.insert(key.clone(), self.entities.len());
                self.entities.push((key, write));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.entities.is_empty()
    }

    pub fn clear(&mut self) {
        self.log.clear();
        self.entities.clear();
        self.positions.clear();
    }
}

/// The entity a webhook message is about, if it names one.
pub fn entity_key(message: &EventMessage, webhook: &WebhookEvent) -> Option<EntityKey> {
    let kind = webhook.event_type.entity_kind();
    Some(EntityKey {
        workspace_id: message.workspace_id.clone(),
        kind: kind.as_str(),
        entity_id: kind.entity_id_in(webhook.body.fields())?,
    })
}

/// Decides one webhook against the installation and the entity's current state, staging what it
/// changes. `entities` is updated so later messages of the batch see this one's effect.
pub fn stage_webhook(
    message: &EventMessage,
    webhook: &WebhookEvent,
    installation: Option<&InstallationView>,
    entities: &mut HashMap<EntityKey, EntityState>,
    staged: &mut StagedWrites,
) -> Processed {
    let key = entity_key(message, webhook);
    // The body's text as ingress received it, shared by the entity version and the log row.
    let body_text = || webhook.body.text().clone();
    let processed = match admit(webhook, installation) {
        Err(rejected) => rejected,
        Ok(()) => match &key {
            None => Processed::applied(),
            Some(key) => {
                let next = EntityState {
                    body_sha256: webhook.body_sha256.clone(),
                    deleted: webhook.event_type.effect() == Effect::Delete,
                };
                if entities.get(key) == Some(&next) {
                    Processed::duplicate()
                } else {
                    staged.stage_entity(
                        key.clone(),
                        EntityWrite {
                            data: body_text(),
                            deleted: next.deleted,
                            body_sha256: next.body_sha256.clone(),
                            observed_at: message.accepted_at,
                            message_id: message.message_id,
                        },
                    );
                    entities.insert(key.clone(), next);
                    Processed::applied()
                }
            }
        },
    };
    let rejected = processed.outcome == crate::event_outcome::Outcome::Rejected;
    // Every outcome decided above is one the log holds.
    let Some(outcome) = processed.outcome.logged_as() else {
        return processed;
    };
    staged.log.push(LogRow {
        workspace_id: message.workspace_id.clone(),
        message_id: message.message_id,
        source: LogSource::Webhook,
        event_type: webhook.event_type.as_str(),
        entity_kind: key.as_ref().map(|k| k.kind),
        entity_id: key.map(|k| k.entity_id),
        outcome,
        reason: processed.reason,
        request_id: message.request_id.clone(),
        accepted_at: message.accepted_at,
        body_sha256: Some(webhook.body_sha256.clone()),
        // A rejected delivery's content is not kept: it was never the workspace's data.
        payload: (!rejected).then(body_text),
    });
    processed
}

pub(crate) fn admit(
    webhook: &WebhookEvent,
    installation: Option<&InstallationView>,
) -> Result<(), Processed> {
    let installation = installation.ok_or(Processed::rejected("not_installed"))?;
    if installation.deleted {
        return Err(Processed::rejected("deleted"));
    }
    if !installation.active {
        return Err(Processed::rejected("inactive"));
    }
    match webhook.scheme {
        SignatureScheme::Jwt => {
            if webhook.addon_id.as_deref() != Some(installation.addon_id.as_str()) {
                return Err(Processed::rejected("addon_mismatch"));
            }
            let Some(presented) = webhook.token_sha256.as_deref() else {
                return Err(Processed::rejected("token_mismatch"));
            };
            // Every stored hash is compared, so the time taken does not say which one matched.
            let (mut this_webhook, mut any_webhook) = (false, false);
            for (stored, event) in &installation.webhook_tokens {
                let same = constant_time_eq(stored.as_bytes(), presented.as_bytes());
                any_webhook |= same;
                this_webhook |= same && event.as_deref() == Some(webhook.event_type.as_str());
            }
            match (this_webhook, any_webhook) {
                (true, _) => Ok(()),
                // A real token of this installation, issued for another event: a NEW_TAG token
                // must not delete projects.
                (false, true) => Err(Processed::rejected("token_of_another_webhook")),
                (false, false) => Err(Processed::rejected("token_mismatch")),
            }
        }
        SignatureScheme::Hmac | SignatureScheme::Unverified => Ok(()),
    }
}
