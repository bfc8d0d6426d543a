//! RabbitMQ stopped for 10 s under load (`rabbitmqctl stop_app`, then `start_app`): ingress keeps
//! answering 200 through the outbox, reconnects without a restart, and the relay drains it.

use std::time::{Duration, Instant};

use integration_tests::TestEnv;
use integration_tests::drill::Drill;
use integration_tests::drill_services::PrivateRabbitMq;

/// How long the broker stays stopped.
const OUTAGE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_stopped_for_ten_seconds_loses_and_doubles_nothing() {
    let _heavy = integration_tests::heavy::exclusive().await;
    let rabbit = PrivateRabbitMq::start();
    let amqp_url = rabbit.amqp_url();
    let mut drill = Drill::start("rabbitmq", TestEnv::new(), &[("AMQP_URL", &amqp_url)]).await;
    let ingress_ready = drill.watch_ingress_ready();

    let load = drill.start_load();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stopped_at = Instant::now();
    rabbit.stop_app().await;
    tokio::time::sleep(OUTAGE).await;
    let outboxed_during_outage = drill.outboxed().await;
    rabbit.start_app().await;
    let back_at = Instant::now();
    let broker_down = back_at - stopped_at;
    let ingress_back = ingress_ready
        .wait_ready_after(back_at, Duration::from_secs(60), "ingress")
        .await;
    let drained = drill.wait_outbox_drained(Duration::from_secs(120)).await;
    // Once drained, ingress publishes straight to the broker again: nothing more is outboxed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outboxed_after_drain = drill.outboxed().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finished = load.stop().await;

    let figures = drill
        .finish(
            &finished,
            vec![
                (
                    "broker down (stop_app to start_app's end)".into(),
                    broker_down,
                ),
                ("ingress ready after start_app".into(), ingress_back),
                ("outbox drained after start_app".into(), drained),
            ],
        )
        .await;
    if !figures.missing.is_empty() {
        println!(
            "drill rabbitmq: {} accepted events missing; the private broker's queues:\n{}\n\
             the worker's log without its per-event lines ({}):\n{}\n\
             the ingress log's last warnings ({}):\n{}",
            figures.missing.len(),
            rabbit.queue_report().await,
            drill.worker.log_path.display(),
            notable_lines(&drill.worker.logs(), 80),
            drill.ingress.log_path.display(),
            notable_lines(&drill.ingress.logs(), 40),
        );
    }
    figures.assert_nothing_lost_doubled_or_reordered();
    figures.assert_all_accepted();
    assert!(
        ingress_ready.first_unready_after(stopped_at).is_some(),
        "ingress's /ready never said the broker was away"
    );
    assert!(
        outboxed_during_outage > 0.0,
        "events accepted while the broker was stopped went to the outbox"
    );
    assert_eq!(
        drill.outboxed().await,
        outboxed_after_drain,
        "after the relay drained the outbox, ingress published to the broker again (reconnected)"
    );
    assert!(
        matches!(drill.ingress.child.try_wait(), Ok(None)),
        "the ingress process that saw the outage is still the one running"
    );
    drill.stop().await;
}

/// The last `count` lines of a log that are not per-event or per-request routine.
fn notable_lines(log: &str, count: usize) -> String {
    let notable: Vec<&str> = log
        .lines()
        .filter(|line| {
            !line.contains("\"event processed\"")
                && (line.contains("\"WARN\"")
                    || line.contains("\"ERROR\"")
                    || line.contains("consum")
                    || line.contains("partitions"))
        })
        .collect();
    notable[notable.len().saturating_sub(count)..].join("\n")
}
