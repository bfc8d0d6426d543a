//! The load itself: installs the workspaces, then sends signed NEW_TIME_ENTRY webhooks, each
//! about a new time entry, either as fast as answers come back or open loop at a target rate.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use common::events::EventType;
use common::messages::partition_of;

use crate::payloads;
use crate::scenario::{DemoWorkspace, IngressCaller};

use super::http1::{Sender, Target};

use super::options::Pace;

/// The `apiUrl` of the installs. No stand-in API runs behind a load run: bootstraps are off
/// (`AUTO_BOOTSTRAP_ON_INSTALL=false`), so nothing calls it.
const UNUSED_API_URL: &str = "http://127.0.0.1:1/api";

/// One answered (or failed) delivery: status (0 for a connection error) and latency.
pub type Answer = (u16, Duration);

/// What the send phase produced.
pub struct Sent {
    pub answers: Vec<Answer>,
    /// From the first launch to the last answer.
    pub elapsed: Duration,
    /// Open loop only: launches that waited for a free slot because `concurrency` were in flight.
    pub delayed_launches: usize,
}

/// `count` workspace ids spread over distinct event partitions while there are free ones, so the
/// load exercises as many single-active consumers as it can (ingress routes by workspace hash).
pub fn workspace_ids(count: usize, partitions: u16) -> Vec<String> {
    let mut used = HashSet::new();
    let mut ids = Vec::with_capacity(count);
    let mut candidate = 0usize;
    while ids.len() < count {
        let id = format!("load-ws-{candidate}");
        candidate += 1;
        let partition = partition_of(&id, partitions);
        let partitions_left = used.len() < usize::from(partitions);
        if !partitions_left || used.insert(partition) {
            ids.push(id);
        }
    }
    ids
}

/// Installs each workspace with a signed INSTALLED and waits until every installation and its
/// webhook tokens are in the database.
pub async fn install_all(
    client: &IngressCaller,
    db: &PgPool,
    ids: &[String],
) -> anyhow::Result<Vec<DemoWorkspace>> {
    let mut installed = Vec::with_capacity(ids.len());
    for id in ids {
        installed.push(client.install(id, UNUSED_API_URL).await?);
    }
    let addon_ids: Vec<String> = installed.iter().map(|w| w.addon_id.clone()).collect();
    let started = Instant::now();
    loop {
        let ready = common::db::installations::count_ready(db, &addon_ids)
            .await
            .unwrap_or(0);
        if ready >= ids.len() as i64 {
            return Ok(installed);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "{ready} of {} installations reached the database in 60 s",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `seq`th webhook of the run: a new time entry in workspace `seq % W`, with an id of its own.
pub fn new_time_entry(workspaces: &[DemoWorkspace], seq: usize) -> (usize, Value) {
    let index = seq % workspaces.len();
    let workspace_id = &workspaces[index].workspace_id;
    let body = payloads::time_entry(
        workspace_id,
        &format!("load-te-{seq}"),
        &format!("load test entry {seq}"),
        Some("2026-11-30T09:00:00Z"),
    );
    (index, body)
}

/// Sends webhooks to `target` for `duration` at `pace` with at most `concurrency` in flight.
pub async fn send(
    target: Target,
    workspaces: Arc<Vec<DemoWorkspace>>,
    pace: Pace,
    concurrency: usize,
    duration: Duration,
) -> Sent {
    match pace {
        Pace::Max => send_closed_loop(target, workspaces, concurrency, duration).await,
        Pace::Rate(rate) => send_open_loop(target, workspaces, rate, concurrency, duration).await,
    }
}

/// Delivers the `seq`th webhook over `sender`: its status and how long ingress took to answer.
async fn deliver_nth(sender: &mut Sender, workspaces: &[DemoWorkspace], seq: usize) -> Answer {
    let (index, body) = new_time_entry(workspaces, seq);
    let started = Instant::now();
    let status = sender
        .deliver(&workspaces[index], EventType::NewTimeEntry, &body)
        .await;
    (status, started.elapsed())
}

/// `concurrency` senders, each sending its next webhook as soon as the previous one is answered.
async fn send_closed_loop(
    target: Target,
    workspaces: Arc<Vec<DemoWorkspace>>,
    concurrency: usize,
    duration: Duration,
) -> Sent {
    let started = Instant::now();
    let deadline = started + duration;
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (workspaces, next) = (workspaces.clone(), next.clone());
        let mut sender = Sender::new(target.clone());
        senders.spawn(async move {
            let mut answers = Vec::new();
            while Instant::now() < deadline {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                answers.push(deliver_nth(&mut sender, &workspaces, seq).await);
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = senders.join_next().await {
        answers.extend(done.unwrap_or_default());
    }
    Sent {
        answers,
        elapsed: started.elapsed(),
        delayed_launches: 0,
    }
}

/// One launch every `1 / rate` s on a fixed schedule, whatever the answers; a launch that finds
/// `concurrency` in flight waits for a slot, and its latency counts from its scheduled time, so a
/// slow system is not flattered by a slowed-down client.
async fn send_open_loop(
    target: Target,
    workspaces: Arc<Vec<DemoWorkspace>>,
    rate: f64,
    concurrency: usize,
    duration: Duration,
) -> Sent {
    let started = tokio::time::Instant::now();
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let slots = Arc::new(Semaphore::new(concurrency));
    // Idle connections; a launch takes one (or opens one) and gives it back when answered.
    let idle: Arc<Mutex<Vec<Sender>>> = Arc::default();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut answers = Vec::with_capacity(total);
    let mut delayed_launches = 0;
    for seq in 0..total {
        let scheduled = started + Duration::from_secs_f64(seq as f64 / rate);
        tokio::time::sleep_until(scheduled).await;
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                delayed_launches += 1;
                match slots.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => break,
                }
            }
        };
        let (workspaces, idle) = (workspaces.clone(), idle.clone());
        let taken = idle.lock().expect("idle connections").pop();
        let mut sender = taken.unwrap_or_else(|| Sender::new(target.clone()));
        in_flight.spawn(async move {
            let (status, _) = deliver_nth(&mut sender, &workspaces, seq).await;
            idle.lock().expect("idle connections").push(sender);
            drop(permit);
            (status, scheduled.elapsed())
        });
        while let Some(done) = in_flight.try_join_next() {
            answers.extend(done.ok());
        }
    }
    while let Some(done) = in_flight.join_next().await {
        answers.extend(done.ok());
    }
    Sent {
        answers,
        elapsed: started.elapsed(),
        delayed_launches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspaces_take_distinct_partitions_while_there_are_any() {
        let ids = workspace_ids(4, 8);
        let partitions: HashSet<u16> = ids.iter().map(|id| partition_of(id, 8)).collect();
        assert_eq!(partitions.len(), 4);
        let many = workspace_ids(10, 8);
        assert_eq!(many.len(), 10);
        let spread: HashSet<u16> = many.iter().map(|id| partition_of(id, 8)).collect();
        assert_eq!(spread.len(), 8);
    }
}
