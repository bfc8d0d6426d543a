//! Messages that cannot be handled end in the dead-letter queue, not in a requeue loop.

use std::time::{Duration, Instant};

use integration_tests::TestApp;

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

    let started = Instant::now();
    while app.queue_depth(&names.dead_letters()).await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the message never reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.queue_depth(&names.event_partition(0)).await,
        0,
        "nothing left to loop on"
    );
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

#[tokio::test]
async fn an_operator_lists_inspects_discards_and_replays_dead_letters() {
    let overrides = [("ADMIN_TOKEN", super::bootstrap::OPERATOR_TOKEN)];
    let app = TestApp::spawn_with(integration_tests::TestEnv::new(), true, &overrides).await;
    let ws = app
        .install("ws-dead", &[common::events::EventType::NewTag])
        .await;
    app.wait_for_count(
        "select count(*) from installations",
        1,
        Duration::from_secs(20),
    )
    .await;
    let names = common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let partition = names.event_partition(common::messages::partition_of(
        "ws-dead",
        app.env.partitions,
    ));
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    let publisher = common::publisher::Publisher::new(pool.clone(), 1);
    // A poison message dies on its partition; a good one is parked as if it had died there too.
    publisher
        .publish(&partition, "poison-1", "req-poison", b"not json")
        .await
        .expect("published");
    let body = simulator::payloads::named("ws-dead", "tag-replayed", "back");
    let message = common::messages::EventMessage::new(
        "ws-dead".into(),
        "req-replay".into(),
        common::messages::Event::Webhook(common::messages::WebhookEvent {
            event_type: common::events::EventType::NewTag,
            scheme: common::messages::SignatureScheme::Jwt,
            addon_id: Some(ws.addon_id.clone()),
            token_sha256: Some(common::crypto::sha256_hex(
                ws.token_for(common::events::EventType::NewTag).as_bytes(),
            )),
            body_sha256: "b".repeat(64),
            body: common::webhook_body::WebhookBody::from_value(&body).expect("an object"),
        }),
    );
    let id = message.message_id.to_string();
    park_as_dead(
        &pool,
        &names.dead_letters(),
        &partition,
        &id,
        &serde_json::to_vec(&message).expect("json"),
    )
    .await;
    let admin =
        |request: reqwest::RequestBuilder| request.bearer_auth(super::bootstrap::OPERATOR_TOKEN);

    let started = Instant::now();
    let listed = loop {
        let listed: serde_json::Value = admin(app.http.get(app.url("/admin/dead-letters")))
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        if listed["items"].as_array().map(Vec::len) == Some(2) {
            break listed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "dead letters: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let poison = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["messageId"] == "poison-1")
        .expect("poison listed");
    assert_eq!(poison["queue"], partition.as_str());
    assert_eq!(poison["reason"], "rejected");
    assert_eq!(
        app.http
            .get(app.url("/admin/dead-letters"))
            .bearer_auth("wrong")
            .send()
            .await
            .expect("answer")
            .status(),
        401
    );

    let inspected: serde_json::Value =
        admin(app.http.get(app.url(&format!("/admin/dead-letters/{id}"))))
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
    assert_eq!(inspected["deadLetter"]["workspaceId"], "ws-dead");
    assert_eq!(inspected["deadLetter"]["body"]["event"]["kind"], "webhook");

    let discarded = admin(app.http.delete(app.url("/admin/dead-letters/poison-1")))
        .send()
        .await
        .expect("answer");
    assert_eq!(discarded.status(), 200);
    let replayed = admin(
        app.http
            .post(app.url(&format!("/admin/dead-letters/{id}/replay"))),
    )
    .send()
    .await
    .expect("answer");
    assert_eq!(replayed.status(), 200);
    app.wait_for_count("select count(*) from entities where workspace_id = 'ws-dead' and entity_id = 'tag-replayed'", 1, Duration::from_secs(20)).await;
    let after: serde_json::Value = admin(app.http.get(app.url("/admin/dead-letters")))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(after["items"].as_array().map(Vec::len), Some(0), "{after}");
    assert_eq!(
        admin(app.http.delete(app.url("/admin/dead-letters/poison-1")))
            .send()
            .await
            .expect("answer")
            .status(),
        404
    );
    app.stop().await;
}

/// Puts `body` on the dead-letter queue with the headers RabbitMQ adds when it dead-letters.
async fn park_as_dead(
    pool: &deadpool_lapin::Pool,
    dead_letters: &str,
    died_on: &str,
    message_id: &str,
    body: &[u8],
) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::types::{AMQPValue, FieldTable, LongString};
    let connection = pool.get().await.expect("connection");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let mut headers = FieldTable::default();
    headers.insert(
        "x-first-death-queue".into(),
        AMQPValue::LongString(LongString::from(died_on)),
    );
    headers.insert(
        "x-first-death-reason".into(),
        AMQPValue::LongString(LongString::from("delivery_limit")),
    );
    let properties = lapin::BasicProperties::default()
        .with_message_id(message_id.into())
        .with_headers(headers)
        .with_delivery_mode(2);
    channel
        .basic_publish(
            "".into(),
            dead_letters.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
}
