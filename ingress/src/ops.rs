//! `/health`, `/ready` and `/metrics` of the ingress tier.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use common::health::{Check, health, ready};

use crate::state::AppState;

pub async fn get_health() -> Response {
    health("ingress")
}

/// Ready when the broker takes a channel: the hot path needs nothing else.
pub async fn get_ready(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    let broker = match state.publisher.check().await {
        Ok(()) => Check::ok(true),
        Err(error) => Check::unreachable(true, "rabbitmq", &error),
    };
    checks.insert("rabbitmq", broker);
    // The studio and admin APIs need it; the event hot path does not.
    let database = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        common::db::server::ping(&state.db),
    )
    .await;
    checks.insert(
        "postgres",
        match database {
            Ok(Ok(_)) => Check::ok(false),
            Ok(Err(error)) => Check::unreachable(false, "postgres", &error),
            Err(_) => Check::timed_out(false, "postgres"),
        },
    );
    if let Some(reason) = state.catalog_degraded {
        checks.insert("catalog", Check::degraded(reason));
    }
    if !state.config.require_signature_verification {
        checks.insert(
            "signature_verification",
            Check::degraded("disabled (development mode)"),
        );
    }
    ready(checks)
}

pub async fn get_metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        common::metrics::render(&state.metrics.registry),
    )
        .into_response()
}
