//! The `RegisterWebhooks` job: webhooks beyond the manifest's ten, the event types of
//! `EXTRA_WEBHOOK_EVENTS`, registered through Clockify's webhooks API when a workspace installs.
//! Their tokens are kept as hashes in `webhook_tokens`, each bound to its event, and checked
//! exactly like the manifest's; an uninstall deletes them (`delete_webhooks`).

use reqwest::Method;
use serde_json::{Value, json};

use clockify_client::client::{OutboundRequest, RetryPolicy};
use clockify_client::rate_limit::Priority;
use common::crypto::sha256_hex;
use common::db::webhook_tokens;

use crate::bootstrap::units::encode;
use crate::disposition::Disposition;
use crate::installation::{InstallationError, load_active};
use crate::state::WorkerState;

/// Registers every extra event type not yet registered for the installation `addon_id`.
#[tracing::instrument(
    name = "job.register_webhooks",
    skip_all,
    fields(workspace_id, addon_id)
)]
pub async fn register(
    state: &WorkerState,
    workspace_id: &str,
    addon_id: &str,
) -> anyhow::Result<Disposition> {
    let events = &state.config.extra_webhook_events;
    if events.is_empty() {
        return Ok(Disposition::done());
    }
    let installation = match load_active(&state.db, state.cipher.as_deref(), workspace_id).await {
        Ok(installation) if installation.addon_id == addon_id => installation,
        Ok(_)
        | Err(InstallationError::NotActive)
        | Err(InstallationError::NoBaseUrl)
        | Err(InstallationError::Sealed) => {
            return Ok(Disposition::done());
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
                retry: RetryPolicy::for_webhooks(outbound),
                priority: Priority::Bulk,
                slot: None,
                first_attempt_paced: false,
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
    Ok(Disposition::done())
}
