//! The one Clockify client every outbound call goes through: allowed hosts only, no redirects
//! followed, connect and total timeouts, the workspace's rate limit, and retries with backoff.
//!
//! Retries (backon's exponential schedule with jitter, `Retry-After` honoured when longer):
//! 429 and 503 for any method (Clockify did not process it); 502, 504 and errors after the
//! request was sent only for idempotent methods, since a POST whose answer was lost may have had
//! its effect; connection failures before anything was sent for any method.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder as _, ExponentialBuilder};
use reqwest::{Method, StatusCode, header};

use common::config::OutboundConfig;

use crate::allowed_hosts::{AllowedHosts, HostError};
use crate::metrics::OutboundMetrics;
use crate::rate_limit::{Priority, RateLimiter};
use crate::worker_slot::WorkerSlot;

/// Whether sending `method` twice has the effect of sending it once (RFC 9110 §9.2.2): only
/// these are repeated after an answer was lost. The one definition both the client's retries and
/// a redelivered studio call go by.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// The retry policy of bootstrap reads and studio calls (`OUTBOUND_*`).
    pub fn for_calls(config: &OutboundConfig) -> Self {
        Self {
            max_retries: config.max_retries,
            base: config.backoff_base,
            cap: config.backoff_cap,
        }
    }

    /// The retry policy of webhook registration and deletion (`WEBHOOK_REQUEST_*`).
    pub fn for_webhooks(config: &OutboundConfig) -> Self {
        Self {
            max_retries: config.webhook_max_retries,
            base: config.webhook_backoff_base,
            cap: config.webhook_backoff_cap,
        }
    }
}

/// One request to Clockify.
#[derive(Debug, Clone)]
pub struct OutboundRequest<'a> {
    pub workspace_id: &'a str,
    /// `{backendUrl}` or `{reportsUrl}`, without a trailing slash.
    pub base_url: &'a str,
    pub method: Method,
    /// Already percent-encoded, starting with `/`.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: Option<&'a serde_json::Value>,
    /// The installation token, sent as `X-Addon-Token`; never logged.
    pub token: &'a str,
    /// Metric label: a catalog tag or an internal use such as `bootstrap`.
    pub group: &'a str,
    pub retry: RetryPolicy,
    /// Studio calls are interactive; bootstrap (and reconciliation) are bulk and yield to them.
    pub priority: Priority,
    /// The job's worker slot, released while the call waits for its rate limit.
    pub slot: Option<&'a WorkerSlot>,
    /// The caller already reserved the first attempt's slot
    /// ([`crate::bulk_pace::Approach::reserve`]), after checking that the request is still
    /// wanted; retries wait as usual.
    pub first_attempt_paced: bool,
}

/// Clockify's answer.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub body: bytes::Bytes,
    pub duration: Duration,
    pub attempts: usize,
    /// The `Location` of a redirect, which is never followed.
    pub location: Option<String>,
}

/// Why no answer came back.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("could not connect to Clockify")]
    Connect,
    #[error("Clockify did not answer in time")]
    Timeout,
    #[error(
        "the answer was lost after the request was sent; not repeated because it may have taken effect"
    )]
    AnswerLost,
    #[error("request failed: {0}")]
    Other(String),
}

/// The client; cheap to clone.
#[derive(Clone)]
pub struct ClockifyClient {
    http: reqwest::Client,
    hosts: AllowedHosts,
    limiter: RateLimiter,
    metrics: Arc<OutboundMetrics>,
}

impl ClockifyClient {
    pub fn new(
        hosts: AllowedHosts,
        limiter: RateLimiter,
        metrics: Arc<OutboundMetrics>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("clockify-api-studio/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with rustls and static settings builds");
        Self {
            http,
            hosts,
            limiter,
            metrics,
        }
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Sends `request`, waiting for the workspace's rate limit before every attempt.
    pub async fn send(
        &self,
        request: &OutboundRequest<'_>,
    ) -> Result<OutboundResponse, OutboundError> {
        let base = self.hosts.check(request.base_url)?;
        let url = format!("{}{}", base.as_str().trim_end_matches('/'), request.path);
        let idempotent = is_idempotent(&request.method);
        let mut schedule = ExponentialBuilder::default()
            .with_min_delay(request.retry.base)
            .with_max_delay(request.retry.cap)
            .with_max_times(request.retry.max_retries)
            .with_jitter()
            .build();
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts > 1 || !request.first_attempt_paced {
                self.limiter
                    .acquire(request.workspace_id, request.priority, request.slot)
                    .await;
            }
            let mut builder = self
                .http
                .request(request.method.clone(), &url)
                .query(request.query)
                .header("X-Addon-Token", request.token)
                .header(header::ACCEPT, "application/json");
            if let Some(body) = request.body {
                builder = builder.json(body);
            }
            let (retry_reason, retry_after, outcome) = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    self.count(request.group, status_class(status.as_u16()));
                    let retry_after = retry_after(response.headers());
                    let reason = match status {
                        StatusCode::TOO_MANY_REQUESTS => Some("429"),
                        StatusCode::SERVICE_UNAVAILABLE => Some("503"),
                        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT if idempotent => {
                            Some("5xx")
                        }
                        _ => None,
                    };
                    let location = response
                        .headers()
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match response.bytes().await {
                        Ok(body) => {
                            let answer = OutboundResponse {
                                status: status.as_u16(),
                                body,
                                duration: started.elapsed(),
                                attempts,
                                location,
                            };
                            (reason, retry_after, Ok(answer))
                        }
                        // The answer broke off after its status: what it said is unknown, so it
                        // is retried only where repeating is harmless.
                        Err(error) if idempotent => (
                            Some("connection"),
                            retry_after,
                            Err(OutboundError::Other(format!(
                                "the answer's body could not be read: {}",
                                error.without_url()
                            ))),
                        ),
                        Err(_) => (None, None, Err(OutboundError::AnswerLost)),
                    }
                }
                Err(error) => {
                    self.count(request.group, "error");
                    let sent = !error.is_connect();
                    let failure = if error.is_timeout() {
                        OutboundError::Timeout
                    } else if !sent {
                        OutboundError::Connect
                    } else if idempotent {
                        OutboundError::Other("connection lost".into())
                    } else {
                        OutboundError::AnswerLost
                    };
                    let reason = (!sent || idempotent).then_some("connection");
                    (reason, None, Err(failure))
                }
            };
            let Some(reason) = retry_reason else {
                return outcome;
            };
            let Some(delay) = schedule.next() else {
                return outcome;
            };
            let delay = retry_after.map_or(delay, |after| after.max(delay));
            self.metrics
                .retries
                .with_label_values(&[request.group, reason])
                .inc();
            tracing::debug!(
                workspace_id = request.workspace_id,
                reason,
                delay_ms = delay.as_millis() as u64,
                "retrying outbound request"
            );
            match request.slot {
                Some(slot) => slot.released_while(tokio::time::sleep(delay)).await,
                None => tokio::time::sleep(delay).await,
            }
        }
    }

    fn count(&self, group: &str, class: &str) {
        self.metrics
            .requests
            .with_label_values(&[group, class])
            .inc();
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Clockify), capped at a minute.
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}
