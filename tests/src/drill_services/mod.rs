//! Private instances of the services a restart drill breaks: a RabbitMQ node, a PostgreSQL
//! cluster and a Redis server of the drill's own, on free ports, in a temporary directory, so
//! stopping them disturbs no other test on the shared ones. Each is stopped and its directory
//! removed when dropped, a panicking drill included.

mod postgres;
mod rabbitmq;
mod redis;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use postgres::PrivatePostgres;
pub use rabbitmq::PrivateRabbitMq;
pub use redis::PrivateRedis;

/// A TCP port nobody listens on right now (the kernel's choice for port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// A fresh directory under the system's temp dir, named after the service and this process.
fn scratch_dir(service: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "studio-drill-{service}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Whether something accepts connections on `port` now.
fn answers(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// Runs a service's control command to completion (blocking); Err carries its output.
fn run(command: &mut std::process::Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The same as [`run`], without blocking the runtime: for commands issued while a load runs.
async fn run_async(command: std::process::Command) -> Result<(), String> {
    let mut command = tokio::process::Command::from(command);
    let output = command
        .output()
        .await
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Removes a scratch directory, saying so when it cannot (nothing else to do from a drop).
fn remove_dir(dir: &Path) {
    if let Err(error) = std::fs::remove_dir_all(dir)
        && dir.exists()
    {
        eprintln!("drill cleanup: could not remove {}: {error}", dir.display());
    }
}

/// The last `lines` lines of a log file, for a failure message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
