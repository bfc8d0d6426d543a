//! Turning an OpenAPI 3.0 document into the catalog's flat list of operations.
//!
//! Written for Clockify's published document as much as for our own: references are resolved,
//! path-level parameters merge with operation-level ones, header and cookie parameters are left
//! to the HTTP client, operations without an id get one, and fields we do not use are ignored.

use std::collections::HashSet;

use serde_json::Value;

use crate::example::example_of;
use crate::media::first_media_schema;
use crate::model::{ApiBase, BodyRule, Operation, ValueKind};
use crate::order::DocumentOrder;
use crate::params::read_parameters;
use crate::refs::Document;

/// The HTTP methods a path item may hold, in the order used when the text gives none.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The tag of operations that carry none.
const UNTAGGED: &str = "Other";

/// Reads every operation of `root`, in document order; `text` is what `root` was parsed from,
/// read again for its key order. The error is a plain message; the caller adds the file name.
pub(crate) fn read_operations(root: &Value, text: &str) -> Result<Vec<Operation>, String> {
    let version = root
        .get("openapi")
        .and_then(Value::as_str)
        .ok_or("the `openapi` version field is missing")?;
    if !version.starts_with("3.") {
        return Err(format!("OpenAPI version {version} is not 3.x"));
    }
    let paths = root
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("the `paths` object is missing")?;
    let order: DocumentOrder = serde_json::from_str(text)
        .map_err(|error| format!("every path item must be an object ({error})"))?;
    let document = Document::new(root);
    let document_base = base_of(root);
    let mut taken_ids = HashSet::new();
    let mut operations = Vec::new();

    for (template, keys) in order.paths() {
        if !template.starts_with('/') {
            return Err(format!("path {template} does not start with /"));
        }
        let item = paths
            .get(template)
            .ok_or_else(|| format!("path {template} vanished between readings"))?;
        let item = document
            .resolve(item)
            .map_err(|broken| format!("path {template}: {}", broken.0))?;
        let path_base = base_of(item).or(document_base);
        let methods = keys
            .into_iter()
            .filter(|key| METHODS.contains(key))
            .chain(METHODS)
            .filter(|method| item.get(method).is_some());
        let mut listed = Vec::new();
        for method in methods {
            if listed.contains(&method) {
                continue;
            }
            listed.push(method);
            let context = OperationContext {
                document: &document,
                method,
                template,
                path_item: item,
                inherited_base: path_base,
            };
            let operation = context.read(&mut taken_ids).map_err(|message| {
                format!("{} {template}: {message}", method.to_ascii_uppercase())
            })?;
            operations.push(operation);
        }
    }
    Ok(operations)
}

/// The API family named by an object's `servers`, if it has any.
fn base_of(object: &Value) -> Option<ApiBase> {
    object
        .get("servers")?
        .as_array()?
        .first()?
        .get("url")?
        .as_str()
        .map(ApiBase::from_server_url)
}

/// Everything one operation is read from.
struct OperationContext<'doc, 'a> {
    document: &'a Document<'doc>,
    method: &'a str,
    template: &'a str,
    path_item: &'doc Value,
    inherited_base: Option<ApiBase>,
}

impl<'doc> OperationContext<'doc, '_> {
    fn read(&self, taken_ids: &mut HashSet<String>) -> Result<Operation, String> {
        let spec = self
            .document
            .resolve(&self.path_item[self.method])
            .map_err(|broken| broken.0)?;
        if !spec.is_object() {
            return Err("the operation is not an object".to_owned());
        }
        let parameters = read_parameters(self.document, self.template, [self.path_item, spec])?;
        Ok(Operation {
            operation_id: self.unique_id(spec, taken_ids),
            method: self.method.to_ascii_uppercase(),
            path: self.template.to_owned(),
            tag: first_tag(spec),
            summary: one_line_summary(spec),
            base: base_of(spec)
                .or(self.inherited_base)
                .unwrap_or(ApiBase::Backend),
            path_params: parameters.path,
            query_params: parameters.query,
            body: self.body_rule(spec)?,
            description: spec
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            body_example: self.body_example(spec),
        })
    }

    /// The document's id, or `method_path`; a repeat gets `_1`, `_2`, ... as springdoc does.
    fn unique_id(&self, spec: &Value, taken_ids: &mut HashSet<String>) -> String {
        let wanted = spec
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(|| synthesized_id(self.method, self.template), str::to_owned);
        let mut candidate = wanted.clone();
        let mut suffix = 0;
        while taken_ids.contains(&candidate) {
            suffix += 1;
            candidate = format!("{wanted}_{suffix}");
        }
        taken_ids.insert(candidate.clone());
        candidate
    }

    fn body_example(&self, spec: &'doc Value) -> Option<Value> {
        let body = self.document.resolve(spec.get("requestBody")?).ok()?;
        Some(example_of(self.document, first_media_schema(body)?))
    }

    fn body_rule(&self, spec: &'doc Value) -> Result<BodyRule, String> {
        let Some(raw) = spec.get("requestBody") else {
            return Ok(BodyRule::None);
        };
        let body = self
            .document
            .resolve(raw)
            .map_err(|broken| format!("request body: {}", broken.0))?;
        let kind = match first_media_schema(body) {
            Some(schema) => self
                .document
                .schema_kind(schema)
                .map_err(|broken| format!("request body: {}", broken.0))?,
            None => ValueKind::Any,
        };
        let required = body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(if required {
            BodyRule::Required(kind)
        } else {
            BodyRule::Optional(kind)
        })
    }
}

/// The schema under `content`: `application/json`, else the first JSON-ish type, else the first.
fn synthesized_id(method: &str, template: &str) -> String {
    let words: Vec<&str> = template
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    format!("{}_{}", method.to_ascii_lowercase(), words.join("_"))
}

fn first_tag(spec: &Value) -> String {
    spec.get("tags")
        .and_then(Value::as_array)
        .and_then(|tags| tags.first())
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .unwrap_or(UNTAGGED)
        .to_owned()
}

fn one_line_summary(spec: &Value) -> String {
    ["summary", "description"]
        .iter()
        .filter_map(|field| spec.get(field).and_then(Value::as_str))
        .filter_map(|text| text.lines().map(str::trim).find(|line| !line.is_empty()))
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthesized_id_joins_method_and_path_words() {
        let id = synthesized_id("GET", "/v1/workspaces/{workspaceId}/time-entries");

        assert_eq!(id, "get_v1_workspaces_workspaceId_time_entries");
    }

    #[test]
    fn server_urls_name_the_api_family() {
        assert_eq!(
            ApiBase::from_server_url("https://reports.api.clockify.me"),
            ApiBase::Reports
        );
        assert_eq!(ApiBase::from_server_url("/pto"), ApiBase::Pto);
        assert_eq!(
            ApiBase::from_server_url("https://api.clockify.me/api"),
            ApiBase::Backend
        );
        assert_eq!(
            ApiBase::from_server_url("https://crypto.example/api"),
            ApiBase::Backend
        );
    }
}
