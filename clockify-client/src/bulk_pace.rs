//! How bulk work (bootstrap, reconciliation) takes a slot of its workspace's rate limit: first it
//! approaches the next free slot with its worker slot lent out, then, holding its process's turn
//! for that workspace, it checks that the request is still wanted, and only then reserves, so
//! the request leaves right at its reserved time.
//!
//! Reserving first and checking after would put database reads between a reservation and its
//! request, delaying some requests more than others and bunching them above the limit; checking
//! before approaching would let every waiting unit send after its job was cancelled. Holding the
//! turn through the check keeps at most one checked-but-unsent request per process and
//! workspace.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::rate_limit::{LimiterMode, Priority, RateLimiter};
use crate::worker_slot::WorkerSlot;

/// A bulk caller at the front of its workspace's queue in this process, holding the turn and
/// its worker slot; [`Approach::reserve`] takes the slot, dropping it gives the turn up.
pub struct Approach<'a> {
    limiter: &'a RateLimiter,
    workspace_id: &'a str,
    slot: Option<&'a WorkerSlot>,
    turn: Option<(Arc<Mutex<()>>, OwnedMutexGuard<()>)>,
    started: Instant,
}

impl RateLimiter {
    /// Waits, with `slot` lent out, for this process's turn for `workspace_id` and until the
    /// workspace's next free slot is about one interval away; then takes `slot` back. Nothing
    /// is reserved yet.
    pub async fn approach<'a>(
        &'a self,
        workspace_id: &'a str,
        slot: Option<&'a WorkerSlot>,
    ) -> Approach<'a> {
        let started = Instant::now();
        if let Some(slot) = slot {
            slot.release();
        }
        let turn = self.bulk_turn(workspace_id);
        let held = Arc::clone(&turn).lock_owned().await;
        self.wait_until_near(workspace_id).await;
        if let Some(slot) = slot {
            slot.reacquire().await;
        }
        Approach {
            limiter: self,
            workspace_id,
            slot,
            turn: Some((turn, held)),
            started,
        }
    }
}

impl Approach<'_> {
    /// Reserves the workspace's next slot and waits for it (under one interval, unless an
    /// interactive call takes the slot first: then it waits again, worker slot lent out).
    pub async fn reserve(mut self) -> LimiterMode {
        let mode = self.reserve_unobserved().await;
        self.limiter.observe_wait(self.started);
        mode
    }

    async fn reserve_unobserved(&mut self) -> LimiterMode {
        loop {
            match self.limiter.reserve_near(self.workspace_id).await {
                Some(Ok(wait)) => {
                    self.end_turn();
                    tokio::time::sleep(wait).await;
                    return LimiterMode::Shared;
                }
                Some(Err(())) => {
                    if let Some(slot) = self.slot {
                        slot.release();
                    }
                    self.limiter.wait_until_near(self.workspace_id).await;
                    if let Some(slot) = self.slot {
                        slot.reacquire().await;
                    }
                }
                None => {
                    self.end_turn();
                    return self
                        .limiter
                        .acquire_fallback(self.workspace_id, Priority::Bulk)
                        .await;
                }
            }
        }
    }

    fn end_turn(&mut self) {
        if let Some((turn, held)) = self.turn.take() {
            drop(held);
            self.limiter.release_bulk_turn(self.workspace_id, turn);
        }
    }
}

impl Drop for Approach<'_> {
    fn drop(&mut self) {
        self.end_turn();
    }
}
