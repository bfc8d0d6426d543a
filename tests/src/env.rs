//! One test's isolated environment: its own database and queue prefix on the shared services.

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use lapin::options::QueueDeleteOptions;
use simulator::ClockifySigner;

/// Add-on key the tests' signer and config agree on.
pub const ADDON_KEY: &str = "api-studio-test";
/// The shared secret of the HMAC fallback in tests.
pub const HMAC_SECRET: &str = "hmac-test-secret-of-32-bytes-or-more";

const SERVICES: [(&str, &str, &str); 3] = [
    (
        "PostgreSQL",
        "127.0.0.1:5432",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    ("RabbitMQ", "127.0.0.1:5672", "rabbitmq-server -detached"),
    (
        "Redis",
        "127.0.0.1:6379",
        "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
    ),
];

/// Fails the test, saying how to start it, when a service does not answer.
pub fn require_services() {
    for (name, address, start) in SERVICES {
        let socket = address.parse().expect("constant address");
        if TcpStream::connect_timeout(&socket, Duration::from_secs(2)).is_err() {
            panic!(
                "{name} is not answering on {address}. Start it with: {start}   (or run `bash .ci/run`, which starts what is missing)"
            );
        }
    }
}

/// Names and settings unique to one test.
#[derive(Clone)]
pub struct TestEnv {
    pub id: String,
    pub database_url: String,
    pub queue_prefix: String,
    pub partitions: u16,
    pub encryption_key: String,
    pub signer: ClockifySigner,
}

impl TestEnv {
    pub fn new() -> Self {
        require_services();
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            database_url: format!("postgres://postgres@127.0.0.1:5432/studio_test_{id}"),
            queue_prefix: format!("test-{id}"),
            partitions: 2,
            encryption_key: base64::engine::general_purpose::STANDARD.encode(key),
            signer: ClockifySigner::test_key(ADDON_KEY),
            id,
        }
    }

    /// The environment variables both tiers get, in process or as child processes.
    pub fn vars(&self) -> HashMap<String, String> {
        [
            ("DATABASE_URL", self.database_url.clone()),
            ("QUEUE_PREFIX", self.queue_prefix.clone()),
            ("EVENT_PARTITIONS", self.partitions.to_string()),
            ("INGRESS_BIND", "127.0.0.1:0".into()),
            ("WORKERS_BIND", "127.0.0.1:0".into()),
            ("ADDON_KEY", ADDON_KEY.into()),
            ("BASE_URL", "http://127.0.0.1:8080".into()),
            (
                "CLOCKIFY_PUBLIC_KEY",
                self.signer.public_key_pem().to_owned(),
            ),
            ("TOKEN_ENCRYPTION_KEY", self.encryption_key.clone()),
            ("WEBHOOK_HMAC_SECRET", HMAC_SECRET.into()),
            ("WEBHOOK_MAX_PAYLOAD_BYTES", "65536".into()),
            ("SHUTDOWN_TIMEOUT_SECS", "10".into()),
            ("LOG_FORMAT", "json".into()),
            (
                "CLOCKIFY_OPENAPI_PATH",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json").into(),
            ),
            ("ALLOW_HTTP_LOOPBACK", "true".into()),
            ("AUTO_BOOTSTRAP_ON_INSTALL", "false".into()),
            // Tests that want the coverage plan's extra webhooks ask for them ("default").
            ("EXTRA_WEBHOOK_EVENTS", "none".into()),
            // No scheduled pass crosses a test (tests start theirs on demand).
            ("RECONCILE_INTERVAL", "720h".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The config the in-process tiers run with, with `overrides` applied.
    pub fn config(&self, overrides: &[(&str, &str)]) -> common::config::Config {
        let mut vars = self.vars();
        for (key, value) in overrides {
            vars.insert((*key).to_owned(), (*value).to_owned());
        }
        common::config::Config::from_vars(&vars).expect("test config is valid")
    }

    /// Drops this test's queues and database.
    pub async fn cleanup(&self) {
        let names = common::broker::QueueNames::new(&self.queue_prefix, self.partitions);
        if let Ok(pool) = common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f")
            && let Ok(connection) = pool.get().await
            && let Ok(channel) = connection.create_channel().await
        {
            for queue in names.all() {
                let _ = channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
        }
        if let Ok(admin) =
            sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres").await
        {
            let statement = format!(
                "drop database if exists studio_test_{} with (force)",
                self.id
            );
            let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&admin)
                .await;
        }
    }
}

impl TestEnv {
    /// [`TestEnv::cleanup`] from synchronous code (a `Drop`), on a thread of its own with its own
    /// runtime, so it works inside or outside a runtime and whatever state the test's is in.
    pub fn cleanup_blocking(&self) {
        let env = self.clone();
        let cleaning = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(30), env.cleanup()).await;
            });
        });
        let _ = cleaning.join();
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}
