//! A worker SIGKILLed mid-batch under load and started again: its unacked batch is redelivered to
//! the new one, which skips what was already committed. (The suite's
//! `a_worker_killed_mid_stream_loses_and_duplicates_nothing_after_restart` covers the same
//! with two workers' hand-over; this one runs under the drills' steady load and prints figures.)

use std::time::{Duration, Instant};

use integration_tests::TestEnv;
use integration_tests::drill::Drill;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_batch_loses_and_doubles_nothing() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let mut drill = Drill::start("worker-kill", TestEnv::new(), &[]).await;

    let load = drill.start_load();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let killed_at = Instant::now();
    drill.kill_worker();
    drill.restart_worker().await;
    let back = killed_at.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finished = load.stop().await;

    let figures = drill
        .finish(
            &finished,
            vec![("worker ready after the kill".into(), back)],
        )
        .await;
    figures.assert_nothing_lost_doubled_or_reordered();
    figures.assert_all_accepted();
    drill.stop().await;
}
