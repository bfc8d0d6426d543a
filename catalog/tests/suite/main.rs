//! The catalog's behaviour through its public API: the bundled document, a document shaped like
//! Clockify's published one, call validation and the studio's grouped listing.

mod bundled;
mod call_paths;
mod call_payloads;
mod grouping;
mod large_document;
mod odd_documents;

use std::path::Path;

use catalog::{CallRequest, Catalog, ValidationError};

/// The catalog the studio ships with, at the workspace root.
const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

/// The workspace the calling installation lives on.
const CALLER_WORKSPACE: &str = "caller-ws";

fn bundled_catalog() -> Catalog {
    Catalog::load(Path::new(BUNDLED)).expect("the bundled openapi.json loads")
}

/// A call naming its operation by id, with the given path parameters.
fn call(operation_id: &str, path_params: &[(&str, &str)]) -> CallRequest {
    CallRequest {
        operation_id: Some(operation_id.to_owned()),
        path_params: path_params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        ..CallRequest::default()
    }
}

/// Why `catalog` refuses `request` from the caller's workspace.
fn refusal(catalog: &Catalog, request: &CallRequest) -> ValidationError {
    catalog
        .validate(request, CALLER_WORKSPACE)
        .expect_err("the call is refused")
}
