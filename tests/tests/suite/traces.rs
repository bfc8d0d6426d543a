//! A webhook is one trace across the queue: the worker's span for the message is the child of
//! the ingress span that published it, and carries the request id.

use std::time::{Duration, Instant};

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;

use common::events::EventType;
use integration_tests::TestApp;
use integration_tests::logs::spans;
use integration_tests::traces::{KeptSpans, TRACED, attribute};
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_workers_span_for_a_webhook_is_the_child_of_the_ingress_span_that_published_it() {
    let spans = spans();
    let app = TestApp::spawn().await;
    let ws = app.install("ws-traces", &[EventType::NewProject]).await;
    let request_id = format!("{TRACED}{}", uuid::Uuid::new_v4().simple());
    let token = ws.token_for(EventType::NewProject);

    let response = app
        .http
        .post(app.url(&EventType::NewProject.path()))
        .header("Clockify-Signature", token)
        .header(
            "Clockify-Webhook-Event-Type",
            EventType::NewProject.as_str(),
        )
        .header("X-Request-ID", &request_id)
        .json(&payloads::project("ws-traces", "p-traced", "Traced"))
        .send()
        .await
        .expect("ingress answers");
    assert_eq!(response.status(), 200);
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-traces' and entity_id = 'p-traced'",
        1,
        WAIT,
    )
    .await;

    let ingress = wait_for_span(&spans, "webhook", &request_id).await;
    // The publish runs in the handler's `enqueue_event` span (broker or outbox), whose context is
    // what crosses the queue.
    let publish = wait_for_span(&spans, "enqueue_event", &request_id).await;
    let worker = wait_for_span(&spans, "event", &request_id).await;
    assert_ne!(ingress.span_context.span_id(), SpanId::INVALID);
    assert_eq!(
        publish.parent_span_id,
        ingress.span_context.span_id(),
        "the publish is part of the handler's span"
    );
    assert_eq!(
        worker.span_context.trace_id(),
        ingress.span_context.trace_id(),
        "one trace from the HTTP request to the commit"
    );
    assert_eq!(
        worker.parent_span_id,
        publish.span_context.span_id(),
        "the worker's message span is the child of the ingress span that published it"
    );
    assert!(
        worker.parent_span_is_remote,
        "the parent came across the queue"
    );
    assert_eq!(attribute(&worker, "request_id"), Some(request_id.as_str()));
    assert_eq!(attribute(&worker, "workspace_id"), Some("ws-traces"));
    assert_eq!(attribute(&worker, "outcome"), Some("applied"));

    // The batch that carried it links to the ingress span that published it.
    let batches = wait_for_links(&spans, &publish).await;
    assert!(batches.iter().all(|batch| batch.name == "events.batch"));

    // Spans hold closed-set fields only: no token anywhere in the trace.
    for span in spans.of_trace(ingress.span_context.trace_id()) {
        for kv in &span.attributes {
            let value = kv.value.as_str();
            for secret in ws.secrets() {
                assert!(
                    !value.contains(&secret),
                    "span {} attribute {} holds a token",
                    span.name,
                    kv.key
                );
            }
        }
    }
    app.stop().await;
}

async fn wait_for_span(spans: &KeptSpans, name: &str, request_id: &str) -> SpanData {
    let started = Instant::now();
    loop {
        if let Some(span) = spans.find(name, request_id) {
            return span;
        }
        assert!(
            started.elapsed() < WAIT,
            "no {name} span with request id {request_id} ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_links(spans: &KeptSpans, ingress: &SpanData) -> Vec<SpanData> {
    let started = Instant::now();
    loop {
        let linked: Vec<SpanData> = spans
            .linked_to(ingress.span_context.trace_id())
            .into_iter()
            .filter(|span| {
                span.links
                    .links
                    .iter()
                    .any(|link| link.span_context.span_id() == ingress.span_context.span_id())
            })
            .collect();
        if !linked.is_empty() {
            return linked;
        }
        assert!(started.elapsed() < WAIT, "no batch span links to ingress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
