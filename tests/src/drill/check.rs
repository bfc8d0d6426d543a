//! What a drill checks once its load stopped: every event answered 200 is in the event log
//! exactly once, and a workspace's events were applied in the order ingress accepted them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use simulator::load::steady::Delivery;

/// One `event_log` row of a load event.
#[derive(Debug, Clone)]
pub struct Stored {
    pub processed_at: DateTime<Utc>,
    pub outcome: String,
}

/// The load's events in the event log, by their place in the load.
pub async fn stored_events(
    db: &PgPool,
    workspace_ids: &[String],
) -> sqlx::Result<HashMap<usize, Vec<Stored>>> {
    let rows: Vec<(Option<String>, DateTime<Utc>, String)> = sqlx::query_as(
        "select entity_id, processed_at, outcome from event_log
         where workspace_id = any($1) and source = 'webhook'",
    )
    .bind(workspace_ids)
    .fetch_all(db)
    .await?;
    let mut stored: HashMap<usize, Vec<Stored>> = HashMap::new();
    for (entity_id, processed_at, outcome) in rows {
        let Some(seq) = entity_id
            .as_deref()
            .and_then(|id| id.strip_prefix("drill-te-"))
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        stored.entry(seq).or_default().push(Stored {
            processed_at,
            outcome,
        });
    }
    Ok(stored)
}

/// Waits until every accepted delivery is in the event log, or `limit` passed; returns what is
/// stored then (the caller reports what is missing).
pub async fn wait_all_stored(
    db: &PgPool,
    workspace_ids: &[String],
    deliveries: &[Delivery],
    limit: Duration,
) -> HashMap<usize, Vec<Stored>> {
    let started = Instant::now();
    loop {
        let stored = stored_events(db, workspace_ids).await.unwrap_or_default();
        let missing = deliveries
            .iter()
            .filter(|d| d.accepted() && !stored.contains_key(&d.seq))
            .count();
        if missing == 0 || started.elapsed() > limit {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Pairs of one workspace's accepted events where the later one (launched after the earlier
/// was answered 200) was applied in an earlier transaction: "seq A before seq B" descriptions.
///
/// Events whose requests overlapped have no order to keep; a batch applies its events in one
/// transaction (one `processed_at`), so order is checked between transactions.
pub fn out_of_order(deliveries: &[Delivery], stored: &HashMap<usize, Vec<Stored>>) -> Vec<String> {
    let mut by_workspace: HashMap<usize, Vec<(&Delivery, DateTime<Utc>)>> = HashMap::new();
    for delivery in deliveries.iter().filter(|d| d.accepted()) {
        if let Some(first) = stored.get(&delivery.seq).and_then(|rows| rows.first()) {
            by_workspace
                .entry(delivery.workspace)
                .or_default()
                .push((delivery, first.processed_at));
        }
    }
    let mut violations = Vec::new();
    for events in by_workspace.values() {
        let mut by_answer = events.clone();
        by_answer.sort_by_key(|(d, _)| d.answered);
        let mut by_launch = events.clone();
        by_launch.sort_by_key(|(d, _)| d.launched);
        // Sweep launches in order; `latest` is the latest-applied event answered before it.
        let mut answered = by_answer.iter().peekable();
        let mut latest: Option<(&Delivery, DateTime<Utc>)> = None;
        for (delivery, processed_at) in &by_launch {
            while let Some((earlier, at)) =
                answered.next_if(|(e, _)| e.answered < delivery.launched)
            {
                if latest.is_none_or(|(_, latest_at)| *at > latest_at) {
                    latest = Some((earlier, *at));
                }
            }
            if let Some((earlier, at)) = latest
                && at > *processed_at
            {
                violations.push(format!(
                    "drill-te-{} (answered before drill-te-{} was sent) applied after it",
                    earlier.seq, delivery.seq
                ));
            }
        }
    }
    violations
}
