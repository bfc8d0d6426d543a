//! Session-independent locks for the workers' periodic maintenance (retention), so one worker
//! process at a time does each task. No table of its own: PostgreSQL's advisory locks.

use sqlx::PgConnection;

/// Advisory-lock class of maintenance tasks; the second key names the task.
const MAINTENANCE_LOCK_CLASS: i32 = 0x0b0c_0002;

/// Takes the lock of `task` for the rest of `connection`'s transaction; false when another
/// worker holds it.
pub async fn try_lock_task(connection: &mut PgConnection, task: i32) -> sqlx::Result<bool> {
    let locked = sqlx::query_scalar!(
        "select pg_try_advisory_xact_lock($1, $2) as \"locked!\"",
        MAINTENANCE_LOCK_CLASS,
        task,
    )
    .fetch_one(connection)
    .await?;
    Ok(locked)
}
