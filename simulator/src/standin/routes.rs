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
    let spec = &workspace(&shared, &ws)?.spec;
    let paging = Paging::from_query(&query)?;
    Ok(page_of(paging, spec.users, |i| entities::user(spec, i)))
}

async fn list_clients(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let spec = &workspace(&shared, &ws)?.spec;
    let paging = Paging::from_query(&query)?;
    Ok(page_of(paging, spec.clients, |i| entities::client(spec, i)))
}

async fn list_tags(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Params,
) -> Answer {
    let spec = &workspace(&shared, &ws)?.spec;
    let paging = Paging::from_query(&query)?;
    Ok(page_of(paging, spec.tags, |i| entities::tag(spec, i)))
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
    let Some(project) = entities::project_index(spec, &project_id) else {
        return Ok(page_of(paging, 0, |_| serde_json::Value::Null));
    };
    let total = spec.tasks_per_project;
    Ok(page_of(paging, total, |i| entities::task(spec, project, i)))
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
    let matching: Vec<usize> = (0..spec.time_entries_per_user)
        .rev()
        .filter(|i| {
            let start = entities::time_entry_start(spec, workspace.anchor, *i);
            from.is_none_or(|from| start >= from) && to.is_none_or(|to| start <= to)
        })
        .collect();
    Ok(page_of(paging, matching.len(), |i| {
        entities::time_entry(spec, workspace.anchor, user, matching[i])
    }))
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
