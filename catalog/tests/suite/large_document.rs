//! A generated document shaped like Clockify's published one (OpenAPI 3.0.1, about 110 paths
//! and 170 operations, everything through `$ref`s, over 500 KB).

use catalog::{ApiBase, BodyRule, Catalog, ValueKind};
use serde_json::{Map, Value, json};

use crate::{CALLER_WORKSPACE, call};

const COLLECTIONS: usize = 55;
const PTO_DELETES: usize = 5;

/// 55 collection paths (list + create) and 55 item paths (get, and delete on the first five):
/// 110 paths, 170 operations.
fn clockify_shaped_document() -> Value {
    let padding = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(56);
    let mut paths = Map::new();
    for index in 0..COLLECTIONS {
        let collection = format!("/v1/workspaces/{{workspaceId}}/resource{index}");
        let body = if index % 10 == 0 {
            "OptionalList"
        } else {
            "Entity"
        };
        paths.insert(
            collection.clone(),
            json!({
                "get": {
                    "tags": [format!("Resource {index}")],
                    "summary": format!("List resource {index}"),
                    "description": padding,
                    "operationId": format!("listResource{index}"),
                    "deprecated": false,
                    "x-internal": {"owner": "team"},
                    "parameters": [
                        {"$ref": "#/components/parameters/WorkspaceId"},
                        {"$ref": "#/components/parameters/Page"},
                        {"$ref": "#/components/parameters/PageSize"},
                        {"$ref": "#/components/parameters/Name"},
                        {"$ref": "#/components/parameters/RequestId"}
                    ],
                    "responses": {"200": {"description": "OK"}}
                },
                "post": {
                    "tags": [format!("Resource {index}")],
                    "summary": format!("Create resource {index}"),
                    "description": padding,
                    "operationId": format!("createResource{index}"),
                    "parameters": [{"$ref": "#/components/parameters/WorkspaceId"}],
                    "requestBody": {"$ref": format!("#/components/requestBodies/{body}")},
                    "responses": {"201": {"description": "Created"}}
                }
            }),
        );
        let mut item = json!({
            "parameters": [
                {"$ref": "#/components/parameters/WorkspaceId"},
                {"$ref": "#/components/parameters/ItemId"}
            ],
            "get": {
                "tags": [format!("Resource {index}")],
                "description": format!("Get one resource {index}\n\n{padding}"),
                "responses": {"200": {"description": "OK"}}
            }
        });
        if index % 11 != 0 {
            item["get"]["operationId"] = json!(format!("getResource{index}"));
        }
        if index == 7 {
            item["get"]["parameters"] = json!([
                {"name": "itemId", "in": "path", "required": true, "schema": {"type": "integer"}}
            ]);
        }
        if index < PTO_DELETES {
            item["delete"] = json!({
                "tags": ["Time off"],
                "summary": format!("Delete resource {index}"),
                "operationId": format!("deleteResource{index}"),
                "servers": [{"url": "https://pto.api.clockify.me"}],
                "responses": {"204": {"description": "Deleted"}}
            });
        }
        paths.insert(format!("{collection}/{{itemId}}"), item);
    }
    json!({
        "openapi": "3.0.1",
        "info": {"title": "Clockify API", "version": "v1"},
        "servers": [{"url": "https://api.clockify.me/api"}],
        "paths": paths,
        "components": {
            "parameters": {
                "WorkspaceId": {"$ref": "#/components/parameters/WorkspaceIdTarget"},
                "WorkspaceIdTarget": {"name": "workspaceId", "in": "path", "required": true,
                                      "schema": {"$ref": "#/components/schemas/Id"}},
                "ItemId": {"name": "itemId", "in": "path", "required": true,
                           "schema": {"$ref": "#/components/schemas/Id"}},
                "Page": {"name": "page", "in": "query",
                         "schema": {"$ref": "#/components/schemas/PageNumber"}},
                "PageSize": {"name": "page-size", "in": "query",
                             "schema": {"allOf": [{"$ref": "#/components/schemas/PageNumber"}]}},
                "Name": {"name": "name", "in": "query", "required": true,
                         "schema": {"oneOf": [{"$ref": "#/components/schemas/ShortText"},
                                              {"type": "integer"}]}},
                "RequestId": {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}}
            },
            "requestBodies": {
                "Entity": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/EntityRequest"}}}},
                "OptionalList": {"content": {"application/json": {
                    "schema": {"items": {"$ref": "#/components/schemas/Id"}}}}}
            },
            "schemas": {
                "Id": {"type": "string", "example": "5b715612b079875110791111"},
                "PageNumber": {"type": "integer", "format": "int32", "minimum": 1},
                "ShortText": {"$ref": "#/components/schemas/Text"},
                "Text": {"type": "string"},
                "EntityRequest": {"$ref": "#/components/schemas/EntityRequestV2"},
                "EntityRequestV2": {"allOf": [{"$ref": "#/components/schemas/EntityBase"},
                                              {"properties": {"note": {"type": "string"}}}]},
                "EntityBase": {"properties": {"name": {"$ref": "#/components/schemas/Text"}}}
            }
        }
    })
}

fn clockify_shaped_catalog() -> (Catalog, usize) {
    let text = serde_json::to_string(&clockify_shaped_document()).expect("serializable");
    let catalog = Catalog::from_json(&text, "generated.json").expect("the document loads");
    (catalog, text.len())
}

fn names_and_kinds(params: &[catalog::Parameter]) -> Vec<(&str, ValueKind, bool)> {
    params
        .iter()
        .map(|param| (param.name.as_str(), param.kind, param.required))
        .collect()
}

#[test]
fn a_large_clockify_shaped_document_loads_every_operation() {
    let (catalog, size) = clockify_shaped_catalog();

    assert!(
        size >= 500_000,
        "the generated document is only {size} bytes"
    );
    assert_eq!(catalog.len(), 170);
}

#[test]
fn referenced_query_parameters_keep_their_names_kinds_and_requirement() {
    let (catalog, _) = clockify_shaped_catalog();

    let list = catalog.find("listResource3").expect("listResource3 exists");

    assert_eq!(
        names_and_kinds(&list.path_params),
        [("workspaceId", ValueKind::String, true)]
    );
    assert_eq!(
        names_and_kinds(&list.query_params),
        [
            ("page", ValueKind::Integer, false),
            ("page-size", ValueKind::Integer, false),
            ("name", ValueKind::String, true),
        ],
        "the header parameter is left out"
    );
}

#[test]
fn path_level_parameters_apply_and_operation_level_ones_override_them() {
    let (catalog, _) = clockify_shaped_catalog();

    let plain = catalog.find("getResource3").expect("getResource3 exists");
    let overridden = catalog.find("getResource7").expect("getResource7 exists");

    assert_eq!(
        names_and_kinds(&plain.path_params),
        [
            ("workspaceId", ValueKind::String, true),
            ("itemId", ValueKind::String, true)
        ]
    );
    assert_eq!(
        names_and_kinds(&overridden.path_params),
        [
            ("workspaceId", ValueKind::String, true),
            ("itemId", ValueKind::Integer, true)
        ]
    );
}

#[test]
fn request_bodies_resolve_through_chains_and_default_to_optional() {
    let (catalog, _) = clockify_shaped_catalog();
    let body_of = |id: &str| catalog.find(id).map(|operation| operation.body.clone());

    assert_eq!(
        body_of("createResource3"),
        Some(BodyRule::Required(ValueKind::Object))
    );
    assert_eq!(
        body_of("createResource10"),
        Some(BodyRule::Optional(ValueKind::Array))
    );
    assert_eq!(body_of("listResource3"), Some(BodyRule::None));
}

#[test]
fn operations_without_an_id_get_one_made_of_method_and_path() {
    let (catalog, _) = clockify_shaped_catalog();

    let synthesized = catalog
        .find("get_v1_workspaces_workspaceId_resource11_itemId")
        .expect("the id is synthesized");

    assert_eq!(
        synthesized.path,
        "/v1/workspaces/{workspaceId}/resource11/{itemId}"
    );
    assert_eq!(synthesized.summary, "Get one resource 11");
    assert!(catalog.find("getResource11").is_none());
}

#[test]
fn operation_level_servers_choose_the_api_family() {
    let (catalog, _) = clockify_shaped_catalog();

    let pto = catalog
        .find("deleteResource2")
        .expect("deleteResource2 exists");
    let backend = catalog.find("listResource2").expect("listResource2 exists");

    assert_eq!(pto.base, ApiBase::Pto);
    assert_eq!(backend.base, ApiBase::Backend);
}

#[test]
fn operations_keep_the_order_of_the_text() {
    let (catalog, _) = clockify_shaped_catalog();

    let first: Vec<&str> = catalog
        .operations()
        .iter()
        .take(4)
        .map(|operation| operation.operation_id.as_str())
        .collect();

    assert_eq!(
        first,
        [
            "listResource0",
            "createResource0",
            "deleteResource0",
            "get_v1_workspaces_workspaceId_resource0_itemId"
        ],
        "serde_json writes keys sorted, so delete comes before get in the text"
    );
}

#[test]
fn a_call_on_a_synthesized_operation_validates() {
    let (catalog, _) = clockify_shaped_catalog();
    let request = call(
        "get_v1_workspaces_workspaceId_resource22_itemId",
        &[("itemId", "42")],
    );

    let validated = catalog
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(validated.path, "/v1/workspaces/caller-ws/resource22/42");
}
