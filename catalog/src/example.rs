//! Example values built from schemas, so the studio can pre-fill a request body and offer an
//! enum's values as choices. Best effort: an unresolvable reference or a deep schema yields
//! `null` where it stops, never an error.

use serde_json::{Map, Value, json};

use crate::refs::Document;

/// How deep nested objects and arrays are followed; deeper levels become `null`.
const MAX_DEPTH: usize = 4;

/// An example value for `schema`: its `example` or `default` when given, else one built from
/// its type (first enum value, properties of objects, one item of arrays).
pub(crate) fn example_of<'doc>(document: &Document<'doc>, schema: &'doc Value) -> Value {
    example_at(document, schema, 0)
}

fn example_at<'doc>(document: &Document<'doc>, schema: &'doc Value, depth: usize) -> Value {
    let Ok(schema) = document.resolve(schema) else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(given) = schema.get("example").or_else(|| schema.get("default")) {
        return given.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(combinator)
            .and_then(Value::as_array)
            .and_then(|v| v.first())
        {
            return example_at(document, first, depth + 1);
        }
    }
    let type_name = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| {
            if schema.get("properties").is_some() {
                "object"
            } else {
                ""
            }
        });
    match type_name {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    object.insert(name.clone(), example_at(document, property, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => match schema.get("items") {
            Some(items) => json!([example_at(document, items, depth + 1)]),
            None => json!([]),
        },
        "string" => Value::String(match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2026-01-01T00:00:00Z".to_owned(),
            Some("date") => "2026-01-01".to_owned(),
            _ => String::new(),
        }),
        "integer" => json!(0),
        "number" => json!(0.0),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// The values `schema` allows, as strings, when it is an enum (itself or through `items`).
pub(crate) fn choices_of<'doc>(document: &Document<'doc>, schema: &'doc Value) -> Vec<String> {
    let Ok(schema) = document.resolve(schema) else {
        return Vec::new();
    };
    let listed = schema.get("enum").or_else(|| {
        schema
            .get("items")
            .and_then(|items| document.resolve(items).ok())
            .and_then(|items| items.get("enum"))
    });
    listed
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .map(|value| match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_follows_references_and_prefers_given_examples() {
        let root = json!({"components": {"schemas": {
            "Rate": {"type": "object", "properties": {"amount": {"type": "integer"}, "currency": {"example": "EUR"}}},
            "Project": {"type": "object", "properties": {
                "name": {"type": "string"},
                "billable": {"type": "boolean"},
                "color": {"enum": ["#03A9F4", "#FF0000"]},
                "hourlyRate": {"$ref": "#/components/schemas/Rate"},
                "memberships": {"type": "array", "items": {"type": "string"}}
            }}
        }}});
        let document = Document::new(&root);
        let schema = json!({"$ref": "#/components/schemas/Project"});
        assert_eq!(
            example_of(&document, &schema),
            json!({"name": "", "billable": false, "color": "#03A9F4",
                   "hourlyRate": {"amount": 0, "currency": "EUR"}, "memberships": [""]})
        );
    }

    #[test]
    fn a_self_referencing_schema_stops_at_the_depth_limit() {
        let root = json!({"components": {"schemas": {"Node": {"type": "object", "properties": {
            "child": {"$ref": "#/components/schemas/Node"}}}}}});
        let document = Document::new(&root);
        let schema = json!({"$ref": "#/components/schemas/Node"});
        let example = example_of(&document, &schema);
        assert_eq!(
            example,
            json!({"child": {"child": {"child": {"child": {"child": null}}}}})
        );
    }

    #[test]
    fn choices_come_from_an_enum_or_its_items() {
        let root = json!({});
        let document = Document::new(&root);
        let direct = json!({"type": "string", "enum": ["ACTIVE", "ARCHIVED"]});
        let listed = json!({"type": "array", "items": {"enum": ["A", 1]}});
        assert_eq!(choices_of(&document, &direct), ["ACTIVE", "ARCHIVED"]);
        assert_eq!(choices_of(&document, &listed), ["A", "1"]);
        assert!(choices_of(&document, &json!({"type": "string"})).is_empty());
    }
}
