//! The outbound rate limiter: every workspace held to `RATE_LIMIT_RPS` across all worker
//! processes together.
//!
//! The shared state is a GCRA bucket per workspace in Redis, updated by one Lua script that reads
//! the Redis clock (so worker clocks do not matter). A caller does not fail when over the limit:
//! the script reserves the next free slot and says how long to wait for it, so callers queue up
//! at exactly the allowed pace instead of polling. If Redis errors, the process falls back to a
//! governor limiter holding each workspace to a configured share of the rate, logs it once,
//! counts it, and reports itself degraded until Redis answers again.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota};
use redis::aio::ConnectionManager;
use tokio::sync::Mutex;

use crate::metrics::OutboundMetrics;

/// Reserves the next slot of a GCRA bucket. KEYS[1]: bucket. ARGV[1]: emission interval (µs).
/// ARGV[2]: burst tolerance (µs). Returns the µs to wait before using the slot.
const GCRA_RESERVE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
";

/// How the limiter paces each workspace.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Clockify's limit per workspace (50).
    pub requests_per_second: f64,
    /// Fraction kept in reserve for network jitter, so arrivals never exceed the limit.
    pub headroom: f64,
    /// Requests allowed at once above the steady pace.
    pub burst: u32,
    /// Share of the rate one process may use when Redis is away.
    pub fallback_share: f64,
    /// Key prefix of the buckets.
    pub key_prefix: String,
}

impl RateLimitSettings {
    fn effective_rate(&self) -> f64 {
        (self.requests_per_second * (1.0 - self.headroom)).max(0.1)
    }
}

/// Whether the limiter is using Redis or its local fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterMode {
    Shared,
    LocalFallback,
}

/// The per-workspace outbound limiter shared by every call of a worker process.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    settings: RateLimitSettings,
    redis: Option<ConnectionManager>,
    script: redis::Script,
    fallback: DefaultKeyedRateLimiter<String>,
    degraded: AtomicBool,
    /// After a Redis failure, Redis is not tried again before this instant.
    retry_redis_at: Mutex<Option<Instant>>,
    metrics: Arc<OutboundMetrics>,
}

impl RateLimiter {
    /// `redis` may be `None` when Redis could not be reached at start: the fallback then applies
    /// from the first call, and the connection is not retried (the manager reconnects when given).
    pub fn new(
        settings: RateLimitSettings,
        redis: Option<ConnectionManager>,
        metrics: Arc<OutboundMetrics>,
    ) -> Self {
        let fallback_rate = settings.effective_rate() * settings.fallback_share.clamp(0.01, 1.0);
        let period = Duration::from_secs_f64(1.0 / fallback_rate.max(0.01));
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(NonZeroU32::new(settings.burst.max(1)).expect("at least one"));
        let degraded = redis.is_none();
        Self {
            inner: Arc::new(Inner {
                script: redis::Script::new(GCRA_RESERVE),
                fallback: DefaultKeyedRateLimiter::keyed(quota),
                degraded: AtomicBool::new(degraded),
                retry_redis_at: Mutex::new(None),
                settings,
                redis,
                metrics,
            }),
        }
    }

    /// Connects to Redis for the limiter; `None` (with a warning) when it is not reachable now.
    pub async fn connect_redis(url: &str) -> Option<ConnectionManager> {
        let client = redis::Client::open(url).ok()?;
        match tokio::time::timeout(Duration::from_secs(3), ConnectionManager::new(client)).await {
            Ok(Ok(manager)) => Some(manager),
            _ => {
                tracing::warn!(
                    "redis unreachable at start; outbound calls use the local fallback limiter"
                );
                None
            }
        }
    }

    /// Waits until `workspace_id` may make one more request.
    pub async fn acquire(&self, workspace_id: &str) -> LimiterMode {
        let started = Instant::now();
        let mode = match self.reserve_shared(workspace_id).await {
            Some(wait) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                LimiterMode::Shared
            }
            None => {
                self.inner
                    .fallback
                    .until_key_ready(&workspace_id.to_owned())
                    .await;
                self.inner.metrics.limiter_fallback.inc();
                LimiterMode::LocalFallback
            }
        };
        self.inner
            .metrics
            .limiter_wait
            .observe(started.elapsed().as_secs_f64());
        mode
    }

    /// Whether the last decisions came from the local fallback (for `/ready`).
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    async fn reserve_shared(&self, workspace_id: &str) -> Option<Duration> {
        let inner = &self.inner;
        let mut connection = inner.redis.clone()?;
        {
            let mut retry_at = inner.retry_redis_at.lock().await;
            if let Some(at) = *retry_at {
                if Instant::now() < at {
                    return None;
                }
                *retry_at = None;
            }
        }
        let rate = inner.settings.effective_rate();
        let interval_us = (1_000_000.0 / rate).round() as i64;
        let tolerance_us = interval_us * i64::from(inner.settings.burst);
        let key = format!("{}:ratelimit:{workspace_id}", inner.settings.key_prefix);
        let mut invocation = inner.script.key(key);
        invocation.arg(interval_us).arg(tolerance_us);
        let call = invocation.invoke_async::<i64>(&mut connection);
        match tokio::time::timeout(Duration::from_millis(500), call).await {
            Ok(Ok(wait_us)) => {
                if inner.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "redis answers again; outbound rate limit is shared across workers"
                    );
                }
                Some(Duration::from_micros(wait_us.max(0) as u64))
            }
            failure => {
                if !inner.degraded.swap(true, Ordering::Relaxed) {
                    let error = match failure {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::warn!(
                        error,
                        "redis limiter unavailable; falling back to the local limiter"
                    );
                }
                *inner.retry_redis_at.lock().await = Some(Instant::now() + Duration::from_secs(1));
                None
            }
        }
    }
}
