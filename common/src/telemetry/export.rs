//! Span export over OTLP (http/protobuf), on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Spans are batched on the SDK's own thread and posted with the workspace's reqwest (blocking
//! client, rustls): no second HTTP or TLS stack. A collector that is away costs dropped spans,
//! never a stalled request.

use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A tracer provider exporting to the collector at `endpoint` (the base URL, as the OTLP
/// specification defines `OTEL_EXPORTER_OTLP_ENDPOINT`: traces go to `{endpoint}/v1/traces`).
pub fn otlp_provider(
    endpoint: &str,
    service_name: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build())
}

/// The traces path under the collector's base URL.
fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_under_the_base_url() {
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
    }
}
