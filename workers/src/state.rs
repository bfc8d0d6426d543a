//! The state every consumer and job shares: cheap handles to the database, the broker, the
//! Clockify client, the cipher and the metrics.

use std::sync::Arc;

use deadpool_lapin::Pool;
use sqlx::PgPool;

use clockify_client::client::ClockifyClient;
use common::broker::QueueNames;
use common::config::Config;
use common::crypto::TokenCipher;
use common::publisher::Publisher;

use crate::metrics::WorkerMetrics;

/// Cheap handles shared by every consumer.
#[derive(Clone)]
pub struct WorkerState {
    pub config: Arc<Config>,
    pub db: PgPool,
    /// The partition consumers' own pool, whose plans always take the primary keys
    /// ([`common::db::connect_event_path`]).
    pub event_db: PgPool,
    pub broker: Pool,
    pub queues: QueueNames,
    pub metrics: Arc<WorkerMetrics>,
    pub publisher: Publisher,
    pub client: ClockifyClient,
    pub cipher: Option<Arc<TokenCipher>>,
}
