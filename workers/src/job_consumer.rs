//! Consuming a job queue (bootstrap units, API calls): several jobs at once per process, each
//! acked when done. A job interrupted by shutdown, or hit by a transient failure, goes back to
//! the queue (its delivery limit then dead-letters a job that keeps failing).
//!
//! Each job runs in a span that is the child of the span that published it (`traceparent`).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use common::jobs::{Job, JobMessage, JobQueue};
use common::messages::ENVELOPE_VERSION;
use common::trace_context;

use crate::WorkerState;
use crate::subscription::{Subscription, keep_consuming};

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    /// Finished (successfully or with its failure recorded): ack.
    Done,
    /// Stopped by shutdown: back to the queue, to resume.
    Interrupted,
}

/// Publishes job messages after the transaction that created them committed. A publish that
/// fails is left to the reconciler, which republishes stalled bootstrap units.
pub async fn publish_jobs(state: &WorkerState, messages: &[JobMessage]) {
    // Concurrently: each confirm waits on a quorum commit, so one at a time would cost a disk
    // flush per message; in flight together they share flushes.
    let publishes = messages.iter().map(|message| async move {
        let queue = state.queues.job_queue(message);
        let body = serde_json::to_vec(message).unwrap_or_default();
        let id = message.message_id.to_string();
        if let Err(error) = state.publisher.publish(&queue, &id, &message.request_id, &body).await {
            tracing::warn!(error = %error, queue, "job not published; the reconciler will retry it");
        }
    });
    futures::future::join_all(publishes).await;
}

/// Consumes `queue` with up to `concurrency` jobs in flight until `shutdown`.
pub async fn run_job_queue(
    state: WorkerState,
    kind: JobQueue,
    queue: String,
    concurrency: u16,
    shutdown: CancellationToken,
) {
    keep_consuming(&queue, &shutdown, || {
        consume(&state, &queue, kind, concurrency, &shutdown)
    })
    .await;
}

async fn consume(
    state: &WorkerState,
    queue: &str,
    kind: JobQueue,
    concurrency: u16,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut subscription = Subscription::open(state, queue, concurrency).await?;
    let slots = Arc::new(Semaphore::new(usize::from(concurrency)));
    let mut running = tokio::task::JoinSet::new();
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break,
            next = subscription.consumer.next() => next,
        };
        let Some(delivery) = next else {
            anyhow::bail!("the broker cancelled the consumer")
        };
        let delivery = delivery?;
        let permit = slots.clone().acquire_owned().await?;
        let state = state.clone();
        let shutdown = shutdown.clone();
        running.spawn(async move {
            handle(&state, kind, delivery, &shutdown).await;
            drop(permit);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    subscription.close().await;
    Ok(())
}

async fn handle(
    state: &WorkerState,
    kind: JobQueue,
    delivery: Delivery,
    shutdown: &CancellationToken,
) {
    let label = kind.label();
    let Some(message) = serde_json::from_slice::<JobMessage>(&delivery.data)
        .ok()
        .filter(|m| m.v <= ENVELOPE_VERSION)
    else {
        tracing::error!(queue = label, "undecodable job; dead-lettering");
        state
            .metrics
            .messages_processed
            .with_label_values(&[label, "dead_lettered"])
            .inc();
        let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
        return;
    };
    let span = tracing::info_span!(
        "job",
        queue = label,
        job = job_kind(&message.job),
        request_id = %message.request_id,
        message_id = %message.message_id,
        workspace_id = %message.workspace_id,
        outcome = tracing::field::Empty,
    );
    trace_context::adopt_parent(&span, delivery.properties.headers().as_ref());
    let outcome = settle(state, label, &message, &delivery, shutdown)
        .instrument(span.clone())
        .await;
    span.record("outcome", outcome);
    state
        .metrics
        .messages_processed
        .with_label_values(&[label, outcome])
        .inc();
}

/// The job's kind, as its message names it (a closed set, for spans).
fn job_kind(job: &Job) -> &'static str {
    match job {
        Job::BootstrapUnit { .. } => "bootstrap_unit",
        Job::ApiCall { .. } => "api_call",
        Job::RegisterWebhooks { .. } => "register_webhooks",
        Job::DeleteWebhooks => "delete_webhooks",
    }
}

/// Runs the job and acks, requeues or dead-letters its delivery; returns the outcome's label.
async fn settle(
    state: &WorkerState,
    label: &'static str,
    message: &JobMessage,
    delivery: &Delivery,
    shutdown: &CancellationToken,
) -> &'static str {
    let result = std::panic::AssertUnwindSafe(run(state, message, shutdown));
    let result = futures::FutureExt::catch_unwind(result).await;
    match result {
        Ok(Ok(JobResult::Done)) => {
            let _ = delivery.ack(BasicAckOptions::default()).await;
            "done"
        }
        Ok(Ok(JobResult::Interrupted)) => {
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
            "interrupted"
        }
        Ok(Err(error)) => {
            tracing::warn!(queue = label, request_id = %message.request_id, workspace_id = %message.workspace_id, error = format!("{error:#}"), "job failed; returning it to the queue");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
            "retried"
        }
        Err(_) => {
            tracing::error!(queue = label, request_id = %message.request_id, "job panicked; dead-lettering");
            if let Job::ApiCall { call_id } = &message.job {
                crate::api_calls::abandon_api_call(state, &message.workspace_id, *call_id).await;
            }
            let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
            "dead_lettered"
        }
    }
}

async fn run(
    state: &WorkerState,
    message: &JobMessage,
    shutdown: &CancellationToken,
) -> anyhow::Result<JobResult> {
    let workspace_id = message.workspace_id.as_str();
    match &message.job {
        Job::BootstrapUnit { job_id, unit_key } => {
            crate::bootstrap::run::run_unit(
                state,
                workspace_id,
                &message.request_id,
                *job_id,
                unit_key,
                shutdown,
            )
            .await
        }
        Job::ApiCall { call_id } => {
            crate::api_calls::run_api_call(state, workspace_id, *call_id).await
        }
        Job::RegisterWebhooks { addon_id } => {
            crate::extra_webhooks::register(state, workspace_id, addon_id).await
        }
        Job::DeleteWebhooks => crate::extra_webhooks::delete_registered(state, workspace_id).await,
    }
}
