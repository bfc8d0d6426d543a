//! `webhook_registrations`: the extra webhooks an installation should have (the coverage plan's
//! `EXTRA_WEBHOOK_EVENTS`), as desired state with where each registration stands. An attempt
//! claims its row by moving `next_attempt_at` past a lease, so two workers never register the same
//! event at once; a failure sets the next attempt with backoff.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};

/// How long a claimed registration is left to its claimer before another may try it.
pub const CLAIM_LEASE_SECS: f64 = 300.0;

/// Where one registration stands (`webhook_registrations.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RegistrationState {
    Pending,
    Registered,
    Failed,
}

/// Makes the workspace's desired registrations `event_types` for installation `addon_id`: new
/// ones pending, ones of an earlier installation (or whose token is no longer held) pending
/// again, ones no longer planned removed. Run after the install replaced the webhook tokens.
pub async fn plan(
    conn: &mut PgConnection,
    workspace_id: &str,
    addon_id: &str,
    event_types: &[&str],
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from webhook_registrations
         where workspace_id = $1 and not (event_type = any($2::text[]))",
        workspace_id,
        event_types as _,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into webhook_registrations (workspace_id, event_type, addon_id, state)
         select $1, e, $2, 'pending' from unnest($3::text[]) as e
         on conflict (workspace_id, event_type) do update set
             addon_id = excluded.addon_id, state = 'pending', clockify_webhook_id = null,
             last_error = null, attempts = 0, next_attempt_at = now(), updated_at = now()
         where webhook_registrations.addon_id <> excluded.addon_id",
        workspace_id,
        addon_id,
        event_types as _,
    )
    .execute(&mut *conn)
    .await?;
    // An INSTALLED applied again replaces the webhook tokens: a registration whose token is no
    // longer held registers again.
    sqlx::query!(
        "update webhook_registrations r
         set state = 'pending', clockify_webhook_id = null, attempts = 0,
             next_attempt_at = now(), updated_at = now()
         where r.workspace_id = $1 and r.state = 'registered'
           and not exists (select 1 from webhook_tokens t
                           where t.workspace_id = r.workspace_id
                             and t.clockify_webhook_id = r.clockify_webhook_id)",
        workspace_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Brings every active installation in line with the plan's `event_types` (run when a worker
/// starts, as the plan may have changed since they installed): missing registrations are added
/// pending, unregistered ones the plan no longer holds removed (registered ones are kept until
/// the uninstall deletes them). Returns how many were added.
pub async fn plan_everywhere(conn: &mut PgConnection, event_types: &[&str]) -> sqlx::Result<u64> {
    sqlx::query!(
        "delete from webhook_registrations
         where state <> 'registered' and not (event_type = any($1::text[]))",
        event_types as _,
    )
    .execute(&mut *conn)
    .await?;
    let added = sqlx::query!(
        "insert into webhook_registrations (workspace_id, event_type, addon_id, state)
         select i.workspace_id, e, i.addon_id, 'pending'
         from installations i cross join unnest($1::text[]) as e
         where i.deleted_at is null and i.sealed_auth_token is not null
         on conflict do nothing",
        event_types as _,
    )
    .execute(&mut *conn)
    .await?;
    Ok(added.rows_affected())
}

/// A registration claimed for an attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub workspace_id: String,
    pub event_type: String,
    pub addon_id: String,
    pub attempts: i32,
}

/// Claims the workspace's registrations that are due (pending or failed, next attempt passed).
pub async fn claim_due_in(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as!(
        Claimed,
        "update webhook_registrations
         set next_attempt_at = now() + make_interval(secs => $2), updated_at = now()
         where workspace_id = $1 and state <> 'registered' and next_attempt_at <= now()
         returning workspace_id, event_type, addon_id, attempts",
        workspace_id,
        CLAIM_LEASE_SECS,
    )
    .fetch_all(executor)
    .await
}

/// Claims up to `limit` due registrations of any workspace, oldest first; rows another worker is
/// claiming are skipped.
pub async fn claim_due(executor: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as!(
        Claimed,
        "update webhook_registrations r
         set next_attempt_at = now() + make_interval(secs => $2), updated_at = now()
         from (select workspace_id, event_type from webhook_registrations
               where state <> 'registered' and next_attempt_at <= now()
               order by next_attempt_at limit $1 for update skip locked) due
         where r.workspace_id = due.workspace_id and r.event_type = due.event_type
         returning r.workspace_id, r.event_type, r.addon_id, r.attempts",
        limit,
        CLAIM_LEASE_SECS,
    )
    .fetch_all(executor)
    .await
}

/// Records a registration Clockify accepted, if it is still the installation's.
pub async fn mark_registered(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    event_type: &str,
    addon_id: &str,
    clockify_webhook_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update webhook_registrations
         set state = 'registered', clockify_webhook_id = $4, last_error = null,
             attempts = attempts + 1, updated_at = now()
         where workspace_id = $1 and event_type = $2 and addon_id = $3",
        workspace_id,
        event_type,
        addon_id,
        clockify_webhook_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    event_type: &str,
    addon_id: &str,
    error: &str,
    retry_in_secs: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update webhook_registrations
         set state = 'failed', last_error = $4, attempts = attempts + 1,
             next_attempt_at = now() + make_interval(secs => $5), updated_at = now()
         where workspace_id = $1 and event_type = $2 and addon_id = $3",
        workspace_id,
        event_type,
        addon_id,
        error,
        retry_in_secs,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// One registration as the coverage endpoints show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationView {
    pub event_type: String,
    pub state: RegistrationState,
    pub clockify_webhook_id: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The workspace's registrations.
pub async fn list(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<RegistrationView>> {
    sqlx::query_as!(
        RegistrationView,
        r#"select event_type, state as "state: RegistrationState", clockify_webhook_id,
                  last_error, attempts, next_attempt_at, updated_at
           from webhook_registrations where workspace_id = $1 order by event_type"#,
        workspace_id,
    )
    .fetch_all(executor)
    .await
}

/// Registrations in each state across workspaces, for the gauges.
pub async fn count_failed(executor: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from webhook_registrations where state = 'failed'"#
    )
    .fetch_one(executor)
    .await
}

/// Forgets the workspace's registrations (on uninstall; the webhooks themselves are deleted
/// through `webhook_deletions`).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from webhook_registrations where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}
