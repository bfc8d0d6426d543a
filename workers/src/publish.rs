//! Publishing the jobs a committed transaction set in motion (bootstrap units, webhook
//! registrations, deletions).

use common::job_messages::JobMessage;

use crate::state::WorkerState;

/// Publishes job messages after the transaction that created them committed. A publish that
/// fails is left to the reconciler, which republishes stalled bootstrap units.
pub async fn publish_jobs(state: &WorkerState, messages: &[JobMessage]) {
    // Concurrently: each confirm waits on a quorum commit, so one at a time would cost a disk
    // flush per message; in flight together they share flushes.
    let publishes = messages.iter().map(|message| async move {
        let queue = state.queues.job_queue(message);
        let body = match serde_json::to_vec(message) {
            Ok(body) => body,
            Err(error) => {
                // A job message is plain data, so this is a bug; publishing an empty body would
                // only dead-letter it later with the cause lost.
                tracing::error!(error = %error, queue, "job message not serialisable; not published");
                return;
            }
        };
        let id = message.message_id.to_string();
        if let Err(error) = state.publisher.publish(&queue, &id, &message.request_id, &body).await {
            tracing::warn!(error = %error, queue, "job not published; the reconciler will retry it");
        }
    });
    futures::future::join_all(publishes).await;
}
