//! PostgreSQL: the pool, creating the database when it is missing, the one schema's migrations,
//! and a module per table holding every statement on it.
//!
//! Handlers, consumers and jobs call the free functions of these modules and hold no SQL. Each
//! function takes `impl PgExecutor<'_>` (a pool or a transaction), or `&mut PgConnection` when it
//! runs several statements; the transaction is the caller's. Every query is checked against the
//! schema at compile time (`sqlx::query!`), from the offline data in `.sqlx/` when no database is
//! at hand. Statuses and other closed sets are enums stored as their text names.

pub mod api_calls;
pub mod bootstrap_jobs;
pub mod bootstrap_units;
pub mod entities;
pub mod event_log;
pub mod installations;
pub mod maintenance;
pub mod operator_audit;
pub mod outbox;
pub mod reconcile_changes;
pub mod reconcile_seen;
pub mod server;
pub mod webhook_deletions;
pub mod webhook_registrations;
pub mod webhook_tokens;
pub mod worker_heartbeats;
pub mod workspace_replays;

use std::time::Duration;

use anyhow::Context as _;
use sqlx::migrate::MigrateDatabase as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// A sealed token at rest, as re-sealing reads it: the row's key (as text, for paging), its
/// workspace (the cipher's associated data) and the sealed value.
#[derive(Debug, Clone)]
pub struct SealedToken {
    pub row_key: String,
    pub workspace_id: String,
    pub sealed: String,
}

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
    let pool = pool_options(max_connections)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    migrate(&pool).await?;
    Ok(pool)
}

/// A pool for the event path's statements, whose every lookup is by primary key: its sessions
/// run with `enable_seqscan = off`, so a plan never depends on how large the planner last
/// believed a table to be.
///
/// Without it, a fresh database's `entities` and `event_log` grow faster than autoanalyze
/// follows them: a partition's connection caches a generic plan made while a table held a few
/// hundred rows (a sequential scan with a hash join), and keeps it while the table grows to
/// hundreds of thousands. Measured at 1,000 events/s on a fresh database: 1.8 and 2.2 ms per
/// 4-event batch for the state read and the write, PostgreSQL at 0.75 of a core; with index
/// paths forced, 0.07 and 0.7 ms (BENCHMARKS section 11). A statement with no index path still
/// runs, as a sequential scan: the setting only removes the choice.
///
/// The plan cache mode is left to PostgreSQL. Forcing generic plans was measured when the batch
/// write still joined `event_log` to find logged ids: the generic plan took `event_log_accepted`
/// (workspace only) and filtered every row of the workspace (3.2 ms per write at 1,000/s against
/// 0.7 ms). The write now finds them by its own insert (`event_log::insert_webhook_run`).
pub async fn connect_event_path(
    database_url: &str,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = database_url.parse().context("parsing DATABASE_URL")?;
    pool_options(max_connections)
        .connect_with(options.options([("enable_seqscan", "off")]))
        .await
        .context("connecting to PostgreSQL for the event path")
}

/// Both pools' settings: up to `max_connections`, opened as used, a 5 s wait for one.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
}

/// Applies the migrations in `migrations/`, once, however many processes call it at once.
///
/// sqlx's migrator (0.9, `Migrator::run_direct` with `locking` on, its default) first takes the
/// session-level `pg_advisory_lock` keyed by the database's name on the connection it migrates
/// with, and only then reads `_sqlx_migrations`: a second caller waits on the lock, finds every
/// migration recorded and applies nothing. A caller that fails drops its connection (the pool
/// goes with the error), which releases the lock. Compose runs this once before anything else
/// starts (`workers migrate`); the workers still call it at start, which then changes nothing.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .context("applying migrations")
}
