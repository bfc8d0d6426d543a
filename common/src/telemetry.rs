//! Logging: one `init` for both tiers, JSON in production, pretty for humans, `RUST_LOG` wins.
//!
//! Fields are skipped at the source (`#[instrument(skip_all)]`, no bodies or headers logged);
//! as a second line of defence every JSON line is scrubbed here: values under secret-sounding
//! keys and anything shaped like a JWT are replaced before the line leaves the process.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

const REDACTED: &str = "[redacted]";

/// Installs the global subscriber writing to stdout. Safe to call twice (the second is a no-op).
pub fn init(format: LogFormat) {
    init_with_writer(format, RedactingStdout, "info");
}

/// Installs the global subscriber writing through `writer` (tests capture logs this way);
/// `default_filter` applies when `RUST_LOG` is unset.
pub fn init_with_writer<W>(format: LogFormat, writer: W, default_filter: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
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
