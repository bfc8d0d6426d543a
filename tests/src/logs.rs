//! Captures the in-process tiers' log lines, raw (without the redacting writer), so tests can
//! show that no secret is ever handed to the logger in the first place; and, on the same
//! subscriber, the spans of the traces a test marks.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::MakeWriter;

use crate::traces::KeptSpans;

/// Everything logged in this test process.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// The text logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the capturing subscriber once per test process and returns the capture.
pub fn capture() -> CapturedLogs {
    installed().logs.clone()
}

/// The spans of marked traces (see [`crate::traces`]), exported by the same subscriber.
pub fn spans() -> KeptSpans {
    installed().spans.clone()
}

struct Installed {
    logs: CapturedLogs,
    spans: KeptSpans,
    /// Kept so the exporter lives as long as the process.
    _provider: SdkTracerProvider,
}

/// One global subscriber for the test process: logs captured raw, and an OpenTelemetry layer
/// exporting (synchronously, as each span ends) to [`KeptSpans`].
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let logs = CapturedLogs::default();
        let spans = KeptSpans::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        common::telemetry::install(
            common::config::LogFormat::Json,
            logs.clone(),
            "info",
            Some(&provider),
        );
        Installed {
            logs,
            spans,
            _provider: provider,
        }
    })
}
