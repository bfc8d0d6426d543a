//! A JSON document serialised once and shared: what a webhook's body becomes when both its log
//! row and its entity version store it.
//!
//! Binding a `serde_json::Value` to a `jsonb` parameter serialises it again for every column, and
//! giving each column its own copy deep-clones the tree; a draining worker spent about a fifth of
//! its CPU on those clones, their drops and the second serialisation (BENCHMARKS section 11).
//! A [`JsonText`] is the document's text behind an `Arc`: cloning it is a reference count, and
//! binding it copies the text as it is.

use std::sync::Arc;

use serde_json::value::RawValue;

/// A serialised JSON document, cheap to clone, bound to `jsonb` as its text.
pub type JsonText = Arc<RawValue>;

/// Serialises `value` once.
pub fn json_text(value: &serde_json::Value) -> JsonText {
    match serde_json::value::to_raw_value(value) {
        Ok(text) => Arc::from(text),
        // A `Value` always serialises (its map keys are strings); this arm is never taken.
        Err(_) => Arc::from(RawValue::NULL.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_as_the_same_document() {
        let value = serde_json::json!({"id": "te-1", "description": "a \"quoted\" entry", "n": [1, 2.5, null]});
        let text = json_text(&value);
        let again: serde_json::Value = serde_json::from_str(text.get()).expect("valid JSON");
        assert_eq!(again, value);
        let shared = text.clone();
        assert!(Arc::ptr_eq(&text, &shared));
    }
}
