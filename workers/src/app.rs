//! Building and running a worker process: database (created and migrated), broker topology,
//! limiter and Clockify client, the ops listener; then the partition assignment, the event and
//! job consumers and the reconciler, until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use clockify_client::allowed_hosts::AllowedHosts;
use clockify_client::client::ClockifyClient;
use clockify_client::rate_limit::{RateLimitSettings, RateLimiter};
use common::broker::{QueueNames, connection_pool, declare_topology_with};
use common::config::Config;
use common::job_messages::JobQueue;
use common::publisher::Publisher;

use crate::assignment::{run_assignment, supervise_partitions};
use crate::job_consumer::run_job_queue;
use crate::metrics::WorkerMetrics;
use crate::reconciler::run_reconciler;
use crate::routes::router;
use crate::state::WorkerState;

/// Database connections set aside for API Studio calls: a call holds one only for its short
/// queries, never while it waits on the limiter or Clockify, so a few serve many calls.
const API_CALL_CONNECTIONS: u32 = 8;

/// A built worker process: database migrated, topology declared, ops listener bound.
pub struct App {
    listener: TcpListener,
    state: WorkerState,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Partitions, bootstrap units, API calls, spare; the pool opens connections only as used.
        let bootstrap_slots =
            u32::from(config.bootstrap.concurrency) * u32::from(config.bootstrap.partitions);
        let connections = bootstrap_slots.div_ceil(2) + API_CALL_CONNECTIONS + 4;
        let db = common::db::connect_and_migrate(&config.database_url, connections).await?;
        // A partition stages its next batch while it writes the one before: two each.
        let event_db = common::db::connect_event_path(
            &config.database_url,
            2 * u32::from(config.event_partitions),
        )
        .await?;
        let broker = connection_pool(&config.amqp_url)?;
        let queues = QueueNames::from_config(&config);
        declare_topology_with(&broker, &queues, config.max_delivery_attempts).await?;
        let listener = TcpListener::bind(config.workers_bind)
            .await
            .with_context(|| format!("binding {}", config.workers_bind))?;
        let metrics = Arc::new(WorkerMetrics::new());
        let outbound = &config.outbound;
        let limiter = RateLimiter::new(
            RateLimitSettings {
                requests_per_second: outbound.rate_limit_rps,
                headroom: outbound.rate_limit_headroom,
                burst: outbound.rate_limit_burst,
                fallback_share: outbound.rate_limit_fallback_share,
                key_prefix: config.queue_prefix.clone(),
            },
            RateLimiter::connect_redis(&config.redis_url).await,
            metrics.outbound.clone(),
        );
        let client = ClockifyClient::new(
            AllowedHosts::new(&outbound.allowed_api_domains, outbound.allow_http_loopback),
            limiter,
            metrics.outbound.clone(),
            outbound.connect_timeout,
            outbound.request_timeout,
        );
        let state = WorkerState {
            publisher: Publisher::new(broker.clone(), 2),
            cipher: config.token_cipher().map(Arc::new),
            client,
            config: Arc::new(config),
            db,
            event_db,
            broker,
            queues,
            metrics,
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
            axum::serve(listener, router(state.clone()))
                .with_graceful_shutdown(async move { ops_shutdown.cancelled().await })
                .into_future(),
        );
        let mut consumers = tokio::task::JoinSet::new();
        let (assigned_tx, assigned_rx) = tokio::sync::watch::channel(Vec::new());
        consumers.spawn(run_assignment(
            state.db.clone(),
            uuid::Uuid::new_v4(),
            state.config.event_partitions,
            assigned_tx,
            shutdown.clone(),
        ));
        consumers.spawn(supervise_partitions(
            state.clone(),
            assigned_rx,
            shutdown.clone(),
        ));
        for queue in state.queues.bootstrap_partitions() {
            consumers.spawn(run_job_queue(
                state.clone(),
                JobQueue::Bootstrap,
                queue,
                state.config.bootstrap.concurrency,
                state.config.bootstrap.prefetch,
                shutdown.clone(),
            ));
        }
        // Many calls at once per queue: a call mostly sleeps on its workspace's rate limit or
        // waits for Clockify, and slots above a workspace's cap are what keep one workspace's
        // backlog from delaying the next workspace's call on the same queue.
        for queue in state.queues.api_call_partitions() {
            consumers.spawn(run_job_queue(
                state.clone(),
                JobQueue::ApiCalls,
                queue,
                state.config.api_call_concurrency,
                state.config.api_call_concurrency,
                shutdown.clone(),
            ));
        }
        consumers.spawn(run_reconciler(state.clone(), shutdown.clone()));
        consumers.spawn(crate::gauges::run_gauges(state.clone(), shutdown.clone()));
        consumers.spawn(crate::freshness::run_freshness_sweep(
            state.clone(),
            shutdown.clone(),
        ));
        consumers.spawn(crate::retention::run_retention(
            state.clone(),
            shutdown.clone(),
        ));
        consumers.spawn(crate::outbox_relay::run_outbox_relay(
            state.clone(),
            shutdown.clone(),
        ));
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
