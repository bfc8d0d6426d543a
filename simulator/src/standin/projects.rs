//! Project endpoints: the one entity the stand-in lets clients create, change and delete, so
//! writes (and their lost answers) can be tested end to end.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};

use super::answer::{Answer, ApiError, Paging, bad_request, created, json_body, not_found, ok};
use super::shared::Shared;
use super::shared::workspace;

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let projects = workspace(&shared, &ws)?.projects();
    let paging = Paging::from_query(&query)?;
    Ok(ok(projects[paging.range(projects.len())].to_vec().into()))
}

/// 201 with the project as stored; 400 without a name or with a name already taken.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let body = json_body(&body)?;
    let project = workspace
        .create_project(&body)
        .map_err(|invalid| bad_request(invalid.0))?;
    Ok(created(project))
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path((ws, id)): Path<(String, String)>,
) -> Answer {
    let project = workspace(&shared, &ws)?
        .project(&id)
        .ok_or_else(|| project_not_found(&id))?;
    Ok(ok(project))
}

pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path((ws, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let body = json_body(&body)?;
    let project = workspace
        .update_project(&id, &body)
        .ok_or_else(|| project_not_found(&id))?;
    Ok(ok(project))
}

/// 200 with the deleted project.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((ws, id)): Path<(String, String)>,
) -> Answer {
    let project = workspace(&shared, &ws)?
        .delete_project(&id)
        .ok_or_else(|| project_not_found(&id))?;
    Ok(ok(project))
}

fn project_not_found(id: &str) -> ApiError {
    not_found(format!("Project {id} not found"))
}
