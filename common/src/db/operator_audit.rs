//! `operator_audit`: the operators' actions through the admin API, appended, read newest first.
//! Operator bookkeeping spanning workspaces: the workspace, when there is one, is the target.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgExecutor;

/// One action to record.
#[derive(Debug)]
pub struct NewEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub request_id: &'a str,
    pub outcome: &'a str,
    pub detail: Option<Value>,
}

/// One recorded action, as `GET /admin/audit` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub request_id: String,
    pub outcome: String,
    pub detail: Option<Value>,
}

/// Appends one entry.
pub async fn record(executor: impl PgExecutor<'_>, entry: &NewEntry<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into operator_audit (actor, action, target, request_id, outcome, detail)
         values ($1, $2, $3, $4, $5, $6)",
        entry.actor,
        entry.action,
        entry.target,
        entry.request_id,
        entry.outcome,
        entry.detail,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The newest `limit` entries, newest first, optionally of one action.
pub async fn newest(
    executor: impl PgExecutor<'_>,
    action: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        "select id, at, actor, action, target, request_id, outcome, detail from operator_audit
         where $1::text is null or action = $1 order by id desc limit $2",
        action,
        limit,
    )
    .fetch_all(executor)
    .await
}
