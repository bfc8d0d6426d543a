//! Logging and traces: one `init` for both tiers, JSON in production, pretty for humans,
//! `RUST_LOG` wins; spans exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Fields are skipped at the source (`#[instrument(skip_all)]`, no bodies or headers logged);
//! as a second line of defence every JSON line is scrubbed here: values under secret-sounding
//! keys and anything shaped like a JWT are replaced before the line leaves the process.

mod export;

use std::io::Write;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{Config, LogFormat};

pub use export::otlp_provider;

const REDACTED: &str = "[redacted]";

/// What `init` started; `shutdown` flushes the spans not yet exported.
#[must_use = "call shutdown at the end, or buffered spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter. It blocks (the SDK's batch
    /// thread is joined), so async callers run it on a blocking thread.
    pub fn shutdown(self) {
        if let Some(traces) = self.traces
            && let Err(error) = traces.shutdown()
        {
            eprintln!("flushing traces at shutdown: {error}");
        }
    }
}

/// Installs the global subscriber writing to stdout, and span export when configured. Safe to
/// call twice (the second is a no-op).
pub fn init(config: &Config, service_name: &'static str) -> Telemetry {
    let traces = config.otlp_endpoint.as_deref().and_then(|endpoint| {
        otlp_provider(endpoint, service_name)
            .inspect_err(|error| eprintln!("traces will not be exported: {error}"))
            .ok()
    });
    install(config.log_format, RedactingStdout, "info", traces.as_ref());
    Telemetry { traces }
}

/// Installs the global subscriber writing through `writer`, without span export;
/// `default_filter` applies when `RUST_LOG` is unset.
pub fn init_with_writer<W>(format: LogFormat, writer: W, default_filter: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(format, writer, default_filter, None);
}

/// Installs the global subscriber: logs through `writer`, and spans to `traces` when given
/// (the binaries' OTLP exporter, or a test's in-memory one). Without `traces` no OpenTelemetry
/// layer exists, so spans cost what they cost before.
pub fn install<W>(
    format: LogFormat,
    writer: W,
    default_filter: &str,
    traces: Option<&SdkTracerProvider>,
) where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let otel = traces.map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("clockify-api-studio"))
    });
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt.json().flatten_event(true).with_current_span(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt.pretty()).try_init(),
    };
}

/// Stdout, with every line scrubbed.
#[derive(Clone, Copy, Default)]
pub struct RedactingStdout;

impl<'a> MakeWriter<'a> for RedactingStdout {
    type Writer = LineScrubber<std::io::Stdout>;

    fn make_writer(&'a self) -> Self::Writer {
        LineScrubber(std::io::stdout())
    }
}

/// Scrubs each buffer it is given (the fmt layer writes one whole event per call).
pub struct LineScrubber<W>(pub W);

impl<W: Write> Write for LineScrubber<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub_line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Redacts secret-keyed values of a JSON line and any JWT-shaped text anywhere in it.
pub fn scrub_line(line: &str) -> String {
    let trimmed = line.trim_end_matches('\n');
    let scrubbed = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(mut value) => {
            scrub_value(&mut value);
            serde_json::to_string(&value).unwrap_or_else(|_| trimmed.to_owned())
        }
        Err(_) => trimmed.to_owned(),
    };
    let mut out = redact_jwts(&scrubbed);
    if line.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "signature",
        "authorization",
        "secret",
        "password",
        "cookie",
    ]
    .iter()
    .any(|word| key.contains(word))
        && !key.ends_with("_sha256")
}

fn scrub_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) {
                    *inner = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    scrub_value(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_value),
        _ => {}
    }
}

/// Replaces `eyJ…` base64url runs of the form header.payload[.signature] with a marker.
pub fn redact_jwts(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(candidate.len());
        let run = &candidate[..end];
        if run.split('.').filter(|p| !p.is_empty()).count() >= 2 {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        rest = &candidate[end..];
        if end == 0 {
            // Cannot happen ("eyJ" is three base64 characters), but never loop forever.
            out.push_str(&rest[..3.min(rest.len())]);
            rest = &rest[3.min(rest.len())..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_and_jwts_are_redacted() {
        let line = r#"{"message":"saw eyJhbGciOi.eyJzdWIiOi.c2ln here","authToken":"abc","fields":{"x_addon_token":"t","token_sha256":"keep"}}"#;
        let out = scrub_line(line);
        assert!(!out.contains("eyJhbGciOi"));
        assert!(!out.contains("\"abc\""));
        assert!(!out.contains("\"t\""));
        assert!(out.contains("keep"));
        assert!(out.contains("saw [redacted] here"));
    }

    #[test]
    fn plain_text_passes_unchanged() {
        assert_eq!(scrub_line("hello eyJ world\n"), "hello eyJ world\n");
    }
}
