//! The ingress tier: verifies Clockify's lifecycle callbacks and webhooks, enqueues them on
//! RabbitMQ with publisher confirms, and answers only once the broker has them.

pub mod body;
pub mod body_deadline;
pub mod bootstrap_api;
pub mod connection_clock;
pub mod dead_letters;
pub mod dead_letters_api;
pub mod enqueue;
pub mod error;
pub mod lifecycle;
pub mod load_shed;
pub mod manifest;
pub mod metrics;
pub mod ops;
pub mod rejection;
pub mod request_id;
pub mod routes;
pub mod serve;
pub mod sidebar;
pub mod studio_api;
pub mod token_cache;
pub mod user_auth;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::token_cache::CachedVerifier;
use common::broker::{QueueNames, connection_pool, declare_topology_with};
use common::config::Config;
use common::crypto::TokenCipher;
use common::publisher::Publisher;
use common::token::TokenVerifier;

use crate::body_deadline::BodyDeadline;
use crate::load_shed::ConcurrencyLimit;
use crate::metrics::IngressMetrics;
use crate::serve::ConnectionTimeouts;

/// Cheap handles shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub verifier: CachedVerifier,
    pub publisher: Publisher,
    pub queues: QueueNames,
    pub cipher: Option<Arc<TokenCipher>>,
    pub metrics: Arc<IngressMetrics>,
    /// Read by the studio and admin APIs only; the event hot path never touches it.
    pub db: sqlx::PgPool,
    pub catalog: Arc<catalog::Catalog>,
}

/// The HTTP surface; a plain function so tests can drive it without a socket.
///
/// Layers, outermost first: request id and metrics (so a shed request is counted too), the
/// concurrency bound, the body deadline.
pub fn router(state: AppState) -> Router {
    let limits = &state.config.http;
    let concurrency = ConcurrencyLimit::new(limits.max_concurrent_requests, state.metrics.clone());
    let body_deadline = BodyDeadline {
        timeout: limits.body_timeout,
        missed: state.metrics.body_timeouts.clone(),
    };
    let router = Router::new()
        .route("/manifest", get(manifest::get_manifest))
        .route("/health", get(ops::get_health))
        .route("/ready", get(ops::get_ready))
        .route("/metrics", get(ops::get_metrics))
        .route(sidebar::SCRIPT_PATH, get(sidebar::get_script))
        .route(sidebar::STYLE_PATH, get(sidebar::get_style))
        .route("/api/operations", get(studio_api::list_operations))
        .route(
            "/api/calls",
            get(studio_api::list_calls).post(studio_api::create_call),
        )
        .route("/api/calls/{id}", get(studio_api::get_call))
        .route(
            "/api/bootstrap",
            get(bootstrap_api::latest_for_user).post(bootstrap_api::start_for_user),
        )
        .route(
            "/admin/dead-letters",
            get(dead_letters_api::list_dead_letters),
        )
        .route(
            "/admin/dead-letters/{message_id}",
            get(dead_letters_api::inspect_dead_letter)
                .delete(dead_letters_api::discard_dead_letter),
        )
        .route(
            "/admin/dead-letters/{message_id}/replay",
            axum::routing::post(dead_letters_api::replay_dead_letter),
        )
        .route(
            "/admin/workspaces/{workspace_id}/bootstrap",
            get(bootstrap_api::latest_for_operator).post(bootstrap_api::start_for_operator),
        );
    routes::event_routes(router)
        .fallback(|| async { error::ApiError::NotFound })
        .layer(from_fn_with_state(
            body_deadline,
            body_deadline::limit_body_time,
        ))
        .layer(from_fn_with_state(concurrency, load_shed::shed_over_limit))
        .layer(from_fn_with_state(state.clone(), request_id::track_request))
        .with_state(state)
}

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
        let catalog = catalog::Catalog::load(std::path::Path::new(&config.openapi_path))
            .with_context(|| {
                format!(
                    "loading the API catalog (CLOCKIFY_OPENAPI_PATH={})",
                    config.openapi_path
                )
            })?;
        tracing::info!(
            source = catalog.source(),
            operations = catalog.len(),
            "API catalog loaded"
        );
        // Lazy: ingress starts and takes events while PostgreSQL is away; workers migrate it.
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect_lazy(&config.database_url)
            .context("parsing DATABASE_URL")?;
        let state = AppState {
            db,
            catalog: Arc::new(catalog),
            verifier: CachedVerifier::new(verifier, config.webhook_token_cache_size),
            publisher: Publisher::new(pool, config.publish_channels),
            queues,
            cipher: config
                .encryption_key()
                .map(|key| Arc::new(TokenCipher::new(key))),
            metrics,
            config: Arc::new(config),
        };
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
        serve::serve(
            self.listener,
            router(self.state),
            timeouts,
            metrics,
            shutdown,
        )
        .await;
        Ok(())
    }
}
