//! The stand-in's routes, and the read-only lists a bootstrap imports: workspace, users,
//! clients, tags, tasks and time entries (the further kinds are in `more_routes`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::answer::{Answer, ApiError, Paging, bad_request, not_found, ok, page_of};
use super::changes::{FeedChange, Listed};
use super::entities;
use super::gate::gate;
use super::more_routes;
use super::projects;
use super::settings;
use super::shared::{Shared, workspace};
use super::webhooks;

/// The whole API under `/api`, behind the gate; unknown paths are 404 JSON.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let v1 = "/api/v1/workspaces/{ws}";
    Router::new()
        .route(v1, get(show_workspace))
        .route(&format!("{v1}/users"), get(list_users))
        .route(
            &format!("{v1}/projects"),
            get(projects::list).post(projects::create),
        )
        .route(
            &format!("{v1}/projects/{{id}}"),
            get(projects::show)
                .put(projects::update)
                .delete(projects::delete),
        )
        .route(&format!("{v1}/projects/{{id}}/tasks"), get(list_tasks))
        .route(&format!("{v1}/clients"), get(list_clients))
        .route(&format!("{v1}/tags"), get(list_tags))
        .route(
            &format!("{v1}/user/{{uid}}/time-entries"),
            get(list_time_entries),
        )
        .route(&format!("{v1}/entities/{{change}}"), get(list_changes))
        .route(
            &format!("{v1}/webhooks"),
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            &format!("{v1}/webhooks/{{id}}"),
            get(webhooks::show).delete(webhooks::delete),
        )
        .route(
            "/api/addon/workspaces/{ws}/settings",
            get(settings::show).patch(settings::patch),
        )
        .merge(more_routes::routes())
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

type Params = Query<HashMap<String, String>>;

/// The workspace named in the path, or the 404 Clockify gives for an unknown one.
async fn unknown_path() -> ApiError {
    not_found("No such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

async fn show_workspace(State(shared): State<Arc<Shared>>, Path(ws): Path<String>) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    Ok(ok(entities::workspace(&workspace.spec)))
}

async fn list_users(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let paging = Paging::from_query(&query)?;
    let users = workspace
        .changes()
        .listed("users", spec.users, |i| entities::user(spec, i));
    Ok(page_of(paging, users.len(), |i| users.item(i)))
}

async fn list_clients(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let paging = Paging::from_query(&query)?;
    let clients = workspace
        .changes()
        .listed("clients", spec.clients, |i| entities::client(spec, i));
    Ok(page_of(paging, clients.len(), |i| clients.item(i)))
}

async fn list_tags(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let paging = Paging::from_query(&query)?;
    let tags = workspace
        .changes()
        .listed("tags", spec.tags, |i| entities::tag(spec, i));
    Ok(page_of(paging, tags.len(), |i| tags.item(i)))
}

/// Generated projects have `tasks_per_project` tasks; created ones start with none.
async fn list_tasks(
    State(shared): State<Arc<Shared>>,
    Path((ws, project_id)): Path<(String, String)>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    if workspace.project(&project_id).is_none() {
        return Err(not_found(format!("Project {project_id} not found")));
    }
    let paging = Paging::from_query(&query)?;
    let (project, total) = match entities::project_index(spec, &project_id) {
        Some(project) => (project, spec.tasks_per_project),
        None => (0, 0),
    };
    let key = format!("tasks:{project_id}");
    let tasks = workspace
        .changes()
        .listed(&key, total, |i| entities::task(spec, project, i));
    Ok(page_of(paging, tasks.len(), |i| tasks.item(i)))
}

/// Newest first, as Clockify lists them; `start` and `end` bound `timeInterval.start`
/// (both inclusive).
async fn list_time_entries(
    State(shared): State<Arc<Shared>>,
    Path((ws, user_id)): Path<(String, String)>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let spec = &workspace.spec;
    let user = entities::user_index(spec, &user_id)
        .ok_or_else(|| not_found(format!("User {user_id} not found")))?;
    let paging = Paging::from_query(&query)?;
    let from = instant_param(&query, "start")?;
    let to = instant_param(&query, "end")?;
    let key = format!("time_entries:{user_id}");
    let changes = workspace.changes();
    let listed = changes.listed(&key, spec.time_entries_per_user, |i| {
        entities::time_entry(
            spec,
            workspace.anchor,
            user,
            spec.time_entries_per_user - 1 - i,
        )
    });
    if let Listed::Generated { .. } = listed {
        let matching: Vec<usize> = (0..spec.time_entries_per_user)
            .rev()
            .filter(|i| {
                let start = entities::time_entry_start(spec, workspace.anchor, *i);
                from.is_none_or(|from| start >= from) && to.is_none_or(|to| start <= to)
            })
            .collect();
        return Ok(page_of(paging, matching.len(), |i| {
            entities::time_entry(spec, workspace.anchor, user, matching[i])
        }));
    }
    let matching: Vec<serde_json::Value> = (0..listed.len())
        .map(|i| listed.item(i))
        .filter(|entry| {
            let start = entry["timeInterval"]["start"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|at| at.with_timezone(&Utc));
            start.is_some_and(|start| {
                from.is_none_or(|from| start >= from) && to.is_none_or(|to| start <= to)
            })
        })
        .collect();
    Ok(page_of(paging, matching.len(), |i| matching[i].clone()))
}

/// Clockify's change feeds of time entries (experimental there): `type=TIME_ENTRY` required,
/// `start`/`end` bound when the change happened, `page` from 0 and `limit` (default 50).
async fn list_changes(
    State(shared): State<Arc<Shared>>,
    Path((ws, change)): Path<(String, String)>,
    Query(query): Params,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let change = FeedChange::parse(&change).ok_or_else(|| not_found("No such endpoint"))?;
    match query.get("type").map(String::as_str) {
        Some("TIME_ENTRY") => {}
        Some(_) => return Ok(ok(serde_json::json!([]))),
        None => return Err(bad_request("type is required")),
    }
    let from = instant_param(&query, "start")?;
    let to = instant_param(&query, "end")?;
    let number = |name: &str, default: usize| match query.get(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .map_err(|_| bad_request(format!("{name} must be a number"))),
    };
    let (page, limit) = (number("page", 0)?, number("limit", 50)?.clamp(1, 5_000));
    let items = workspace.changes().feed(change, from, to);
    let start = page.saturating_mul(limit).min(items.len());
    let end = start.saturating_add(limit).min(items.len());
    Ok(ok(serde_json::Value::Array(items[start..end].to_vec())))
}

fn instant_param(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    query
        .get(name)
        .map(|text| {
            DateTime::parse_from_rfc3339(text.trim())
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| bad_request(format!("{name} must be yyyy-MM-ddThh:mm:ssZ")))
        })
        .transpose()
}
