//! Reading an operation's path and query parameters: path-level declarations merged with
//! operation-level ones, references resolved, and the path template's placeholders typed.

use serde_json::Value;

use crate::example::choices_of;
use crate::media::first_media_schema;
use crate::model::{Parameter, ValueKind};
use crate::refs::Document;

/// The parameters validation checks; header and cookie ones are the HTTP client's business.
pub(crate) struct OperationParameters {
    /// Exactly the template's placeholders, in template order.
    pub(crate) path: Vec<Parameter>,
    /// In declaration order, path-level ones first.
    pub(crate) query: Vec<Parameter>,
}

/// Reads the parameters of the operation at `template`, declared at the path item and the
/// operation (`levels`, in that order).
pub(crate) fn read_parameters<'doc>(
    document: &Document<'doc>,
    template: &str,
    levels: [&'doc Value; 2],
) -> Result<OperationParameters, String> {
    let declared = declared_parameters(document, levels)?;
    let path = path_parameters(template, &declared)?;
    let query = declared
        .into_iter()
        .filter(|entry| entry.location == "query")
        .map(|entry| entry.parameter)
        .collect();
    Ok(OperationParameters { path, query })
}

/// A parameter as declared, before it is sorted into path and query.
struct Declared {
    location: String,
    parameter: Parameter,
}

/// Path-level parameters overlaid by operation-level ones with the same `in` and `name`;
/// header and cookie parameters dropped.
fn declared_parameters<'doc>(
    document: &Document<'doc>,
    levels: [&'doc Value; 2],
) -> Result<Vec<Declared>, String> {
    let mut merged: Vec<Declared> = Vec::new();
    for level in levels {
        let listed = level.get("parameters").and_then(Value::as_array);
        for raw in listed.into_iter().flatten() {
            let Some(declared) = declared_parameter(document, raw)? else {
                continue;
            };
            let same = merged.iter_mut().find(|existing| {
                existing.location == declared.location
                    && existing.parameter.name == declared.parameter.name
            });
            match same {
                Some(existing) => *existing = declared,
                None => merged.push(declared),
            }
        }
    }
    Ok(merged)
}

fn declared_parameter<'doc>(
    document: &Document<'doc>,
    raw: &'doc Value,
) -> Result<Option<Declared>, String> {
    let parameter = document.resolve(raw).map_err(|broken| broken.0)?;
    let location = parameter
        .get("in")
        .and_then(Value::as_str)
        .ok_or("a parameter has no `in`")?;
    if location != "path" && location != "query" {
        return Ok(None);
    }
    let name = parameter
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a parameter has no `name`")?;
    let schema = parameter
        .get("schema")
        .or_else(|| first_media_schema(parameter));
    let kind = match schema {
        Some(schema) => document
            .schema_kind(schema)
            .map_err(|broken| format!("parameter {name}: {}", broken.0))?,
        None => ValueKind::Any,
    };
    let required = location == "path"
        || parameter
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    Ok(Some(Declared {
        location: location.to_owned(),
        parameter: Parameter {
            name: name.to_owned(),
            required,
            kind,
            choices: schema.map_or_else(Vec::new, |schema| choices_of(document, schema)),
            description: parameter
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    }))
}

/// The template's placeholders in order, typed from their declarations (a string when the
/// document forgot to declare one). Declared path parameters absent from the template are
/// dropped: the template is what gets filled in.
fn path_parameters(template: &str, declared: &[Declared]) -> Result<Vec<Parameter>, String> {
    let mut parameters: Vec<Parameter> = Vec::new();
    for name in placeholders(template)? {
        if parameters.iter().any(|parameter| parameter.name == name) {
            continue;
        }
        let kind = declared
            .iter()
            .find(|entry| entry.location == "path" && entry.parameter.name == name)
            .map_or(ValueKind::String, |entry| entry.parameter.kind);
        parameters.push(Parameter {
            name: name.to_owned(),
            required: true,
            kind,
            choices: Vec::new(),
            description: None,
        });
    }
    Ok(parameters)
}

/// The names between braces in a path template.
fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("path {template} has an unclosed {{"))?;
        let name = &after[..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!("path {template} has a malformed placeholder"));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_listed_in_template_order() {
        let names = placeholders("/v1/workspaces/{workspaceId}/projects/{projectId}/tasks");

        assert_eq!(
            names.expect("well formed"),
            vec!["workspaceId", "projectId"]
        );
    }

    #[test]
    fn an_unclosed_placeholder_is_refused() {
        assert!(placeholders("/v1/workspaces/{workspaceId").is_err());
    }
}
