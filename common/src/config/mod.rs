//! Configuration read from the environment once at start, validated field by field.
//!
//! A bad value stops the process with one line naming the variable; nothing is read lazily later.

mod error;
mod freshness;
mod http_limits;
mod key_ring;
mod secrets;
mod sections;
mod vars;

pub use error::ConfigError;
pub use freshness::FreshnessConfig;
pub use key_ring::{EncryptionKey, RingKey};
pub use secrets::{CLOCKIFY_PUBLIC_KEY_PEM, MIN_SECRET_LEN};
use secrets::{admin_token, hmac_secret, jwks, otlp_endpoint, public_key_pem};
pub use sections::{BootstrapConfig, DEFAULT_BOOTSTRAP_PARTITIONS, OutboundConfig, Retention};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{SecretBox, SecretSlice, SecretString};

pub use http_limits::{DEFAULT_UI_FRAME_ANCESTORS, HttpLimits};
use vars::{Vars, invalid};

use crate::coverage::CoveragePlan;
use crate::events::EventType;

/// API Studio call partition queues when `API_CALL_PARTITIONS` does not say.
pub const DEFAULT_API_CALL_PARTITIONS: u16 = 4;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Everything both tiers read from the environment.
#[derive(Clone)]
pub struct Config {
    pub base_url: String,
    pub addon_key: String,
    pub addon_name: String,
    pub ingress_bind: SocketAddr,
    pub workers_bind: SocketAddr,
    pub database_url: String,
    pub amqp_url: String,
    pub redis_url: String,
    pub clockify_public_key_pem: String,
    /// `CLOCKIFY_JWKS_URL`: keys by id, refreshed when a token names an unknown one.
    pub clockify_jwks: Option<crate::token::JwksSettings>,
    pub require_signature_verification: bool,
    pub allow_unverified_dev_mode: bool,
    /// `WEBHOOK_HMAC_SECRET`; exposed only where a tag is checked.
    pub webhook_hmac_secret: Option<SecretSlice<u8>>,
    pub webhook_max_payload_bytes: usize,
    pub lifecycle_max_payload_bytes: usize,
    /// `ADMIN_TOKEN`; exposed only where a bearer token is compared with it.
    pub admin_token: Option<SecretString>,
    /// `TOKEN_ENCRYPTION_KEY`; read through [`Config::encryption_key`] by the token cipher.
    pub token_encryption_key: Option<SecretBox<EncryptionKey>>,
    /// `TOKEN_ENCRYPTION_KEYS` (or the single key above, id empty): the first seals, all open.
    pub token_encryption_keys: Vec<RingKey>,
    /// `OPERATOR_NAME`: who the audit log names for admin-API actions (else the token's id).
    pub operator_name: Option<String>,
    /// The manifest's webhook events (the coverage plan's).
    pub webhook_events: Vec<EventType>,
    pub event_partitions: u16,
    pub queue_prefix: String,
    pub publish_channels: usize,
    /// `INGRESS_GROUP_BUSY_LINGER_MS`: how long a busy ingress lane waits for company before
    /// publishing (`ingress::group_commit`); zero never waits.
    pub ingress_group_busy_linger: Duration,
    /// `INGRESS_GROUP_IN_FLIGHT`: how many messages an ingress lane may keep awaiting their
    /// confirms at once, while its messages are small (`ingress::group_commit`).
    pub ingress_group_in_flight: usize,
    pub worker_prefetch: u16,
    pub worker_batch_size: usize,
    pub worker_batch_linger: Duration,
    /// `WORKER_BATCH_BUSY_LINGER_MS`: how long a busy partition waits to fill a batch
    /// (`common::busy_pace`).
    pub worker_batch_busy_linger: Duration,
    pub max_delivery_attempts: u32,
    pub shutdown_timeout: Duration,
    pub webhook_token_cache_size: usize,
    pub log_format: LogFormat,
    pub outbound: OutboundConfig,
    pub bootstrap: BootstrapConfig,
    pub api_call_max_payload_bytes: usize,
    pub api_call_result_max_bytes: usize,
    /// API Studio call queues, by workspace hash (`API_CALL_PARTITIONS`).
    pub api_call_partitions: u16,
    /// Calls a worker process runs at once from each call queue (`API_CALL_CONCURRENCY`).
    pub api_call_concurrency: u16,
    /// A workspace's queued and running calls above which `POST /api/calls` answers 429.
    pub api_call_max_pending_per_workspace: u16,
    /// A file, or an `https://` URL (`http://` on loopback with `ALLOW_HTTP_LOOPBACK`) fetched at
    /// start, with `openapi_fallback_path` as the catalog when the fetch fails.
    pub openapi_path: String,
    /// Where a fetched catalog is cached (`CLOCKIFY_OPENAPI_CACHE_PATH`).
    pub openapi_cache_path: String,
    /// The bundled catalog used when the URL cannot be fetched (`CLOCKIFY_OPENAPI_FALLBACK_PATH`).
    pub openapi_fallback_path: String,
    /// How long the fetch at start may take (`CLOCKIFY_OPENAPI_FETCH_TIMEOUT`).
    pub openapi_fetch_timeout: Duration,
    /// Events registered through the webhooks API per installation (the coverage plan's).
    pub extra_webhook_events: Vec<EventType>,
    /// What reaches the copy by webhook and what by reconciliation, checked at start.
    pub coverage: CoveragePlan,
    /// The sweep that retries registrations and starts reconciliation passes.
    pub freshness: FreshnessConfig,
    /// Timeouts, concurrency bound and frame ancestors of the ingress HTTP server.
    pub http: HttpLimits,
    /// Messages one event partition queue holds before the broker refuses publishes.
    pub event_queue_max_length: u32,
    /// Retention (`EVENT_LOG_RETENTION_DAYS`, `API_CALL_RETENTION_DAYS`,
    /// `DEAD_LETTER_RETENTION_DAYS`, `RETENTION_INTERVAL_SECS`).
    pub retention: Retention,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; no span export when unset.
    pub otlp_endpoint: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Connection URLs (which may hold passwords) are left out on purpose, and the secrets
        // are `secrecy` types: a Debug print of the config must be safe to log.
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("addon_key", &self.addon_key)
            .field("ingress_bind", &self.ingress_bind)
            .field("workers_bind", &self.workers_bind)
            .field("event_partitions", &self.event_partitions)
            .field("queue_prefix", &self.queue_prefix)
            .field(
                "require_signature_verification",
                &self.require_signature_verification,
            )
            // `secrecy` prints these as `[REDACTED]`.
            .field("admin_token", &self.admin_token)
            .field("token_encryption_key", &self.token_encryption_key)
            .field("webhook_hmac_secret", &self.webhook_hmac_secret)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment, or ends the process with the one line that names the bad
    /// variable (exit code 2): what both binaries do first.
    pub fn from_env_or_exit() -> Self {
        Self::from_env().unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2)
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads a given set of variables; tests build configs this way without touching the process.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Vars(vars);
        let base_url = env.string("BASE_URL", "http://localhost:8080");
        if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
            || base_url.ends_with('/')
        {
            return Err(invalid(
                "BASE_URL",
                "must be http(s) and have no trailing slash",
            ));
        }
        let addon_key = env.string("ADDON_KEY", "clockify-api-studio");
        if !(2..=50).contains(&addon_key.len()) {
            return Err(invalid("ADDON_KEY", "must be 2 to 50 characters"));
        }
        let addon_name = env.string("ADDON_NAME", "API Studio");
        if addon_name.is_empty() || addon_name.chars().count() > 50 {
            return Err(invalid("ADDON_NAME", "must be 1 to 50 characters"));
        }
        let require_signature_verification = env.boolean("REQUIRE_SIGNATURE_VERIFICATION", true)?;
        let token_encryption_keys = key_ring::encryption_keys(&env)?;
        let token_encryption_key = token_encryption_keys.first().map(|(_, key)| key.clone());
        if require_signature_verification && token_encryption_key.is_none() {
            return Err(invalid(
                "TOKEN_ENCRYPTION_KEY",
                "required (32 bytes, standard base64) unless signature verification is off",
            ));
        }
        let (api_call_concurrency, api_call_max_pending_per_workspace) = api_call_slots(&env)?;
        let coverage = freshness::coverage_plan(&env)?;
        Ok(Self {
            base_url,
            addon_key,
            addon_name,
            ingress_bind: env.parsed("INGRESS_BIND", "0.0.0.0:8080")?,
            workers_bind: env.parsed("WORKERS_BIND", "0.0.0.0:9090")?,
            database_url: env.string("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/studio"),
            amqp_url: env.string("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            redis_url: env.string("REDIS_URL", "redis://127.0.0.1:6379/0"),
            clockify_public_key_pem: public_key_pem(&env)?,
            clockify_jwks: jwks(&env)?,
            require_signature_verification,
            allow_unverified_dev_mode: env.boolean("DEV_ALLOW_UNVERIFIED", false)?,
            webhook_hmac_secret: hmac_secret(&env)?,
            webhook_max_payload_bytes: env.ranged(
                "WEBHOOK_MAX_PAYLOAD_BYTES",
                5_242_880,
                1..=64 << 20,
            )?,
            lifecycle_max_payload_bytes: env.ranged(
                "LIFECYCLE_MAX_PAYLOAD_BYTES",
                1_048_576,
                1..=64 << 20,
            )?,
            admin_token: admin_token(&env)?,
            token_encryption_key,
            token_encryption_keys,
            operator_name: env.optional("OPERATOR_NAME"),
            webhook_events: coverage.manifest().to_vec(),
            event_partitions: env.ranged("EVENT_PARTITIONS", 8, 1..=256)?,
            queue_prefix: queue_prefix(&env)?,
            publish_channels: env.ranged("PUBLISH_CHANNELS", 4, 1..=64)?,
            ingress_group_busy_linger: Duration::from_millis(env.ranged(
                "INGRESS_GROUP_BUSY_LINGER_MS",
                2,
                0..=100,
            )?),
            ingress_group_in_flight: env.ranged("INGRESS_GROUP_IN_FLIGHT", 2, 1..=4)?,
            worker_prefetch: env.ranged("WORKER_PREFETCH", 500, 1..=10_000)?,
            worker_batch_size: env.ranged("WORKER_BATCH_SIZE", 250, 1..=5_000)?,
            worker_batch_linger: Duration::from_millis(env.ranged(
                "WORKER_BATCH_LINGER_MS",
                5,
                0..=1_000,
            )?),
            worker_batch_busy_linger: Duration::from_millis(env.ranged(
                "WORKER_BATCH_BUSY_LINGER_MS",
                25,
                0..=1_000,
            )?),
            max_delivery_attempts: env.ranged("MAX_DELIVERY_ATTEMPTS", 5, 1..=100)?,
            shutdown_timeout: Duration::from_secs(env.ranged(
                "SHUTDOWN_TIMEOUT_SECS",
                20,
                1..=600,
            )?),
            webhook_token_cache_size: env.ranged(
                "WEBHOOK_TOKEN_CACHE_SIZE",
                100_000,
                0..=10_000_000,
            )?,
            log_format: match env.string("LOG_FORMAT", "json").as_str() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                _ => return Err(invalid("LOG_FORMAT", "must be json or pretty")),
            },
            outbound: sections::outbound(&env)?,
            bootstrap: sections::bootstrap(&env)?,
            api_call_max_payload_bytes: env.ranged(
                "API_CALL_MAX_PAYLOAD_BYTES",
                1_048_576,
                1..=64 << 20,
            )?,
            api_call_result_max_bytes: env.ranged(
                "API_CALL_RESULT_MAX_BYTES",
                262_144,
                1_024..=64 << 20,
            )?,
            api_call_partitions: env.ranged(
                "API_CALL_PARTITIONS",
                DEFAULT_API_CALL_PARTITIONS,
                1..=64,
            )?,
            api_call_concurrency,
            api_call_max_pending_per_workspace,
            openapi_path: env.string("CLOCKIFY_OPENAPI_PATH", "openapi.json"),
            openapi_cache_path: env.string("CLOCKIFY_OPENAPI_CACHE_PATH", "openapi-cache.json"),
            openapi_fallback_path: env.string("CLOCKIFY_OPENAPI_FALLBACK_PATH", "openapi.json"),
            openapi_fetch_timeout: env.seconds("CLOCKIFY_OPENAPI_FETCH_TIMEOUT", 10.0)?,
            extra_webhook_events: coverage.extra().to_vec(),
            coverage,
            freshness: freshness::freshness(&env)?,
            http: http_limits::http_limits(&env)?,
            event_queue_max_length: env.ranged(
                "EVENT_QUEUE_MAX_LENGTH",
                250_000,
                1..=100_000_000,
            )?,
            retention: sections::retention(&env)?,
            otlp_endpoint: otlp_endpoint(&env)?,
        })
    }

    /// The cipher over the key ring; absent only in unverified development mode.
    pub fn token_cipher(&self) -> Option<crate::crypto::TokenCipher> {
        use secrecy::ExposeSecret as _;
        if self.token_encryption_keys.is_empty() {
            return None;
        }
        let keys: Vec<(&str, &[u8; 32])> = self
            .token_encryption_keys
            .iter()
            .map(|(id, key)| (id.as_str(), &key.expose_secret().0))
            .collect();
        Some(crate::crypto::TokenCipher::with_keys(&keys))
    }

    /// The key that encrypts installation tokens; absent only in unverified development mode.
    pub fn encryption_key(&self) -> Option<&[u8; 32]> {
        use secrecy::ExposeSecret as _;
        self.token_encryption_key
            .as_ref()
            .map(|key| &key.expose_secret().0)
    }
}

/// `API_CALL_CONCURRENCY` and `API_CALL_MAX_PENDING_PER_WORKSPACE`. A queue's slots must
/// outnumber one workspace's cap, so one workspace's whole backlog can never hold every slot of
/// the queue it shares with others.
fn api_call_slots(env: &Vars<'_>) -> Result<(u16, u16), ConfigError> {
    let concurrency = env.ranged("API_CALL_CONCURRENCY", 64, 2..=1_024)?;
    let cap = env.ranged("API_CALL_MAX_PENDING_PER_WORKSPACE", 20, 1..=1_000)?;
    if cap >= concurrency {
        return Err(invalid(
            "API_CALL_MAX_PENDING_PER_WORKSPACE",
            "must be below API_CALL_CONCURRENCY, so one workspace cannot fill a call queue's slots",
        ));
    }
    Ok((concurrency, cap))
}

fn queue_prefix(env: &Vars<'_>) -> Result<String, ConfigError> {
    let prefix = env.string("QUEUE_PREFIX", "studio");
    let valid = !prefix.is_empty()
        && prefix.len() <= 100
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(prefix)
    } else {
        Err(invalid(
            "QUEUE_PREFIX",
            "letters, digits, '-', '_', '.' only",
        ))
    }
}

#[cfg(test)]
mod tests;
