//! A private `redis-server` on a free port: killed and started again on the same port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::answers;

/// A Redis of the drill's own; killed when dropped.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> Self {
        let mut redis = Self {
            port: super::free_port(),
            child: None,
        };
        redis.start_again();
        redis
    }

    /// `redis://` URL of its database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: every key is gone (it keeps nothing on disk).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on its port, empty, and waits until it answers.
    pub fn start_again(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("the private Redis did not start: redis-server: {e}"));
        self.child = Some(child);
        let started = Instant::now();
        while !answers(self.port) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "the private Redis on port {} exited at start ({status})",
                    self.port
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the private Redis did not answer on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
