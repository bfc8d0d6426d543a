//! A private RabbitMQ node: its own node name, AMQP and distribution ports, data, logs, config
//! and Erlang cookie (its `HOME`), all in a scratch directory. The shared node's
//! `/etc/rabbitmq/rabbitmq-env.conf` and `rabbitmq.conf` are not read: they name the shared node
//! and its port.

use std::path::PathBuf;
use std::process::Command;

use super::{remove_dir, run, run_async, scratch_dir, tail};

const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const CTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";

/// A RabbitMQ node of the drill's own; stopped and removed when dropped.
pub struct PrivateRabbitMq {
    pub port: u16,
    dist_port: u16,
    node: String,
    dir: PathBuf,
}

impl PrivateRabbitMq {
    /// Starts the node (`rabbitmq-server -detached`) and waits until it takes connections.
    pub fn start() -> Self {
        let dir = scratch_dir("rabbitmq");
        let rabbit = Self {
            port: super::free_port(),
            dist_port: super::free_port(),
            node: format!(
                "drill-{}-{}@localhost",
                std::process::id(),
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.rsplit('-').next())
                    .unwrap_or("node")
            ),
            dir,
        };
        let files = [
            ("rabbitmq-env.conf", String::new()),
            ("enabled_plugins", String::new()),
            (
                "rabbitmq.conf",
                format!("listeners.tcp.local = 127.0.0.1:{}\n", rabbit.port),
            ),
        ];
        for (name, content) in files {
            std::fs::write(rabbit.dir.join(name), content)
                .unwrap_or_else(|e| panic!("writing the private node's {name}: {e}"));
        }
        let mut server = rabbit.command(SERVER);
        server.arg("-detached");
        let started = run(&mut server);
        rabbit.expect(started, "rabbitmq-server -detached");
        // `wait` follows the pid file until the broker's applications run.
        let mut wait = rabbit.ctl(&["wait"]);
        wait.arg(rabbit.dir.join("pid")).args(["--timeout", "90"]);
        let ready = run(&mut wait);
        rabbit.expect(ready, "waiting for it to start");
        rabbit
    }

    /// The AMQP URL of its default vhost.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// `rabbitmqctl stop_app`: the broker closes every connection and stops listening; the
    /// Erlang node stays up.
    pub async fn stop_app(&self) {
        let stopped = run_async(self.ctl(&["stop_app"])).await;
        self.expect(stopped, "stop_app");
    }

    /// `rabbitmqctl start_app`, waiting until it listens again.
    pub async fn start_app(&self) {
        let started = run_async(self.ctl(&["start_app"])).await;
        self.expect(started, "start_app");
        let ready = run_async(self.ctl(&["await_startup"])).await;
        self.expect(ready, "await_startup after start_app");
    }

    /// What the node says about its queues and consumers (`rabbitmqctl list_queues` and
    /// `list_consumers`), for a drill's failure message: a queue holding ready messages with no
    /// active consumer tells a stuck subscription from a lost event.
    pub async fn queue_report(&self) -> String {
        let mut report = String::new();
        let queries: [&[&str]; 2] = [
            &[
                "list_queues",
                "name",
                "type",
                "messages_ready",
                "messages_unacknowledged",
                "consumers",
            ],
            &[
                "list_consumers",
                "queue_name",
                "channel_pid",
                "consumer_tag",
                "active",
            ],
        ];
        for args in queries {
            let mut command = tokio::process::Command::from(self.ctl(args));
            match command.output().await {
                Ok(output) => {
                    report.push_str(&String::from_utf8_lossy(&output.stdout));
                    report.push_str(&String::from_utf8_lossy(&output.stderr));
                }
                Err(error) => report.push_str(&format!("could not run rabbitmqctl: {error}\n")),
            }
        }
        report
    }

    fn log(&self) -> PathBuf {
        self.dir.join("log").join(format!("{}.log", self.node))
    }

    /// A RabbitMQ script with the node's environment (run as root, with its own `HOME` and so
    /// its own cookie: the shared node's is left alone).
    fn command(&self, program: &str) -> Command {
        let dir = |name: &str| self.dir.join(name);
        let mut command = Command::new(program);
        command
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("RABBITMQ_CONF_ENV_FILE", dir("rabbitmq-env.conf"))
            .env("RABBITMQ_CONFIG_FILE", dir("rabbitmq"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir("enabled_plugins"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir("log"))
            .env("RABBITMQ_PID_FILE", dir("pid"))
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_FLAGS", "-kernel inet_dist_use_interface {127,0,0,1}");
        command
    }

    fn ctl(&self, args: &[&str]) -> Command {
        let mut command = self.command(CTL);
        command.args(["-n", &self.node]).args(args);
        command
    }

    fn expect(&self, result: Result<(), String>, what: &str) {
        if let Err(error) = result {
            panic!(
                "private RabbitMQ node {} (AMQP port {}): {what} failed: {error}\nlast lines of {}:\n{}",
                self.node,
                self.port,
                self.log().display(),
                tail(&self.log(), 20)
            );
        }
    }

    fn os_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for PrivateRabbitMq {
    fn drop(&mut self) {
        let pid = self.os_pid();
        let mut stop = self.ctl(&["stop"]);
        stop.arg(self.dir.join("pid"));
        if run(&mut stop).is_err()
            && let Some(pid) = pid
        {
            // The node did not stop when asked: end it.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        remove_dir(&self.dir);
    }
}
