//! The `DeleteWebhooks` job: after an uninstall, deleting the webhooks the installation had
//! registered through Clockify's webhooks API (best effort: DELETED kills the installation token,
//! so Clockify may answer 401).

use reqwest::Method;

use clockify_client::client::{OutboundRequest, RetryPolicy};
use clockify_client::rate_limit::Priority;
use common::db::webhook_deletions;

use crate::bootstrap::units::encode;
use crate::disposition::Disposition;
use crate::state::WorkerState;

/// Deletes the webhooks an uninstalled installation registered, with the webhook retry policy.
/// Each row is removed after its attempt, whatever Clockify answered (a dead token's 401 or a
/// 404 means there is nothing left to do), so the sealed token does not outlive the attempt.
#[tracing::instrument(name = "job.delete_webhooks", skip_all, fields(workspace_id))]
pub async fn delete_registered(
    state: &WorkerState,
    workspace_id: &str,
) -> anyhow::Result<Disposition> {
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
                    retry: RetryPolicy::for_webhooks(outbound),
                    priority: Priority::Bulk,
                    slot: None,
                    first_attempt_paced: false,
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
    Ok(Disposition::done())
}
