//! The `load` subcommand's command line: what to drive, how hard and for how long.

use std::time::Duration;

/// `simulator load --help`.
pub const HELP: &str = "simulator load: drives signed webhooks through ingress and workers and reports throughput

USAGE:
  simulator load [--url URL] [--start-system] [--workers N] [--rate R | --max] [--concurrency C]
                 [--workspaces W] [--duration S] [--backlog] [--raw-limits] [--database-url URL]
                 [--queue-prefix P]

  --url URL           ingress to drive (default http://127.0.0.1:8080)
  --start-system      start `ingress` and N `workers` from the release binaries next to this one,
                      on a fresh database (studio_load) and queue prefix `load`; stop them at the end
  --workers N         worker processes with --start-system (default 2)
  --max               send as fast as answers come back, C in flight (the default)
  --rate R            open loop: launch a webhook every 1/R s whatever the answers, at most C in flight
  --concurrency C     webhooks in flight (default 64)
  --workspaces W      workspaces installed and spread over (default 4)
  --duration S        seconds of sending (default 20)
  --backlog           with --start-system: stop the workers after the installs, send, then start
                      them on the full queues and report how fast they drain it (ingress idle)
  --raw-limits        first measure the broker alone (confirmed persistent publishes, one message
                      per event as before group commit, C in flight) and the database alone (the
                      workers' multi-row writes, 8 writers), and report every figure against them
  --database-url URL  the database the system writes to
                      (default postgres://postgres@127.0.0.1:5432/studio_load)
  --queue-prefix P    queue prefix of the started system (default load; the raw broker test then
                      uses raw, otherwise P-raw), so runs on a shared broker do not meet

The report gives the events per message ingress published and per worker batch (mean, p99),
each phase's CPU microseconds per event, process by process, and for the database phases the
KB of WAL written per event and the checkpoints completed meanwhile.
";

/// How webhooks are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as answers come back, `concurrency` in flight.
    Max,
    /// Open loop: one launch every `1 / rate` seconds, at most `concurrency` in flight.
    Rate(f64),
}

/// What `simulator load` was asked to do.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub url: String,
    pub start_system: bool,
    pub workers: usize,
    pub pace: Pace,
    pub concurrency: usize,
    pub workspaces: usize,
    pub duration: Duration,
    pub backlog: bool,
    pub raw_limits: bool,
    pub database_url: String,
    /// Queue prefix of the started system (its raw broker queues take `<prefix>-raw`).
    pub queue_prefix: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8080".to_owned(),
            start_system: false,
            workers: 2,
            pace: Pace::Max,
            concurrency: 64,
            workspaces: 4,
            duration: Duration::from_secs(20),
            backlog: false,
            raw_limits: false,
            database_url: "postgres://postgres@127.0.0.1:5432/studio_load".to_owned(),
            queue_prefix: "load".to_owned(),
        }
    }
}

/// The outcome of reading the arguments: options to run, or the help text was asked for.
pub enum Parsed {
    Run(LoadOptions),
    Help,
}

/// Reads the arguments after `load`.
pub fn parse_args(args: &[String]) -> anyhow::Result<Parsed> {
    let mut options = LoadOptions::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value\n\n{HELP}"))
        };
        match arg.as_str() {
            "--url" => options.url = value("--url")?.trim_end_matches('/').to_owned(),
            "--start-system" => options.start_system = true,
            "--workers" => options.workers = number(&value("--workers")?, "--workers")?,
            "--max" => options.pace = Pace::Max,
            "--rate" => options.pace = Pace::Rate(number(&value("--rate")?, "--rate")?),
            "--concurrency" => {
                options.concurrency = number(&value("--concurrency")?, "--concurrency")?
            }
            "--workspaces" => options.workspaces = number(&value("--workspaces")?, "--workspaces")?,
            "--duration" => {
                let seconds: f64 = number(&value("--duration")?, "--duration")?;
                options.duration = Duration::from_secs_f64(seconds);
            }
            "--backlog" => options.backlog = true,
            "--raw-limits" => options.raw_limits = true,
            "--database-url" => options.database_url = value("--database-url")?,
            "--queue-prefix" => options.queue_prefix = value("--queue-prefix")?,
            "--help" | "-h" => return Ok(Parsed::Help),
            other => anyhow::bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    anyhow::ensure!(options.workers >= 1, "--workers must be at least 1");
    anyhow::ensure!(options.concurrency >= 1, "--concurrency must be at least 1");
    anyhow::ensure!(options.workspaces >= 1, "--workspaces must be at least 1");
    anyhow::ensure!(
        options.duration > Duration::ZERO,
        "--duration must be positive"
    );
    anyhow::ensure!(
        !options.backlog || options.start_system,
        "--backlog needs --start-system (it stops and starts the workers)"
    );
    if let Pace::Rate(rate) = options.pace {
        anyhow::ensure!(rate > 0.0, "--rate must be positive");
    }
    Ok(Parsed::Run(options))
}

fn number<T: std::str::FromStr>(value: &str, name: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("{name} needs a number, got {value:?}"))
}

/// One line saying how the load is driven, for the report.
pub(crate) fn describe(options: &LoadOptions) -> String {
    let pace = match options.pace {
        Pace::Max => "--max".to_owned(),
        Pace::Rate(rate) => format!("--rate {rate}"),
    };
    format!(
        "{pace}, concurrency {}, {} workspaces, {:.0} s{}",
        options.concurrency,
        options.workspaces,
        options.duration.as_secs_f64(),
        if options.start_system {
            format!(", {} worker processes", options.workers)
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rate_and_sizes_are_read() {
        let Ok(Parsed::Run(options)) = parse_args(&args(&[
            "--rate",
            "1000",
            "--concurrency",
            "32",
            "--workers",
            "4",
            "--duration",
            "5",
        ])) else {
            panic!("expected options");
        };
        assert_eq!(options.pace, Pace::Rate(1000.0));
        assert_eq!(options.concurrency, 32);
        assert_eq!(options.workers, 4);
        assert_eq!(options.duration, Duration::from_secs(5));
    }

    #[test]
    fn unknown_option_and_zero_rate_are_refused() {
        assert!(parse_args(&args(&["--fast"])).is_err());
        assert!(parse_args(&args(&["--rate", "0"])).is_err());
    }
}
