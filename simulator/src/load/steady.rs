//! A steady load that runs in the background until stopped: signed NEW_TIME_ENTRY webhooks
//! launched open loop at a fixed rate, round robin over the workspaces, each delivery recorded
//! with when it was launched and answered, so a restart drill can check afterwards that every
//! accepted event was stored once and in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use common::events::EventType;

use crate::scenario::{DemoWorkspace, IngressCaller};

/// One delivery of a steady load.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Its place in the whole load (`drill-te-{seq}` is the time entry it creates).
    pub seq: usize,
    /// Which of the load's workspaces it went to.
    pub workspace: usize,
    pub launched: Instant,
    pub answered: Instant,
    /// The HTTP status, 0 when no answer came (connection refused or reset, timeout).
    pub status: u16,
}

impl Delivery {
    pub fn accepted(&self) -> bool {
        self.status == 200
    }
}

/// The time entry id of delivery `seq`.
pub fn entity_id(seq: usize) -> String {
    format!("drill-te-{seq}")
}

/// What a stopped load did.
pub struct Finished {
    /// Every delivery, in launch order.
    pub deliveries: Vec<Delivery>,
    /// From the start to the last answer.
    pub elapsed: Duration,
    /// Launches that waited for a free slot (`concurrency` in flight): the load fell behind.
    pub delayed: usize,
}

/// Counters readable while the load runs.
#[derive(Default)]
pub struct Progress {
    pub launched: AtomicUsize,
    pub accepted: AtomicUsize,
    /// Launches that found `concurrency` deliveries in flight and waited for one to end.
    pub delayed: AtomicUsize,
}

/// A running steady load; [`SteadyLoad::stop`] ends it and returns every delivery.
pub struct SteadyLoad {
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Delivery>>,
    pub started: Instant,
}

impl SteadyLoad {
    /// Starts launching `rate` webhooks a second over `workspaces`, at most `concurrency` in
    /// flight.
    pub fn start(
        client: Arc<IngressCaller>,
        workspaces: Arc<Vec<DemoWorkspace>>,
        rate: f64,
        concurrency: usize,
    ) -> Self {
        let progress = Arc::new(Progress::default());
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(
            client,
            workspaces,
            rate,
            concurrency,
            progress.clone(),
            stop.clone(),
        ));
        Self {
            progress,
            stop,
            task,
            started: Instant::now(),
        }
    }

    /// What it has done so far.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Stops launching, waits for the deliveries in flight, and returns them all.
    pub async fn stop(self) -> Finished {
        self.stop.store(true, Ordering::Relaxed);
        let mut deliveries = self.task.await.expect("the steady load's task");
        deliveries.sort_by_key(|d| d.seq);
        Finished {
            deliveries,
            elapsed: self.started.elapsed(),
            delayed: self.progress.delayed.load(Ordering::Relaxed),
        }
    }
}

async fn run(
    client: Arc<IngressCaller>,
    workspaces: Arc<Vec<DemoWorkspace>>,
    rate: f64,
    concurrency: usize,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> Vec<Delivery> {
    let started = tokio::time::Instant::now();
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut deliveries = Vec::new();
    let mut seq = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let scheduled = started + Duration::from_secs_f64(seq as f64 / rate);
        tokio::time::sleep_until(scheduled).await;
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                progress.delayed.fetch_add(1, Ordering::Relaxed);
                match slots.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => break,
                }
            }
        };
        let (client, workspaces, progress) = (client.clone(), workspaces.clone(), progress.clone());
        progress.launched.fetch_add(1, Ordering::Relaxed);
        in_flight.spawn(async move {
            let workspace = seq % workspaces.len();
            let body = crate::payloads::time_entry(
                &workspaces[workspace].workspace_id,
                &entity_id(seq),
                &format!("drill entry {seq}"),
                Some("2026-11-30T09:00:00Z"),
            );
            let launched = Instant::now();
            let (status, _) = client
                .deliver(&workspaces[workspace], EventType::NewTimeEntry, &body)
                .await;
            let answered = Instant::now();
            drop(permit);
            if status == 200 {
                progress.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Delivery {
                seq,
                workspace,
                launched,
                answered,
                status,
            }
        });
        while let Some(done) = in_flight.try_join_next() {
            deliveries.extend(done.ok());
        }
        seq += 1;
    }
    while let Some(done) = in_flight.join_next().await {
        deliveries.extend(done.ok());
    }
    deliveries
}
