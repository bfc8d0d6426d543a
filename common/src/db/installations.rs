//! `installations`: one row per workspace that ever installed the add-on. Lifecycle callbacks
//! write it; everything that acts for a workspace reads it to know whether, and where, it may.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

pub use crate::messages::InstallationStatus;
use crate::messages::Installed;

/// What a worker needs to know of an installation to admit a webhook.
#[derive(Debug, Clone)]
pub struct InstallationView {
    pub addon_id: String,
    pub active: bool,
    pub deleted: bool,
    /// The SHA-256 of each webhook token with the event it may sign (`None`: signs nothing).
    pub webhook_tokens: Vec<(String, Option<String>)>,
}

/// The installations of `workspace_ids` with their webhook token hashes, read once per batch so
/// each webhook is admitted without a query of its own.
pub async fn load_for_admission(
    executor: impl PgExecutor<'_>,
    workspace_ids: &[String],
) -> sqlx::Result<HashMap<String, InstallationView>> {
    let rows = sqlx::query!(
        r#"select i.workspace_id, i.addon_id, i.status as "status: InstallationStatus",
                  i.deleted_at is not null as "deleted!",
                  coalesce(array_agg(t.token_sha256) filter (where t.token_sha256 is not null), '{}') as "hashes!: Vec<String>",
                  coalesce(array_agg(t.event_type) filter (where t.token_sha256 is not null), '{}') as "events!: Vec<Option<String>>"
           from installations i
           left join webhook_tokens t on t.workspace_id = i.workspace_id
           where i.workspace_id = any($1)
           group by i.workspace_id"#,
        workspace_ids,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let view = InstallationView {
                addon_id: row.addon_id,
                active: row.status == InstallationStatus::Active,
                deleted: row.deleted,
                webhook_tokens: row.hashes.into_iter().zip(row.events).collect(),
            };
            (row.workspace_id, view)
        })
        .collect())
}

/// The `addonId` of the workspace's installation when it is current and active: the studio API
/// and the operators' bootstrap act only for such a workspace.
pub async fn active_addon_id(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "select addon_id from installations
         where workspace_id = $1 and deleted_at is null and status = 'ACTIVE'",
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// Where an active installation's API lives, as Clockify sent it.
#[derive(Debug, Clone)]
pub struct ApiUrls {
    pub backend_url: Option<String>,
    pub api_url: Option<String>,
    pub reports_url: Option<String>,
    pub pto_url: Option<String>,
}

/// The API URLs of the workspace's installation if it is current and active. The installation
/// token is not read: API Studio calls bring the viewer's token of their own.
pub async fn active_api_urls(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<ApiUrls>> {
    sqlx::query_as!(
        ApiUrls,
        "select backend_url, api_url, reports_url, pto_url from installations
         where workspace_id = $1 and deleted_at is null and status = 'ACTIVE'",
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// An active installation with its sealed token, for calls made as the installation.
#[derive(Debug, Clone)]
pub struct ActiveRow {
    pub addon_id: String,
    pub sealed_auth_token: Option<String>,
    pub backend_url: Option<String>,
    pub api_url: Option<String>,
    pub reports_url: Option<String>,
    pub pto_url: Option<String>,
}

/// The workspace's installation with its sealed token if it is current and active: bootstraps
/// and webhook registrations act as the installation.
pub async fn active_with_token(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Option<ActiveRow>> {
    sqlx::query_as!(
        ActiveRow,
        "select addon_id, sealed_auth_token, backend_url, api_url, reports_url, pto_url from installations
         where workspace_id = $1 and deleted_at is null and status = 'ACTIVE'",
        workspace_id,
    )
    .fetch_optional(executor)
    .await
}

/// Which installation a lifecycle callback meets, locked until the caller's transaction ends so
/// two callbacks of one workspace apply one after the other.
#[derive(Debug, Clone)]
pub struct LifecycleState {
    pub addon_id: String,
    pub deleted: bool,
    /// A lifecycle callback accepted after the one being applied was already applied.
    pub newer_applied: bool,
}

/// Locks the workspace's installation row and says how a callback accepted at `accepted_at`
/// stands against it.
pub async fn lock_lifecycle_state(
    conn: &mut PgConnection,
    workspace_id: &str,
    accepted_at: DateTime<Utc>,
) -> sqlx::Result<Option<LifecycleState>> {
    sqlx::query_as!(
        LifecycleState,
        r#"select addon_id, deleted_at is not null as "deleted!",
                  coalesce(lifecycle_at > $2, false) as "newer_applied!"
           from installations where workspace_id = $1 for update"#,
        workspace_id,
        accepted_at,
    )
    .fetch_optional(conn)
    .await
}

/// Writes the installation of an INSTALLED callback accepted at `accepted_at`: a re-install of
/// the same `addonId` keeps its settings and install time, a new `addonId` starts afresh.
/// `false` (nothing written) when a later lifecycle callback was already applied, so a stale
/// INSTALLED (one replayed from the dead letters after a DELETED, say) never resurrects or
/// overwrites.
pub async fn upsert_installed(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    installed: &Installed,
    accepted_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let written = sqlx::query!(
        "insert into installations
             (workspace_id, addon_id, status, deleted_at, addon_user_id, as_user, api_url, backend_url,
              reports_url, locations_url, screenshots_url, sealed_auth_token, settings, installed_at,
              lifecycle_at, updated_at, pto_url)
         values ($1, $2, 'ACTIVE', null, $3, $4, $5, $6, $7, $8, $9, $10, '[]'::jsonb, $11, $11, now(), $12)
         on conflict (workspace_id) do update set
             addon_id = excluded.addon_id,
             status = 'ACTIVE',
             deleted_at = null,
             addon_user_id = excluded.addon_user_id,
             as_user = excluded.as_user,
             api_url = excluded.api_url,
             backend_url = excluded.backend_url,
             reports_url = excluded.reports_url,
             pto_url = excluded.pto_url,
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
        workspace_id,
        installed.addon_id,
        installed.addon_user_id,
        installed.as_user,
        installed.api_url,
        installed.backend_url,
        installed.reports_url,
        installed.locations_url,
        installed.screenshots_url,
        installed.sealed_auth_token,
        accepted_at,
        installed.pto_url,
    )
    .execute(executor)
    .await?;
    Ok(written.rows_affected() == 1)
}

/// Marks the installation deleted by a DELETED accepted at `accepted_at`, erasing its token and
/// settings. The row stays, so late callbacks of the old `addonId` are recognised and ignored.
pub async fn mark_deleted(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    accepted_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update installations
         set deleted_at = now(), status = 'INACTIVE', sealed_auth_token = null,
             settings = '[]'::jsonb, lifecycle_at = $2, updated_at = now()
         where workspace_id = $1",
        workspace_id,
        accepted_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Applies a STATUS_CHANGED accepted at `accepted_at`.
pub async fn set_status(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    status: InstallationStatus,
    accepted_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update installations set status = $2, lifecycle_at = $3, updated_at = now()
         where workspace_id = $1",
        workspace_id,
        status as InstallationStatus,
        accepted_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Applies a SETTINGS_UPDATED accepted at `accepted_at`.
pub async fn set_settings(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    settings: &serde_json::Value,
    accepted_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update installations set settings = $2, lifecycle_at = $3, updated_at = now()
         where workspace_id = $1",
        workspace_id,
        settings,
        accepted_at,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// How many of the installations of `addon_ids` are current and have their webhook tokens: the
/// load tool waits for all of them before it sends webhooks.
pub async fn count_ready(executor: impl PgExecutor<'_>, addon_ids: &[String]) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(distinct i.workspace_id) as "count!" from installations i
           join webhook_tokens t on t.workspace_id = i.workspace_id
           where i.addon_id = any($1) and i.deleted_at is null"#,
        addon_ids,
    )
    .fetch_one(executor)
    .await
}

/// How many installations there are, deleted or not: the demo waits for its installs with it.
pub async fn count_all(executor: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from installations"#)
        .fetch_one(executor)
        .await
}

/// How many installations are deleted: the demo waits for its uninstall with it.
pub async fn count_deleted(executor: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from installations where deleted_at is not null"#
    )
    .fetch_one(executor)
    .await
}

/// Each installation as `"workspace state"` (state `ACTIVE`, `INACTIVE` or `DELETED`), for the
/// demo's report.
pub async fn list_states(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select workspace_id || ' ' || case when deleted_at is null then status else 'DELETED' end
                  as "state!"
           from installations order by 1"#
    )
    .fetch_all(executor)
    .await
}

/// Up to `limit` sealed installation tokens not starting with `current_prefix`, after
/// `after_key` in workspace order (re-sealing pages through them).
pub async fn sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
    after_key: &str,
    limit: i64,
) -> sqlx::Result<Vec<super::SealedToken>> {
    sqlx::query_as!(
        super::SealedToken,
        r#"select workspace_id as "row_key!", workspace_id, sealed_auth_token as "sealed!"
           from installations
           where sealed_auth_token is not null and not starts_with(sealed_auth_token, $1)
             and workspace_id > $2
           order by workspace_id limit $3"#,
        current_prefix,
        after_key,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Replaces a sealed installation token, only if it is still `old` (a re-install wins).
pub async fn replace_sealed(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update installations set sealed_auth_token = $3
         where workspace_id = $1 and sealed_auth_token = $2",
        workspace_id,
        old,
        new,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sealed installation tokens not under the current key.
pub async fn count_sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from installations
           where sealed_auth_token is not null and not starts_with(sealed_auth_token, $1)"#,
        current_prefix,
    )
    .fetch_one(executor)
    .await
}
