//! Checking a studio call against its operation and producing the request to send.
//!
//! The studio acts with the installation's admin token, so this is the gate that keeps a call
//! inside the catalog and inside the caller's own workspace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::encode::{fill_template, push_query_pairs};
use crate::error::ValidationError;
use crate::model::{ApiBase, BodyRule, Operation, ValueKind};

/// The path parameter that always takes the caller's workspace.
const WORKSPACE_PARAMETER: &str = "workspaceId";

/// A call as the studio sends it. The operation is named by `operation_id` (which wins when
/// given) or by `method` and `path` template. A `null` query value or body counts as absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub path_params: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
    pub body: Option<Value>,
}

/// A call that passed validation, ready for the HTTP client: join `path` to the base URL that
/// `base` names and send `query` as repeated pairs (the client encodes them).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatedCall {
    pub operation_id: String,
    pub method: String,
    pub base: ApiBase,
    /// Concrete and percent-encoded, e.g. `/v1/workspaces/ws%201/projects`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub tag: String,
}

/// Checks `call` against `operation`; see the crate docs for the rules.
pub(crate) fn check_call(
    operation: &Operation,
    call: &CallRequest,
    caller_workspace_id: &str,
) -> Result<ValidatedCall, ValidationError> {
    let path = concrete_path(operation, &call.path_params, caller_workspace_id)?;
    let query = query_pairs(operation, &call.query)?;
    let body = checked_body(&operation.body, call.body.as_ref())?;
    Ok(ValidatedCall {
        operation_id: operation.operation_id.clone(),
        method: operation.method.clone(),
        base: operation.base,
        path,
        query,
        body,
        tag: operation.tag.clone(),
    })
}

fn concrete_path(
    operation: &Operation,
    given: &BTreeMap<String, String>,
    caller_workspace_id: &str,
) -> Result<String, ValidationError> {
    for (name, value) in given {
        if !operation
            .path_params
            .iter()
            .any(|param| &param.name == name)
        {
            return Err(ValidationError::UnknownPathParameter(name.clone()));
        }
        if name == WORKSPACE_PARAMETER && value != caller_workspace_id {
            return Err(ValidationError::ForeignWorkspace);
        }
    }
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for param in &operation.path_params {
        let value = if param.name == WORKSPACE_PARAMETER {
            caller_workspace_id
        } else {
            given.get(&param.name).map_or("", String::as_str)
        };
        if value.is_empty() {
            return Err(ValidationError::MissingPathParameter(param.name.clone()));
        }
        if value == "." || value == ".." {
            return Err(ValidationError::InvalidPathParameter(param.name.clone()));
        }
        values.insert(&param.name, value);
    }
    Ok(fill_template(&operation.path, |name| {
        values.get(name).copied()
    }))
}

fn query_pairs(
    operation: &Operation,
    given: &BTreeMap<String, Value>,
) -> Result<Vec<(String, String)>, ValidationError> {
    let mut pairs = Vec::new();
    for (name, value) in given {
        let Some(param) = operation
            .query_params
            .iter()
            .find(|param| &param.name == name)
        else {
            return Err(ValidationError::UnknownQueryParameter(name.clone()));
        };
        if value.is_null() {
            continue;
        }
        if !query_value_fits(param.kind, value) {
            return Err(ValidationError::WrongQueryType {
                name: name.clone(),
                expected: param.kind,
            });
        }
        push_query_pairs(name, value, &mut pairs);
    }
    let missing = operation
        .query_params
        .iter()
        .filter(|param| param.required)
        .find(|param| given.get(&param.name).is_none_or(Value::is_null));
    if let Some(param) = missing {
        return Err(ValidationError::MissingQueryParameter(param.name.clone()));
    }
    Ok(pairs)
}

/// Whether a query value can be sent for a parameter of `kind`. Text that parses as the kind is
/// accepted (`"2"` for an integer, `"true"` for a boolean), since query strings are text anyway.
fn query_value_fits(kind: ValueKind, value: &Value) -> bool {
    match kind {
        ValueKind::String => value.is_string(),
        ValueKind::Integer => match value {
            Value::Number(number) => number.is_i64() || number.is_u64(),
            Value::String(text) => text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok(),
            _ => false,
        },
        ValueKind::Number => match value {
            Value::Number(_) => true,
            Value::String(text) => text.parse::<f64>().is_ok_and(f64::is_finite),
            _ => false,
        },
        ValueKind::Boolean => match value {
            Value::Bool(_) => true,
            Value::String(text) => text == "true" || text == "false",
            _ => false,
        },
        ValueKind::Array => match value {
            Value::Array(items) => items.iter().all(is_scalar),
            other => is_scalar(other),
        },
        ValueKind::Object => value.is_object(),
        ValueKind::Any => match value {
            Value::Array(items) => items.iter().all(is_scalar),
            _ => true,
        },
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn checked_body(rule: &BodyRule, given: Option<&Value>) -> Result<Option<Value>, ValidationError> {
    let given = given.filter(|body| !body.is_null());
    match (rule, given) {
        (BodyRule::None, None) | (BodyRule::Optional(_), None) => Ok(None),
        (BodyRule::None, Some(_)) => Err(ValidationError::BodyNotAllowed),
        (BodyRule::Required(_), None) => Err(ValidationError::BodyRequired),
        (BodyRule::Required(kind) | BodyRule::Optional(kind), Some(body)) => {
            if kind.accepts(body) {
                Ok(Some(body.clone()))
            } else {
                Err(ValidationError::WrongBodyType {
                    expected: *kind,
                    found: ValueKind::of(body).unwrap_or(ValueKind::Any),
                })
            }
        }
    }
}
