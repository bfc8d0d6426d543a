//! Serving the router over HTTP/1.1 with hyper directly, because `axum::serve` cannot bound how
//! long a client takes: each connection has a watchdog (`connection_clock`) that drops it when
//! its headers are late or it idles too long. On shutdown the listener stops accepting, idle
//! connections close, and requests in flight finish before `serve` returns.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::connection_clock::{ConnectionClock, RequestGuard, WatchedStream};
use crate::metrics::IngressMetrics;

/// The per-connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    pub header: Duration,
    pub idle: Duration,
}

/// Accepts connections until `shutdown`, then drains the ones still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: ConnectionTimeouts,
    metrics: Arc<IngressMetrics>,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok((stream, _peer)) => {
                connections.spawn(serve_connection(
                    stream,
                    router.clone(),
                    timeouts,
                    metrics.clone(),
                    shutdown.clone(),
                ));
            }
            Err(error) => {
                // Usually running out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        "ingress stopped accepting; draining connections"
    );
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    timeouts: ConnectionTimeouts,
    metrics: Arc<IngressMetrics>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let clock = ConnectionClock::new(timeouts.header, timeouts.idle);
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = RequestGuard::start(service_clock.clone());
        let answer = router.clone().oneshot(request.map(axum::body::Body::new));
        async move {
            let response = answer.await;
            drop(guard);
            response
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(WatchedStream::new(stream, clock.clone())),
            service,
        );
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(error = %error, "connection ended with an error");
                }
                return;
            }
            expiry = clock.expired() => {
                metrics
                    .connection_timeouts
                    .with_label_values(&[expiry.as_str()])
                    .inc();
                tracing::debug!(phase = expiry.as_str(), "connection closed by timeout");
                return; // dropping the connection closes the socket
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
