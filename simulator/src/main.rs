//! The simulator binary: plays Clockify (`demo`, `serve`, `load`) against this add-on.

use simulator::bootstrap_bench::BootstrapBenchOptions;
use simulator::demo::DemoOptions;
use simulator::serve::ServeOptions;

const HELP: &str = "simulator: plays Clockify against this add-on

USAGE:
  simulator demo  [--exit] [--port PORT] [--webhooks N] [--entities N]
  simulator load  [--url URL] [--start-system] [--workers N] [--rate R | --max] [--concurrency C]
                  [--workspaces W] [--duration S] [--raw-limits] [--database-url URL]
  simulator serve [--bind ADDR] [--workspaces N] [--entities N] [--rate-limit N] [--latency-ms N]
                  [--fail-rate F] [--drop-rate F] [--addon-key KEY] [--key PRIVATE.pem PUBLIC.pem]
                  [--public-key-out FILE]
  simulator bootstrap-bench [--entities N] [--page-size N] [--port PORT] [--reconcile]

  demo   start ingress and two workers on the local RabbitMQ, PostgreSQL and Redis, and a
         stand-in Clockify API; install two workspaces (each bootstraps from the stand-in),
         deliver webhooks, make API Studio calls, change settings and status, uninstall one,
         and report what landed. Stays up until Ctrl-C unless --exit.
         --port PORT     ingress port (default 8080; workers use PORT+1010 and PORT+1011)
         --webhooks N    webhooks per workspace (default 150)
         --entities N    entities in each stand-in workspace (default 2000)
  serve  run the stand-in Clockify API alone: workspaces ws-1..ws-N of generated data, page /
         page-size pagination, 50 requests/s per workspace (429 + Retry-After above it),
         optional latency, 503s and dropped connections; signs with a generated key (or
         --key files) and writes the public key to --public-key-out
         (default ./simulator-public-key.pem). Defaults: --bind 127.0.0.1:8090 --workspaces 2
         --entities 2000 --rate-limit 50 --addon-key clockify-api-studio.
  load   send signed webhooks for S seconds (--max or --rate R, C in flight, over W workspaces)
         and report accepted/s, latency, errors, the time until everything is in the database,
         end-to-end latency and peak memory; --start-system runs ingress and N workers itself,
         --raw-limits measures the broker and database alone first. `simulator load --help`
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        match args.first().map(String::as_str) {
            Some("load") => print!("{}", simulator::load::HELP),
            _ => print!("{HELP}"),
        }
        return Ok(());
    }
    // The report is the output; logs only when something goes wrong (RUST_LOG overrides).
    common::telemetry::init_with_writer(
        common::config::LogFormat::Pretty,
        std::io::stderr,
        "warn,sqlx=error",
    );
    match args.first().map(String::as_str) {
        Some("demo") => simulator::demo::run_demo(demo_options(rest)?).await,
        Some("serve") => simulator::serve::run_serve(serve_options(rest)?).await,
        Some("bootstrap-bench") => {
            let mut options = BootstrapBenchOptions {
                entities: 20_000,
                page_size: 200,
                port: 18080,
                reconcile: false,
            };
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--entities" => options.entities = parse(rest.next(), "--entities")?,
                    "--page-size" => options.page_size = parse(rest.next(), "--page-size")?,
                    "--port" => options.port = parse(rest.next(), "--port")?,
                    "--reconcile" => options.reconcile = true,
                    other => anyhow::bail!("unknown option {other}\n\n{HELP}"),
                }
            }
            simulator::bootstrap_bench::run_bootstrap_bench(options).await
        }
        Some("load") => match simulator::load::parse_args(rest)? {
            simulator::load::Parsed::Run(options) => simulator::load::run_load(options).await,
            simulator::load::Parsed::Help => {
                print!("{}", simulator::load::HELP);
                Ok(())
            }
        },
        _ => {
            print!("{HELP}");
            Ok(())
        }
    }
}

fn demo_options(args: &[String]) -> anyhow::Result<DemoOptions> {
    let mut options = DemoOptions {
        port: 8080,
        webhooks_per_workspace: 150,
        entities_per_workspace: 2000,
        exit: false,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--exit" => options.exit = true,
            "--port" => options.port = parse(rest.next(), "--port")?,
            "--webhooks" => options.webhooks_per_workspace = parse(rest.next(), "--webhooks")?,
            "--entities" => options.entities_per_workspace = parse(rest.next(), "--entities")?,
            other => anyhow::bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    Ok(options)
}

fn serve_options(args: &[String]) -> anyhow::Result<ServeOptions> {
    let mut options = ServeOptions {
        bind: "127.0.0.1:8090".parse()?,
        workspaces: 2,
        entities: 2000,
        rate_limit: 50,
        latency_ms: 0,
        failure_rate: 0.0,
        drop_rate: 0.0,
        addon_key: "clockify-api-studio".to_owned(),
        key_files: None,
        public_key_out: "simulator-public-key.pem".to_owned(),
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--bind" => options.bind = parse(rest.next(), "--bind")?,
            "--workspaces" => options.workspaces = parse(rest.next(), "--workspaces")?,
            "--entities" => options.entities = parse(rest.next(), "--entities")?,
            "--rate-limit" => options.rate_limit = parse(rest.next(), "--rate-limit")?,
            "--latency-ms" => options.latency_ms = parse(rest.next(), "--latency-ms")?,
            "--fail-rate" => options.failure_rate = parse(rest.next(), "--fail-rate")?,
            "--drop-rate" => options.drop_rate = parse(rest.next(), "--drop-rate")?,
            "--addon-key" => options.addon_key = parse(rest.next(), "--addon-key")?,
            "--public-key-out" => options.public_key_out = parse(rest.next(), "--public-key-out")?,
            "--key" => {
                let private: String = parse(rest.next(), "--key")?;
                let public: String = parse(rest.next(), "--key")?;
                options.key_files = Some((private, public));
            }
            other => anyhow::bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    Ok(options)
}

fn parse<T: std::str::FromStr>(value: Option<&String>, name: &str) -> anyhow::Result<T> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))
}
