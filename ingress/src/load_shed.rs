//! The bound on requests handled at once (`INGRESS_MAX_CONCURRENT_REQUESTS`). Over it a request
//! is answered 503 with `Retry-After` at once, never queued: a flood costs ingress a refusal per
//! request, not memory. `/health` and `/metrics` are exempt, so probes and scrapes still see an
//! overloaded process as alive; `/ready` is not, so a load balancer steers traffic away from it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::IntGauge;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::metrics::IngressMetrics;

/// When a shed client should come back.
const RETRY_AFTER_SECS: u32 = 1;

/// Paths never shed.
const EXEMPT: [&str; 2] = ["/health", "/metrics"];

/// The permits and the metrics that count them.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
    metrics: Arc<IngressMetrics>,
}

impl ConcurrencyLimit {
    pub fn new(max_concurrent_requests: usize, metrics: Arc<IngressMetrics>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent_requests)),
            metrics,
        }
    }
}

/// Middleware: a permit for the request's lifetime, or a 503 now.
pub async fn shed_over_limit(
    State(limit): State<ConcurrencyLimit>,
    request: Request,
    next: Next,
) -> Response {
    if EXEMPT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_permit) = limit.permits.clone().try_acquire_owned() else {
        limit.metrics.requests_shed.inc();
        return ApiError::Overloaded {
            retry_after_secs: RETRY_AFTER_SECS,
        }
        .into_response();
    };
    let _in_flight = InFlight::count(&limit.metrics.requests_in_flight);
    next.run(request).await
}

/// Counts a request in flight until dropped, also when the client goes away mid-request.
struct InFlight(IntGauge);

impl InFlight {
    fn count(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
