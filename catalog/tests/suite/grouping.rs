//! The studio's listing: operations grouped by tag and filtered by tag, method and text.

use catalog::OperationFilter;

use crate::bundled_catalog;

fn filter(tag: Option<&str>, method: Option<&str>, text: Option<&str>) -> OperationFilter {
    OperationFilter {
        tag: tag.map(str::to_owned),
        method: method.map(str::to_owned),
        text: text.map(str::to_owned),
    }
}

#[test]
fn without_a_filter_every_operation_is_listed_under_sorted_tags() {
    let catalog = bundled_catalog();

    let groups = catalog.grouped(&OperationFilter::default());

    let tags: Vec<&str> = groups.iter().map(|group| group.tag.as_str()).collect();
    let mut sorted = tags.clone();
    sorted.sort_unstable();
    assert_eq!(tags, sorted);
    let listed: usize = groups.iter().map(|group| group.operations.len()).sum();
    assert_eq!(listed, catalog.len());
}

#[test]
fn operations_within_a_group_keep_document_order() {
    let catalog = bundled_catalog();
    let in_document: Vec<&str> = catalog
        .operations()
        .iter()
        .filter(|operation| operation.tag == "Projects")
        .map(|operation| operation.operation_id.as_str())
        .collect();

    let groups = catalog.grouped(&filter(Some("Projects"), None, None));

    let grouped: Vec<&str> = groups[0]
        .operations
        .iter()
        .map(|operation| operation.operation_id.as_str())
        .collect();
    assert_eq!(grouped, in_document);
    assert_eq!(grouped.first().copied(), Some("listProjects"));
}

#[test]
fn the_tag_filter_is_exact_but_ignores_case() {
    let catalog = bundled_catalog();

    let tags = catalog.grouped(&filter(Some("tags"), None, None));
    let partial = catalog.grouped(&filter(Some("Tag"), None, None));

    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].tag, "Tags");
    assert_eq!(tags[0].operations.len(), 5);
    assert!(partial.is_empty());
}

#[test]
fn the_method_filter_keeps_only_that_method() {
    let catalog = bundled_catalog();

    let groups = catalog.grouped(&filter(None, Some("delete"), None));

    assert!(groups.len() > 5);
    for operation in groups.iter().flat_map(|group| &group.operations) {
        assert_eq!(operation.method, "DELETE", "{}", operation.operation_id);
    }
}

#[test]
fn the_text_filter_searches_ids_summaries_and_paths() {
    let catalog = bundled_catalog();
    let ids_for = |text: &str| -> Vec<String> {
        catalog
            .grouped(&filter(None, None, Some(text)))
            .into_iter()
            .flat_map(|group| group.operations)
            .map(|operation| operation.operation_id)
            .collect()
    };

    let by_id = ids_for("STOPRUNNING");
    let by_summary = ids_for("running timers");
    let by_path = ids_for("/hourly-rate");

    assert_eq!(by_id, ["stopRunningTimer"]);
    assert_eq!(by_summary, ["listInProgressTimeEntries"]);
    assert_eq!(by_path.len(), 2, "{by_path:?}");
    assert!(
        by_path.iter().all(|id| id.contains("HourlyRate")),
        "{by_path:?}"
    );
}

#[test]
fn filters_combine_and_may_match_nothing() {
    let catalog = bundled_catalog();

    let project_puts = catalog.grouped(&filter(Some("Projects"), Some("PUT"), Some("rate")));
    let nothing = catalog.grouped(&filter(Some("Reports"), Some("GET"), None));

    let ids: Vec<&str> = project_puts[0]
        .operations
        .iter()
        .map(|operation| operation.operation_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["updateProjectUserHourlyRate", "updateProjectUserCostRate"]
    );
    assert!(nothing.is_empty());
}

#[test]
fn blank_criteria_match_everything() {
    let catalog = bundled_catalog();

    let groups = catalog.grouped(&filter(Some(" "), Some(""), Some("")));

    let listed: usize = groups.iter().map(|group| group.operations.len()).sum();
    assert_eq!(listed, catalog.len());
}
