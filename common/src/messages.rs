//! The message contracts on the queue: a versioned envelope and the events it carries.
//!
//! Secrets never travel: the installation token crosses the queue sealed with
//! `TOKEN_ENCRYPTION_KEY`, and tokens that only need comparing travel as their SHA-256.
//! Changes are additive; an incompatible change is a new `v`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::EventType;
use crate::webhook_body::WebhookBody;

mod event_decoding;

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u16 = 1;

/// One accepted lifecycle callback or webhook, as ingress enqueued it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    pub v: u16,
    pub message_id: Uuid,
    pub workspace_id: String,
    pub request_id: String,
    pub accepted_at: DateTime<Utc>,
    pub event: Event,
}

impl EventMessage {
    /// A new message with a time-ordered id, stamped now.
    pub fn new(workspace_id: String, request_id: String, event: Event) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            message_id: Uuid::now_v7(),
            workspace_id,
            request_id,
            accepted_at: Utc::now(),
            event,
        }
    }

    /// The closed label used in metrics and logs: the lifecycle type or the webhook event.
    pub fn type_label(&self) -> &'static str {
        match &self.event {
            Event::Installed(_) => "INSTALLED",
            Event::Deleted(_) => "DELETED",
            Event::StatusChanged(_) => "STATUS_CHANGED",
            Event::SettingsUpdated(_) => "SETTINGS_UPDATED",
            Event::Webhook(w) => w.event_type.as_str(),
        }
    }
}

/// What happened, with only what a worker needs to apply it. Its JSON is an object whose `kind`
/// names the variant (written first, and read in any position).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Installed(Installed),
    Deleted(Deleted),
    StatusChanged(StatusChanged),
    SettingsUpdated(SettingsUpdated),
    Webhook(WebhookEvent),
}

/// INSTALLED, with the installation token sealed and webhook tokens hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    pub addon_id: String,
    pub addon_user_id: Option<String>,
    pub as_user: Option<String>,
    pub api_url: Option<String>,
    pub backend_url: Option<String>,
    pub reports_url: Option<String>,
    /// The time-off API's base URL (`ptoUrl`), when the claims carry one.
    #[serde(default)]
    pub pto_url: Option<String>,
    pub locations_url: Option<String>,
    pub screenshots_url: Option<String>,
    /// `TokenCipher::seal` of the installation token, bound to the workspace.
    pub sealed_auth_token: String,
    pub webhooks: Vec<WebhookToken>,
}

/// One webhook of an installation: where Clockify sends it, the event that path receives, and
/// the SHA-256 of its token. The token proves deliveries of that event only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookToken {
    pub path: String,
    pub webhook_type: Option<String>,
    /// The event whose route `path` names; `None` for a path that is none of ours, whose token
    /// then signs nothing.
    #[serde(default)]
    pub event_type: Option<EventType>,
    pub token_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub addon_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub addon_id: String,
    pub status: InstallationStatus,
}

/// Clockify's installation status, stored as it is named in `installations.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstallationStatus {
    Active,
    Inactive,
}

impl InstallationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallationStatus::Active => "ACTIVE",
            InstallationStatus::Inactive => "INACTIVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsUpdated {
    pub addon_id: String,
    pub settings: serde_json::Value,
}

/// How a webhook was authenticated at ingress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// Clockify's RS256 JWT; the worker still matches its hash against the installation's.
    Jwt,
    /// HMAC-SHA256 under `WEBHOOK_HMAC_SECRET` of the timestamp, event type and body.
    Hmac,
    /// Development mode without verification.
    Unverified,
}

/// A webhook delivery: the entity as Clockify sent it, and what proves where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub event_type: EventType,
    pub scheme: SignatureScheme,
    /// From the verified claims; absent for HMAC and unverified deliveries.
    pub addon_id: Option<String>,
    /// SHA-256 of the signature JWT, compared with the stored per-webhook hashes.
    pub token_sha256: Option<String>,
    /// SHA-256 of the raw body: two deliveries with the same hash are the same delivery.
    pub body_sha256: String,
    /// The body's JSON text as Clockify sent it, with its identifying fields.
    pub body: WebhookBody,
}

/// The batch envelope version this build writes and reads.
pub const BATCH_VERSION: u16 = 1;
/// The AMQP `type` property of a batch message; a message without it is one [`EventMessage`]
/// (what builds before batching published, and what a batch of one still is).
pub const BATCH_KIND: &str = "event_batch";

/// Events of one partition that ingress published as one message, in the order it accepted
/// them. Each entry keeps the trace context of the request that accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub batch_v: u16,
    pub events: Vec<BatchedEvent>,
}

/// One event of a batch, with the W3C `traceparent` of the span that accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchedEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    pub message: EventMessage,
}

impl EventBatch {
    /// The JSON of a batch of already serialised event messages, without parsing them again:
    /// each `(traceparent, body)` must be an [`EventMessage`]'s JSON.
    pub fn body_of(events: &[(Option<&str>, &[u8])]) -> Vec<u8> {
        let size: usize = events.iter().map(|(_, body)| body.len() + 96).sum();
        let mut out = Vec::with_capacity(size + 32);
        out.extend_from_slice(format!("{{\"batch_v\":{BATCH_VERSION},\"events\":[").as_bytes());
        for (index, (traceparent, body)) in events.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.push(b'{');
            if let Some(traceparent) = traceparent {
                out.extend_from_slice(b"\"traceparent\":");
                // A string serialises infallibly.
                out.extend_from_slice(&serde_json::to_vec(traceparent).unwrap_or_default());
                out.push(b',');
            }
            out.extend_from_slice(b"\"message\":");
            out.extend_from_slice(body);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        out
    }
}

/// What one event-partition delivery holds: one event (the original envelope) or a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    One(Box<EventMessage>),
    Batch(EventBatch),
}

impl Queued {
    /// Decodes a delivery's body. `kind` is its AMQP `type` property; a body without it (a
    /// message from before batching, or one an operator replayed) is tried as both shapes.
    /// `None` when it is neither, or of a version this build does not read.
    pub fn decode(kind: Option<&str>, body: &[u8]) -> Option<Queued> {
        let batch = || {
            serde_json::from_slice::<EventBatch>(body)
                .ok()
                .filter(|b| b.batch_v <= BATCH_VERSION && !b.events.is_empty())
                .filter(|b| b.events.iter().all(|e| e.message.v <= ENVELOPE_VERSION))
                .map(Queued::Batch)
        };
        let one = || {
            serde_json::from_slice::<EventMessage>(body)
                .ok()
                .filter(|m| m.v <= ENVELOPE_VERSION)
                .map(|m| Queued::One(Box::new(m)))
        };
        if kind == Some(BATCH_KIND) {
            batch()
        } else {
            one().or_else(batch)
        }
    }
}

/// Partition of a workspace: FNV-1a of its id, stable across builds and processes.
pub fn partition_of(workspace_id: &str, partitions: u16) -> u16 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in workspace_id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(partitions.max(1))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_stable_and_in_range() {
        assert_eq!(partition_of("ws-1", 8), partition_of("ws-1", 8));
        let spread: std::collections::HashSet<u16> = (0..200)
            .map(|i| partition_of(&format!("ws-{i}"), 8))
            .collect();
        assert_eq!(spread.len(), 8);
        assert!(spread.iter().all(|p| *p < 8));
    }

    #[test]
    fn envelope_round_trips() {
        let message = EventMessage::new(
            "ws".into(),
            "req".into(),
            Event::StatusChanged(StatusChanged {
                addon_id: "a".into(),
                status: InstallationStatus::Inactive,
            }),
        );
        let json = serde_json::to_string(&message).expect("serializes");
        assert!(json.contains("\"kind\":\"status_changed\""));
        let back: EventMessage = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, message);
    }

    fn status_message(workspace: &str) -> EventMessage {
        EventMessage::new(
            workspace.into(),
            "req".into(),
            Event::StatusChanged(StatusChanged {
                addon_id: "a".into(),
                status: InstallationStatus::Active,
            }),
        )
    }

    #[test]
    fn a_batch_built_from_serialised_events_decodes_in_order() {
        let first = status_message("ws-1");
        let second = status_message("ws-2");
        let bodies = [
            serde_json::to_vec(&first).expect("json"),
            serde_json::to_vec(&second).expect("json"),
        ];
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let body = EventBatch::body_of(&[(Some(parent), &bodies[0]), (None, &bodies[1])]);
        let Some(Queued::Batch(batch)) = Queued::decode(Some(BATCH_KIND), &body) else {
            panic!("a batch");
        };
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.events[0].message, first);
        assert_eq!(batch.events[0].traceparent.as_deref(), Some(parent));
        assert_eq!(batch.events[1].message, second);
        assert_eq!(batch.events[1].traceparent, None);
        // Replayed without its `type` property, it is still recognised.
        assert!(matches!(
            Queued::decode(None, &body),
            Some(Queued::Batch(_))
        ));
    }

    #[test]
    fn a_single_event_message_is_still_read() {
        let message = status_message("ws-1");
        let body = serde_json::to_vec(&message).expect("json");
        assert_eq!(
            Queued::decode(None, &body),
            Some(Queued::One(Box::new(message)))
        );
        assert_eq!(Queued::decode(None, b"{\"not\": \"an envelope\"}"), None);
        assert_eq!(Queued::decode(Some(BATCH_KIND), &body), None);
    }
}
