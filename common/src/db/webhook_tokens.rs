//! `webhook_tokens`: the SHA-256 of each webhook token of the current installation, with the one
//! event it may sign. INSTALLED writes the manifest's; registrations through the webhooks API add
//! theirs with Clockify's webhook id.

use sqlx::{PgConnection, PgExecutor};

use crate::messages::WebhookToken;

/// Replaces the workspace's webhook tokens with those of an INSTALLED, so a re-install's new
/// tokens are the only ones that admit webhooks.
pub async fn replace_with_manifest(
    conn: &mut PgConnection,
    workspace_id: &str,
    addon_id: &str,
    webhooks: &[WebhookToken],
) -> sqlx::Result<()> {
    delete_for_workspace(&mut *conn, workspace_id).await?;
    let paths: Vec<String> = webhooks.iter().map(|w| w.path.clone()).collect();
    let types: Vec<Option<String>> = webhooks.iter().map(|w| w.webhook_type.clone()).collect();
    let events: Vec<Option<String>> = webhooks
        .iter()
        .map(|w| w.event_type.map(|e| e.as_str().to_owned()))
        .collect();
    let hashes: Vec<String> = webhooks.iter().map(|w| w.token_sha256.clone()).collect();
    sqlx::query!(
        "insert into webhook_tokens (workspace_id, addon_id, path, webhook_type, event_type, token_sha256)
         select $1, $2, p, t, e, h
         from unnest($3::text[], $4::text[], $5::text[], $6::text[]) as w(p, t, e, h)
         on conflict do nothing",
        workspace_id,
        addon_id,
        &paths,
        &types as &[Option<String>],
        &events as &[Option<String>],
        &hashes,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The event types already registered through the webhooks API, so a repeated registration job
/// registers only what is missing.
pub async fn registered_event_types(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select webhook_type as "webhook_type!" from webhook_tokens
           where workspace_id = $1 and clockify_webhook_id is not null and webhook_type is not null"#,
        workspace_id,
    )
    .fetch_all(executor)
    .await
}

/// A webhook registered through Clockify's webhooks API.
#[derive(Debug, Clone, Copy)]
pub struct Registered<'a> {
    pub workspace_id: &'a str,
    pub addon_id: &'a str,
    /// The URL Clockify delivers it to.
    pub url: &'a str,
    pub event_type: &'a str,
    pub token_sha256: &'a str,
    pub clockify_webhook_id: &'a str,
}

/// Records a registered webhook's token, only while the installation `addon_id` that registered
/// it is current: a registration that finishes after an uninstall or re-install leaves nothing.
pub async fn insert_registered(
    executor: impl PgExecutor<'_>,
    webhook: &Registered<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into webhook_tokens (workspace_id, addon_id, path, webhook_type, event_type, token_sha256, clockify_webhook_id)
         select $1, $2, $3, $4, $4, $5, $6
         where exists (select 1 from installations where workspace_id = $1 and addon_id = $2 and deleted_at is null)
         on conflict do nothing",
        webhook.workspace_id,
        webhook.addon_id,
        webhook.url,
        webhook.event_type,
        webhook.token_sha256,
        webhook.clockify_webhook_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets every webhook token of the workspace (on uninstall, or before a re-install's).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from webhook_tokens where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The webhook types the workspace subscribes to that no webhook has ever arrived for: a
/// subscription Clockify may have dropped, or one nobody has exercised yet.
pub async fn never_heard_types(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select distinct t.event_type as "event_type!" from webhook_tokens t
           where t.workspace_id = $1 and t.event_type is not null
             and not exists (select 1 from event_log l
                             where l.workspace_id = t.workspace_id and l.source = 'webhook'
                               and l.event_type = t.event_type)
           order by 1"#,
        workspace_id,
    )
    .fetch_all(executor)
    .await
}
