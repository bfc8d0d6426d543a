//! Redis killed and started again (empty) during a bootstrap, under load: the worker's local
//! fallback limiter paces the bootstrap while Redis is away, the shared limiter takes over again
//! once it is back, and the stand-in Clockify answers not a single 429.

use std::time::{Duration, Instant};

use integration_tests::TestEnv;
use integration_tests::drill::Drill;
use integration_tests::drill_services::PrivateRedis;
use serde_json::Value;
use simulator::standin::{StandIn, StandInConfig, WorkspaceSpec};

/// How long Redis stays away.
const OUTAGE: Duration = Duration::from_secs(4);
const OPERATOR_TOKEN: &str = "drill-operator-token-of-at-least-32-characters";
const BOOTSTRAPPED: &str = "drill-ws-bootstrapped";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_during_a_bootstrap_holds_the_rate_limit() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let mut redis = PrivateRedis::start();
    let redis_url = redis.url();
    let overrides = [
        ("REDIS_URL", redis_url.as_str()),
        ("BOOTSTRAP_PAGE_SIZE", "50"),
        ("ADMIN_TOKEN", OPERATOR_TOKEN),
    ];
    let drill = Drill::start("redis", TestEnv::new(), &overrides).await;
    let spec = WorkspaceSpec::sized(BOOTSTRAPPED, 3000);
    let config = StandInConfig {
        workspaces: vec![spec.clone()],
        ..StandInConfig::default()
    }
    .with_signer(drill.env.signer.clone());
    let clockify = StandIn::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the stand-in Clockify starts");
    let installed = drill.install_at(BOOTSTRAPPED, &clockify.api_url()).await;
    wait_installed(&drill, &installed.addon_id).await;

    let load = drill.start_load();
    let started = drill
        .http
        .post(format!(
            "{}/admin/workspaces/{BOOTSTRAPPED}/bootstrap",
            drill.ingress_url
        ))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .expect("ingress answers");
    assert!(
        started.status().is_success(),
        "the operator's bootstrap was refused: {}",
        started.status()
    );
    let waited = Instant::now();
    while clockify.recorder().count(BOOTSTRAPPED) < 20 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the bootstrap never reached 20 requests (worker log: {})",
            drill.worker.log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = Instant::now();
    redis.kill();
    tokio::time::sleep(OUTAGE).await;
    redis.start_again();
    let back_at = Instant::now();
    let shared_again = wait_limiter_shared(&drill, back_at).await;
    let status = wait_bootstrap(&drill).await;
    let finished = load.stop().await;

    let figures = drill
        .finish(
            &finished,
            vec![(
                "limiter shared again after Redis started".into(),
                shared_again,
            )],
        )
        .await;
    let requests = clockify.recorder().requests();
    let during = requests
        .iter()
        .filter(|r| r.at >= killed_at && r.at < back_at)
        .count();
    let after = requests.iter().filter(|r| r.at >= back_at).count();
    let too_many = clockify.recorder().too_many_requests(BOOTSTRAPPED);
    let fallback = drill.workers_metric("studio_limiter_fallback_total").await;
    println!(
        "drill redis: bootstrap {status}, {} requests to the stand-in ({during} while Redis was away, \
         {after} after), {too_many} x 429, {fallback:.0} fallback decisions, peak {} requests in a second",
        requests.len(),
        clockify.recorder().peak_rate(BOOTSTRAPPED)
    );
    figures.assert_nothing_lost_doubled_or_reordered();
    figures.assert_all_accepted();
    assert_eq!(status, "completed");
    assert_eq!(too_many, 0, "the stand-in answered 429");
    assert!(
        fallback > 0.0,
        "the fallback limiter decided while Redis was away"
    );
    assert!(
        during > 0 && after > 0,
        "Redis must go away and come back while the bootstrap runs ({during} requests during, {after} after)"
    );
    let entities: i64 = sqlx::query_scalar("select count(*) from entities where workspace_id = $1")
        .bind(BOOTSTRAPPED)
        .fetch_one(&drill.db)
        .await
        .expect("count");
    assert_eq!(entities, spec.entity_count() as i64);
    clockify.stop().await;
    drill.stop().await;
}

async fn wait_installed(drill: &Drill, addon_id: &str) {
    let started = Instant::now();
    while common::db::installations::count_ready(&drill.db, &[addon_id.to_owned()])
        .await
        .unwrap_or(0)
        < 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the installation never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the worker's `/ready` says Redis is in use again (not `degraded`).
async fn wait_limiter_shared(drill: &Drill, since: Instant) -> Duration {
    loop {
        let ready: Option<Value> = match drill
            .http
            .get(format!("{}/ready", drill.workers_url))
            .send()
            .await
        {
            Ok(response) => response.json().await.ok(),
            Err(_) => None,
        };
        if ready.is_some_and(|r| r["checks"]["redis"]["status"] == "ok") {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the worker's limiter did not return to Redis within 60 s of its start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the bootstrap to end; its status.
async fn wait_bootstrap(drill: &Drill) -> String {
    let started = Instant::now();
    loop {
        let status: Option<String> = sqlx::query_scalar(
            "select status from bootstrap_jobs where workspace_id = $1 order by created_at desc limit 1",
        )
        .bind(BOOTSTRAPPED)
        .fetch_optional(&drill.db)
        .await
        .expect("bootstrap status");
        if let Some(status) = status.filter(|s| s != "running") {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the bootstrap of {BOOTSTRAPPED} did not end within 180 s (worker log: {})",
            drill.worker.log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
