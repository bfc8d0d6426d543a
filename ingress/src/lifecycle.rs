//! `POST /lifecycle/*`: Clockify's installed, deleted, status-changed and settings-updated
//! callbacks. Verified, bound to the body, enqueued; nothing touches the database here.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use common::crypto::sha256_hex;
use common::events::EventType;
use common::messages::{
    Deleted, Event, EventMessage, InstallationStatus, Installed, SettingsUpdated, StatusChanged,
    WebhookToken,
};
use common::token::{ClockifyClaims, TokenKind, VerifyError};

use crate::body::{optional_str, parse_object, read_limited, require_json, required_str};
use crate::enqueue::enqueue_event;
use crate::error::ApiError;
use crate::rejection::{Reason, Rejection};
use crate::request_id::RequestId;
use crate::state::AppState;

/// The four lifecycle callbacks Clockify sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleKind {
    Installed,
    Deleted,
    StatusChanged,
    SettingsUpdated,
}

impl LifecycleKind {
    pub const ALL: [LifecycleKind; 4] = [
        LifecycleKind::Installed,
        LifecycleKind::Deleted,
        LifecycleKind::StatusChanged,
        LifecycleKind::SettingsUpdated,
    ];

    /// The manifest's `lifecycle[].type`.
    pub fn manifest_type(self) -> &'static str {
        match self {
            LifecycleKind::Installed => "INSTALLED",
            LifecycleKind::Deleted => "DELETED",
            LifecycleKind::StatusChanged => "STATUS_CHANGED",
            LifecycleKind::SettingsUpdated => "SETTINGS_UPDATED",
        }
    }

    /// The ingress path that receives it.
    pub fn path(self) -> &'static str {
        match self {
            LifecycleKind::Installed => "/lifecycle/installed",
            LifecycleKind::Deleted => "/lifecycle/deleted",
            LifecycleKind::StatusChanged => "/lifecycle/status-changed",
            LifecycleKind::SettingsUpdated => "/lifecycle/settings-updated",
        }
    }
}

const TOKEN_HEADER: &str = "x-addon-lifecycle-token";

/// Handles one lifecycle callback of `kind`.
#[tracing::instrument(name = "lifecycle", skip_all, fields(request_id = %request_id, lifecycle = kind.manifest_type()))]
pub async fn handle_lifecycle(
    kind: LifecycleKind,
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(kind, &state, request_id, &headers, body).await {
        Ok(()) => {
            state
                .metrics
                .lifecycle_accepted
                .with_label_values(&[kind.manifest_type()])
                .inc();
            StatusCode::OK.into_response()
        }
        Err(Rejection { reason, error }) => {
            state
                .metrics
                .rejections
                .with_label_values(&["lifecycle", reason])
                .inc();
            tracing::info!(
                lifecycle = kind.manifest_type(),
                reason,
                "lifecycle callback refused"
            );
            error.into_response()
        }
    }
}

async fn accept(
    kind: LifecycleKind,
    state: &AppState,
    request_id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), Rejection> {
    require_json(headers).reason("content_type")?;
    // The token is judged from the headers before a byte of the body is read.
    let claims = if state.config.require_signature_verification {
        let token = headers
            .get(TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let claims = verify_callback_token(state, token).await.map_err(|e| {
            state
                .metrics
                .signature_failures
                .with_label_values(&["lifecycle", e.reason()])
                .inc();
            Rejection::from(e)
        })?;
        Some(claims)
    } else {
        None
    };
    let bytes = read_limited(headers, body, state.config.lifecycle_max_payload_bytes)
        .await
        .reason("too_large")?;
    let body = parse_object(&bytes).reason("malformed")?;
    let workspace_id = required_str(&body, "workspaceId")
        .reason("payload")?
        .to_owned();
    let addon_id = required_str(&body, "addonId").reason("payload")?.to_owned();
    if let Some(claims) = &claims {
        if claims.workspace_id != workspace_id {
            return Err(ApiError::Forbidden(
                "token workspace does not match the body",
            ))
            .reason("workspace_mismatch");
        }
        if claims.addon_id.as_deref() != Some(addon_id.as_str()) {
            return Err(ApiError::Forbidden("token addonId does not match the body"))
                .reason("addon_mismatch");
        }
    }
    let event = match kind {
        LifecycleKind::Installed => {
            Event::Installed(installed(state, &workspace_id, addon_id, &body).await?)
        }
        LifecycleKind::Deleted => Event::Deleted(Deleted { addon_id }),
        LifecycleKind::StatusChanged => {
            let status = match required_str(&body, "status").reason("payload")? {
                "ACTIVE" => InstallationStatus::Active,
                "INACTIVE" => InstallationStatus::Inactive,
                _ => {
                    return Err(ApiError::Unprocessable(
                        "status must be ACTIVE or INACTIVE".into(),
                    ))
                    .reason("payload");
                }
            };
            Event::StatusChanged(StatusChanged { addon_id, status })
        }
        LifecycleKind::SettingsUpdated => {
            let settings = body
                .get("settings")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            if !matches!(settings, Value::Array(_) | Value::Object(_)) {
                return Err(ApiError::Unprocessable(
                    "settings must be an array or object".into(),
                ))
                .reason("payload");
            }
            Event::SettingsUpdated(SettingsUpdated { addon_id, settings })
        }
    };
    let message = EventMessage::new(workspace_id, request_id, event);
    enqueue_event(state, &message)
        .await
        .reason("broker_unavailable")
}

/// A Clockify token that may prove a callback: any kind but a user token, which every member
/// has in their browser.
pub(crate) async fn verify_callback_token(
    state: &AppState,
    token: &str,
) -> Result<ClockifyClaims, VerifyError> {
    let claims = state.verifier.inner().verify(token).await?;
    if !claims.kind().may_sign_callbacks() {
        return Err(VerifyError::UserToken);
    }
    Ok(claims)
}

/// Builds the INSTALLED message: the installation token sealed, webhook tokens hashed and bound
/// to the event their path receives, base URLs from the installation token's own verified claims.
async fn installed(
    state: &AppState,
    workspace_id: &str,
    addon_id: String,
    body: &Map<String, Value>,
) -> Result<Installed, Rejection> {
    let auth_token = required_str(body, "authToken").reason("payload")?;
    let token_claims = if state.config.require_signature_verification {
        let claims = state
            .verifier
            .inner()
            .verify(auth_token)
            .await
            .ok()
            .filter(|c| c.kind() == TokenKind::Installation)
            .filter(|c| c.workspace_id == workspace_id)
            .filter(|c| c.addon_id.as_deref() == Some(addon_id.as_str()));
        let Some(claims) = claims else {
            return Err(ApiError::Unprocessable(
                "authToken is not this installation's token (an installation token of the same workspaceId and addonId)".into(),
            ))
            .reason("installation_token");
        };
        Some(claims)
    } else {
        None
    };
    let sealed_auth_token = match &state.cipher {
        Some(cipher) => cipher.seal(workspace_id, auth_token),
        None => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "TOKEN_ENCRYPTION_KEY is not set"
            )))
            .reason("no_encryption_key");
        }
    };
    let mut webhooks = Vec::new();
    if let Some(list) = body.get("webhooks") {
        let Value::Array(items) = list else {
            return Err(ApiError::Unprocessable("webhooks must be an array".into()))
                .reason("payload");
        };
        for item in items {
            let Value::Object(hook) = item else {
                return Err(ApiError::Unprocessable("webhooks[] must be objects".into()))
                    .reason("payload");
            };
            let path = required_str(hook, "path").reason("payload")?.to_owned();
            webhooks.push(WebhookToken {
                event_type: event_of_path(&path),
                path,
                webhook_type: optional_str(hook, "webhookType").reason("payload")?,
                token_sha256: sha256_hex(
                    required_str(hook, "authToken")
                        .reason("payload")?
                        .as_bytes(),
                ),
            });
        }
    }
    let claim = |f: fn(&ClockifyClaims) -> &Option<String>| {
        token_claims.as_ref().and_then(|c| f(c).clone())
    };
    Ok(Installed {
        addon_id,
        addon_user_id: optional_str(body, "addonUserId").reason("payload")?,
        as_user: optional_str(body, "asUser").reason("payload")?,
        api_url: optional_str(body, "apiUrl").reason("payload")?,
        backend_url: claim(|c| &c.backend_url),
        reports_url: claim(|c| &c.reports_url),
        pto_url: claim(|c| &c.pto_url),
        locations_url: claim(|c| &c.locations_url),
        screenshots_url: claim(|c| &c.screenshots_url),
        sealed_auth_token,
        webhooks,
    })
}

/// The event a webhook path of INSTALLED receives: the path is a full URL in Clockify's example
/// and a manifest path elsewhere, so it is matched by the route suffix.
fn event_of_path(path: &str) -> Option<EventType> {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or(path)
        .trim_end_matches('/');
    EventType::ALL
        .iter()
        .copied()
        .find(|event| path.ends_with(&event.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_path_names_its_event_whether_full_url_or_manifest_path() {
        assert_eq!(
            event_of_path("https://addon.example/base/webhooks/new-tag"),
            Some(EventType::NewTag)
        );
        assert_eq!(
            event_of_path("/webhooks/project-deleted/"),
            Some(EventType::ProjectDeleted)
        );
        assert_eq!(event_of_path("https://addon.example/elsewhere"), None);
        assert_eq!(event_of_path("/webhooks/new-tag-and-more"), None);
    }
}
