//! The stand-in's lists of the further kinds, paged as Clockify pages them: most take `page` and
//! `page-size` in the query, custom fields and holidays answer whole, time-off requests are a
//! POST paged in the body, and several answer an object holding the list. Time-off requests and
//! balances live under the time-off API (`/pto`), the rest under `/api`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::answer::{Answer, Paging, bad_request, json_body, not_found, ok};
use super::more_entities::{More, balance, policy_index};
use super::shared::{Shared, workspace};

type Params = Query<HashMap<String, String>>;

/// How a list's answer is shaped.
#[derive(Clone, Copy)]
enum Shape {
    /// A bare array, paged in the query.
    Paged,
    /// A bare array of every item, unpaged.
    Whole,
    /// `{"<field>": [...], "<count>": n}`, paged in the query.
    Wrapped(&'static str, &'static str),
}

/// The routes of the further kinds, to merge into the stand-in's router (behind its gate).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let v1 = "/api/v1/workspaces/{ws}";
    let pto = "/pto/v1/workspaces/{ws}";
    let list = |kind: More, shape: Shape| {
        get(
            move |State(shared): State<Arc<Shared>>,
                  Path(ws): Path<String>,
                  Query(query): Params| async move {
                answer_list(&shared, &ws, &query, kind, shape)
            },
        )
    };
    Router::new()
        .route(
            &format!("{v1}/user-groups"),
            list(More::UserGroups, Shape::Paged),
        )
        .route(
            &format!("{v1}/custom-fields"),
            list(More::CustomFields, Shape::Whole),
        )
        .route(
            &format!("{v1}/expenses/categories"),
            list(
                More::ExpenseCategories,
                Shape::Wrapped("categories", "count"),
            ),
        )
        .route(&format!("{v1}/expenses"), get(list_expenses))
        .route(
            &format!("{v1}/invoices"),
            list(More::Invoices, Shape::Wrapped("invoices", "total")),
        )
        .route(
            &format!("{v1}/approval-requests"),
            list(More::ApprovalRequests, Shape::Paged),
        )
        .route(
            &format!("{v1}/time-off/policies"),
            list(More::TimeOffPolicies, Shape::Paged),
        )
        .route(
            &format!("{v1}/holidays"),
            list(More::Holidays, Shape::Whole),
        )
        .route(
            &format!("{v1}/scheduling/assignments/all"),
            get(list_assignments),
        )
        .route(
            &format!("{pto}/time-off/requests"),
            post(list_time_off_requests),
        )
        .route(
            &format!("{pto}/time-off/balance/policy/{{policy}}"),
            get(list_balances),
        )
}

fn answer_list(
    shared: &Shared,
    ws: &str,
    query: &HashMap<String, String>,
    kind: More,
    shape: Shape,
) -> Answer {
    let workspace = workspace(shared, ws)?;
    let spec = &workspace.spec;
    let changes = workspace.changes();
    let listed = changes.listed(kind.list_key(), kind.count(&spec.more), |i| {
        kind.item(spec, workspace.anchor, i)
    });
    let total = listed.len();
    let item = |i| listed.item(i);
    Ok(ok(match shape {
        Shape::Whole => Value::Array((0..total).map(item).collect()),
        Shape::Paged => Value::Array(Paging::from_query(query)?.range(total).map(item).collect()),
        Shape::Wrapped(field, count) => {
            let items: Vec<Value> = Paging::from_query(query)?.range(total).map(item).collect();
            json!({ field: items, count: total })
        }
    }))
}

/// `{"expenses": {"expenses": [...], "count": n}, "dailyTotals": [], "weeklyTotals": []}`.
async fn list_expenses(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let changes = workspace.changes();
    let listed = changes.listed(More::Expenses.list_key(), spec.more.expenses, |i| {
        More::Expenses.item(spec, workspace.anchor, i)
    });
    let total = listed.len();
    let items: Vec<Value> = Paging::from_query(&query)?
        .range(total)
        .map(|i| listed.item(i))
        .collect();
    Ok(ok(json!({
        "expenses": {"expenses": items, "count": total},
        "dailyTotals": [], "weeklyTotals": [],
    })))
}

/// `start` and `end` are required, as in Clockify.
async fn list_assignments(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    if !query.contains_key("start") || !query.contains_key("end") {
        return Err(bad_request("start and end are required"));
    }
    answer_list(&shared, &ws, &query, More::Assignments, Shape::Paged)
}

/// POST `{"page", "pageSize"}` answers `{"count": n, "requests": [...]}`.
async fn list_time_off_requests(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Answer {
    let body = if body.is_empty() {
        json!({})
    } else {
        json_body(&body)?
    };
    let mut query = HashMap::new();
    for (field, name) in [("page", "page"), ("pageSize", "page-size")] {
        if let Some(n) = body.get(field).and_then(Value::as_u64) {
            query.insert(name.to_owned(), n.to_string());
        }
    }
    answer_list(
        &shared,
        &ws,
        &query,
        More::TimeOffRequests,
        Shape::Wrapped("requests", "count"),
    )
}

/// `{"balances": [...], "count": n}` of one policy.
async fn list_balances(
    State(shared): State<Arc<Shared>>,
    Path((ws, policy_id)): Path<(String, String)>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let policy = policy_index(spec, &policy_id)
        .ok_or_else(|| not_found(format!("Policy {policy_id} not found")))?;
    let total = spec.more.balances_per_policy;
    let items: Vec<Value> = Paging::from_query(&query)?
        .range(total)
        .map(|i| balance(spec, policy, i))
        .collect();
    Ok(ok(json!({ "balances": items, "count": total })))
}
