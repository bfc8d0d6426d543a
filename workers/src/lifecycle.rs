//! Applying lifecycle callbacks inside the batch's transaction.
//!
//! INSTALLED replaces the installation (a re-install brings a new `addonId` and new tokens);
//! every other callback applies only to the current installation's `addonId` and is otherwise
//! ignored and counted, so a late DELETED of an old installation cannot remove a new one.

use serde_json::json;
use sqlx::PgConnection;

use common::db::event_log::{self, LogRow, LogSource};
use common::db::{
    api_calls, bootstrap_jobs, entities, installations, webhook_deletions, webhook_registrations,
    webhook_tokens,
};
use common::events::EventType;
use common::job_messages::{Job, JobMessage};
use common::messages::{Event, EventMessage, Installed};

use crate::event_outcome::Processed;

/// What an install sets in motion besides its own rows.
#[derive(Debug, Clone, Copy)]
pub struct InstallFollowUps<'a> {
    pub bootstrap: bool,
    /// The coverage plan's extra webhooks: planned with the installation, registered by a job.
    pub extra_webhooks: &'a [EventType],
}

/// Applies one lifecycle message and logs it; the caller commits, then publishes `jobs`.
pub async fn apply_lifecycle(
    conn: &mut PgConnection,
    message: &EventMessage,
    follow_ups: InstallFollowUps<'_>,
    jobs: &mut Vec<JobMessage>,
) -> sqlx::Result<Processed> {
    let workspace_id = message.workspace_id.as_str();
    let (processed, payload) = match &message.event {
        Event::Installed(installed) => {
            if !install(conn, message, installed).await? {
                let processed = Processed::ignored("stale");
                log_lifecycle(conn, message, &processed, None).await?;
                return Ok(processed);
            }
            if follow_ups.bootstrap {
                let started = common::bootstrap_start::start_job(
                    conn,
                    workspace_id,
                    "install",
                    &message.request_id,
                )
                .await?;
                jobs.extend(started.messages);
            }
            // Desired state first, in the install's transaction: a lost job message leaves the
            // registrations due, and the sweep registers them.
            let extra: Vec<&str> = follow_ups
                .extra_webhooks
                .iter()
                .map(|e| e.as_str())
                .collect();
            webhook_registrations::plan(conn, workspace_id, &installed.addon_id, &extra).await?;
            if !extra.is_empty() {
                let job = Job::RegisterWebhooks {
                    addon_id: installed.addon_id.clone(),
                };
                jobs.push(JobMessage::new(workspace_id, &message.request_id, job));
            }
            let webhooks: Vec<_> = installed
                .webhooks
                .iter()
                .map(|w| json!({"path": w.path, "webhookType": w.webhook_type}))
                .collect();
            let payload = json!({"addonId": installed.addon_id, "apiUrl": installed.api_url, "webhooks": webhooks});
            (Processed::applied(), Some(payload))
        }
        Event::Deleted(deleted) => {
            match current_installation(conn, message, &deleted.addon_id).await? {
                Err(ignored) => (ignored, None),
                Ok(()) => {
                    if uninstall(conn, workspace_id, message.accepted_at).await? {
                        jobs.push(JobMessage::new(
                            workspace_id,
                            &message.request_id,
                            Job::DeleteWebhooks,
                        ));
                    }
                    (
                        Processed::applied(),
                        Some(json!({"addonId": deleted.addon_id})),
                    )
                }
            }
        }
        Event::StatusChanged(change) => {
            match current_installation(conn, message, &change.addon_id).await? {
                Err(ignored) => (ignored, None),
                Ok(()) => {
                    installations::set_status(
                        &mut *conn,
                        workspace_id,
                        change.status,
                        message.accepted_at,
                    )
                    .await?;
                    (
                        Processed::applied(),
                        Some(json!({"addonId": change.addon_id, "status": change.status})),
                    )
                }
            }
        }
        Event::SettingsUpdated(update) => {
            match current_installation(conn, message, &update.addon_id).await? {
                Err(ignored) => (ignored, None),
                Ok(()) => {
                    installations::set_settings(
                        &mut *conn,
                        workspace_id,
                        &update.settings,
                        message.accepted_at,
                    )
                    .await?;
                    (
                        Processed::applied(),
                        Some(json!({"addonId": update.addon_id, "settings": update.settings})),
                    )
                }
            }
        }
        // Webhooks never reach here (the batch routes them); refuse rather than panic.
        Event::Webhook(_) => (Processed::ignored("not_lifecycle"), None),
    };
    log_lifecycle(conn, message, &processed, payload).await?;
    Ok(processed)
}

async fn log_lifecycle(
    conn: &mut PgConnection,
    message: &EventMessage,
    processed: &Processed,
    payload: Option<serde_json::Value>,
) -> sqlx::Result<()> {
    // Lifecycle callbacks end applied or ignored, both logged.
    let Some(outcome) = processed.outcome.logged_as() else {
        return Ok(());
    };
    let row = LogRow {
        workspace_id: message.workspace_id.clone(),
        message_id: message.message_id,
        source: LogSource::Lifecycle,
        event_type: message.type_label(),
        entity_kind: None,
        entity_id: None,
        outcome,
        reason: processed.reason,
        request_id: message.request_id.clone(),
        accepted_at: message.accepted_at,
        body_sha256: None,
        payload: payload.as_ref().map(common::json_text::json_text),
    };
    event_log::insert_rows(&mut *conn, std::slice::from_ref(&row)).await
}

/// `Ok` when `addon_id` is the workspace's current, not deleted installation and the message is
/// not older than the last lifecycle callback applied to it.
async fn current_installation(
    conn: &mut PgConnection,
    message: &EventMessage,
    addon_id: &str,
) -> sqlx::Result<Result<(), Processed>> {
    let state =
        installations::lock_lifecycle_state(conn, &message.workspace_id, message.accepted_at)
            .await?;
    Ok(match state {
        None => Err(Processed::ignored("not_installed")),
        Some(state) if state.addon_id != addon_id => Err(Processed::ignored("stale_addon")),
        Some(state) if state.deleted => Err(Processed::ignored("already_deleted")),
        Some(state) if state.newer_applied => Err(Processed::ignored("stale")),
        Some(_) => Ok(()),
    })
}

/// Writes the installation and its webhook tokens; `false` (nothing written) when a lifecycle
/// callback accepted after this INSTALLED was already applied: a stale INSTALLED, for instance one
/// replayed from the dead letters after a DELETED, never resurrects or overwrites.
async fn install(
    conn: &mut PgConnection,
    message: &EventMessage,
    installed: &Installed,
) -> sqlx::Result<bool> {
    let workspace_id = message.workspace_id.as_str();
    if !installations::upsert_installed(&mut *conn, workspace_id, installed, message.accepted_at)
        .await?
    {
        return Ok(false);
    }
    webhook_tokens::replace_with_manifest(
        conn,
        workspace_id,
        &installed.addon_id,
        &installed.webhooks,
    )
    .await?;
    Ok(true)
}

/// Marks the installation deleted, erases its tokens and settings, and purges the workspace's
/// data: entities, event log, bootstrap jobs with their units, and call records. Returns whether
/// webhooks registered through the API are left to delete.
///
/// The bootstrap jobs (and with them their units) go first: a page being written holds its
/// unit's row lock until it commits (see `db::bootstrap_units::checkpoint_page`), so this waits for
/// that page and then purges it with the rest, or the page finds its unit gone and writes nothing.
async fn uninstall(
    conn: &mut PgConnection,
    workspace_id: &str,
    accepted_at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<bool> {
    bootstrap_jobs::delete_for_workspace(&mut *conn, workspace_id).await?;
    let queued = webhook_deletions::queue_for_uninstall(&mut *conn, workspace_id).await?;
    installations::mark_deleted(&mut *conn, workspace_id, accepted_at).await?;
    webhook_tokens::delete_for_workspace(&mut *conn, workspace_id).await?;
    webhook_registrations::delete_for_workspace(&mut *conn, workspace_id).await?;
    entities::delete_for_workspace(&mut *conn, workspace_id).await?;
    event_log::delete_for_workspace(&mut *conn, workspace_id).await?;
    api_calls::delete_for_workspace(&mut *conn, workspace_id).await?;
    Ok(queued > 0)
}
