//! Registering the coverage plan's extra webhooks through Clockify's webhooks API. The desired
//! registrations are rows of `webhook_registrations` (planned with the installation); the
//! `RegisterWebhooks` job attempts a workspace's due ones right after install, and the freshness
//! sweep attempts any that are due later, so a refused one (a 403 because the workspace's webhook
//! quota is full, a 5xx, a lost connection) is tried again with backoff and shown with its reason.
//! Registered tokens are kept as hashes in `webhook_tokens`, each bound to its event, and checked
//! like the manifest's; an uninstall deletes the webhooks (`delete_webhooks`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use clockify_client::client::{OutboundRequest, RetryPolicy};
use clockify_client::rate_limit::Priority;
use common::crypto::sha256_hex;
use common::db::webhook_registrations::{self, Claimed};
use common::db::webhook_tokens;
use common::events::EventType;

use crate::bootstrap::units::encode;
use crate::disposition::Disposition;
use crate::installation::{InstallationError, load_active};
use crate::state::WorkerState;

/// Attempts the due registrations of installation `addon_id` (the job queued on install).
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
    let claimed = webhook_registrations::claim_due_in(&state.db, workspace_id).await?;
    let claimed: Vec<Claimed> = claimed
        .into_iter()
        .filter(|c| c.addon_id == addon_id)
        .collect();
    attempt(state, workspace_id, &claimed).await?;
    Ok(Disposition::done())
}

/// Attempts each claimed registration of `workspace_id`, recording each outcome.
pub async fn attempt(
    state: &WorkerState,
    workspace_id: &str,
    claimed: &[Claimed],
) -> anyhow::Result<()> {
    if claimed.is_empty() {
        return Ok(());
    }
    let installation = match load_active(&state.db, state.cipher.as_deref(), workspace_id).await {
        Ok(installation) => Ok(installation),
        Err(InstallationError::Database(error)) => return Err(error.into()),
        Err(error) => Err(error.to_string()),
    };
    for registration in claimed {
        let outcome = match &installation {
            Ok(installation) if installation.addon_id == registration.addon_id => {
                register_one(state, workspace_id, installation, &registration.event_type).await
            }
            // The registration belongs to an installation that is gone: nothing to record.
            Ok(_) => continue,
            Err(reason) => Err(reason.clone()),
        };
        let event = registration.event_type.as_str();
        match outcome {
            Ok(()) => {
                state
                    .metrics
                    .webhook_registrations
                    .with_label_values(&[event, "registered"])
                    .inc();
                tracing::info!(workspace_id, event, "extra webhook registered");
            }
            Err(reason) => {
                let retry = backoff(state, registration.attempts);
                webhook_registrations::mark_failed(
                    &state.db,
                    workspace_id,
                    event,
                    &registration.addon_id,
                    &reason,
                    retry.as_secs_f64(),
                )
                .await?;
                state
                    .metrics
                    .webhook_registrations
                    .with_label_values(&[event, "failed"])
                    .inc();
                tracing::warn!(
                    workspace_id,
                    event,
                    reason,
                    retry_in_secs = retry.as_secs(),
                    "extra webhook registration failed; retried later"
                );
            }
        }
    }
    Ok(())
}

/// The wait before the next attempt after `attempts` earlier ones: doubling from
/// `WEBHOOK_REGISTRATION_RETRY_SECS` up to its cap.
fn backoff(state: &WorkerState, attempts: i32) -> Duration {
    let settings = &state.config.freshness;
    let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(0);
    settings
        .registration_retry
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(settings.registration_retry_cap)
}

/// Registers one event type; `Err` carries the reason shown on the coverage endpoints (never a
/// token: Clockify's error message at most).
async fn register_one(
    state: &WorkerState,
    workspace_id: &str,
    installation: &crate::installation::ActiveInstallation,
    event_name: &str,
) -> Result<(), String> {
    let event = EventType::parse(event_name).ok_or("not an event type Clockify documents")?;
    let url = format!("{}{}", state.config.base_url, event.path());
    let body = json!({
        "name": format!("API Studio {}", event.as_str()),
        "url": url,
        "webhookEvent": event.as_str(),
        "triggerSourceType": "WORKSPACE_ID",
        "triggerSource": [workspace_id],
    });
    let path = format!("/v1/workspaces/{}/webhooks", encode(workspace_id));
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
            retry: RetryPolicy::for_webhooks(&state.config.outbound),
            priority: Priority::Bulk,
            slot: None,
            first_attempt_paced: false,
        })
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    if !(200..300).contains(&answer.status) {
        return Err(refusal(answer.status, &answer.body));
    }
    let created: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| "Clockify's answer is not JSON".to_owned())?;
    let (Some(id), Some(token)) = (
        created.get("id").and_then(Value::as_str),
        created.get("authToken").and_then(Value::as_str),
    ) else {
        return Err("Clockify's answer lacks the webhook's id or authToken".to_owned());
    };
    let token_sha256 = sha256_hex(token.as_bytes());
    let webhook = webhook_tokens::Registered {
        workspace_id,
        addon_id: &installation.addon_id,
        url: &url,
        event_type: event.as_str(),
        token_sha256: &token_sha256,
        clockify_webhook_id: id,
    };
    let stored = async {
        let mut tx = state.db.begin().await?;
        webhook_tokens::insert_registered(&mut *tx, &webhook).await?;
        webhook_registrations::mark_registered(
            &mut *tx,
            workspace_id,
            event.as_str(),
            &installation.addon_id,
            id,
        )
        .await?;
        tx.commit().await
    };
    stored
        .await
        .map_err(|error| format!("registered at Clockify but not stored: {error}"))
}

/// Why Clockify refused, for people: the status, what it usually means, and Clockify's own
/// message (cut short).
fn refusal(status: u16, body: &[u8]) -> String {
    let meaning = match status {
        403 => {
            " (forbidden: the workspace's webhook quota may be full, or the plan lacks webhooks)"
        }
        401 => " (the installation token was refused)",
        429 => " (rate limited)",
        _ => "",
    };
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    format!("Clockify answered {status}{meaning}{message}")
}
