//! A call's query and body: undeclared, missing and mistyped values, array flattening, and the
//! body rules.

use catalog::{ApiBase, CallRequest, Catalog, ValidationError, ValueKind};
use serde_json::json;

use crate::{CALLER_WORKSPACE, bundled_catalog, call, refusal};

#[test]
fn an_undeclared_query_key_is_refused() {
    let mut request = call("listProjects", &[]);
    request.query.insert("admin".to_owned(), json!(true));

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(
        error,
        ValidationError::UnknownQueryParameter("admin".to_owned())
    );
}

#[test]
fn a_required_query_parameter_must_be_present() {
    let request = call("deleteUserTimeEntries", &[("userId", "u1")]);

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(
        error,
        ValidationError::MissingQueryParameter("time-entry-ids".to_owned())
    );
}

#[test]
fn query_values_of_the_wrong_kind_are_refused() {
    let catalog = bundled_catalog();
    let mut wrong_page = call("listProjects", &[]);
    wrong_page.query.insert("page".to_owned(), json!("two"));
    let mut wrong_flag = call("listProjects", &[]);
    wrong_flag.query.insert("archived".to_owned(), json!("yes"));
    let mut nested = call("listProjects", &[]);
    nested.query.insert("clients".to_owned(), json!([["c1"]]));

    assert_eq!(
        refusal(&catalog, &wrong_page),
        ValidationError::WrongQueryType {
            name: "page".to_owned(),
            expected: ValueKind::Integer
        }
    );
    assert_eq!(
        refusal(&catalog, &wrong_flag),
        ValidationError::WrongQueryType {
            name: "archived".to_owned(),
            expected: ValueKind::Boolean
        }
    );
    assert_eq!(
        refusal(&catalog, &nested),
        ValidationError::WrongQueryType {
            name: "clients".to_owned(),
            expected: ValueKind::Array
        }
    );
}

#[test]
fn text_that_parses_as_the_kind_is_accepted_in_the_query() {
    let mut request = call("listProjects", &[]);
    request.query.insert("page".to_owned(), json!("2"));
    request.query.insert("archived".to_owned(), json!("false"));
    request.query.insert("page-size".to_owned(), json!(500));

    let validated = bundled_catalog()
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(
        validated.query,
        [
            ("archived".to_owned(), "false".to_owned()),
            ("page".to_owned(), "2".to_owned()),
            ("page-size".to_owned(), "500".to_owned()),
        ]
    );
}

#[test]
fn query_arrays_become_repeated_keys() {
    let mut request = call("deleteUserTimeEntries", &[("userId", "u1")]);
    request
        .query
        .insert("time-entry-ids".to_owned(), json!(["e1", "e2", "e3"]));

    let validated = bundled_catalog()
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    let pairs: Vec<(&str, &str)> = validated
        .query
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("time-entry-ids", "e1"),
            ("time-entry-ids", "e2"),
            ("time-entry-ids", "e3")
        ]
    );
    assert_eq!(
        validated.path,
        "/v1/workspaces/caller-ws/user/u1/time-entries"
    );
    assert_eq!(validated.method, "DELETE");
}

#[test]
fn a_write_without_its_body_is_refused() {
    let error = refusal(&bundled_catalog(), &call("createProject", &[]));

    assert_eq!(error, ValidationError::BodyRequired);
}

#[test]
fn a_read_with_a_body_is_refused() {
    let mut request = call("getProject", &[("projectId", "p1")]);
    request.body = Some(json!({"name": "x"}));

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(error, ValidationError::BodyNotAllowed);
}

#[test]
fn a_body_of_the_wrong_json_type_is_refused() {
    let mut request = call("createProject", &[]);
    request.body = Some(json!(["not", "an", "object"]));

    let error = refusal(&bundled_catalog(), &request);

    assert_eq!(
        error,
        ValidationError::WrongBodyType {
            expected: ValueKind::Object,
            found: ValueKind::Array
        }
    );
    assert_eq!(
        error.to_string(),
        "the body must be an object, not an array"
    );
}

#[test]
fn a_report_call_is_sent_to_the_reports_host_with_its_body() {
    let mut request = call("getDetailedReport", &[]);
    let filter = json!({
        "dateRangeStart": "2024-01-01T00:00:00Z",
        "dateRangeEnd": "2024-01-31T23:59:59Z",
        "detailedFilter": {"page": 1, "pageSize": 50}
    });
    request.body = Some(filter.clone());

    let validated = bundled_catalog()
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(validated.base, ApiBase::Reports);
    assert_eq!(validated.method, "POST");
    assert_eq!(validated.path, "/v1/workspaces/caller-ws/reports/detailed");
    assert_eq!(validated.body, Some(filter));
}

#[test]
fn an_optional_body_may_be_left_out_and_accepts_any_json_when_untyped() {
    let document = json!({
        "openapi": "3.0.3",
        "paths": {"/v1/notes": {"post": {
            "operationId": "postNote",
            "requestBody": {"content": {"text/plain": {}}},
            "responses": {}
        }}}
    });
    let catalog = Catalog::from_json(&document.to_string(), "notes.json").expect("loads");
    let without = call("postNote", &[]);
    let mut with_text = call("postNote", &[]);
    with_text.body = Some(json!("free text"));

    let without = catalog
        .validate(&without, CALLER_WORKSPACE)
        .expect("valid call");
    let with_text = catalog
        .validate(&with_text, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(without.body, None);
    assert_eq!(with_text.body, Some(json!("free text")));
}

#[test]
fn a_call_request_deserializes_from_the_studio_json() {
    let request: CallRequest = serde_json::from_value(json!({
        "operationId": "stopRunningTimer",
        "pathParams": {"userId": "u1"},
        "body": {"end": "2024-01-01T10:00:00Z"}
    }))
    .expect("the studio's JSON fits");

    let validated = bundled_catalog()
        .validate(&request, CALLER_WORKSPACE)
        .expect("valid call");

    assert_eq!(validated.method, "PATCH");
    assert_eq!(
        validated.path,
        "/v1/workspaces/caller-ws/user/u1/time-entries"
    );
    assert!(validated.query.is_empty());
}
