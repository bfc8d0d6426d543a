//! `webhook_deletions`: webhooks registered through the webhooks API that an uninstall must
//! delete at Clockify. The installation's sealed token stays here only until the deletion job has
//! tried, then the row goes.

use sqlx::PgExecutor;

/// Queues the deletion of every webhook the workspace registered through the API, with the
/// installation's sealed token and API URL; run by an uninstall before it erases the token.
/// Returns how many were queued.
pub async fn queue_for_uninstall(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<u64> {
    let queued = sqlx::query!(
        "insert into webhook_deletions (workspace_id, clockify_webhook_id, sealed_auth_token, backend_url)
         select t.workspace_id, t.clockify_webhook_id, i.sealed_auth_token, coalesce(i.backend_url, i.api_url)
         from webhook_tokens t join installations i on i.workspace_id = t.workspace_id
         where t.workspace_id = $1 and t.clockify_webhook_id is not null
           and i.sealed_auth_token is not null and coalesce(i.backend_url, i.api_url) is not null
         on conflict do nothing",
        workspace_id,
    )
    .execute(executor)
    .await?;
    Ok(queued.rows_affected())
}

/// A webhook left to delete.
#[derive(Debug, Clone)]
pub struct PendingDeletion {
    pub clockify_webhook_id: String,
    pub sealed_auth_token: String,
    pub backend_url: String,
}

/// The workspace's webhooks left to delete.
pub async fn pending(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<Vec<PendingDeletion>> {
    sqlx::query_as!(
        PendingDeletion,
        "select clockify_webhook_id, sealed_auth_token, backend_url
         from webhook_deletions where workspace_id = $1",
        workspace_id,
    )
    .fetch_all(executor)
    .await
}

/// Removes one deletion once it was tried, whatever Clockify answered, so the sealed token does
/// not outlive the attempt.
pub async fn remove(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
    clockify_webhook_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from webhook_deletions where workspace_id = $1 and clockify_webhook_id = $2",
        workspace_id,
        clockify_webhook_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Up to `limit` sealed tokens of pending deletions not starting with `current_prefix`, after
/// `after_key` (`workspace_id/clockify_webhook_id`).
pub async fn sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
    after_key: &str,
    limit: i64,
) -> sqlx::Result<Vec<super::SealedToken>> {
    sqlx::query_as!(
        super::SealedToken,
        r#"select workspace_id || '/' || clockify_webhook_id as "row_key!", workspace_id,
                  sealed_auth_token as "sealed!"
           from webhook_deletions
           where not starts_with(sealed_auth_token, $1)
             and workspace_id || '/' || clockify_webhook_id > $2
           order by 1 limit $3"#,
        current_prefix,
        after_key,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Replaces a pending deletion's sealed token, only if it is still `old`.
pub async fn replace_sealed(
    executor: impl PgExecutor<'_>,
    row_key: &str,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update webhook_deletions set sealed_auth_token = $3
         where workspace_id || '/' || clockify_webhook_id = $1 and sealed_auth_token = $2",
        row_key,
        old,
        new,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sealed tokens of pending deletions not under the current key.
pub async fn count_sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from webhook_deletions
           where not starts_with(sealed_auth_token, $1)"#,
        current_prefix,
    )
    .fetch_one(executor)
    .await
}
