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

use clockify_client::worker_slot::WorkerSlot;
use common::job_messages::{Job, JobMessage, JobQueue};
use common::messages::ENVELOPE_VERSION;
use common::trace_context;

use crate::disposition::Disposition;
use crate::state::WorkerState;
use crate::subscription::{Subscription, channel_lost, keep_consuming, settle_within};

/// Consumes `queue` with up to `concurrency` jobs running until `shutdown`, holding up to
/// `prefetch` (at least `concurrency`) deliveries. A job waiting for its workspace's rate limit
/// lends its slot out, so with a prefetch above the concurrency, the jobs of a workspace waiting
/// on its budget do not keep another workspace's jobs on the same queue from running.
pub async fn run_job_queue(
    state: WorkerState,
    kind: JobQueue,
    queue: String,
    concurrency: u16,
    prefetch: u16,
    shutdown: CancellationToken,
) {
    let prefetch = prefetch.max(concurrency);
    keep_consuming(&queue, &shutdown, || {
        consume(&state, &queue, kind, concurrency, prefetch, &shutdown)
    })
    .await;
}

async fn consume(
    state: &WorkerState,
    queue: &str,
    kind: JobQueue,
    concurrency: u16,
    prefetch: u16,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut subscription = Subscription::open(state, queue, prefetch).await?;
    let slots = Arc::new(Semaphore::new(usize::from(concurrency)));
    let mut running = tokio::task::JoinSet::new();
    let channel = subscription.channel.clone();
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break,
            next = subscription.consumer.next() => next,
            dead = channel_lost(&channel) => return Err(dead),
        };
        let Some(delivery) = next else {
            anyhow::bail!("the broker cancelled the consumer")
        };
        let delivery = delivery?;
        let state = state.clone();
        let shutdown = shutdown.clone();
        let slots = Arc::clone(&slots);
        running.spawn(async move {
            // Slots are taken in delivery order (the semaphore is fair).
            let Ok(slot) = WorkerSlot::take(slots).await else {
                return;
            };
            handle(&state, kind, delivery, &slot, &shutdown).await;
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
    slot: &WorkerSlot,
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
        let rejecting = delivery.reject(BasicRejectOptions { requeue: false });
        if let Err(error) = settle_within("reject", rejecting).await {
            tracing::warn!(queue = label, error = %error, "undecodable job could not be rejected");
        }
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
    let outcome = settle(state, label, &message, &delivery, slot, shutdown)
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
        Job::ReplayWorkspace { .. } => "replay_workspace",
    }
}

/// Runs the job and acks, requeues or dead-letters its delivery by its [`Disposition`]; returns
/// the disposition's label.
async fn settle(
    state: &WorkerState,
    label: &'static str,
    message: &JobMessage,
    delivery: &Delivery,
    slot: &WorkerSlot,
    shutdown: &CancellationToken,
) -> &'static str {
    let result = std::panic::AssertUnwindSafe(crate::jobs::run(state, message, slot, shutdown));
    let disposition = match futures::FutureExt::catch_unwind(result).await {
        Ok(Ok(disposition)) => disposition,
        Ok(Err(error)) => {
            tracing::warn!(queue = label, request_id = %message.request_id, workspace_id = %message.workspace_id, error = format!("{error:#}"), "job failed; returning it to the queue");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Disposition::RetryLater("error")
        }
        Err(_) => {
            if let Job::ApiCall { call_id } = &message.job {
                crate::jobs::api_call::abandon_api_call(state, &message.workspace_id, *call_id)
                    .await;
            }
            Disposition::GiveUp("the job's handler panicked".into())
        }
    };
    let settled = match &disposition {
        Disposition::Done(()) => {
            settle_within("ack", delivery.ack(BasicAckOptions::default())).await
        }
        Disposition::RetryLater(_) => {
            let nacking = delivery.nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            });
            settle_within("nack", nacking).await
        }
        Disposition::GiveUp(reason) => {
            tracing::error!(queue = label, request_id = %message.request_id, reason, "job given up; dead-lettering");
            settle_within(
                "reject",
                delivery.reject(BasicRejectOptions { requeue: false }),
            )
            .await
        }
    };
    if let Err(error) = settled {
        // The channel is gone: the broker redelivers the job, which is idempotent.
        tracing::warn!(queue = label, error = %error, "job could not be settled; it will be redelivered");
    }
    disposition.label()
}
