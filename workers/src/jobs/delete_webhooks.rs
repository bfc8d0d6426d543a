//! The `DeleteWebhooks` job: after an uninstall, deleting the webhooks the installation had
//! registered through Clockify's webhooks API (best effort: DELETED kills the installation token,
//! so Clockify may answer 401).

use reqwest::Method;

use clockify_client::client::{OutboundRequest, RetryPolicy};

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
                    retry: RetryPolicy::for_webhooks(outbound),
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
    Ok(Disposition::done())
}
