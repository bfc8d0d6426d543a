//! A webhook's body as Clockify sent it: its JSON text, kept as text from ingress to the
//! database, and the few top-level fields the tiers decide on, read from it once.
//!
//! Ingress used to parse the body into a `serde_json::Value` tree, the envelope carried the tree
//! serialised again, and every worker rebuilt the tree to serialise it a third time for the
//! database; building and dropping those trees was most of a draining worker's allocator work
//! (BENCHMARKS section 12). The text is already what the `jsonb` columns take.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::json_text::JsonText;

/// A webhook's body: a JSON object's text, with its identifying fields read once.
#[derive(Clone)]
pub struct WebhookBody {
    text: JsonText,
    fields: BodyFields,
}

/// The top-level string fields of a body that name its workspace and entity. A field that is
/// absent or not a string is `None`; of a name given twice, the last counts (as in `jsonb`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyFields {
    pub workspace_id: Option<String>,
    pub id: Option<String>,
    pub assignment_id: Option<String>,
    pub user_id: Option<String>,
    pub policy_id: Option<String>,
}

/// Why bytes are not a webhook body.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not JSON at all; `line` and `column` say where it broke.
    #[error("malformed JSON: line {line} column {column}")]
    Malformed { line: usize, column: usize },
    /// Valid JSON, but not an object.
    #[error("body must be a JSON object")]
    NotAnObject,
    /// A string holds `\u0000`, which PostgreSQL's `jsonb` cannot store.
    #[error("body must not contain the escape \\u0000")]
    NulEscape,
}

impl BodyFields {
    /// The same fields of a document already parsed.
    pub fn of_value(value: &serde_json::Value) -> Self {
        let text = |name: &str| match value.get(name) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        Self {
            workspace_id: text("workspaceId"),
            id: text("id"),
            assignment_id: text("assignmentId"),
            user_id: text("userId"),
            policy_id: text("policyId"),
        }
    }
}

impl WebhookBody {
    /// Reads a body received over HTTP: valid JSON, and an object.
    pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
        let malformed = |e: serde_json::Error| BodyError::Malformed {
            line: e.line(),
            column: e.column(),
        };
        let text: Box<RawValue> = serde_json::from_slice(bytes).map_err(malformed)?;
        // Reading raw text checks the syntax but not what a `\u` escape decodes to. A text
        // without one has nothing more to check; with one, it is read in full once.
        if text.get().contains("\\u") {
            let document: serde_json::Value =
                serde_json::from_str(text.get()).map_err(malformed)?;
            if holds_nul(&document) {
                return Err(BodyError::NulEscape);
            }
        }
        Self::from_text(Arc::from(text))
    }

    /// A body from a document built in code (simulators and tests).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, BodyError> {
        Self::from_text(crate::json_text::json_text(value))
    }

    fn from_text(text: JsonText) -> Result<Self, BodyError> {
        // The text is valid JSON already; only its shape can be wrong here.
        let fields =
            serde_json::from_str::<BodyFields>(text.get()).map_err(|_| BodyError::NotAnObject)?;
        Ok(Self { text, fields })
    }

    /// The JSON text, shared: cloning it is a reference count.
    pub fn text(&self) -> &JsonText {
        &self.text
    }

    pub fn fields(&self) -> &BodyFields {
        &self.fields
    }

    /// The body as a document, for code that walks it (never on the event path).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.text.get()).unwrap_or(serde_json::Value::Null)
    }
}

/// Whether any string or name in `document` holds U+0000.
fn holds_nul(document: &serde_json::Value) -> bool {
    match document {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(name, value)| name.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

impl PartialEq for WebhookBody {
    fn eq(&self, other: &Self) -> bool {
        self.text.get() == other.text.get()
    }
}

impl fmt::Debug for WebhookBody {
    // Payloads are workspace data: a debug print shows their size, not their content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookBody({} bytes)", self.text.get().len())
    }
}

impl Serialize for WebhookBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for WebhookBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Box::<RawValue>::deserialize(deserializer)?;
        Self::from_text(Arc::from(text)).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for BodyFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = BodyFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BodyFields, A::Error> {
        let mut fields = BodyFields::default();
        while let Some(name) = map.next_key::<FieldName>()? {
            let slot = match name {
                FieldName::WorkspaceId => &mut fields.workspace_id,
                FieldName::Id => &mut fields.id,
                FieldName::AssignmentId => &mut fields.assignment_id,
                FieldName::UserId => &mut fields.user_id,
                FieldName::PolicyId => &mut fields.policy_id,
                FieldName::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<StringOrOther>()?.0;
        }
        Ok(fields)
    }
}

#[derive(Deserialize)]
enum FieldName {
    #[serde(rename = "workspaceId")]
    WorkspaceId,
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "assignmentId")]
    AssignmentId,
    #[serde(rename = "userId")]
    UserId,
    #[serde(rename = "policyId")]
    PolicyId,
    #[serde(other)]
    Other,
}

/// A value kept when it is a string, skipped (as `None`) when it is anything else.
struct StringOrOther(Option<String>);

impl<'de> Deserialize<'de> for StringOrOther {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrOtherVisitor)
    }
}

struct StringOrOtherVisitor;

impl<'de> Visitor<'de> for StringOrOtherVisitor {
    type Value = StringOrOther;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<StringOrOther, E> {
        Ok(StringOrOther(Some(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<StringOrOther, E> {
        Ok(StringOrOther(Some(value)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringOrOther, E> {
        Ok(StringOrOther(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOrOther, E> {
        Ok(StringOrOther(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOrOther, E> {
        Ok(StringOrOther(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringOrOther, E> {
        Ok(StringOrOther(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StringOrOther, E> {
        Ok(StringOrOther(None))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrOther, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(StringOrOther(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOrOther, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(StringOrOther(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fields_are_read_and_the_text_kept_as_sent() {
        let sent = br#"{ "id": "te-1", "workspaceId": "ws-1", "userId": 7, "nested": {"id": "x"},
            "list": [1, {"policyId": "no"}], "policyId": "p-1" }"#;
        let body = WebhookBody::parse(sent).expect("an object");
        assert_eq!(
            body.fields(),
            &BodyFields {
                workspace_id: Some("ws-1".into()),
                id: Some("te-1".into()),
                assignment_id: None,
                // Not a string, so not an id.
                user_id: None,
                policy_id: Some("p-1".into()),
            }
        );
        assert_eq!(body.to_value()["nested"], json!({"id": "x"}));
        let in_envelope = serde_json::to_string(&json!({"body": body.text()})).expect("json");
        let back: serde_json::Value = serde_json::from_str(&in_envelope).expect("json");
        assert_eq!(back["body"], body.to_value());
    }

    #[test]
    fn the_last_of_a_repeated_field_counts_as_in_jsonb() {
        let body = WebhookBody::parse(br#"{"id": "first", "id": "second"}"#).expect("object");
        assert_eq!(body.fields().id.as_deref(), Some("second"));
    }

    #[test]
    fn malformed_json_and_other_shapes_are_told_apart() {
        assert!(matches!(
            WebhookBody::parse(b"{\"id\": "),
            Err(BodyError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            WebhookBody::parse(b"[1, 2]"),
            Err(BodyError::NotAnObject)
        ));
        assert!(matches!(
            WebhookBody::parse(b"\"text\""),
            Err(BodyError::NotAnObject)
        ));
    }

    #[test]
    fn escapes_are_checked_as_a_parsed_document_would_be() {
        // A lone surrogate is not JSON text, though a raw read lets it through.
        assert!(matches!(
            WebhookBody::parse(br#"{"a": "\ud800"}"#),
            Err(BodyError::Malformed { .. })
        ));
        assert!(matches!(
            WebhookBody::parse(br#"{"a": "\udc00\ud800"}"#),
            Err(BodyError::Malformed { .. })
        ));
        assert!(matches!(
            WebhookBody::parse(br#"{"a": ["x\u0000"]}"#),
            Err(BodyError::NulEscape)
        ));
        assert!(matches!(
            WebhookBody::parse(br#"{"a\u0000": 1}"#),
            Err(BodyError::NulEscape)
        ));
        let fine = WebhookBody::parse(br#"{"id": "\u00e9\ud83d\ude00", "b": "\\u0000"}"#)
            .expect("valid escapes, and an escaped backslash before u0000");
        assert_eq!(fine.fields().id.as_deref(), Some("\u{e9}\u{1f600}"));
    }

    #[test]
    fn a_body_round_trips_through_serde() {
        let body = WebhookBody::from_value(&json!({"id": "p-1", "name": "Ünïcode \"quoted\""}))
            .expect("object");
        let text = serde_json::to_string(&body).expect("json");
        let back: WebhookBody = serde_json::from_str(&text).expect("json");
        assert_eq!(back, body);
        assert_eq!(back.fields().id.as_deref(), Some("p-1"));
        assert!(serde_json::from_str::<WebhookBody>("[1]").is_err());
    }
}
