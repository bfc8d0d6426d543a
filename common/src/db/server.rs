//! Statements on the database server rather than on a table: the readiness probes' ping, and the
//! demo and load tools' scratch-database upkeep.

use anyhow::Context as _;
use sqlx::PgExecutor;

/// Answers when the database does: the readiness probes' check.
pub async fn ping(executor: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query_scalar!(r#"select 1 as "one!""#)
        .fetch_one(executor)
        .await?;
    Ok(())
}

/// Drops the database `name` and whatever holds it open, for the demo and load tools that start
/// from scratch. Identifiers cannot be bound, so the name is restricted to letters, digits and
/// underscores first (unquoted, as PostgreSQL folds it to lower case).
pub async fn drop_database_if_exists(admin: impl PgExecutor<'_>, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "database name {name:?} must be letters, digits and underscores"
    );
    let statement = format!("drop database if exists {name} with (force)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(admin)
        .await
        .with_context(|| format!("dropping database {name}"))?;
    Ok(())
}

/// Forces a checkpoint, so a measurement that follows starts without one due.
pub async fn checkpoint(executor: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::raw_sql("checkpoint").execute(executor).await?;
    Ok(())
}
