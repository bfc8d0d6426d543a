//! Serialises the tests that measure rates or load the machine with several processes, so they
//! neither disturb each other's timing nor compete for the 2 cores at once. Other tests still
//! run beside them.

use tokio::sync::{Mutex, MutexGuard};

static HEAVY: Mutex<()> = Mutex::const_new(());

/// Held for the duration of a heavy test.
pub async fn exclusive() -> MutexGuard<'static, ()> {
    HEAVY.lock().await
}
