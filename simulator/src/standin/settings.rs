//! The add-on settings endpoints (`{backendUrl}/addon/workspaces/{ws}/settings`). CLOCKIFY.md
//! does not document their bodies; the stand-in keeps `{"settings": [{"id", "value", ...}]}`
//! and upserts by `id` on PATCH.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};

use super::answer::{Answer, bad_request, json_body, ok};
use super::shared::Shared;
use super::shared::workspace;

pub(crate) async fn show(State(shared): State<Arc<Shared>>, Path(ws): Path<String>) -> Answer {
    Ok(ok(workspace(&shared, &ws)?.settings()))
}

pub(crate) async fn patch(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let body = json_body(&body)?;
    let settings = workspace
        .patch_settings(&body)
        .map_err(|invalid| bad_request(invalid.0))?;
    Ok(ok(settings))
}
