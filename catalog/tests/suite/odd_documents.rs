//! Documents that are broken, from another OpenAPI generation, or repeat an operation id.

use catalog::{Catalog, CatalogError};
use serde_json::json;

#[test]
fn a_reference_cycle_is_refused_with_the_reference_named() {
    let document = json!({
        "openapi": "3.0.1",
        "paths": {"/v1/loop": {"get": {
            "parameters": [{"$ref": "#/components/parameters/A"}],
            "responses": {}
        }}},
        "components": {"parameters": {
            "A": {"$ref": "#/components/parameters/B"},
            "B": {"$ref": "#/components/parameters/A"}
        }}
    });

    let error = Catalog::from_json(&document.to_string(), "loop.json").expect_err("cyclic");

    assert!(matches!(error, CatalogError::Invalid { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("loop.json") && message.contains("#/components/parameters/"),
        "{message}"
    );
}

#[test]
fn a_dangling_reference_is_refused() {
    let document = json!({
        "openapi": "3.0.3",
        "paths": {"/v1/x": {"post": {
            "requestBody": {"$ref": "#/components/requestBodies/Missing"},
            "responses": {}
        }}}
    });

    let error = Catalog::from_json(&document.to_string(), "dangling.json").expect_err("dangling");

    assert!(error.to_string().contains("points at nothing"), "{error}");
}

#[test]
fn a_swagger_two_document_is_refused() {
    let document = json!({"swagger": "2.0", "paths": {}});

    let error = Catalog::from_json(&document.to_string(), "old.json").expect_err("not OpenAPI 3");

    assert!(matches!(error, CatalogError::Invalid { .. }), "{error:?}");
}

#[test]
fn a_repeated_operation_id_is_made_unique() {
    let document = json!({
        "openapi": "3.0.1",
        "paths": {
            "/v1/a": {"get": {"operationId": "fetch", "responses": {}}},
            "/v1/b": {"get": {"operationId": "fetch", "responses": {}}}
        }
    });

    let catalog = Catalog::from_json(&document.to_string(), "twice.json").expect("loads");

    assert_eq!(
        catalog
            .find("fetch")
            .map(|operation| operation.path.as_str()),
        Some("/v1/a")
    );
    assert_eq!(
        catalog
            .find("fetch_1")
            .map(|operation| operation.path.as_str()),
        Some("/v1/b")
    );
}
