//! Messages that cannot be handled end in the dead-letter queue, not in a requeue loop.

use std::time::{Duration, Instant};

use integration_tests::TestApp;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

#[tokio::test]
async fn an_undecodable_message_is_dead_lettered_where_an_operator_can_see_it() {
    let app = TestApp::spawn().await;
    let names = common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    let publisher = common::publisher::Publisher::new(pool.clone(), 1);

    publisher
        .publish(
            &names.event_partition(0),
            "garbage-1",
            "req-garbage",
            b"{\"not\": \"an envelope\"}",
        )
        .await
        .expect("published");

    let connection = pool.get().await.expect("connection");
    let channel = connection.create_channel().await.expect("channel");
    let started = Instant::now();
    loop {
        let queue = channel
            .queue_declare(
                names.dead_letters().as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("dead-letter queue exists");
        if queue.message_count() == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the message never reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let partition = channel
        .queue_declare(
            names.event_partition(0).as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("partition");
    assert_eq!(partition.message_count(), 0, "nothing left to loop on");
    app.stop().await;
}

#[tokio::test]
async fn unverified_mode_is_refused_without_the_dev_flag_and_counted_with_it() {
    let env = integration_tests::TestEnv::new();
    let refused =
        ingress::App::build(env.config(&[("REQUIRE_SIGNATURE_VERIFICATION", "false")])).await;
    assert!(
        refused
            .err()
            .expect("refused")
            .to_string()
            .contains("DEV_ALLOW_UNVERIFIED")
    );

    let app = TestApp::spawn_with(
        env,
        false,
        &[
            ("REQUIRE_SIGNATURE_VERIFICATION", "false"),
            ("DEV_ALLOW_UNVERIFIED", "true"),
        ],
    )
    .await;
    assert!(
        app.metrics()
            .await
            .contains("studio_signature_verification_disabled 1")
    );
    let ready: serde_json::Value = app
        .http
        .get(app.url("/ready"))
        .send()
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(
        ready["checks"]["signature_verification"]["status"],
        "degraded"
    );
    app.stop().await;
}
