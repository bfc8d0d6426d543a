//! W3C trace context (`traceparent`, `tracestate`) in AMQP message headers, so a message's
//! processing span in the workers is the child of the span that published it.
//!
//! When no OpenTelemetry layer is installed the current span has no trace context: nothing is
//! injected and extraction yields an empty context, so this costs nothing with export off.

use lapin::types::{AMQPValue, FieldTable, LongString};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the current span's trace context into `headers`.
pub fn inject_current(headers: &mut FieldTable) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// The `traceparent` held in `headers`, if any (to carry one event's context inside a batch).
pub fn traceparent_of(headers: &FieldTable) -> Option<String> {
    HeaderExtractor(headers)
        .get("traceparent")
        .map(str::to_owned)
}

/// Headers holding `traceparent` alone (an event of a batch, read back as if it had its own).
pub fn headers_with(traceparent: Option<&str>) -> FieldTable {
    let mut headers = FieldTable::default();
    if let Some(traceparent) = traceparent {
        headers.insert(
            "traceparent".into(),
            AMQPValue::LongString(LongString::from(traceparent)),
        );
    }
    headers
}

/// Reads the publisher's trace context from a delivery's headers (empty when there is none).
pub fn extract(headers: Option<&FieldTable>) -> opentelemetry::Context {
    match headers {
        Some(headers) => TraceContextPropagator::new().extract(&HeaderExtractor(headers)),
        None => opentelemetry::Context::new(),
    }
}

/// Makes `span` the child of the context its message carried. A message without one (or a
/// process without the OpenTelemetry layer) leaves the span where it was.
pub fn adopt_parent(span: &tracing::Span, headers: Option<&FieldTable>) {
    let parent = extract(headers);
    if opentelemetry::trace::TraceContextExt::has_active_span(&parent) {
        // Fails only when the layer is absent or the span already started: nothing to do then.
        let _ = span.set_parent(parent);
    }
}

/// Links `span` (a batch's) to the context each of its messages carried.
pub fn link_to(span: &tracing::Span, headers: Option<&FieldTable>) {
    let context = extract(headers);
    let span_context = opentelemetry::trace::TraceContextExt::span(&context)
        .span_context()
        .clone();
    span.add_link(span_context);
}

struct HeaderInjector<'a>(&'a mut FieldTable);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .insert(key.into(), AMQPValue::LongString(LongString::from(value)));
    }
}

struct HeaderExtractor<'a>(&'a FieldTable);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self
            .0
            .inner()
            .iter()
            .find(|(name, _)| name.as_str() == key)?
        {
            (_, AMQPValue::LongString(value)) => std::str::from_utf8(value.as_bytes()).ok(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_header_is_read_back_as_the_remote_parent() {
        let mut headers = FieldTable::default();
        headers.insert(
            "traceparent".into(),
            AMQPValue::LongString(LongString::from(PARENT)),
        );
        let context = extract(Some(&headers));
        let span = opentelemetry::trace::TraceContextExt::span(&context);
        let parent = span.span_context();
        assert!(parent.is_remote());
        assert_eq!(
            parent.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.span_id().to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn without_a_layer_nothing_is_injected() {
        let mut headers = FieldTable::default();
        inject_current(&mut headers);
        assert!(headers.inner().is_empty());
    }

    #[test]
    fn a_malformed_traceparent_gives_no_parent() {
        let mut headers = FieldTable::default();
        headers.insert(
            "traceparent".into(),
            AMQPValue::LongString(LongString::from("00-not-a-trace-01")),
        );
        let context = extract(Some(&headers));
        assert!(!opentelemetry::trace::TraceContextExt::has_active_span(
            &context
        ));
    }
}
