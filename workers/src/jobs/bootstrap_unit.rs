//! Running one unit of a bootstrap or a reconciliation pass: page after page until a short page,
//! each page committed with its checkpoint; the units it discovers (tasks of projects, entries of
//! users, balances of policies) published after commit. A kind Clockify answers 403 or 404 for
//! ends its unit `not_available`. In a pass, each page is compared with the copy
//! (`bootstrap::reconcile`), and a time-entry change feed that answers an error hands over to a
//! re-read of every user's time entries.

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use clockify_client::client::{OutboundRequest, RetryPolicy};
use clockify_client::rate_limit::Priority;
use clockify_client::worker_slot::WorkerSlot;
use common::bootstrap_kinds::{KindBase, KindPaging, TIME_ENTRIES_KEY};
use common::db::bootstrap_jobs::{self, JobMode, JobStatus};
use common::db::bootstrap_units::{self, PageDone, UnitStatus};
use common::db::{entities, reconcile_seen};

use crate::bootstrap::reconcile::{PageChanges, PageContext, store_page};
use crate::bootstrap::units::{JobWindow, Unit};
use crate::disposition::Disposition;
use crate::installation::{InstallationError, load_active};
use crate::publish::publish_jobs;
use crate::state::WorkerState;

/// Runs `unit_key` of `job_id` to its end, or until shutdown (it then resumes on redelivery).
/// Two runners of one unit (a duplicate message) are safe: each page's checkpoint is optimistic.
#[tracing::instrument(name = "job.bootstrap_unit", skip_all, fields(request_id, workspace_id, %job_id, unit_key))]
pub async fn run_unit(
    state: &WorkerState,
    workspace_id: &str,
    request_id: &str,
    job_id: Uuid,
    unit_key: &str,
    slot: &WorkerSlot,
    shutdown: &CancellationToken,
) -> anyhow::Result<Disposition> {
    let Some(unit) = Unit::parse(unit_key) else {
        return fail(state, workspace_id, job_id, unit_key, "unknown unit").await;
    };
    let settings = &state.config.bootstrap;
    loop {
        if shutdown.is_cancelled() {
            return Ok(Disposition::RetryLater("shutdown"));
        }
        // Near the workspace's next slot first, without the worker slot; then, at the front of
        // this process's queue for the workspace, the unit's state (a unit whose job ended
        // during the wait sends nothing); the slot is reserved only after these reads.
        let approach = state
            .client
            .limiter()
            .approach(workspace_id, Some(slot))
            .await;
        let Some(current) =
            bootstrap_units::load_with_job(&state.db, workspace_id, job_id, unit_key).await?
        else {
            return Ok(Disposition::done());
        };
        if current.status != UnitStatus::Pending {
            return Ok(Disposition::done());
        }
        if current.job_status != JobStatus::Running {
            let cancelled = UnitStatus::Cancelled;
            return end(state, workspace_id, job_id, unit_key, cancelled, None).await;
        }
        let installation = match load_active(&state.db, state.cipher.as_deref(), workspace_id).await
        {
            Ok(installation) => installation,
            Err(InstallationError::Database(error)) => return Err(error.into()),
            Err(error) => {
                return fail(state, workspace_id, job_id, unit_key, &error.to_string()).await;
            }
        };
        let window = JobWindow {
            job_start: current.job_created_at,
            days: settings.time_entries_days,
            feed: current.feed_start.zip(current.feed_end),
        };
        let page_request =
            unit.request(workspace_id, current.next_page, settings.page_size, &window);
        let base_url = match unit.kind.base {
            KindBase::Backend => &installation.backend_url,
            KindBase::Pto => &installation.pto_url,
        };
        approach.reserve().await;
        let read_at = Utc::now();
        let response = state
            .client
            .send(&OutboundRequest {
                workspace_id,
                base_url,
                method: page_request.method.clone(),
                path: &page_request.path,
                query: &page_request.query,
                body: page_request.body.as_ref(),
                token: &installation.token,
                group: "bootstrap",
                retry: RetryPolicy::for_calls(&state.config.outbound),
                priority: Priority::Bulk,
                slot: Some(slot),
                first_attempt_paced: true,
            })
            .await;
        let feed_failure = match &response {
            Ok(answer) if (200..300).contains(&answer.status) => None,
            Ok(answer) => Some(format!("Clockify answered {}", answer.status)),
            Err(error) => Some(error.to_string()),
        };
        if unit.kind.paging == KindPaging::Feed
            && let Some(failure) = feed_failure
        {
            return reread_time_entries(
                state,
                workspace_id,
                request_id,
                job_id,
                unit_key,
                &failure,
            )
            .await;
        }
        let page = match response {
            Ok(answer) if (200..300).contains(&answer.status) => {
                match serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .and_then(|value| unit.items(value))
                {
                    Some(items) => items,
                    None => {
                        return fail(
                            state,
                            workspace_id,
                            job_id,
                            unit_key,
                            "Clockify answered with something other than a list",
                        )
                        .await;
                    }
                }
            }
            // The workspace's plan does not offer the kind (or the feature is off): nothing to
            // import, and no failure of the job.
            Ok(answer) if answer.status == 403 || answer.status == 404 => {
                let reason = format!("not available: Clockify answered {}", answer.status);
                let status = UnitStatus::NotAvailable;
                return end(state, workspace_id, job_id, unit_key, status, Some(&reason)).await;
            }
            Ok(answer) => {
                let reason = format!(
                    "Clockify answered {} on page {}",
                    answer.status, current.next_page
                );
                return fail(state, workspace_id, job_id, unit_key, &reason).await;
            }
            Err(error) => {
                return fail(state, workspace_id, job_id, unit_key, &error.to_string()).await;
            }
        };
        let done = unit.is_last_page(page.len(), settings.page_size);
        let items: Vec<(String, Value)> = page
            .into_iter()
            .filter_map(|item| Some((unit.kind.entity.entity_id(&item)?, item)))
            .collect();
        let reconciling = current.job_mode == JobMode::Reconcile;
        let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
        let child_keys = unit.children(&ids, reconciling && window.feed.is_some());
        let mut tx = state.db.begin().await?;
        let mut changes = PageChanges::default();
        if reconciling {
            let page = PageContext {
                workspace_id,
                job_id,
                unit: &unit,
                unit_key,
                read_at,
                started_at: current.started_at.unwrap_or(read_at),
                window: &window,
            };
            changes = store_page(&mut tx, &page, &items, done).await?;
        } else {
            entities::upsert_from_bootstrap(
                &mut *tx,
                workspace_id,
                unit.entity_kind(),
                &items,
                read_at,
            )
            .await?;
        }
        let checkpoint = PageDone {
            page: current.next_page,
            items: i32::try_from(items.len()).unwrap_or(i32::MAX),
            last: done,
            read_at,
        };
        if !bootstrap_units::checkpoint_page(&mut *tx, workspace_id, job_id, unit_key, &checkpoint)
            .await?
        {
            // A duplicate runner committed this page first: drop ours and carry on from its state.
            tx.rollback().await?;
            continue;
        }
        let keys: Vec<&str> = child_keys.iter().map(String::as_str).collect();
        let messages =
            common::bootstrap_start::add_units(&mut tx, workspace_id, job_id, &keys, request_id)
                .await?;
        let finished = if done {
            finish_job_if_complete(&mut tx, workspace_id, job_id).await?
        } else {
            None
        };
        tx.commit().await?;
        if reconciling {
            for (change, count) in changes.counts() {
                state
                    .metrics
                    .reconcile_changes
                    .with_label_values(&[unit.entity_kind(), change])
                    .inc_by(count.unsigned_abs());
            }
        } else {
            state
                .metrics
                .bootstrap_items
                .with_label_values(&[unit.entity_kind()])
                .inc_by(items.len() as u64);
        }
        if let Some(ended) = finished {
            tracing::info!(workspace_id, %job_id, outcome = ended.outcome.as_str(), "job finished");
            count_ended(state, ended);
        }
        publish_jobs(state, &messages).await;
        if done {
            return Ok(Disposition::done());
        }
    }
}

async fn fail(
    state: &WorkerState,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    reason: &str,
) -> anyhow::Result<Disposition> {
    let failed = UnitStatus::Failed;
    end(state, workspace_id, job_id, unit_key, failed, Some(reason)).await
}

async fn end(
    state: &WorkerState,
    workspace_id: &str,
    job_id: Uuid,
    unit_key: &str,
    status: UnitStatus,
    error: Option<&str>,
) -> anyhow::Result<Disposition> {
    if let Some(error) = error {
        tracing::warn!(workspace_id, %job_id, unit_key, error, "bootstrap unit ended without finishing");
    }
    let mut tx = state.db.begin().await?;
    bootstrap_units::end_pending(&mut *tx, workspace_id, job_id, unit_key, status, error).await?;
    let finished = finish_job_if_complete(&mut tx, workspace_id, job_id).await?;
    tx.commit().await?;
    if let Some(ended) = finished {
        count_ended(state, ended);
    }
    Ok(Disposition::done())
}

/// A time-entry change feed answered an error: the unit ends done with the reason noted, and
/// every live user's time entries are re-read over the bootstrap's window instead (units a
/// feed that failed earlier in the pass already added are not added twice).
async fn reread_time_entries(
    state: &WorkerState,
    workspace_id: &str,
    request_id: &str,
    job_id: Uuid,
    unit_key: &str,
    failure: &str,
) -> anyhow::Result<Disposition> {
    let note = format!("change feed failed ({failure}); time entries re-read instead");
    tracing::warn!(workspace_id, %job_id, unit_key, failure, "change feed failed; re-reading time entries");
    let users = entities::live_ids(&state.db, workspace_id, "user").await?;
    let keys: Vec<String> = users
        .iter()
        .map(|user| format!("{TIME_ENTRIES_KEY}:{user}"))
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut tx = state.db.begin().await?;
    let messages =
        common::bootstrap_start::add_units(&mut tx, workspace_id, job_id, &keys, request_id)
            .await?;
    bootstrap_units::end_done_with_note(&mut *tx, workspace_id, job_id, unit_key, &note).await?;
    let finished = finish_job_if_complete(&mut tx, workspace_id, job_id).await?;
    tx.commit().await?;
    if let Some(ended) = finished {
        count_ended(state, ended);
    }
    publish_jobs(state, &messages).await;
    Ok(Disposition::done())
}

/// A job this unit ended: its outcome and mode, and for a pass the children of deleted parents
/// it marked deleted at the end.
struct Ended {
    outcome: JobStatus,
    mode: JobMode,
    orphans: Vec<(&'static str, i64)>,
}

/// Counts an ended job under its mode's metric.
fn count_ended(state: &WorkerState, ended: Ended) {
    let metric = match ended.mode {
        JobMode::Bootstrap => &state.metrics.bootstrap_jobs,
        JobMode::Reconcile => &state.metrics.reconcile_passes,
    };
    metric.with_label_values(&[ended.outcome.as_str()]).inc();
    for (kind, count) in ended.orphans {
        state
            .metrics
            .reconcile_changes
            .with_label_values(&[kind, "deleted"])
            .inc_by(count.unsigned_abs());
    }
}

/// Ends the job when no unit is pending; returns its final status and mode when this call ended
/// it (a pass then forgets the ids its units saw). The job row is locked first, so two units
/// finishing at once cannot both miss the end.
async fn finish_job_if_complete(
    conn: &mut PgConnection,
    workspace_id: &str,
    job_id: Uuid,
) -> sqlx::Result<Option<Ended>> {
    let Some((JobStatus::Running, mode)) =
        bootstrap_jobs::lock_status(&mut *conn, workspace_id, job_id).await?
    else {
        return Ok(None);
    };
    let units = bootstrap_units::count_by_state(&mut *conn, workspace_id, job_id).await?;
    if units.pending > 0 {
        return Ok(None);
    }
    // Kinds the workspace's plan does not offer are neither a success nor a failure.
    let counted = units.total - units.not_available;
    let outcome = if units.failed == 0 {
        JobStatus::Completed
    } else if units.failed == counted {
        JobStatus::Failed
    } else {
        JobStatus::CompletedWithErrors
    };
    bootstrap_jobs::finish(&mut *conn, workspace_id, job_id, outcome).await?;
    let mut orphans = Vec::new();
    if mode == JobMode::Reconcile {
        reconcile_seen::delete_for_job(&mut *conn, job_id).await?;
        orphans = crate::bootstrap::reconcile::delete_orphans(conn, workspace_id, job_id).await?;
    }
    Ok(Some(Ended {
        outcome,
        mode,
        orphans,
    }))
}
