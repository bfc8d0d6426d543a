//! PostgreSQL stopped and started again under load: the worker pauses (its `/ready` goes 503 and
//! back), ingress keeps answering 200 without touching the database (the events queue on the
//! broker), and nothing is lost or applied twice.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use integration_tests::TestEnv;
use integration_tests::drill::Drill;
use integration_tests::drill_services::PrivatePostgres;

/// How long the database stays down: long enough for `/ready` to see it.
const OUTAGE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_and_doubles_nothing() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let postgres = PrivatePostgres::start();
    let mut env = TestEnv::new();
    env.database_url = postgres.url(&format!("studio_test_{}", env.id));
    let drill = Drill::start("postgres", env, &[]).await;
    let workers_ready = drill.watch_workers_ready();

    let load = drill.start_load();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stopped_at = Instant::now();
    postgres.stop().await;
    tokio::time::sleep(OUTAGE).await;
    postgres.start_again().await;
    let back_at = Instant::now();
    let accepted_by_then = load.progress().accepted.load(Ordering::Relaxed);
    let workers_back = workers_ready
        .wait_ready_after(back_at, Duration::from_secs(60), "the worker")
        .await;
    drill
        .wait_stored_at_least(accepted_by_then, Duration::from_secs(120))
        .await;
    let caught_up = back_at.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finished = load.stop().await;

    let figures = drill
        .finish(
            &finished,
            vec![
                (
                    "worker ready after the database started".into(),
                    workers_back,
                ),
                ("backlog stored after it started".into(), caught_up),
            ],
        )
        .await;
    figures.assert_nothing_lost_doubled_or_reordered();
    figures.assert_all_accepted();
    assert_eq!(
        figures.outboxed, 0.0,
        "with the broker well, ingress never needs the database"
    );
    let unready = workers_ready.first_unready_after(stopped_at);
    assert!(
        unready.is_some_and(|(at, _)| at < back_at),
        "the worker's /ready did not say the database was down (first unready answer: {unready:?})"
    );
    drill.stop().await;
}
