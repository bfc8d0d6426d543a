//! Naming the operation and filling its path: lookups, path parameters, the caller's
//! workspace and percent-encoding.

use catalog::{ApiBase, CallRequest, ValidationError};

use crate::{CALLER_WORKSPACE, bundled_catalog, call, refusal};

#[test]
fn an_unknown_operation_id_is_refused() {
    let error = refusal(&bundled_catalog(), &call("dropDatabase", &[]));

    assert_eq!(
        error,
        ValidationError::UnknownOperation("dropDatabase".to_owned())
    );
    assert!(error.to_string().contains("dropDatabase"));
}

#[test]
fn an_unknown_route_is_refused_with_method_and_path() {
    let request = CallRequest {
        method: Some("get".to_owned()),
        path: Some("/v1/admin".to_owned()),
        ..CallRequest::default()
    };

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(
        error,
        ValidationError::UnknownOperation("GET /v1/admin".to_owned())
    );
}

#[test]
fn a_call_naming_neither_an_id_nor_a_route_is_ambiguous() {
    let request = CallRequest {
        method: Some("GET".to_owned()),
        operation_id: Some("  ".to_owned()),
        ..CallRequest::default()
    };

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(error, ValidationError::AmbiguousOperation);
}

#[test]
fn an_operation_is_found_by_method_and_path_template() {
    let request = CallRequest {
        method: Some("get".to_owned()),
        path: Some("/v1/workspaces/{workspaceId}/projects/{projectId}".to_owned()),
        path_params: [("projectId".to_owned(), "p1".to_owned())].into(),
        ..CallRequest::default()
    };

    let validated = bundled_catalog()
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(validated.operation_id, "getProject");
    assert_eq!(validated.method, "GET");
    assert_eq!(validated.path, "/v1/workspaces/caller-ws/projects/p1");
    assert_eq!(validated.tag, "Projects");
    assert_eq!(validated.base, ApiBase::Backend);
}

#[test]
fn a_missing_path_parameter_is_refused() {
    let error = refusal(&bundled_catalog(), &call("getProject", &[]));

    assert_eq!(
        error,
        ValidationError::MissingPathParameter("projectId".to_owned())
    );
    assert!(error.to_string().contains("projectId"));
}

#[test]
fn an_empty_path_parameter_counts_as_missing() {
    let error = refusal(
        &bundled_catalog(),
        &call("getProject", &[("projectId", "")]),
    );

    assert_eq!(
        error,
        ValidationError::MissingPathParameter("projectId".to_owned())
    );
}

#[test]
fn a_path_parameter_outside_the_template_is_refused() {
    let request = call("getProject", &[("projectId", "p1"), ("tagId", "t1")]);

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(
        error,
        ValidationError::UnknownPathParameter("tagId".to_owned())
    );
}

#[test]
fn another_workspace_is_refused() {
    let request = call(
        "getProject",
        &[("workspaceId", "other-ws"), ("projectId", "p1")],
    );

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(error, ValidationError::ForeignWorkspace);
}

#[test]
fn the_workspace_is_always_the_callers_own() {
    let catalog = bundled_catalog();
    let implicit = call("listTags", &[]);
    let explicit = call("listTags", &[("workspaceId", CALLER_WORKSPACE)]);

    let implicit = catalog
        .validate(&implicit, CALLER_WORKSPACE)
        .expect("valid call");
    let explicit = catalog
        .validate(&explicit, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(implicit.path, "/v1/workspaces/caller-ws/tags");
    assert_eq!(explicit.path, implicit.path);
}

#[test]
fn path_values_are_encoded_as_single_segments() {
    let request = call("getProject", &[("projectId", "a/b?c#d e/../%2F")]);

    let validated = bundled_catalog()
        .validate(&request, "ws 1")
        .expect("valid call");

    assert_eq!(
        validated.path,
        "/v1/workspaces/ws%201/projects/a%2Fb%3Fc%23d%20e%2F..%2F%252F"
    );
}

#[test]
fn a_dot_segment_path_value_is_refused() {
    let catalog = bundled_catalog();

    let parent = refusal(&catalog, &call("getProject", &[("projectId", "..")]));
    let current = refusal(&catalog, &call("getProject", &[("projectId", ".")]));

    assert_eq!(
        parent,
        ValidationError::InvalidPathParameter("projectId".to_owned())
    );
    assert_eq!(
        current,
        ValidationError::InvalidPathParameter("projectId".to_owned())
    );
}
