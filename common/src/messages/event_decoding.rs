//! Reading an [`Event`] without buffering it: the variant is chosen from `kind` and the rest of
//! the object is read straight into it.
//!
//! serde's derived reading of an internally tagged enum buffers the whole object first (to find
//! the tag wherever it is), which cannot hold a webhook's body as raw text and copies everything
//! once more. Every envelope this project writes puts `kind` first, so that is the fast path; an
//! object with `kind` elsewhere (written by hand, or by another tool) is rebuilt with it first.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{Deleted, Event, Installed, SettingsUpdated, StatusChanged, WebhookEvent};

const TAG: &str = "kind";

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Installed,
    Deleted,
    StatusChanged,
    SettingsUpdated,
    Webhook,
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object with a `kind`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Err(de::Error::missing_field(TAG));
        };
        if first == TAG {
            let kind: Kind = map.next_value()?;
            return variant(kind, MapAccessDeserializer::new(map));
        }
        // `kind` is elsewhere: take the object as it is and read it again with `kind` first.
        let mut entries = vec![(first, map.next_value::<serde_json::Value>()?)];
        while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
            entries.push(entry);
        }
        let reordered = kind_first(entries).ok_or_else(|| de::Error::missing_field(TAG))?;
        serde_json::from_str(&reordered).map_err(de::Error::custom)
    }
}

fn variant<'de, D: Deserializer<'de>>(kind: Kind, rest: D) -> Result<Event, D::Error> {
    Ok(match kind {
        Kind::Installed => Event::Installed(Installed::deserialize(rest)?),
        Kind::Deleted => Event::Deleted(Deleted::deserialize(rest)?),
        Kind::StatusChanged => Event::StatusChanged(StatusChanged::deserialize(rest)?),
        Kind::SettingsUpdated => Event::SettingsUpdated(SettingsUpdated::deserialize(rest)?),
        Kind::Webhook => Event::Webhook(WebhookEvent::deserialize(rest)?),
    })
}

/// The object's text with its (first) `kind` entry moved to the front; `None` without one.
fn kind_first(mut entries: Vec<(String, serde_json::Value)>) -> Option<String> {
    let at = entries.iter().position(|(name, _)| name == TAG)?;
    let tag = entries.remove(at);
    entries.insert(0, tag);
    let mut text = String::from("{");
    for (index, (name, value)) in entries.into_iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        // A name and a value always serialise.
        text.push_str(&serde_json::to_string(&name).ok()?);
        text.push(':');
        text.push_str(&serde_json::to_string(&value).ok()?);
    }
    text.push('}');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{EventMessage, InstallationStatus};
    use crate::webhook_body::WebhookBody;
    use serde_json::json;

    #[test]
    fn an_envelope_written_here_reads_back_with_the_body_as_sent() {
        let body = WebhookBody::parse(br#"{"id": "te-1",  "n": 1.50, "workspaceId": "ws"}"#)
            .expect("object");
        let message = EventMessage::new(
            "ws".into(),
            "req".into(),
            Event::Webhook(WebhookEvent {
                event_type: crate::events::EventType::NewTimeEntry,
                scheme: crate::messages::SignatureScheme::Jwt,
                addon_id: Some("addon".into()),
                token_sha256: Some("ab".repeat(32)),
                body_sha256: "cd".repeat(32),
                body,
            }),
        );
        let text = serde_json::to_string(&message).expect("json");
        assert!(text.contains(r#""event":{"kind":"webhook""#));
        // The body's text travels as it was sent, spacing and number spelling included.
        assert!(text.contains(r#""body":{"id": "te-1",  "n": 1.50, "workspaceId": "ws"}"#));
        let back: EventMessage = serde_json::from_str(&text).expect("reads");
        assert_eq!(back, message);
    }

    #[test]
    fn kind_is_found_wherever_it_is() {
        let moved = json!({
            "addon_id": "a",
            "status": "INACTIVE",
            "kind": "status_changed",
        });
        // `json!` sorts the names, so `kind` is not first.
        assert!(!moved.to_string().starts_with(r#"{"kind""#));
        let event: Event = serde_json::from_str(&moved.to_string()).expect("reads");
        assert!(matches!(
            event,
            Event::StatusChanged(StatusChanged {
                status: InstallationStatus::Inactive,
                ..
            })
        ));
        let webhook = r#"{"event_type": "NEW_TAG", "scheme": "hmac", "addon_id": null,
            "token_sha256": null, "body_sha256": "x", "body": {"id": "tag-1"}, "kind": "webhook"}"#;
        let Event::Webhook(webhook) = serde_json::from_str::<Event>(webhook).expect("reads") else {
            panic!("a webhook");
        };
        assert_eq!(webhook.body.fields().id.as_deref(), Some("tag-1"));
    }

    #[test]
    fn an_object_without_a_known_kind_is_refused() {
        assert!(serde_json::from_str::<Event>(r#"{"addon_id": "a"}"#).is_err());
        assert!(serde_json::from_str::<Event>(r#"{}"#).is_err());
        assert!(serde_json::from_str::<Event>(r#"{"kind": "exploded"}"#).is_err());
        assert!(serde_json::from_str::<Event>(r#"{"kind": "webhook", "body": [1]}"#).is_err());
    }
}
