//! The catalog's vocabulary: operations, their parameters and body rules, and the filter and
//! grouping shapes the studio lists them in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One callable Clockify operation, flattened out of the OpenAPI document so that validating a
/// call never has to look at the document again.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The document's `operationId`, or `method_path` when the document gives none.
    pub operation_id: String,
    /// Upper case (`GET`, `POST`, ...), so comparisons and outbound requests agree.
    pub method: String,
    /// The path template as written in the document, e.g. `/v1/workspaces/{workspaceId}/tags`.
    pub path: String,
    /// The first tag of the operation, `Other` when it has none; the studio groups by it.
    pub tag: String,
    /// One line for the studio's list: the summary, else the description's first line.
    pub summary: String,
    /// Which Clockify host serves it, so the caller picks the matching base URL from the token.
    pub base: ApiBase,
    /// Exactly the placeholders of the template, in template order; all required.
    pub path_params: Vec<Parameter>,
    /// The declared query parameters; anything else is refused.
    pub query_params: Vec<Parameter>,
    /// Whether a JSON body is expected and what its top-level type must be.
    pub body: BodyRule,
    /// The document's description, for the studio's form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An example body built from the schema, to pre-fill the studio's editor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_example: Option<serde_json::Value>,
}

/// A path or query parameter, reduced to what validation needs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    pub required: bool,
    pub kind: ValueKind,
    /// The values an enum allows, for a select in the studio's form; empty otherwise.
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The top-level JSON type a schema allows; `Any` when the document does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ValueKind {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Any,
}

impl ValueKind {
    /// The kind of a concrete JSON value, for error messages; `None` for `null`.
    pub fn of(value: &serde_json::Value) -> Option<ValueKind> {
        use serde_json::Value;
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(ValueKind::Boolean),
            Value::Number(number) if number.is_i64() || number.is_u64() => Some(ValueKind::Integer),
            Value::Number(_) => Some(ValueKind::Number),
            Value::String(_) => Some(ValueKind::String),
            Value::Array(_) => Some(ValueKind::Array),
            Value::Object(_) => Some(ValueKind::Object),
        }
    }

    /// Whether a JSON value of this kind's shape is acceptable where `self` is expected
    /// (an integer is a number; anything is acceptable for `Any`).
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        match (self, ValueKind::of(value)) {
            (ValueKind::Any, _) => true,
            (_, None) => false,
            (ValueKind::Number, Some(ValueKind::Integer)) => true,
            (expected, Some(found)) => expected == found,
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ValueKind::String => "a string",
            ValueKind::Integer => "an integer",
            ValueKind::Number => "a number",
            ValueKind::Boolean => "a boolean",
            ValueKind::Array => "an array",
            ValueKind::Object => "an object",
            ValueKind::Any => "any value",
        })
    }
}

/// Whether an operation takes a JSON body; the kind is the body's required top-level type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BodyRule {
    None,
    Required(ValueKind),
    Optional(ValueKind),
}

/// The Clockify host family that serves an operation. Base URLs differ per region and come from
/// the installation's token claims, so the catalog names the family, never a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ApiBase {
    /// `{backendUrl}`, e.g. `https://api.clockify.me/api`.
    Backend,
    /// `{reportsUrl}`, e.g. `https://reports.api.clockify.me`.
    Reports,
    /// The time-off host, e.g. `https://pto.api.clockify.me`.
    Pto,
}

impl ApiBase {
    /// Classifies a `servers[].url`. Words are compared whole (`reports`, `pto`), so a host that
    /// merely contains the letters (`crypto.example`) stays on the backend.
    pub fn from_server_url(url: &str) -> ApiBase {
        let lowered = url.to_ascii_lowercase();
        let words: Vec<&str> = lowered
            .split(|character: char| !character.is_ascii_alphanumeric())
            .collect();
        if words.contains(&"reports") {
            ApiBase::Reports
        } else if words.contains(&"pto") {
            ApiBase::Pto
        } else {
            ApiBase::Backend
        }
    }
}

/// What the studio's list view asks for; every field left out matches everything.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationFilter {
    /// Exact tag, compared case-insensitively.
    pub tag: Option<String>,
    /// HTTP method, compared case-insensitively.
    pub method: Option<String>,
    /// Case-insensitive substring of the operation id, summary or path template.
    pub text: Option<String>,
}

impl OperationFilter {
    /// Whether `operation` passes every criterion that is set. A blank criterion counts as
    /// unset, since an empty form field in the studio means "any".
    pub fn matches(&self, operation: &Operation) -> bool {
        let tag_matches =
            criterion(&self.tag).is_none_or(|tag| operation.tag.eq_ignore_ascii_case(tag));
        let method_matches = criterion(&self.method)
            .is_none_or(|method| operation.method.eq_ignore_ascii_case(method));
        let text_matches = criterion(&self.text).is_none_or(|text| {
            let needle = text.to_lowercase();
            [&operation.operation_id, &operation.summary, &operation.path]
                .iter()
                .any(|haystack| haystack.to_lowercase().contains(&needle))
        });
        tag_matches && method_matches && text_matches
    }
}

fn criterion(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|criterion| !criterion.is_empty())
}

/// The operations of one tag, as the studio shows them under one heading.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationGroup {
    pub tag: String,
    pub operations: Vec<Operation>,
}
