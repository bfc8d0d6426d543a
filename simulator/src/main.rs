//! The simulator binary: `simulator demo` plays Clockify against a locally started system.

const HELP: &str = "simulator: plays Clockify against this add-on

USAGE:
  simulator demo [--exit] [--port PORT] [--webhooks N]

  demo   start ingress and workers on the local RabbitMQ, PostgreSQL and Redis, install two
         workspaces, deliver webhooks, change settings and status, uninstall one, and report
         what landed in the database. Stays up until Ctrl-C unless --exit.
         --port PORT     ingress port (default 8080; workers use PORT+1010 and PORT+1011)
         --webhooks N    webhooks per workspace (default 150)
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => {
            let mut options = simulator::demo::DemoOptions {
                port: 8080,
                webhooks_per_workspace: 150,
                exit: false,
            };
            let mut rest = args[1..].iter();
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--exit" => options.exit = true,
                    "--port" => options.port = parse(rest.next(), "--port")?,
                    "--webhooks" => {
                        options.webhooks_per_workspace = parse(rest.next(), "--webhooks")?
                    }
                    "--help" | "-h" => {
                        print!("{HELP}");
                        return Ok(());
                    }
                    other => anyhow::bail!("unknown option {other}\n\n{HELP}"),
                }
            }
            // The report is the output; logs only when something goes wrong (RUST_LOG overrides).
            common::telemetry::init_with_writer(
                common::config::LogFormat::Pretty,
                std::io::stderr,
                "warn",
            );
            simulator::demo::run_demo(options).await
        }
        _ => {
            print!("{HELP}");
            Ok(())
        }
    }
}

fn parse<T: std::str::FromStr>(value: Option<&String>, name: &str) -> anyhow::Result<T> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{name} needs a number"))
}
