//! Upkeep of `api_calls`: forgetting a workspace's calls, re-sealing tokens under the current
//! key, and purging old rows.

use sqlx::PgExecutor;

/// Forgets the workspace's calls (on uninstall).
pub async fn delete_for_workspace(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from api_calls where workspace_id = $1",
        workspace_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Up to `limit` sealed user tokens of waiting calls not starting with `current_prefix`, after
/// `after_key` (the call id as text).
pub async fn sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
    after_key: &str,
    limit: i64,
) -> sqlx::Result<Vec<crate::db::SealedToken>> {
    sqlx::query_as!(
        crate::db::SealedToken,
        r#"select id::text as "row_key!", workspace_id, sealed_user_token as "sealed!"
           from api_calls
           where sealed_user_token is not null and not starts_with(sealed_user_token, $1)
             and id::text > $2
           order by id::text limit $3"#,
        current_prefix,
        after_key,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Replaces a waiting call's sealed user token, only if it is still `old`.
pub async fn replace_sealed(
    executor: impl PgExecutor<'_>,
    row_key: &str,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update api_calls set sealed_user_token = $3
         where id::text = $1 and sealed_user_token = $2",
        row_key,
        old,
        new,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sealed user tokens of waiting calls not under the current key.
pub async fn count_sealed_not_under(
    executor: impl PgExecutor<'_>,
    current_prefix: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from api_calls
           where sealed_user_token is not null and not starts_with(sealed_user_token, $1)"#,
        current_prefix,
    )
    .fetch_one(executor)
    .await
}

/// Deletes up to `limit` finished calls created more than `days` days ago; how many went.
pub async fn purge_older_than(
    executor: impl PgExecutor<'_>,
    days: i32,
    limit: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from api_calls where id = any(array(
             select id from api_calls
             where status in ('succeeded', 'failed')
               and created_at < now() - make_interval(days => $1) limit $2))",
        days,
        limit,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
