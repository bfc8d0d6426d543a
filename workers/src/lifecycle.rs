//! Applying lifecycle callbacks inside the batch's transaction.
//!
//! INSTALLED replaces the installation (a re-install brings a new `addonId` and new tokens);
//! every other callback applies only to the current installation's `addonId` and is otherwise
//! ignored and counted, so a late DELETED of an old installation cannot remove a new one.

use serde_json::json;
use sqlx::PgConnection;

use common::jobs::{Job, JobMessage};
use common::messages::{Event, EventMessage, Installed};

use crate::event_outcome::Processed;
use crate::store::{self, LogRow};

/// What an install sets in motion besides its own rows.
#[derive(Debug, Clone, Copy)]
pub struct InstallFollowUps {
    pub bootstrap: bool,
    pub register_webhooks: bool,
}

/// Applies one lifecycle message and logs it; the caller commits, then publishes `jobs`.
pub async fn apply_lifecycle(
    conn: &mut PgConnection,
    message: &EventMessage,
    follow_ups: InstallFollowUps,
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
                let started = common::bootstrap_jobs::start_job(
                    conn,
                    workspace_id,
                    "install",
                    &message.request_id,
                )
                .await?;
                jobs.extend(started.messages);
            }
            if follow_ups.register_webhooks {
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
                    sqlx::query("update installations set status = $2, lifecycle_at = $3, updated_at = now() where workspace_id = $1")
                    .bind(workspace_id)
                    .bind(change.status.as_str())
                    .bind(message.accepted_at)
                    .execute(&mut *conn)
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
                    sqlx::query("update installations set settings = $2, lifecycle_at = $3, updated_at = now() where workspace_id = $1")
                    .bind(workspace_id)
                    .bind(&update.settings)
                    .bind(message.accepted_at)
                    .execute(&mut *conn)
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
    let row = LogRow {
        workspace_id: message.workspace_id.clone(),
        message_id: message.message_id,
        source: "lifecycle",
        event_type: message.type_label(),
        entity_kind: None,
        entity_id: None,
        outcome: processed.outcome.as_str(),
        reason: processed.reason,
        request_id: message.request_id.clone(),
        accepted_at: message.accepted_at,
        body_sha256: None,
        payload,
    };
    store::insert_log_rows(&mut *conn, std::slice::from_ref(&row)).await
}

/// `Ok` when `addon_id` is the workspace's current, not deleted installation and the message is
/// not older than the last lifecycle callback applied to it.
async fn current_installation(
    conn: &mut PgConnection,
    message: &EventMessage,
    addon_id: &str,
) -> sqlx::Result<Result<(), Processed>> {
    let row: Option<(String, bool, bool)> = sqlx::query_as(
        "select addon_id, deleted_at is not null, coalesce(lifecycle_at > $2, false)
         from installations where workspace_id = $1 for update",
    )
    .bind(&message.workspace_id)
    .bind(message.accepted_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => Err(Processed::ignored("not_installed")),
        Some((current, _, _)) if current != addon_id => Err(Processed::ignored("stale_addon")),
        Some((_, true, _)) => Err(Processed::ignored("already_deleted")),
        Some((_, _, true)) => Err(Processed::ignored("stale")),
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
    let written = sqlx::query(
        "insert into installations
             (workspace_id, addon_id, status, deleted_at, addon_user_id, as_user, api_url, backend_url,
              reports_url, locations_url, screenshots_url, sealed_auth_token, settings, installed_at,
              lifecycle_at, updated_at)
         values ($1, $2, 'ACTIVE', null, $3, $4, $5, $6, $7, $8, $9, $10, '[]'::jsonb, $11, $11, now())
         on conflict (workspace_id) do update set
             addon_id = excluded.addon_id,
             status = 'ACTIVE',
             deleted_at = null,
             addon_user_id = excluded.addon_user_id,
             as_user = excluded.as_user,
             api_url = excluded.api_url,
             backend_url = excluded.backend_url,
             reports_url = excluded.reports_url,
             locations_url = excluded.locations_url,
             screenshots_url = excluded.screenshots_url,
             sealed_auth_token = excluded.sealed_auth_token,
             settings = case when installations.addon_id = excluded.addon_id
                             then installations.settings else '[]'::jsonb end,
             installed_at = case when installations.addon_id = excluded.addon_id and installations.deleted_at is null
                                 then installations.installed_at else excluded.installed_at end,
             lifecycle_at = excluded.lifecycle_at,
             updated_at = now()
         where installations.lifecycle_at is null or installations.lifecycle_at <= excluded.lifecycle_at",
    )
    .bind(workspace_id)
    .bind(&installed.addon_id)
    .bind(&installed.addon_user_id)
    .bind(&installed.as_user)
    .bind(&installed.api_url)
    .bind(&installed.backend_url)
    .bind(&installed.reports_url)
    .bind(&installed.locations_url)
    .bind(&installed.screenshots_url)
    .bind(&installed.sealed_auth_token)
    .bind(message.accepted_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !written {
        return Ok(false);
    }
    sqlx::query("delete from webhook_tokens where workspace_id = $1")
        .bind(workspace_id)
        .execute(&mut *conn)
        .await?;
    let paths: Vec<&str> = installed.webhooks.iter().map(|w| w.path.as_str()).collect();
    let types: Vec<Option<&str>> = installed
        .webhooks
        .iter()
        .map(|w| w.webhook_type.as_deref())
        .collect();
    let events: Vec<Option<&str>> = installed
        .webhooks
        .iter()
        .map(|w| w.event_type.map(|e| e.as_str()))
        .collect();
    let hashes: Vec<&str> = installed
        .webhooks
        .iter()
        .map(|w| w.token_sha256.as_str())
        .collect();
    sqlx::query(
        "insert into webhook_tokens (workspace_id, addon_id, path, webhook_type, event_type, token_sha256)
         select $1, $2, p, t, e, h
         from unnest($3::text[], $4::text[], $5::text[], $6::text[]) as w(p, t, e, h)
         on conflict do nothing",
    )
    .bind(workspace_id)
    .bind(&installed.addon_id)
    .bind(&paths)
    .bind(&types)
    .bind(&events)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Marks the installation deleted, erases its tokens and settings, and purges the workspace's
/// data: entities, event log, bootstrap jobs with their units, and call records. Returns whether
/// webhooks registered through the API are left to delete.
///
/// The bootstrap jobs (and with them their units) go first: a page being written holds its
/// unit's row lock until it commits (see `bootstrap::store::checkpoint_page`), so this waits for
/// that page and then purges it with the rest, or the page finds its unit gone and writes nothing.
async fn uninstall(
    conn: &mut PgConnection,
    workspace_id: &str,
    accepted_at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<bool> {
    sqlx::query("delete from bootstrap_jobs where workspace_id = $1")
        .bind(workspace_id)
        .execute(&mut *conn)
        .await?;
    let queued = sqlx::query(
        "insert into webhook_deletions (workspace_id, clockify_webhook_id, sealed_auth_token, backend_url)
         select t.workspace_id, t.clockify_webhook_id, i.sealed_auth_token, coalesce(i.backend_url, i.api_url)
         from webhook_tokens t join installations i on i.workspace_id = t.workspace_id
         where t.workspace_id = $1 and t.clockify_webhook_id is not null
           and i.sealed_auth_token is not null and coalesce(i.backend_url, i.api_url) is not null
         on conflict do nothing",
    )
    .bind(workspace_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "update installations
         set deleted_at = now(), status = 'INACTIVE', sealed_auth_token = null,
             settings = '[]'::jsonb, lifecycle_at = $2, updated_at = now()
         where workspace_id = $1",
    )
    .bind(workspace_id)
    .bind(accepted_at)
    .execute(&mut *conn)
    .await?;
    for statement in [
        "delete from webhook_tokens where workspace_id = $1",
        "delete from entities where workspace_id = $1",
        "delete from event_log where workspace_id = $1",
        "delete from api_calls where workspace_id = $1",
    ] {
        sqlx::query(statement)
            .bind(workspace_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(queued > 0)
}
