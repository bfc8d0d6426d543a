//! Redelivery, repeated deliveries and A-B-A sequences leave the right state.

use std::time::Duration;

use common::events::EventType;
use common::messages::{Event, EventMessage, SignatureScheme, WebhookEvent};
use integration_tests::TestApp;
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_same_message_delivered_twice_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-redeliver", &[EventType::NewTag]).await;
    app.wait_for_count(
        "select count(*) from installations where workspace_id = 'ws-redeliver'",
        1,
        WAIT,
    )
    .await;
    let body = payloads::named("ws-redeliver", "tag-1", "first");
    let message = EventMessage::new(
        "ws-redeliver".into(),
        "req-redeliver".into(),
        Event::Webhook(WebhookEvent {
            event_type: EventType::NewTag,
            scheme: SignatureScheme::Jwt,
            addon_id: Some(ws.addon_id.clone()),
            token_sha256: Some(common::crypto::sha256_hex(
                ws.token_for(EventType::NewTag).as_bytes(),
            )),
            body_sha256: common::crypto::sha256_hex(
                serde_json::to_string(&body).expect("json").as_bytes(),
            ),
            body: common::webhook_body::WebhookBody::from_value(&body).expect("an object"),
        }),
    );
    let bytes = serde_json::to_vec(&message).expect("json");
    let names = common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let queue = names.event_partition(common::messages::partition_of(
        "ws-redeliver",
        app.env.partitions,
    ));
    let publisher = common::publisher::Publisher::new(
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool"),
        1,
    );

    // The broker delivers the same message twice (as after a lost ack).
    publisher
        .publish(
            &queue,
            &message.message_id.to_string(),
            "req-redeliver",
            &bytes,
        )
        .await
        .expect("first");
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-redeliver'",
        1,
        WAIT,
    )
    .await;
    sqlx::query("update entities set data = jsonb_set(data, '{name}', '\"changed later\"') where workspace_id = 'ws-redeliver'")
        .execute(&app.db)
        .await
        .expect("a later change");
    publisher
        .publish(
            &queue,
            &message.message_id.to_string(),
            "req-redeliver",
            &bytes,
        )
        .await
        .expect("second");

    let mut redelivered = false;
    for _ in 0..200 {
        let metrics = app.workers_metrics().await;
        if metrics
            .contains("studio_messages_processed_total{outcome=\"redelivered\",queue=\"events\"} 1")
        {
            redelivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        redelivered,
        "the second delivery was recognised as a redelivery"
    );
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-redeliver' and source = 'webhook'").await, 1);
    assert_eq!(app.count("select count(*) from entities where workspace_id = 'ws-redeliver' and name = 'changed later'").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_clockify_delivery_sent_twice_is_applied_once() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-twice", &[EventType::ProjectUpdated]).await;
    let body = payloads::project("ws-twice", "p1", "Same");
    for _ in 0..2 {
        let response = app
            .post_webhook(
                EventType::ProjectUpdated,
                ws.token_for(EventType::ProjectUpdated),
                &body,
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-twice' and source = 'webhook'",
        2,
        WAIT,
    )
    .await;
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-twice' and outcome = 'applied' and source = 'webhook'").await, 1);
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-twice' and outcome = 'duplicate'").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_b_a_for_one_entity_ends_at_a() {
    let app = TestApp::spawn().await;
    let ws = app
        .install(
            "ws-aba",
            &[EventType::ProjectUpdated, EventType::ProjectDeleted],
        )
        .await;
    let token = ws.token_for(EventType::ProjectUpdated);
    let a = payloads::project("ws-aba", "p1", "A");
    let b = payloads::project("ws-aba", "p1", "B");
    for body in [&a, &b, &a] {
        assert_eq!(
            app.post_webhook(EventType::ProjectUpdated, token, body)
                .await
                .status(),
            200
        );
    }
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-aba' and source = 'webhook'",
        3,
        WAIT,
    )
    .await;
    let name: String = sqlx::query_scalar(
        "select name from entities where workspace_id = 'ws-aba' and entity_id = 'p1'",
    )
    .fetch_one(&app.db)
    .await
    .expect("entity");
    assert_eq!(name, "A");
    assert_eq!(app.count("select count(*) from event_log where workspace_id = 'ws-aba' and outcome = 'applied' and source = 'webhook'").await, 3);

    // Then deleted: the entity is marked, with its last content kept.
    let deleted = app
        .post_webhook(
            EventType::ProjectDeleted,
            ws.token_for(EventType::ProjectDeleted),
            &a,
        )
        .await;
    assert_eq!(deleted.status(), 200);
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-aba' and deleted",
        1,
        WAIT,
    )
    .await;
    app.stop().await;
}
