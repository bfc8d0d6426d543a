//! Spans of the in-process tiers, for tests about traces: an OpenTelemetry exporter that keeps
//! spans in memory, installed on the same global subscriber that captures logs (see `logs`).
//!
//! Only the traces a test marks are kept (a request id starting with [`TRACED`], and the batch
//! spans linked to them), so the rest of the suite runs with the layer on at no memory cost.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The request id prefix that marks a trace to keep.
pub const TRACED: &str = "traced-";

/// The spans of marked traces, in the order they ended.
#[derive(Clone, Debug, Default)]
pub struct KeptSpans(Arc<Mutex<Kept>>);

#[derive(Debug, Default)]
struct Kept {
    spans: Vec<SpanData>,
    traces: HashSet<TraceId>,
}

impl KeptSpans {
    /// The ended span called `name` whose `request_id` field is `request_id`.
    pub fn find(&self, name: &str, request_id: &str) -> Option<SpanData> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.spans
            .iter()
            .find(|span| span.name == name && attribute(span, "request_id") == Some(request_id))
            .cloned()
    }

    /// Every kept span of the trace `trace_id`.
    pub fn of_trace(&self, trace_id: TraceId) -> Vec<SpanData> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.spans
            .iter()
            .filter(|span| span.span_context.trace_id() == trace_id)
            .cloned()
            .collect()
    }

    /// Every kept span linked to a span of the trace `trace_id` (batches).
    pub fn linked_to(&self, trace_id: TraceId) -> Vec<SpanData> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.spans
            .iter()
            .filter(|span| {
                span.links
                    .links
                    .iter()
                    .any(|link| link.span_context.trace_id() == trace_id)
            })
            .cloned()
            .collect()
    }
}

/// A span's string attribute `key`.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .and_then(|kv| match &kv.value {
            opentelemetry::Value::String(value) => Some(value.as_str()),
            _ => None,
        })
}

impl SpanExporter for KeptSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for span in batch {
            let marked = attribute(&span, "request_id").is_some_and(|id| id.starts_with(TRACED));
            let linked = span
                .links
                .links
                .iter()
                .any(|link| kept.traces.contains(&link.span_context.trace_id()));
            if marked {
                kept.traces.insert(span.span_context.trace_id());
            }
            if marked || linked {
                kept.spans.push(span);
            }
        }
        Ok(())
    }
}
