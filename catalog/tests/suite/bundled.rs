//! The bundled `openapi.json`: it loads, covers what the studio offers, and its shared
//! parameters and schemas resolve to the right kinds.

use std::collections::HashSet;
use std::path::Path;

use catalog::{ApiBase, BodyRule, Catalog, CatalogError, ValueKind};

use crate::{BUNDLED, bundled_catalog};

const STUDIO_TAGS: [&str; 17] = [
    "Workspaces",
    "Users",
    "User groups",
    "Projects",
    "Tasks",
    "Clients",
    "Tags",
    "Time entries",
    "Custom fields",
    "Webhooks",
    "Reports",
    "Expenses",
    "Invoices",
    "Approvals",
    "Time off",
    "Holidays",
    "Scheduling",
];

#[test]
fn the_bundled_catalog_loads_with_at_least_fifty_operations() {
    let catalog = bundled_catalog();

    assert!(catalog.len() >= 50, "only {} operations", catalog.len());
    assert!(!catalog.is_empty());
    assert_eq!(catalog.source(), Path::new(BUNDLED).display().to_string());
}

#[test]
fn every_studio_tag_is_present_in_the_bundled_catalog() {
    let catalog = bundled_catalog();
    let tags: HashSet<&str> = catalog
        .operations()
        .iter()
        .map(|operation| operation.tag.as_str())
        .collect();

    for tag in STUDIO_TAGS {
        assert!(tags.contains(tag), "tag {tag} is missing");
    }
    assert_eq!(tags.len(), STUDIO_TAGS.len(), "unexpected tags: {tags:?}");
}

#[test]
fn bundled_operation_ids_are_unique_camel_case_words() {
    let catalog = bundled_catalog();
    let mut seen = HashSet::new();

    for operation in catalog.operations() {
        let id = &operation.operation_id;
        assert!(seen.insert(id.clone()), "{id} appears twice");
        assert!(
            id.starts_with(|first: char| first.is_ascii_lowercase())
                && id
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric()),
            "{id} is not camelCase"
        );
        assert!(!operation.summary.is_empty(), "{id} has no summary");
    }
}

#[test]
fn shared_parameters_resolve_through_component_references() {
    let catalog = bundled_catalog();

    let list_projects = catalog.find("listProjects").expect("listProjects exists");

    let path_names: Vec<&str> = list_projects
        .path_params
        .iter()
        .map(|param| param.name.as_str())
        .collect();
    assert_eq!(path_names, ["workspaceId"]);
    let query_kind = |name: &str| {
        list_projects
            .query_params
            .iter()
            .find(|param| param.name == name)
            .map(|param| (param.kind, param.required))
    };
    assert_eq!(query_kind("page"), Some((ValueKind::Integer, false)));
    assert_eq!(query_kind("page-size"), Some((ValueKind::Integer, false)));
    assert_eq!(query_kind("archived"), Some((ValueKind::Boolean, false)));
    assert_eq!(query_kind("name"), Some((ValueKind::String, false)));
    assert_eq!(query_kind("clients"), Some((ValueKind::Array, false)));
}

#[test]
fn writes_take_object_bodies_and_reads_take_none() {
    let catalog = bundled_catalog();
    let body_of = |id: &str| catalog.find(id).map(|operation| operation.body.clone());

    assert_eq!(
        body_of("createProject"),
        Some(BodyRule::Required(ValueKind::Object))
    );
    assert_eq!(
        body_of("updateProject"),
        Some(BodyRule::Required(ValueKind::Object))
    );
    assert_eq!(
        body_of("stopRunningTimer"),
        Some(BodyRule::Required(ValueKind::Object))
    );
    assert_eq!(body_of("listProjects"), Some(BodyRule::None));
    assert_eq!(body_of("deleteTag"), Some(BodyRule::None));
}

#[test]
fn reports_are_served_by_the_reports_host_and_the_rest_by_the_backend() {
    let catalog = bundled_catalog();
    // Time-off requests and balances live on the time-off host; policies on the backend.
    let on_pto = |path: &str| {
        path.contains("/time-off/") && (path.contains("/requests") || path.contains("/balance"))
    };
    for operation in catalog.operations() {
        let expected = if operation.tag == "Reports" {
            ApiBase::Reports
        } else if on_pto(&operation.path) {
            ApiBase::Pto
        } else {
            ApiBase::Backend
        };
        assert_eq!(operation.base, expected, "{}", operation.operation_id);
    }
    let detailed = catalog
        .find("getDetailedReport")
        .expect("detailed report exists");
    assert_eq!(detailed.method, "POST");
    assert_eq!(
        detailed.path,
        "/v1/workspaces/{workspaceId}/reports/detailed"
    );
}

#[test]
fn the_stop_timer_route_is_found_with_any_method_case() {
    let catalog = bundled_catalog();

    let found = catalog.find_by_route(
        "patch",
        "/v1/workspaces/{workspaceId}/user/{userId}/time-entries",
    );

    assert_eq!(
        found.map(|operation| operation.operation_id.as_str()),
        Some("stopRunningTimer")
    );
    assert!(
        catalog
            .find_by_route("PATCH", "/v1/workspaces/{workspaceId}/nothing")
            .is_none()
    );
}

#[test]
fn a_missing_file_is_reported_with_its_path() {
    let missing = Path::new("/nonexistent/catalog/openapi.json");

    let error = Catalog::load(missing).expect_err("the file does not exist");

    assert!(matches!(error, CatalogError::Read { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("/nonexistent/catalog/openapi.json"),
        "{error}"
    );
}

#[test]
fn text_that_is_not_json_is_reported_with_its_source() {
    let error = Catalog::from_json("{ not json", "studio.json").expect_err("not JSON");

    assert!(matches!(error, CatalogError::Parse { .. }), "{error:?}");
    assert!(error.to_string().contains("studio.json"), "{error}");
}
