//! Following `$ref`s inside one OpenAPI document, and reading a schema's top-level JSON type.
//!
//! Only local references (`#/...`) exist for us: the catalog is one file and loading it must not
//! reach the network. A reference chain that comes back to itself is an error rather than a hang.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::model::ValueKind;

/// A reference that cannot be followed; the loader reports it as an invalid document.
#[derive(Debug)]
pub(crate) struct BrokenReference(pub(crate) String);

/// The whole parsed document, the root every `#/...` pointer is taken from.
pub(crate) struct Document<'doc> {
    root: &'doc Value,
}

impl<'doc> Document<'doc> {
    pub(crate) fn new(root: &'doc Value) -> Self {
        Document { root }
    }

    /// Follows `value`'s `$ref` chain, if any, to the object it ends at.
    pub(crate) fn resolve(&self, value: &'doc Value) -> Result<&'doc Value, BrokenReference> {
        let mut current = value;
        let mut followed: Vec<&'doc str> = Vec::new();
        while let Some(reference) = reference_of(current) {
            if followed.contains(&reference) {
                return Err(cycle_through(reference));
            }
            followed.push(reference);
            current = self.lookup(reference)?;
        }
        Ok(current)
    }

    /// The top-level JSON type `schema` allows, `Any` when it does not say.
    ///
    /// In order: `$ref` (followed), `type`, the first member of `allOf` / `oneOf` / `anyOf` that
    /// names a type, `items` (an array), `properties` / `additionalProperties` (an object).
    pub(crate) fn schema_kind(&self, schema: &'doc Value) -> Result<ValueKind, BrokenReference> {
        self.schema_kind_along(schema, &mut Vec::new())
    }

    fn schema_kind_along(
        &self,
        schema: &'doc Value,
        trail: &mut Vec<&'doc str>,
    ) -> Result<ValueKind, BrokenReference> {
        if let Some(reference) = reference_of(schema) {
            if trail.contains(&reference) {
                return Err(cycle_through(reference));
            }
            trail.push(reference);
            let kind = self
                .lookup(reference)
                .and_then(|target| self.schema_kind_along(target, trail));
            trail.pop();
            return kind;
        }
        if let Some(kind) = schema.get("type").and_then(kind_of_type_keyword) {
            return Ok(kind);
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            for member in schema
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let kind = self.schema_kind_along(member, trail)?;
                if kind != ValueKind::Any {
                    return Ok(kind);
                }
            }
        }
        if schema.get("items").is_some() {
            return Ok(ValueKind::Array);
        }
        if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
            return Ok(ValueKind::Object);
        }
        Ok(ValueKind::Any)
    }

    fn lookup(&self, reference: &str) -> Result<&'doc Value, BrokenReference> {
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(BrokenReference(format!(
                "$ref {reference} points outside the document, which is not supported"
            )));
        };
        let pointer = percent_decode_str(fragment)
            .decode_utf8()
            .map_err(|_| BrokenReference(format!("$ref {reference} is not valid UTF-8")))?;
        self.root
            .pointer(&pointer)
            .ok_or_else(|| BrokenReference(format!("$ref {reference} points at nothing")))
    }
}

fn reference_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

fn cycle_through(reference: &str) -> BrokenReference {
    BrokenReference(format!("$ref {reference} leads back to itself"))
}

/// `type: "string"`, or the OpenAPI 3.1 list form `type: ["string", "null"]`.
fn kind_of_type_keyword(keyword: &Value) -> Option<ValueKind> {
    match keyword {
        Value::String(name) => kind_of_type_name(name),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .find_map(kind_of_type_name),
        _ => None,
    }
}

fn kind_of_type_name(name: &str) -> Option<ValueKind> {
    match name {
        "string" => Some(ValueKind::String),
        "integer" => Some(ValueKind::Integer),
        "number" => Some(ValueKind::Number),
        "boolean" => Some(ValueKind::Boolean),
        "array" => Some(ValueKind::Array),
        "object" => Some(ValueKind::Object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_ref_chain_is_followed_to_its_end() {
        let root = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "integer"}
        }}});
        let document = Document::new(&root);

        let kind = document
            .schema_kind(&json!({"$ref": "#/components/schemas/A"}))
            .expect("the chain ends in a type");

        assert_eq!(kind, ValueKind::Integer);
    }

    #[test]
    fn a_ref_cycle_is_reported_instead_of_looping() {
        let root = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}
        }}});
        let document = Document::new(&root);

        let error = document
            .schema_kind(&json!({"$ref": "#/components/schemas/A"}))
            .expect_err("the chain never ends");

        assert!(error.0.contains("leads back to itself"), "{}", error.0);
    }

    #[test]
    fn the_same_schema_twice_side_by_side_is_not_a_cycle() {
        let root = json!({"components": {"schemas": {"Name": {"type": "string"}}}});
        let document = Document::new(&root);
        let schema = json!({"oneOf": [
            {"allOf": [{"$ref": "#/components/schemas/Name"}]},
            {"$ref": "#/components/schemas/Name"}
        ]});

        let kind = document.schema_kind(&schema).expect("no cycle here");

        assert_eq!(kind, ValueKind::String);
    }

    #[test]
    fn combinators_take_the_first_member_that_names_a_type() {
        let document_root = json!({});
        let document = Document::new(&document_root);
        let schema = json!({"anyOf": [{"description": "untyped"}, {"type": ["null", "boolean"]}]});

        let kind = document.schema_kind(&schema).expect("no refs");

        assert_eq!(kind, ValueKind::Boolean);
    }

    #[test]
    fn items_mean_an_array_and_properties_mean_an_object() {
        let document_root = json!({});
        let document = Document::new(&document_root);

        let array = document.schema_kind(&json!({"items": {"type": "string"}}));
        let object = document.schema_kind(&json!({"properties": {"name": {}}}));
        let unknown = document.schema_kind(&json!({"description": "anything"}));

        assert_eq!(array.expect("no refs"), ValueKind::Array);
        assert_eq!(object.expect("no refs"), ValueKind::Object);
        assert_eq!(unknown.expect("no refs"), ValueKind::Any);
    }

    #[test]
    fn percent_encoded_and_escaped_pointers_are_decoded() {
        let root = json!({"paths": {"/v1/a b": {"x": {"type": "number"}}}});
        let document = Document::new(&root);

        let kind = document.schema_kind(&json!({"$ref": "#/paths/~1v1~1a%20b/x"}));

        assert_eq!(kind.expect("the pointer resolves"), ValueKind::Number);
    }

    #[test]
    fn references_outside_the_document_are_refused() {
        let document_root = json!({});
        let document = Document::new(&document_root);

        let error = document
            .resolve(&json!({"$ref": "other.json#/components/schemas/A"}))
            .expect_err("external refs are not followed");

        assert!(error.0.contains("outside the document"), "{}", error.0);
    }
}
