//! The outbound rate limiter: every workspace held to `RATE_LIMIT_RPS` across all worker
//! processes together.
//!
//! The shared state is a GCRA bucket per workspace in Redis, updated by one Lua script that reads
//! the Redis clock (so worker clocks do not matter). A caller does not fail when over the limit:
//! the script reserves the next free slot and says how long to wait for it, so callers queue up
//! at exactly the allowed pace instead of polling. If Redis errors, the process falls back to a
//! governor limiter holding each workspace to a configured share of the rate, logs it once,
//! counts it, and reports itself degraded until Redis answers again.
//!
//! Interactive first: an interactive caller (a studio call) always reserves the next free slot.
//! A bulk caller (bootstrap, reconciliation) reserves only a slot that is at most one interval
//! away, and otherwise sleeps until then and asks again; so bulk work never books the bucket
//! ahead, and an interactive call waits for at most about two intervals however large the
//! bulk backlog. The fallback keeps the same order locally: bulk callers wait while an
//! interactive one of the same workspace is waiting.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota};
use redis::aio::ConnectionManager;
use tokio::sync::Mutex;

use crate::metrics::OutboundMetrics;
use crate::worker_slot::WorkerSlot;

/// Reserves the next slot of a GCRA bucket, atomically. KEYS[1]: bucket. ARGV[1]: emission
/// interval (µs). ARGV[2]: burst tolerance (µs). ARGV[3]: the longest wait (µs) the caller takes
/// a slot for, -1 for any, -2 to look only. Returns the µs to wait before using the reserved slot, or, when the
/// slot is further away than ARGV[3], -1 minus the wait (nothing reserved).
const GCRA_RESERVE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local longest = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if longest == -2 or (longest >= 0 and wait > longest) then return -1 - wait end
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

/// Who is waiting: interactive calls go first, bulk work takes what they leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A studio call a person waits for.
    Interactive,
    /// Bootstrap and reconciliation pages.
    Bulk,
}

/// What a caller asks the shared bucket for.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// The next free slot, however far.
    Any,
    /// The next free slot if it is at most this far away.
    Within(Duration),
    /// Only how far the next free slot is; nothing is reserved.
    Look,
}

/// What one ask of the shared bucket gave.
enum Reservation {
    /// A slot is reserved; use it after this wait.
    Reserved(Duration),
    /// Nothing reserved; the next free slot is this far away.
    Later(Duration),
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
    /// One bulk caller per workspace asks Redis at a time in this process; the others queue
    /// here (fairly), so waiting bulk work costs Redis one ask per slot, not one per waiter.
    bulk_turns: std::sync::Mutex<std::collections::HashMap<String, Arc<Mutex<()>>>>,
    /// Interactive callers waiting in the fallback, per workspace (bulk ones wait behind them).
    interactive_waiting: std::sync::Mutex<std::collections::HashMap<String, usize>>,
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
                interactive_waiting: std::sync::Mutex::default(),
                bulk_turns: std::sync::Mutex::default(),
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

    /// Waits until `workspace_id` may make one more request, bulk callers behind interactive
    /// ones. A bulk caller's `slot` (its worker slot) is lent out while it waits.
    pub async fn acquire(
        &self,
        workspace_id: &str,
        priority: Priority,
        slot: Option<&WorkerSlot>,
    ) -> LimiterMode {
        match priority {
            Priority::Interactive => {
                let started = Instant::now();
                let mode = self.acquire_interactive(workspace_id).await;
                self.observe_wait(started);
                mode
            }
            // Observed by the approach's reservation.
            Priority::Bulk => self.acquire_bulk(workspace_id, slot).await,
        }
    }

    /// Counts a wait for the limiter that began at `started`.
    pub(crate) fn observe_wait(&self, started: Instant) {
        self.inner
            .metrics
            .limiter_wait
            .observe(started.elapsed().as_secs_f64());
    }

    /// Reserves the next free slot whatever its distance, and waits for it.
    async fn acquire_interactive(&self, workspace_id: &str) -> LimiterMode {
        match self.reserve_shared(workspace_id, Ask::Any).await {
            Some(Reservation::Reserved(wait)) => {
                tokio::time::sleep(wait).await;
                LimiterMode::Shared
            }
            Some(Reservation::Later(_)) | None => {
                self.acquire_fallback(workspace_id, Priority::Interactive)
                    .await
            }
        }
    }

    /// A bulk caller's wait: [`Self::approach`], then the reservation at once.
    async fn acquire_bulk(&self, workspace_id: &str, slot: Option<&WorkerSlot>) -> LimiterMode {
        self.approach(workspace_id, slot).await.reserve().await
    }

    /// Sleeps until the workspace's next free slot is at most one interval away (looking,
    /// reserving nothing); returns at once when Redis is not usable.
    pub(crate) async fn wait_until_near(&self, workspace_id: &str) {
        let interval = self.interval();
        while let Some(Reservation::Later(wait)) =
            self.reserve_shared(workspace_id, Ask::Look).await
        {
            if wait <= interval {
                return;
            }
            // The spread keeps bulk waiters of several processes from asking at once.
            let spread = interval.mul_f64(spread_fraction());
            tokio::time::sleep(wait - interval + spread).await;
        }
    }

    /// Reserves the workspace's next slot if it is at most one interval away.
    pub(crate) async fn reserve_near(&self, workspace_id: &str) -> Option<Result<Duration, ()>> {
        match self
            .reserve_shared(workspace_id, Ask::Within(self.interval()))
            .await?
        {
            Reservation::Reserved(wait) => Some(Ok(wait)),
            Reservation::Later(_) => Some(Err(())),
        }
    }

    pub(crate) fn bulk_turn(&self, workspace_id: &str) -> Arc<Mutex<()>> {
        let mut turns = self.turns();
        Arc::clone(turns.entry(workspace_id.to_owned()).or_default())
    }

    /// Forgets the workspace's turn when no other caller holds it.
    pub(crate) fn release_bulk_turn(&self, workspace_id: &str, turn: Arc<Mutex<()>>) {
        let mut turns = self.turns();
        drop(turn);
        if turns
            .get(workspace_id)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            turns.remove(workspace_id);
        }
    }

    fn turns(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<Mutex<()>>>> {
        self.inner
            .bulk_turns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The local limiter: interactive callers wait for their turn; bulk ones also step back
    /// while an interactive caller of the workspace is waiting.
    pub(crate) async fn acquire_fallback(
        &self,
        workspace_id: &str,
        priority: Priority,
    ) -> LimiterMode {
        self.inner.metrics.limiter_fallback.inc();
        let key = workspace_id.to_owned();
        let fallback = &self.inner.fallback;
        if priority == Priority::Interactive {
            self.count_interactive(&key, 1);
            fallback.until_key_ready(&key).await;
            self.count_interactive(&key, -1);
            return LimiterMode::LocalFallback;
        }
        loop {
            let interactive_waiting = self
                .waiting_map()
                .get(&key)
                .is_some_and(|waiting| *waiting > 0);
            if !interactive_waiting && fallback.check_key(&key).is_ok() {
                return LimiterMode::LocalFallback;
            }
            tokio::time::sleep(self.interval()).await;
        }
    }

    fn count_interactive(&self, key: &str, change: isize) {
        let mut waiting = self.waiting_map();
        let count = waiting.entry(key.to_owned()).or_default();
        *count = count.saturating_add_signed(change);
        if *count == 0 {
            waiting.remove(key);
        }
    }

    fn waiting_map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.inner
            .interactive_waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The time between two requests of a workspace at the effective rate.
    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.inner.settings.effective_rate())
    }

    /// Whether the last decisions came from the local fallback (for `/ready`).
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// One ask of the shared bucket; `None` when Redis is not usable now.
    async fn reserve_shared(&self, workspace_id: &str, ask: Ask) -> Option<Reservation> {
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
        let longest_us = match ask {
            Ask::Any => -1,
            Ask::Look => -2,
            Ask::Within(longest) => longest.as_micros() as i64,
        };
        invocation
            .arg(interval_us)
            .arg(tolerance_us)
            .arg(longest_us);
        let call = invocation.invoke_async::<i64>(&mut connection);
        match tokio::time::timeout(Duration::from_millis(500), call).await {
            Ok(Ok(wait_us)) => {
                if inner.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "redis answers again; outbound rate limit is shared across workers"
                    );
                }
                Some(if wait_us < 0 {
                    Reservation::Later(Duration::from_micros((-1 - wait_us).max(0) as u64))
                } else {
                    Reservation::Reserved(Duration::from_micros(wait_us as u64))
                })
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

/// A fraction in [0, 0.5) that differs between calls, from the clock's nanoseconds: enough to
/// spread bulk waiters without a random number generator.
fn spread_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000) / 2_000.0
}
