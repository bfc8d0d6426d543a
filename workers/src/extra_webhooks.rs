//! Webhooks beyond the manifest's ten: the event types of `EXTRA_WEBHOOK_EVENTS`, registered
//! through Clockify's webhooks API when a workspace installs. Their tokens are kept as hashes in
//! `webhook_tokens` and checked exactly like the manifest's; an uninstall deletes them.

use reqwest::Method;
use serde_json::{Value, json};

use common::clockify_client::OutboundRequest;
use common::crypto::sha256_hex;
use common::db::{webhook_deletions, webhook_tokens};

use crate::WorkerState;
use crate::bootstrap::units::encode;
use crate::installation::{InstallationError, load_active};
use crate::job_consumer::JobResult;

/// Registers every extra event type not yet registered for the installation `addon_id`.
pub async fn register(
    state: &WorkerState,
    workspace_id: &str,
    addon_id: &str,
) -> anyhow::Result<JobResult> {
    let events = &state.config.extra_webhook_events;
    if events.is_empty() {
        return Ok(JobResult::Done);
    }
    let installation = match load_active(&state.db, state.cipher.as_deref(), workspace_id).await {
        Ok(installation) if installation.addon_id == addon_id => installation,
        Ok(_)
        | Err(InstallationError::NotActive)
        | Err(InstallationError::NoBaseUrl)
        | Err(InstallationError::Sealed) => {
            return Ok(JobResult::Done);
        }
        Err(InstallationError::Database(error)) => return Err(error.into()),
    };
    let registered = webhook_tokens::registered_event_types(&state.db, workspace_id).await?;
    let outbound = &state.config.outbound;
    let path = format!("/v1/workspaces/{}/webhooks", encode(workspace_id));
    for event in events
        .iter()
        .filter(|e| !registered.iter().any(|r| r == e.as_str()))
    {
        let url = format!("{}{}", state.config.base_url, event.path());
        let body = json!({
            "name": format!("API Studio {}", event.as_str()),
            "url": url,
            "webhookEvent": event.as_str(),
            "triggerSourceType": "WORKSPACE_ID",
            "triggerSource": [workspace_id],
        });
        let answer = state
            .client
            .send(&OutboundRequest {
                workspace_id,
                base_url: &installation.backend_url,
                method: Method::POST,
                path: &path,
                query: &[],
                body: Some(&body),
                token: &installation.token,
                group: "webhooks",
                retry: outbound.webhook_retry(),
            })
            .await;
        let created = match answer {
            Ok(response) if (200..300).contains(&response.status) => {
                serde_json::from_slice::<Value>(&response.body).ok()
            }
            Ok(response) => {
                tracing::warn!(
                    workspace_id,
                    event = event.as_str(),
                    status = response.status,
                    "webhook registration refused"
                );
                None
            }
            Err(error) => {
                tracing::warn!(workspace_id, event = event.as_str(), error = %error, "webhook registration failed");
                None
            }
        };
        let Some(created) = created else { continue };
        let (Some(id), Some(token)) = (
            created.get("id").and_then(Value::as_str),
            created.get("authToken").and_then(Value::as_str),
        ) else {
            tracing::warn!(
                workspace_id,
                event = event.as_str(),
                "webhook registration answer lacks id or authToken"
            );
            continue;
        };
        let token_sha256 = sha256_hex(token.as_bytes());
        let webhook = webhook_tokens::Registered {
            workspace_id,
            addon_id,
            url: &url,
            event_type: event.as_str(),
            token_sha256: &token_sha256,
            clockify_webhook_id: id,
        };
        webhook_tokens::insert_registered(&state.db, &webhook).await?;
        tracing::info!(
            workspace_id,
            event = event.as_str(),
            "extra webhook registered"
        );
    }
    Ok(JobResult::Done)
}

/// Deletes the webhooks an uninstalled installation registered, with the webhook retry policy.
/// Each row is removed after its attempt, whatever Clockify answered (a dead token's 401 or a
/// 404 means there is nothing left to do), so the sealed token does not outlive the attempt.
pub async fn delete_registered(
    state: &WorkerState,
    workspace_id: &str,
) -> anyhow::Result<JobResult> {
    let pending = webhook_deletions::pending(&state.db, workspace_id).await?;
    let outbound = &state.config.outbound;
    for webhook in pending {
        let token = state
            .cipher
            .as_deref()
            .and_then(|cipher| cipher.open(workspace_id, &webhook.sealed_auth_token).ok());
        if let Some(token) = token {
            let path = format!(
                "/v1/workspaces/{}/webhooks/{}",
                encode(workspace_id),
                encode(&webhook.clockify_webhook_id)
            );
            let answer = state
                .client
                .send(&OutboundRequest {
                    workspace_id,
                    base_url: &webhook.backend_url,
                    method: Method::DELETE,
                    path: &path,
                    query: &[],
                    body: None,
                    token: &token,
                    group: "webhooks",
                    retry: outbound.webhook_retry(),
                })
                .await;
            match answer {
                Ok(response) => tracing::info!(
                    workspace_id,
                    status = response.status,
                    "registered webhook deletion answered"
                ),
                Err(error) => {
                    tracing::warn!(workspace_id, error = %error, "registered webhook could not be deleted")
                }
            }
        }
        webhook_deletions::remove(&state.db, workspace_id, &webhook.clockify_webhook_id).await?;
    }
    Ok(JobResult::Done)
}
