//! Webhooks beyond the manifest's ten: the event types of `EXTRA_WEBHOOK_EVENTS`, registered
//! through Clockify's webhooks API when a workspace installs. Their tokens are kept as hashes in
//! `webhook_tokens` and checked exactly like the manifest's; an uninstall deletes them.

use reqwest::Method;
use serde_json::{Value, json};

use common::clockify_client::OutboundRequest;
use common::crypto::sha256_hex;

use crate::WorkerState;
use crate::bootstrap::units::encode;
use crate::installation::{InstallationError, load_active};
use crate::job_consumer::JobResult;

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
    let registered: Vec<String> = sqlx::query_scalar(
        "select webhook_type from webhook_tokens where workspace_id = $1 and clockify_webhook_id is not null and webhook_type is not null",
    )
    .bind(workspace_id)
    .fetch_all(&state.db)
    .await?;
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
        sqlx::query(
            "insert into webhook_tokens (workspace_id, addon_id, path, webhook_type, event_type, token_sha256, clockify_webhook_id)
             select $1, $2, $3, $4, $4, $5, $6
             where exists (select 1 from installations where workspace_id = $1 and addon_id = $2 and deleted_at is null)
             on conflict do nothing",
        )
        .bind(workspace_id)
        .bind(addon_id)
        .bind(&url)
        .bind(event.as_str())
        .bind(sha256_hex(token.as_bytes()))
        .bind(id)
        .execute(&state.db)
        .await?;
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
#[tracing::instrument(name = "job.delete_webhooks", skip_all, fields(workspace_id))]
pub async fn delete_registered(
    state: &WorkerState,
    workspace_id: &str,
) -> anyhow::Result<JobResult> {
    #[derive(sqlx::FromRow)]
    struct Pending {
        clockify_webhook_id: String,
        sealed_auth_token: String,
        backend_url: String,
    }
    let pending: Vec<Pending> = sqlx::query_as(
        "select clockify_webhook_id, sealed_auth_token, backend_url from webhook_deletions where workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_all(&state.db)
    .await?;
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
        sqlx::query(
            "delete from webhook_deletions where workspace_id = $1 and clockify_webhook_id = $2",
        )
        .bind(workspace_id)
        .bind(&webhook.clockify_webhook_id)
        .execute(&state.db)
        .await?;
    }
    Ok(JobResult::Done)
}
