//! The catalog of Clockify API operations the API Studio may call, loaded from an OpenAPI 3.0
//! document (our bundled `openapi.json`, or Clockify's own published document).
//!
//! A studio call is checked against its operation before anything is sent: the operation must
//! be in the catalog; every path parameter of its template must be given, except `workspaceId`,
//! which is always the caller's own (a different one is refused); path parameters outside the
//! template, undeclared query keys and values of the wrong type are refused; required query
//! parameters must be present; a body is required, optional or refused as the document says and
//! its top-level JSON type must match. Path values are percent-encoded as single segments, so no
//! value can change which path is called.

mod encode;
mod error;
mod example;
mod loader;
mod media;
mod model;
mod order;
mod params;
mod refs;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub use error::{CatalogError, ValidationError};
pub use model::{
    ApiBase, BodyRule, Operation, OperationFilter, OperationGroup, Parameter, ValueKind,
};
pub use validate::{CallRequest, ValidatedCall};

/// The operations of one OpenAPI document, indexed for the studio's lookups. Built once at
/// startup and shared read-only.
#[derive(Debug, Clone)]
pub struct Catalog {
    source: String,
    operations: Vec<Operation>,
    index_by_id: HashMap<String, usize>,
}

impl Catalog {
    /// Reads and parses the document at `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::from_json(&text, &path.display().to_string())
    }

    /// Parses a document already in memory; `source` names it in errors and in [`Self::source`].
    pub fn from_json(text: &str, source: &str) -> Result<Catalog, CatalogError> {
        let root: serde_json::Value =
            serde_json::from_str(text).map_err(|error| CatalogError::Parse {
                source_name: source.to_owned(),
                message: error.to_string(),
            })?;
        let operations =
            loader::read_operations(&root, text).map_err(|message| CatalogError::Invalid {
                source_name: source.to_owned(),
                message,
            })?;
        let index_by_id = operations
            .iter()
            .enumerate()
            .map(|(index, operation)| (operation.operation_id.clone(), index))
            .collect();
        Ok(Catalog {
            source: source.to_owned(),
            operations,
            index_by_id,
        })
    }

    /// Where the catalog came from, for the startup log line.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many operations the studio can offer, for the startup log line.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    /// An empty catalog loads (a document may list no paths) but leaves the studio nothing to
    /// call, which the caller may want to refuse at startup.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this exact id.
    pub fn find(&self, operation_id: &str) -> Option<&Operation> {
        self.index_by_id
            .get(operation_id)
            .and_then(|&index| self.operations.get(index))
    }

    /// The operation at this method (any case) and exact path template.
    pub fn find_by_route(&self, method: &str, path_template: &str) -> Option<&Operation> {
        self.operations.iter().find(|operation| {
            operation.method.eq_ignore_ascii_case(method.trim()) && operation.path == path_template
        })
    }

    /// The operations passing `filter`, grouped by tag: tags sorted, operations within a tag in
    /// document order, tags without a match left out.
    pub fn grouped(&self, filter: &OperationFilter) -> Vec<OperationGroup> {
        let mut by_tag: BTreeMap<&str, Vec<Operation>> = BTreeMap::new();
        for operation in self
            .operations
            .iter()
            .filter(|operation| filter.matches(operation))
        {
            by_tag
                .entry(&operation.tag)
                .or_default()
                .push(operation.clone());
        }
        by_tag
            .into_iter()
            .map(|(tag, operations)| OperationGroup {
                tag: tag.to_owned(),
                operations,
            })
            .collect()
    }

    /// Checks a studio call made on behalf of the installation on `caller_workspace_id` and
    /// returns the request to send. `operation_id` wins over `method` + `path` when both are
    /// given; a blank `operation_id` counts as absent.
    pub fn validate(
        &self,
        call: &CallRequest,
        caller_workspace_id: &str,
    ) -> Result<ValidatedCall, ValidationError> {
        let operation = self.operation_for(call)?;
        validate::check_call(operation, call, caller_workspace_id)
    }

    fn operation_for(&self, call: &CallRequest) -> Result<&Operation, ValidationError> {
        let operation_id = call
            .operation_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        match (operation_id, call.method.as_deref(), call.path.as_deref()) {
            (Some(id), _, _) => self
                .find(id)
                .ok_or_else(|| ValidationError::UnknownOperation(id.to_owned())),
            (None, Some(method), Some(path)) => self.find_by_route(method, path).ok_or_else(|| {
                ValidationError::UnknownOperation(format!(
                    "{} {path}",
                    method.trim().to_ascii_uppercase()
                ))
            }),
            _ => Err(ValidationError::AmbiguousOperation),
        }
    }
}
