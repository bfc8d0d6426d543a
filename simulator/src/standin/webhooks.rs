//! Regular webhooks: created with an `authToken` that Clockify then sends as
//! `Clockify-Signature`, signed like Clockify's when the stand-in has a signer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::answer::{Answer, bad_request, created, json_body, not_found, ok};
use super::auth::addon_id_of;
use super::shared::Shared;
use super::shared::workspace;

/// The `addonId` claim used for webhook tokens when the caller's token carries none.
const FALLBACK_ADDON_ID: &str = "standin-addon";

pub(crate) async fn list(State(shared): State<Arc<Shared>>, Path(ws): Path<String>) -> Answer {
    Ok(ok(workspace(&shared, &ws)?.webhooks().into()))
}

/// 201 with `id` and `authToken`; the token names the caller's installation (`addonId` from its
/// `X-Addon-Token`) so the add-on's checks on `Clockify-Signature` pass.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let workspace = workspace(&shared, &ws)?;
    let body = json_body(&body)?;
    let id = format!("{ws}-wh-{}", uuid::Uuid::new_v4().simple());
    let auth_token = match &shared.signer {
        Some(signer) => {
            let caller = headers.get("x-addon-token").and_then(|v| v.to_str().ok());
            let addon_id = addon_id_of(caller).unwrap_or_else(|| FALLBACK_ADDON_ID.to_owned());
            signer.webhook_token(&ws, &addon_id, &id)
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let webhook = workspace
        .create_webhook(&body, &id, &auth_token)
        .map_err(|invalid| bad_request(invalid.0))?;
    Ok(created(webhook))
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path((ws, id)): Path<(String, String)>,
) -> Answer {
    let webhook = workspace(&shared, &ws)?
        .webhook(&id)
        .ok_or_else(|| not_found(format!("Webhook {id} not found")))?;
    Ok(ok(webhook))
}

/// 200 with the deleted webhook.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((ws, id)): Path<(String, String)>,
) -> Answer {
    let webhook = workspace(&shared, &ws)?
        .delete_webhook(&id)
        .ok_or_else(|| not_found(format!("Webhook {id} not found")))?;
    Ok(ok(webhook))
}
