//! Cost of the catalog lookups behind every API Studio call: by operationId, by method and path
//! template, and the full validation of a typical call.
//!
//! Each studio call is validated against the catalog before a job is queued, so these run once
//! per call on the ingress. `find_by_route` is a linear scan, measured at the first operation in
//! the document and at the last (its worst case).

use std::collections::BTreeMap;
use std::hint::black_box;

use catalog::{CallRequest, Catalog};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const OPENAPI: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json"));
const CALLER_WORKSPACE: &str = "68adfddad138cb5a3ac9d7a1";

fn catalog_lookup(c: &mut Criterion) {
    let catalog = Catalog::from_json(OPENAPI, "openapi.json").expect("the bundled catalog loads");
    let first = catalog
        .operations()
        .first()
        .expect("the bundled catalog is not empty")
        .clone();
    let last = catalog
        .operations()
        .last()
        .expect("the bundled catalog is not empty")
        .clone();
    let list_projects = CallRequest {
        operation_id: Some("listProjects".to_owned()),
        query: BTreeMap::from([
            ("page".to_owned(), json!(2)),
            ("page-size".to_owned(), json!(50)),
        ]),
        ..CallRequest::default()
    };
    catalog
        .validate(&list_projects, CALLER_WORKSPACE)
        .expect("a listProjects call with page and page-size is valid");

    let mut group = c.benchmark_group("catalog");
    group.throughput(Throughput::Elements(1));
    group.bench_function("find_by_operation_id", |b| {
        b.iter(|| catalog.find(black_box("listProjects")))
    });
    group.bench_function("find_by_route_first", |b| {
        b.iter(|| catalog.find_by_route(black_box(&first.method), black_box(&first.path)))
    });
    group.bench_function("find_by_route_last", |b| {
        b.iter(|| catalog.find_by_route(black_box(&last.method), black_box(&last.path)))
    });
    group.bench_function("validate_list_projects", |b| {
        b.iter(|| catalog.validate(black_box(&list_projects), black_box(CALLER_WORKSPACE)))
    });
    group.finish();
}

criterion_group!(benches, catalog_lookup);
criterion_main!(benches);
