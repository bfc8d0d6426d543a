//! A worker's concurrency slot that a job gives up while it waits for its workspace's rate
//! limit, so a job sleeping on one workspace's budget never holds a slot another workspace's job
//! could use.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// One job's hold on a consumer's slots: taken before the job runs, released around rate-limit
/// waits, returned when dropped.
#[derive(Debug)]
pub struct WorkerSlot {
    slots: Arc<Semaphore>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl WorkerSlot {
    /// Waits for a free slot of `slots`.
    pub async fn take(slots: Arc<Semaphore>) -> Result<Self, AcquireError> {
        let permit = Arc::clone(&slots).acquire_owned().await?;
        Ok(Self {
            slots,
            permit: Mutex::new(Some(permit)),
        })
    }

    /// Runs `wait` without the slot, then takes a slot again (behind jobs already queued for
    /// one: the semaphore is fair).
    pub async fn released_while<T>(&self, wait: impl Future<Output = T>) -> T {
        self.release();
        let output = wait.await;
        self.reacquire().await;
        output
    }

    /// Gives the slot back for now.
    pub fn release(&self) {
        drop(self.lock().take());
    }

    /// Takes a slot again unless one is held.
    pub async fn reacquire(&self) {
        if self.lock().is_some() {
            return;
        }
        // The semaphore is never closed, so acquiring only fails if that changes; the job then
        // carries on without a slot rather than stall.
        if let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await {
            *self.lock() = Some(permit);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.permit.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_job_lends_its_slot_out() {
        let slots = Arc::new(Semaphore::new(1));
        let slot = WorkerSlot::take(Arc::clone(&slots)).await.expect("a slot");
        assert_eq!(slots.available_permits(), 0);
        let lent = slot
            .released_while(async { slots.available_permits() })
            .await;
        assert_eq!(lent, 1, "free while waiting");
        assert_eq!(slots.available_permits(), 0, "held again after");
        drop(slot);
        assert_eq!(slots.available_permits(), 1);
    }
}
