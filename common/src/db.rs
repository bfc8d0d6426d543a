//! PostgreSQL: the pool, creating the database when it is missing, and the one schema's migrations.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::migrate::MigrateDatabase as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// Connects, creating the database and applying migrations first when needed.
pub async fn connect_and_migrate(
    database_url: &str,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    if !Postgres::database_exists(database_url)
        .await
        .context("checking that the database exists")?
    {
        // Two processes may race to create it; the loser's error is harmless.
        if let Err(error) = Postgres::create_database(database_url).await
            && !Postgres::database_exists(database_url)
                .await
                .unwrap_or(false)
        {
            return Err(error).context("creating the database");
        }
    }
    let options: PgConnectOptions = database_url.parse().context("parsing DATABASE_URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Applies the migrations in `migrations/`; concurrent callers are serialised by sqlx's lock.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .context("applying migrations")
}
