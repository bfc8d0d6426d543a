//! The workers' own HTTP listener: `/health`, `/ready` and `/metrics` for probes and Prometheus.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use common::health::{Check, health, ready};

use crate::state::WorkerState;

pub fn router(state: WorkerState) -> Router {
    Router::new()
        .route("/health", get(|| async { health("workers") }))
        .route("/ready", get(get_ready))
        .route("/metrics", get(get_metrics))
        .with_state(state)
}

/// Ready when both the database and the broker answer: a worker needs both to make progress.
async fn get_ready(State(state): State<WorkerState>) -> Response {
    let mut checks = BTreeMap::new();
    let database =
        tokio::time::timeout(Duration::from_secs(2), common::db::server::ping(&state.db)).await;
    checks.insert(
        "postgres",
        match database {
            Ok(Ok(_)) => Check::ok(true),
            Ok(Err(error)) => Check::unreachable(true, "postgres", &error),
            Err(_) => Check::timed_out(true, "postgres"),
        },
    );
    let broker = tokio::time::timeout(Duration::from_secs(2), state.broker.get()).await;
    checks.insert(
        "rabbitmq",
        match broker {
            Ok(Ok(connection)) if connection.status().connected() => Check::ok(true),
            Ok(Ok(_)) => Check::failed(true, "connection closed"),
            Ok(Err(error)) => Check::unreachable(true, "rabbitmq", &error),
            Err(_) => Check::timed_out(true, "rabbitmq"),
        },
    );
    // Redis only shares the outbound rate limit; without it the local fallback keeps calls safe.
    let limiter = if state.client.limiter().is_degraded() {
        Check::degraded("redis unavailable: outbound calls use the local fallback limiter")
    } else {
        Check::ok(false)
    };
    checks.insert("redis", limiter);
    ready(checks)
}

async fn get_metrics(State(state): State<WorkerState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        common::metrics::render(&state.metrics.registry),
    )
        .into_response()
}
