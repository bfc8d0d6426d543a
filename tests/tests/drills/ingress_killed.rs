//! Ingress SIGKILLed mid-load and started again: requests cut by the kill get no answer (Clockify
//! would retry or lose them: they were never acknowledged), but every event answered 200 before
//! or after is stored, once and in order.

use std::time::{Duration, Instant};

use integration_tests::TestEnv;
use integration_tests::drill::Drill;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_killed_mid_load_keeps_every_event_it_answered_200() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let mut drill = Drill::start("ingress-kill", TestEnv::new(), &[]).await;

    let load = drill.start_load();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let killed_at = Instant::now();
    drill.kill_ingress().await;
    drill.restart_ingress().await;
    let back = killed_at.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finished = load.stop().await;

    let figures = drill
        .finish(
            &finished,
            vec![("ingress ready after the kill".into(), back)],
        )
        .await;
    figures.assert_nothing_lost_doubled_or_reordered();
    assert!(
        figures.refused.keys().all(|status| *status == 0),
        "the only failures are requests the kill cut off (no answer): {:?}",
        figures.refused
    );
    drill.stop().await;
}
