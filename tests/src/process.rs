//! Real tier processes (workers, ingress), for the tests that need several of them or need to
//! kill one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::env::TestEnv;

/// A `workers` process.
pub type WorkerProcess = TierProcess;

/// A tier's process (`workers` or `ingress`); killed when dropped.
pub struct TierProcess {
    pub child: Child,
    pub log_path: PathBuf,
}

impl TierProcess {
    /// Starts the workers binary with the test's environment; its stdout (JSON logs) goes to a file.
    pub fn spawn(env: &TestEnv, name: &str) -> Self {
        Self::spawn_with(env, name, &[])
    }

    /// Starts the workers binary with `overrides` on top of the test's environment.
    pub fn spawn_with(env: &TestEnv, name: &str, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_binary("workers", env, name, overrides)
    }

    /// Starts `binary` (a sibling of the workers binary: `ingress`, `workers`) with `overrides`
    /// on top of the test's environment.
    pub fn spawn_binary(
        binary: &str,
        env: &TestEnv,
        name: &str,
        overrides: &[(&str, &str)],
    ) -> Self {
        let binary = workers_binary().with_file_name(binary);
        let log_path = std::env::temp_dir().join(format!("studio-{}-{name}.log", env.id));
        let log = std::fs::File::create(&log_path).expect("creating the worker log file");
        let child = Command::new(&binary)
            .envs(env.vars())
            .envs(overrides.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log))
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        Self { child, log_path }
    }

    /// SIGKILL: no shutdown, no acks, nothing flushed.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("waiting for the worker")
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The `/metrics` text of the process's ops listener (the address its "listening" line
    /// names); empty until it listens or while it does not answer.
    pub async fn metrics(&self) -> String {
        let logs = self.logs();
        let Some(address) = logs
            .lines()
            .filter(|line| line.contains(" listening\""))
            .find_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).ok()?;
                value["address"].as_str().map(str::to_owned)
            })
        else {
            return String::new();
        };
        match reqwest::get(format!("http://{address}/metrics")).await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

impl Drop for TierProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/workers`, next to this test binary's `deps/` folder.
pub fn workers_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps layout");
    let binary = profile_dir.join("workers");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --workspace --bins` before the tests (the README's test command does)",
        binary.display()
    );
    binary
}
