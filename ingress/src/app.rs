//! Building and running ingress: verifier and keys, broker topology, catalog, lazy database pool,
//! the bound listener; then serving until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use common::broker::{QueueNames, connection_pool, declare_topology_with};
use common::config::Config;
use common::publisher::Publisher;
use common::token::TokenVerifier;

use crate::catalog_source::{LoadedCatalog, load_catalog};
use crate::metrics::IngressMetrics;
use crate::routes::router;
use crate::serve::{self, ConnectionTimeouts};
use crate::state::{AppState, Shared};
use crate::token_cache::CachedVerifier;

/// Database connections at most: the partition lanes' outbox writes (one at a time per lane),
/// the studio and admin APIs' queries, the outbox refresher.
const DB_CONNECTIONS: u32 = 16;

/// A built ingress: listener bound, broker topology declared.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Binds the listener (port 0 picks a free one), connects to the broker, declares topology.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if !config.require_signature_verification {
            if !config.allow_unverified_dev_mode {
                anyhow::bail!(
                    "REQUIRE_SIGNATURE_VERIFICATION=false is for local development only; set DEV_ALLOW_UNVERIFIED=true as well to start"
                );
            }
            tracing::warn!(
                "signature verification is OFF: any caller can post events (development mode)"
            );
        }
        let verifier = TokenVerifier::with_jwks(
            &config.clockify_public_key_pem,
            &config.addon_key,
            config.clockify_jwks.clone(),
        )
        .context("loading the Clockify public key")?;
        verifier.keys().prefetch().await;
        let pool = connection_pool(&config.amqp_url)?;
        let queues = QueueNames::from_config(&config);
        declare_topology_with(&pool, &queues, config.max_delivery_attempts).await?;
        let metrics = Arc::new(IngressMetrics::new());
        metrics
            .verification_disabled
            .set(i64::from(!config.require_signature_verification));
        let listener = TcpListener::bind(config.ingress_bind)
            .await
            .with_context(|| format!("binding {}", config.ingress_bind))?;
        let LoadedCatalog { catalog, degraded } = load_catalog(&config).await?;
        tracing::info!(
            source = catalog.source(),
            operations = catalog.len(),
            "API catalog loaded"
        );
        // Lazy: ingress starts and takes events while PostgreSQL is away; workers migrate it.
        // Opened only as used: the healthy event path uses none.
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(DB_CONNECTIONS)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect_lazy(&config.database_url)
            .context("parsing DATABASE_URL")?;
        let outboxed = crate::outbox::OutboxedWorkspaces::default();
        crate::outbox::load_waiting(&outboxed, &db).await;
        let publisher = Publisher::new(pool, config.publish_channels);
        let lanes = crate::group_commit::EventLanes::start(
            crate::group_commit::LaneContext {
                publisher: publisher.clone(),
                db: db.clone(),
                outboxed: outboxed.clone(),
                metrics: metrics.clone(),
                busy_linger: config.ingress_group_busy_linger,
                in_flight: config.ingress_group_in_flight,
            },
            queues.partitions(),
            |partition| queues.event_partition(partition),
        );
        let state = AppState::new(Shared {
            lanes,
            outboxed,
            db,
            catalog: Arc::new(catalog),
            catalog_degraded: degraded,
            verifier: CachedVerifier::new(verifier, config.webhook_token_cache_size),
            publisher,
            queues,
            cipher: config.token_cipher().map(Arc::new),
            metrics,
            config: Arc::new(config),
        });
        Ok(Self { listener, state })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then drains requests in flight.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr(), "ingress listening");
        let limits = &self.state.config.http;
        let timeouts = ConnectionTimeouts {
            header: limits.header_timeout,
            idle: limits.idle_timeout,
        };
        let metrics = self.state.metrics.clone();
        let refresher = tokio::spawn(crate::outbox::run_refresher(
            self.state.outboxed.clone(),
            self.state.db.clone(),
            self.state.publisher.clone(),
            metrics.outboxed_workspaces.clone(),
            shutdown.clone(),
        ));
        serve::serve(
            self.listener,
            router(self.state),
            timeouts,
            metrics,
            shutdown,
        )
        .await;
        refresher.abort();
        Ok(())
    }
}
