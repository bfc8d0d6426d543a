//! The worker tier: consumes the event partitions and applies them to PostgreSQL in ordered,
//! batched transactions. Any number of worker processes may run; nothing here assumes it is alone.

pub mod batch;
pub mod consumer;
pub mod lifecycle;
pub mod metrics;
pub mod ops;
pub mod outcome;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use deadpool_lapin::Pool;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use common::broker::{QueueNames, connection_pool, declare_topology};
use common::config::Config;

use crate::metrics::WorkerMetrics;

/// Cheap handles shared by every consumer.
#[derive(Clone)]
pub struct WorkerState {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub broker: Pool,
    pub queues: QueueNames,
    pub metrics: Arc<WorkerMetrics>,
}

/// A built worker process: database migrated, topology declared, ops listener bound.
pub struct App {
    listener: TcpListener,
    state: WorkerState,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let connections = u32::from(config.event_partitions) + 4;
        let db = common::db::connect_and_migrate(&config.database_url, connections).await?;
        let broker = connection_pool(&config.amqp_url)?;
        let queues = QueueNames::from_config(&config);
        {
            let connection = broker.get().await.context("connecting to RabbitMQ")?;
            let channel = connection
                .create_channel()
                .await
                .context("opening a RabbitMQ channel")?;
            declare_topology(&channel, &queues, config.max_delivery_attempts)
                .await
                .context("declaring the queue topology")?;
            let _ = channel.close(200, "topology declared".into()).await;
        }
        let listener = TcpListener::bind(config.workers_bind)
            .await
            .with_context(|| format!("binding {}", config.workers_bind))?;
        let state = WorkerState {
            config: Arc::new(config),
            db,
            broker,
            queues,
            metrics: Arc::new(WorkerMetrics::new()),
        };
        Ok(Self { listener, state })
    }

    /// The ops listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Consumes until `shutdown`; then stops consuming, finishes and acks the batches in hand,
    /// and returns within `SHUTDOWN_TIMEOUT_SECS`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        tracing::info!(address = %listener.local_addr()?, "workers listening");
        let ops_shutdown = shutdown.clone();
        let server = tokio::spawn(
            axum::serve(listener, ops::router(state.clone()))
                .with_graceful_shutdown(async move { ops_shutdown.cancelled().await })
                .into_future(),
        );
        let mut consumers = tokio::task::JoinSet::new();
        for queue in state.queues.event_partitions() {
            consumers.spawn(consumer::run_partition(
                state.clone(),
                queue,
                shutdown.clone(),
            ));
        }
        shutdown.cancelled().await;
        let drained = tokio::time::timeout(state.config.shutdown_timeout, async {
            while consumers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("shutdown timed out; unacked messages will be redelivered");
            consumers.abort_all();
        }
        let _ = server.await;
        state.db.close().await;
        tracing::info!("workers stopped");
        Ok(())
    }
}
