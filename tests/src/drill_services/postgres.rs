//! A private PostgreSQL cluster: `initdb` into a scratch directory as the `postgres` OS user
//! (the server refuses to run as root), served on a free port, stopped and started with `pg_ctl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{remove_dir, run, run_async, scratch_dir, tail};

/// A PostgreSQL cluster of the drill's own; stopped and removed when dropped.
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl PrivatePostgres {
    /// Creates the cluster (trust authentication, user `postgres`) and starts it.
    pub fn start() -> Self {
        let bin = server_bin_dir();
        let dir = scratch_dir("postgres");
        let postgres = Self {
            port: super::free_port(),
            dir,
            bin,
        };
        let owner = run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(&postgres.dir));
        postgres.expect(owner, "giving its directory to the postgres user");
        let initdb = run(postgres
            .as_postgres(&postgres.bin.join("initdb"))
            .arg("-D")
            .arg(postgres.data())
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]));
        postgres.expect(initdb, "initdb");
        let started = run(&mut postgres.pg_ctl("start"));
        postgres.expect(started, "starting it");
        postgres
    }

    /// URL of `database` on it.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `pg_ctl stop -m fast`: open transactions are rolled back and connections cut.
    pub async fn stop(&self) {
        let stopped = run_async(self.pg_ctl("stop")).await;
        self.expect(stopped, "stopping it");
    }

    /// `pg_ctl start` on the same port and data.
    pub async fn start_again(&self) {
        let started = run_async(self.pg_ctl("start")).await;
        self.expect(started, "starting it again");
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// `pg_ctl ACTION` as the postgres user, waiting for it to take effect.
    fn pg_ctl(&self, action: &str) -> Command {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let mut command = self.as_postgres(&self.bin.join("pg_ctl"));
        command
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-o", &options, "-m", "fast", "-w", "-t", "60", action]);
        command
    }

    fn as_postgres(&self, program: &Path) -> Command {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    }

    fn expect(&self, result: Result<(), String>, what: &str) {
        if let Err(error) = result {
            panic!(
                "private PostgreSQL (port {}, {}): {what} failed: {error}\nlast lines of {}:\n{}",
                self.port,
                self.dir.display(),
                self.log().display(),
                tail(&self.log(), 20)
            );
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut stop = self.as_postgres(&self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "-t", "20", "stop"]);
        let _ = run(&mut stop);
        remove_dir(&self.dir);
    }
}

/// `/usr/lib/postgresql/<newest major>/bin`, where Debian installs the server's tools.
fn server_bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("no PostgreSQL server tools under {}: {e}", root.display()))
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    majors.sort();
    majors
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no initdb under {}/*/bin", root.display()))
}
