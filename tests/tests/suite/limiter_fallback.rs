//! A bootstrap that loses Redis midway goes on under the local fallback limiter.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{TestApp, TestEnv};
use serde_json::Value;
use simulator::standin::WorkspaceSpec;

use super::bootstrap::{BOOTSTRAP, entity_count, standin};

/// A Redis of this test's own, on a free port, so stopping it disturbs no other test.
fn start_private_redis() -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed (it is how the shared Redis runs)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "private redis did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_during_a_bootstrap_goes_on_under_the_fallback_limiter_without_a_429_storm() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let (mut redis, port) = start_private_redis();
    let redis_url = format!("redis://127.0.0.1:{port}/0");
    let overrides = [
        BOOTSTRAP[0],
        BOOTSTRAP[1],
        ("REDIS_URL", redis_url.as_str()),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let spec = WorkspaceSpec::sized("ws-noredis", 2000);
    let clockify = standin(&app, vec![spec.clone()]).await;

    app.install_at("ws-noredis", &clockify.api_url()).await;
    let started = Instant::now();
    while clockify.recorder().count("ws-noredis") < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the bootstrap of ws-noredis never reached 20 requests (is the workers binary built? `cargo build --workspace --bins`)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = redis.kill();
    let _ = redis.wait();

    assert_eq!(
        app.wait_for_bootstrap("ws-noredis", Duration::from_secs(120))
            .await,
        "completed"
    );
    assert_eq!(clockify.recorder().too_many_requests("ws-noredis"), 0);
    assert_eq!(
        entity_count(&app, "ws-noredis").await,
        spec.entity_count() as i64
    );
    let metrics = app.workers_metrics().await;
    let fallback: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("studio_limiter_fallback_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("fallback metric");
    assert!(fallback > 0.0, "the fallback limiter decided");
    let ready: Value = app
        .http
        .get(format!(
            "http://{}/ready",
            app.workers_address.expect("worker")
        ))
        .send()
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["checks"]["redis"]["status"], "degraded");
    clockify.stop().await;
    app.stop().await;
}

/// The budgets are separate buckets: with a pace of one request per two seconds, a workspace
/// that just spent its slot leaves another workspace's first request free to go at once.
#[tokio::test]
async fn one_workspace_spending_its_budget_leaves_another_untouched() {
    integration_tests::env::require_services();
    use clockify_client::metrics::OutboundMetrics;
    use clockify_client::rate_limit::{LimiterMode, Priority, RateLimitSettings, RateLimiter};
    let settings = RateLimitSettings {
        requests_per_second: 0.5,
        headroom: 0.0,
        burst: 0,
        fallback_share: 1.0,
        key_prefix: format!("limiter-test-{}", uuid::Uuid::new_v4().simple()),
    };
    let redis = RateLimiter::connect_redis("redis://127.0.0.1:6379/0").await;
    assert!(redis.is_some(), "Redis answers on 127.0.0.1:6379");
    let limiter = RateLimiter::new(
        settings,
        redis,
        std::sync::Arc::new(OutboundMetrics::new(&common::metrics::registry())),
    );

    assert_eq!(
        limiter
            .acquire("ws-spender", Priority::Interactive, None)
            .await,
        LimiterMode::Shared
    );
    let second_of_spender = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            limiter
                .acquire("ws-spender", Priority::Interactive, None)
                .await;
            started.elapsed()
        })
    };
    let started = Instant::now();
    assert_eq!(
        limiter
            .acquire("ws-other", Priority::Interactive, None)
            .await,
        LimiterMode::Shared
    );
    let other_waited = started.elapsed();
    let spender_waited = second_of_spender.await.expect("task");

    assert!(
        other_waited < Duration::from_secs(1),
        "another workspace waited {other_waited:?} for a budget it had not used"
    );
    assert!(
        spender_waited >= Duration::from_millis(1500),
        "the spender's second request went after {spender_waited:?}, inside its 2 s interval"
    );
}
