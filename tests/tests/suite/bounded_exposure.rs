//! What a hostile client can make ingress keep or show: a flood that would fill the broker,
//! made-up methods and paths as metric labels, the sidebar page framed or scripted by someone
//! else, and `/ready` leaking driver text.

use common::events::EventType;
use integration_tests::{TestApp, TestEnv};
use serde_json::Value;
use simulator::payloads;

use super::hostile_clients::sample;

#[tokio::test]
async fn a_full_event_partition_refuses_further_webhooks_with_503_and_keeps_its_length() {
    // With the outbox's database away too (a full partition otherwise spills into the outbox).
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[
            ("EVENT_QUEUE_MAX_LENGTH", "3"),
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere"),
        ],
    )
    .await;
    let token = app
        .env
        .signer
        .webhook_token("ws-flooder", "addon-flooder", "NEW_PROJECT");

    let mut statuses = Vec::new();
    for i in 0..6 {
        let body = payloads::project("ws-flooder", &format!("p{i}"), "flood");
        let response = app.post_webhook(EventType::NewProject, &token, &body).await;
        let status = response.status().as_u16();
        if status == 503 {
            assert!(response.headers().contains_key("retry-after"));
            let error: Value = response.json().await.expect("JSON error body");
            assert_eq!(error["error"]["code"], "unavailable");
        }
        statuses.push(status);
    }

    // The first three are taken; a quorum queue refuses once it is *over* its length, so one
    // more may slip in (RabbitMQ's documented slack), and from then on every publish is refused.
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    assert!(statuses.starts_with(&[200, 200, 200]), "{statuses:?}");
    assert!(accepted <= 4, "{statuses:?}");
    assert!(
        statuses[accepted..].iter().all(|s| *s == 503),
        "{statuses:?}"
    );
    assert_eq!(app.queued_events().await as usize, accepted);
    assert_eq!(
        sample(
            &app.metrics().await,
            r#"studio_publish_failures_total{reason="queue_full"}"#
        ),
        (6 - accepted) as f64
    );
    app.stop().await;
}

#[tokio::test]
async fn event_queues_declared_before_the_limit_existed_do_not_stop_the_start() {
    let env = TestEnv::new();
    // A deployment from before EVENT_QUEUE_MAX_LENGTH: the same queues, without the limit.
    let old = common::broker::QueueNames::new(&env.queue_prefix, env.partitions);
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    let connection = pool.get().await.expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    common::broker::declare_topology(&channel, &old, 5)
        .await
        .expect("old topology");

    let app = TestApp::spawn_with(env, false, &[("EVENT_QUEUE_MAX_LENGTH", "3")]).await;

    let logs = app.logs.text();
    assert!(
        logs.contains("event queue exists with other arguments") && logs.contains("set_policy"),
        "no warning with the fix"
    );
    let ready = app.http.get(app.url("/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn made_up_methods_and_paths_leave_the_request_series_bounded() {
    let app = TestApp::spawn_ingress_only().await;
    let series = |metrics: &str| -> Vec<String> {
        metrics
            .lines()
            .filter(|l| l.starts_with("studio_http_requests_total{"))
            .map(|l| l.split(' ').next().unwrap_or("").to_owned())
            .collect()
    };
    // Scrape twice so the scrape's own series exists before counting.
    app.metrics().await;
    let before = series(&app.metrics().await);

    let mut made_up = Vec::new();
    for i in 0..300 {
        let token = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(format!("X{}", &token[..10]).as_bytes())
            .expect("a valid method token");
        // Half on paths that do not exist, half on one that does.
        let path = if i % 2 == 0 {
            format!("/probe-{}", &token[10..20])
        } else {
            "/health".to_owned()
        };
        let response = app
            .http
            .request(method, app.url(&path))
            .send()
            .await
            .expect("answer");
        assert!(response.status().is_client_error(), "{path}");
        made_up.push(token);
    }

    let metrics = app.metrics().await;
    let after = series(&metrics);
    let new: Vec<&String> = after.iter().filter(|s| !before.contains(s)).collect();
    assert!(new.len() <= 2, "{new:#?}");
    for s in &new {
        assert!(s.contains(r#"method="other""#), "{s}");
    }
    for token in &made_up {
        assert!(!metrics.contains(&token[..10]), "request data in a label");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_sidebar_page_allows_only_clockify_to_frame_it_and_runs_no_inline_code() {
    let app = TestApp::spawn_ingress_only().await;

    let page = app
        .http
        .get(app.url("/ui?auth_token=whatever"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let policy = headers["content-security-policy"].to_str().expect("ascii");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors https://*.clockify.me https://clockify.me",
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing in {policy}"
        );
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page.text().await.expect("html").to_ascii_lowercase();

    // No inline script, style or handler: every script has a src and an empty body.
    assert!(!html.contains("<style"), "inline <style>");
    assert!(!html.contains(" style="), "inline style attribute");
    assert!(!html.contains(" onclick=") && !html.contains(" onload="));
    for script in html.split("<script").skip(1) {
        let (open, rest) = script.split_once('>').expect("a tag");
        assert!(open.contains("src="), "inline <script>");
        assert!(rest.starts_with("</script>"), "a script with a body");
    }
    // The assets the page names are served with their types and nosniff.
    for (path, content_type) in [
        ("/ui/app.js", "text/javascript"),
        ("/ui/explorer.js", "text/javascript"),
        ("/ui/views.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/ui/icon.svg", "image/svg+xml"),
    ] {
        assert!(
            html.contains(&format!("\"{path}\"")),
            "{path} not referenced"
        );
        let asset = app.http.get(app.url(path)).send().await.expect("asset");
        assert_eq!(asset.status(), 200);
        let served = asset.headers()["content-type"].to_str().expect("ascii");
        assert!(served.starts_with(content_type), "{path}: {served}");
        assert_eq!(asset.headers()["x-content-type-options"], "nosniff");
    }
    app.stop().await;
}

#[tokio::test]
async fn ready_names_the_dependency_that_is_down_without_driver_text() {
    // Ingress with a database that is not there.
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")],
    )
    .await;

    let ready = app.http.get(app.url("/ready")).send().await.expect("ready");
    let text = ready.text().await.expect("text");
    let body: Value = serde_json::from_str(&text).expect("json");

    assert_eq!(body["checks"]["postgres"]["status"], "unavailable");
    // A fixed phrase: refused connections are retried until the check's 2 s bound.
    let detail = body["checks"]["postgres"]["detail"]
        .as_str()
        .expect("detail");
    assert!(["unreachable", "timed out"].contains(&detail), "{text}");
    assert_eq!(body["checks"]["rabbitmq"]["status"], "ok");
    for leak in ["refused", "error", "127.0.0.1", "nowhere", "os "] {
        assert!(
            !text.to_ascii_lowercase().contains(leak),
            "{leak} in {text}"
        );
    }
    assert!(app.logs.text().contains("readiness check"));
    app.stop().await;
}

#[tokio::test]
async fn workers_ready_names_a_lost_database_without_driver_text() {
    let app = TestApp::spawn().await;
    let workers = format!("http://{}", app.workers_address.expect("worker"));
    // The worker's database disappears under it.
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database studio_test_{} with (force)",
        app.env.id
    )))
    .execute(&admin)
    .await
    .expect("drop database");

    let ready = app
        .http
        .get(format!("{workers}/ready"))
        .send()
        .await
        .expect("ready");
    let status = ready.status();
    let text = ready.text().await.expect("text");
    let body: Value = serde_json::from_str(&text).expect("json");

    assert_eq!(status, 503, "{text}");
    let detail = body["checks"]["postgres"]["detail"]
        .as_str()
        .expect("detail");
    assert!(["unreachable", "timed out"].contains(&detail), "{text}");
    for leak in ["does not exist", "studio_test_", "error", "fatal"] {
        assert!(
            !text.to_ascii_lowercase().contains(leak),
            "{leak} in {text}"
        );
    }
    app.stop().await;
}
