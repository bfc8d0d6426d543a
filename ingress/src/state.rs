//! The state every handler shares: cheap handles to the broker, the verifier, the database pool
//! (studio and admin APIs, and the outbox when the broker does not confirm), the catalog and the metrics.

use std::sync::Arc;

use common::broker::QueueNames;
use common::config::Config;
use common::crypto::TokenCipher;
use common::publisher::Publisher;

use crate::group_commit::EventLanes;
use crate::metrics::IngressMetrics;
use crate::outbox::OutboxedWorkspaces;
use crate::token_cache::CachedVerifier;

/// What every request shares, behind one reference count: extracting the state for a request
/// clones only the `Arc` (cloning the handles one by one allocated their names each time, about
/// 3.5% of ingress's CPU under load; BENCHMARKS section 12).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The handles themselves.
pub struct Shared {
    pub config: Arc<Config>,
    pub verifier: CachedVerifier,
    pub publisher: Publisher,
    pub queues: QueueNames,
    pub cipher: Option<Arc<TokenCipher>>,
    pub metrics: Arc<IngressMetrics>,
    /// Read by the studio and admin APIs; events reach it only when the broker fails them.
    pub db: sqlx::PgPool,
    pub catalog: Arc<catalog::Catalog>,
    /// Why the catalog is a fallback (its URL could not be fetched at start), for `/ready`.
    pub catalog_degraded: Option<&'static str>,
    /// Workspaces with events in the outbox: their new events go there too.
    pub outboxed: OutboxedWorkspaces,
    /// One group-commit lane per event partition: every event is published through its lane.
    pub lanes: EventLanes,
}
