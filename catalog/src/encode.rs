//! Turning validated values into a concrete path and query pairs.
//!
//! Path values are percent-encoded as single segments with everything but RFC 3986's unreserved
//! characters escaped, so no value can add a segment (`/`), start a query (`?`) or fragment
//! (`#`), or smuggle an escape (`%`). Query values are left as text: the HTTP client encodes them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Everything except `A-Z a-z 0-9 - . _ ~`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path value as a single, inert path segment.
pub(crate) fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

/// The template with each `{name}` replaced by its encoded value. A placeholder without a value
/// is left as written; validation makes sure that never happens.
pub(crate) fn fill_template<'v>(
    template: &str,
    value_of: impl Fn(&str) -> Option<&'v str>,
) -> String {
    let mut filled = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(length) = rest[open..].find('}') else {
            break;
        };
        let close = open + length;
        let name = &rest[open + 1..close];
        filled.push_str(&rest[..open]);
        match value_of(name) {
            Some(value) => filled.push_str(&encode_segment(value)),
            None => filled.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    filled.push_str(rest);
    filled
}

/// Appends the pairs one query value becomes: an array repeats its key per element, a scalar is
/// its plain text, an object its compact JSON.
pub(crate) fn push_query_pairs(name: &str, value: &Value, pairs: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                push_query_pairs(name, item, pairs);
            }
        }
        Value::String(text) => pairs.push((name.to_owned(), text.clone())),
        Value::Number(_) | Value::Bool(_) | Value::Object(_) => {
            pairs.push((name.to_owned(), value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_segment_escapes_everything_but_unreserved_characters() {
        let encoded = encode_segment("a/b?c#d%e f..g~h-i_j");

        assert_eq!(encoded, "a%2Fb%3Fc%23d%25e%20f..g~h-i_j");
    }

    #[test]
    fn non_ascii_values_are_encoded_as_utf8() {
        assert_eq!(encode_segment("zürich"), "z%C3%BCrich");
    }

    #[test]
    fn a_template_is_filled_with_encoded_values() {
        let filled = fill_template(
            "/v1/workspaces/{workspaceId}/tags/{id}",
            |name| match name {
                "workspaceId" => Some("ws 1"),
                "id" => Some("../x"),
                _ => None,
            },
        );

        assert_eq!(filled, "/v1/workspaces/ws%201/tags/..%2Fx");
    }

    #[test]
    fn arrays_repeat_their_key_and_scalars_become_text() {
        let mut pairs = Vec::new();

        push_query_pairs("tags", &json!(["a", "b"]), &mut pairs);
        push_query_pairs("page", &json!(2), &mut pairs);
        push_query_pairs("archived", &json!(false), &mut pairs);

        let expected = [
            ("tags", "a"),
            ("tags", "b"),
            ("page", "2"),
            ("archived", "false"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        assert_eq!(pairs, expected);
    }
}
