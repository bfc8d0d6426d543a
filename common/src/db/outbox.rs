//! `event_outbox`: events ingress accepted while the broker could not confirm them, waiting for
//! the relay. Rows are published in `id` order per partition, then deleted.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Advisory-lock class of the relay: `(RELAY_LOCK_CLASS, partition)` is held by the one relay
/// working on that partition, for the length of its transaction.
pub const RELAY_LOCK_CLASS: i32 = 0x0b0c_0001;

/// One event as it waits to be published: the exact body ingress would have published.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub workspace_id: String,
    pub message_id: Uuid,
    pub request_id: String,
    pub body: Vec<u8>,
}

/// One event for [`insert_many`].
#[derive(Debug, Clone, Copy)]
pub struct NewRow<'a> {
    pub workspace_id: &'a str,
    pub message_id: Uuid,
    pub request_id: &'a str,
    pub body: &'a [u8],
}

/// Commits several events of `partition` to the outbox in one statement, their ids in the order
/// given (the order the relay publishes them); all or none.
pub async fn insert_many(
    executor: impl PgExecutor<'_>,
    partition: u16,
    rows: &[NewRow<'_>],
) -> sqlx::Result<()> {
    let workspace_ids: Vec<String> = rows.iter().map(|r| r.workspace_id.to_owned()).collect();
    let message_ids: Vec<Uuid> = rows.iter().map(|r| r.message_id).collect();
    let request_ids: Vec<String> = rows.iter().map(|r| r.request_id.to_owned()).collect();
    let bodies: Vec<Vec<u8>> = rows.iter().map(|r| r.body.to_vec()).collect();
    sqlx::query!(
        "insert into event_outbox (workspace_id, partition, message_id, request_id, body)
         select w, $1, m, r, b
         from unnest($2::text[], $3::uuid[], $4::text[], $5::bytea[]) with ordinality as t(w, m, r, b, n)
         order by n
         on conflict (message_id) do nothing",
        i32::from(partition),
        &workspace_ids,
        &message_ids,
        &request_ids,
        &bodies,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Takes the relay lock of `partition` for the rest of the transaction `connection` is in;
/// false when another relay holds it.
pub async fn try_lock_partition(
    connection: &mut PgConnection,
    partition: u16,
) -> sqlx::Result<bool> {
    let locked = sqlx::query_scalar!(
        "select pg_try_advisory_xact_lock($1, $2) as \"locked!\"",
        RELAY_LOCK_CLASS,
        i32::from(partition),
    )
    .fetch_one(connection)
    .await?;
    Ok(locked)
}

/// The oldest `limit` rows of `partition`, in the order they must be published.
pub async fn oldest(
    executor: impl PgExecutor<'_>,
    partition: u16,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as!(
        OutboxRow,
        "select id, workspace_id, message_id, request_id, body from event_outbox
         where partition = $1 order by id limit $2",
        i32::from(partition),
        limit,
    )
    .fetch_all(executor)
    .await
}

/// Deletes rows the broker confirmed.
pub async fn delete(executor: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<u64> {
    let done = sqlx::query!("delete from event_outbox where id = any($1)", ids)
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}

/// A workspace with rows waiting, and how many.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub workspace_id: String,
    pub rows: i64,
}

/// Of `workspace_ids`, those that still have rows waiting, with their counts.
pub async fn workspaces_waiting(
    executor: impl PgExecutor<'_>,
    workspace_ids: &[String],
) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query_as!(
        Waiting,
        r#"select workspace_id, count(*) as "rows!" from event_outbox
           where workspace_id = any($1) group by workspace_id"#,
        workspace_ids,
    )
    .fetch_all(executor)
    .await
}

/// Rows waiting and the acceptance time of the oldest.
pub async fn depth(executor: impl PgExecutor<'_>) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row =
        sqlx::query!("select count(*) as \"rows!\", min(created_at) as oldest from event_outbox")
            .fetch_one(executor)
            .await?;
    Ok((row.rows, row.oldest))
}

/// Every workspace with rows waiting (read once by ingress at start).
pub async fn all_workspaces(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("select distinct workspace_id from event_outbox")
        .fetch_all(executor)
        .await
}
