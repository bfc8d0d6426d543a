//! Ingress against clients that try to wear it down over the socket: slow headers, bodies that
//! never come, idle connections, floods of concurrent requests; and a shutdown that still lets
//! the requests in flight finish.

use std::time::{Duration, Instant};

use common::events::EventType;
use integration_tests::{TestApp, TestEnv};
use serde_json::Value;
use simulator::payloads;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timeouts, so the tests wait seconds, not minutes.
const SHORT_TIMEOUTS: [(&str, &str); 3] = [
    ("INGRESS_HEADER_TIMEOUT_SECS", "1"),
    ("INGRESS_BODY_TIMEOUT_SECS", "1"),
    ("INGRESS_IDLE_TIMEOUT_SECS", "3"),
];

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address).await.expect("connect")
}

/// Reads until the peer closes (EOF or reset) and says how long that took; fails after `limit`.
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buffer),
        )
        .await
        {
            Err(_) => panic!("the connection was still open after {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// A raw answer: status, head (lower-cased), body.
struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

/// Reads one HTTP/1.1 response with a `Content-Length` body.
async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "closed before an answer");
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("status code");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().expect("length"))
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        let read = stream.read(&mut buffer).await.expect("read body");
        assert!(read > 0, "closed mid-body");
        bytes.extend_from_slice(&buffer[..read]);
    }
    RawResponse {
        status,
        head,
        body: String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned(),
    }
}

/// The head of a validly signed NEW_PROJECT delivery announcing `length` body bytes.
fn signed_webhook_head(app: &TestApp, workspace_id: &str, length: usize) -> String {
    let token = app
        .env
        .signer
        .webhook_token(workspace_id, "addon-hostile", "NEW_PROJECT");
    format!(
        "POST {} HTTP/1.1\r\nHost: ingress\r\nContent-Type: application/json\r\nClockify-Signature: {token}\r\nClockify-Webhook-Event-Type: NEW_PROJECT\r\nContent-Length: {length}\r\n\r\n",
        EventType::NewProject.path()
    )
}

/// The value of one exact series in a metrics text (0 when absent).
pub(crate) fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_client_that_stops_mid_headers_is_disconnected_within_the_header_timeout() {
    let app = TestApp::spawn_with(TestEnv::new(), false, &SHORT_TIMEOUTS).await;

    // Half a request line and headers, then nothing: the slowloris move.
    let mut slow = connect(&app).await;
    slow.write_all(b"POST /webhooks/new-project HTTP/1.1\r\nHost: ingress\r\nContent-Ty")
        .await
        .expect("write");
    // And a connection that sends nothing at all.
    let mut silent = connect(&app).await;

    let slow_lasted = time_until_closed(&mut slow, Duration::from_secs(10)).await;
    let silent_lasted = time_until_closed(&mut silent, Duration::from_secs(10)).await;

    // Closed by the 1 s header timeout, not before it and not by the 3 s idle timeout.
    assert!(slow_lasted >= Duration::from_millis(900), "{slow_lasted:?}");
    assert!(
        slow_lasted < Duration::from_millis(2_900),
        "{slow_lasted:?}"
    );
    assert!(
        silent_lasted < Duration::from_millis(2_900),
        "{silent_lasted:?}"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            r#"studio_http_connection_timeouts_total{phase="header"}"#
        ),
        2.0,
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_signed_request_whose_body_never_comes_gets_408_within_the_body_timeout() {
    let overrides = [
        ("INGRESS_HEADER_TIMEOUT_SECS", "5"),
        ("INGRESS_BODY_TIMEOUT_SECS", "1"),
        ("INGRESS_IDLE_TIMEOUT_SECS", "5"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), false, &overrides).await;

    let mut stream = connect(&app).await;
    stream
        .write_all(signed_webhook_head(&app, "ws-trickle", 200).as_bytes())
        .await
        .expect("write");
    // Two bytes of the promised 200, then silence.
    stream.write_all(b"{\"").await.expect("write");
    let started = Instant::now();
    let response = read_response(&mut stream).await;
    let waited = started.elapsed();

    assert_eq!(response.status, 408, "{}", response.body);
    let body: Value = serde_json::from_str(&response.body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(
        response.head.contains("connection: close"),
        "{}",
        response.head
    );
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    time_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(app.queued_events().await, 0);
    assert_eq!(
        sample(&app.metrics().await, "studio_http_body_timeouts_total"),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let app = TestApp::spawn_with(TestEnv::new(), false, &SHORT_TIMEOUTS).await;

    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: ingress\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_response(&mut stream).await.status, 200);
    let lasted = time_until_closed(&mut stream, Duration::from_secs(10)).await;

    // Kept alive past the 1 s header timeout, closed by the 3 s idle timeout.
    assert!(lasted >= Duration::from_millis(2_700), "{lasted:?}");
    assert!(lasted < Duration::from_secs(6), "{lasted:?}");
    assert_eq!(
        sample(
            &app.metrics().await,
            r#"studio_http_connection_timeouts_total{phase="idle"}"#
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn requests_over_the_concurrency_bound_are_shed_at_once_with_503_and_retry_after() {
    let overrides = [
        ("INGRESS_MAX_CONCURRENT_REQUESTS", "2"),
        ("INGRESS_BODY_TIMEOUT_SECS", "60"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), false, &overrides).await;

    // Two signed deliveries whose bodies never come hold both permits.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream
            .write_all(signed_webhook_head(&app, "ws-flood", 100).as_bytes())
            .await
            .expect("write");
        held.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while sample(&app.metrics().await, "studio_http_requests_in_flight") < 2.0 {
        assert!(Instant::now() < deadline, "the held requests never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let shed = app
        .http
        .get(app.url("/manifest"))
        .send()
        .await
        .expect("answer");
    assert_eq!(shed.status(), 503);
    assert!(shed.headers().contains_key("retry-after"));
    let body: Value = shed.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], "overloaded");
    // Probes and scrapes still get through.
    let health = app
        .http
        .get(app.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let metrics = app.metrics().await;
    assert_eq!(sample(&metrics, "studio_http_requests_shed_total"), 1.0);

    // Once the held clients go away, their permits come back.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sample(&app.metrics().await, "studio_http_requests_in_flight") > 0.0 {
        assert!(Instant::now() < deadline, "the permits never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let manifest = app.http.get(app.url("/manifest")).send().await.expect("ok");
    assert_eq!(manifest.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_takes_no_new_connection() {
    let env = TestEnv::new();
    let app = ingress::App::build(env.config(&[]))
        .await
        .expect("ingress builds");
    let address = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let body = serde_json::to_vec(&payloads::project("ws-drain", "p1", "drain")).expect("json");
    let token = env
        .signer
        .webhook_token("ws-drain", "addon-drain", "NEW_PROJECT");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: ingress\r\nContent-Type: application/json\r\nClockify-Signature: {token}\r\nClockify-Webhook-Event-Type: NEW_PROJECT\r\nContent-Length: {}\r\n\r\n",
        EventType::NewProject.path(),
        body.len()
    );
    let mut in_flight = TcpStream::connect(address).await.expect("connect");
    in_flight.write_all(head.as_bytes()).await.expect("head");
    tokio::time::sleep(Duration::from_millis(300)).await;

    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = TcpStream::connect(address).await.is_err();
    in_flight.write_all(&body).await.expect("body");
    let response = read_response(&mut in_flight).await;

    assert!(refused, "a new connection was accepted after shutdown");
    assert_eq!(response.status, 200, "{}", response.body);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("ingress stopped once drained")
        .expect("task")
        .expect("served");
    env.cleanup().await;
}
