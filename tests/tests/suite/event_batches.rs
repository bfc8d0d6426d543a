//! Batch messages (ingress's group commit) taken apart by the workers: a poison event inside a
//! batch dies alone, a redelivered batch changes nothing twice, and a lifecycle callback in the
//! middle of a batch decides the webhooks after it, in the batch and after it; the batch after a
//! redelivery is decided against the store.

use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::types::{AMQPValue, FieldTable};

use common::broker::QueueNames;
use common::events::EventType;
use common::messages::{
    BATCH_KIND, Event, EventBatch, EventMessage, InstallationStatus, SignatureScheme,
    StatusChanged, WebhookEvent, partition_of,
};
use common::publisher::{Outgoing, Publisher};
use integration_tests::{Installation, TestApp};
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(30);

/// A signed NEW_PROJECT delivery of project `id` named `name`, as ingress would enqueue it.
fn project(ws: &Installation, id: &str, name: &str) -> EventMessage {
    let body = payloads::project(&ws.workspace_id, id, name);
    EventMessage::new(
        ws.workspace_id.clone(),
        format!("req-{id}-{name}"),
        Event::Webhook(WebhookEvent {
            event_type: EventType::NewProject,
            scheme: SignatureScheme::Jwt,
            addon_id: Some(ws.addon_id.clone()),
            token_sha256: Some(common::crypto::sha256_hex(
                ws.token_for(EventType::NewProject).as_bytes(),
            )),
            body_sha256: common::crypto::sha256_hex(
                serde_json::to_string(&body).expect("json").as_bytes(),
            ),
            body: common::webhook_body::WebhookBody::from_value(&body).expect("an object"),
        }),
    )
}

fn status(ws: &Installation, status: InstallationStatus) -> EventMessage {
    EventMessage::new(
        ws.workspace_id.clone(),
        format!("req-status-{}", status.as_str()),
        Event::StatusChanged(StatusChanged {
            addon_id: ws.addon_id.clone(),
            status,
        }),
    )
}

fn publisher() -> Publisher {
    let pool =
        common::broker::connection_pool("amqp://guest:guest@127.0.0.1:5672/%2f").expect("pool");
    Publisher::new(pool, 1)
}

fn partition_queue(app: &TestApp, workspace_id: &str) -> String {
    let names = QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    names.event_partition(partition_of(workspace_id, app.env.partitions))
}

/// Publishes `events` as one batch message with id `batch_id`, as ingress does.
async fn publish_batch(app: &TestApp, batch_id: &str, events: &[EventMessage]) {
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("json"))
        .collect();
    let parts: Vec<(Option<&str>, &[u8])> = bodies.iter().map(|b| (None, b.as_slice())).collect();
    let body = EventBatch::body_of(&parts);
    publisher()
        .publish_with(
            &partition_queue(app, &events[0].workspace_id),
            Outgoing {
                message_id: batch_id,
                request_id: &events[0].request_id,
                body: &body,
                headers: FieldTable::default(),
                kind: Some(BATCH_KIND),
            },
        )
        .await
        .expect("batch confirmed");
}

/// Publishes one event as its own message (the envelope from before batching).
async fn publish_one(app: &TestApp, event: &EventMessage) {
    publisher()
        .publish(
            &partition_queue(app, &event.workspace_id),
            &event.message_id.to_string(),
            &event.request_id,
            &serde_json::to_vec(event).expect("json"),
        )
        .await
        .expect("confirmed");
}

async fn installed(app: &TestApp, workspace_id: &str, events: &[EventType]) -> Installation {
    let ws = app.install(workspace_id, events).await;
    app.wait_for_count(
        &format!("select count(*) from installations where workspace_id = '{workspace_id}'"),
        1,
        WAIT,
    )
    .await;
    ws
}

/// `(outcome, reason)` of each logged message of the workspace's webhooks, by entity id.
async fn outcome_of(app: &TestApp, message: &EventMessage) -> (String, Option<String>) {
    sqlx::query_as(
        "select outcome, reason from event_log where workspace_id = $1 and message_id = $2",
    )
    .bind(&message.workspace_id)
    .bind(message.message_id)
    .fetch_one(&app.db)
    .await
    .expect("logged")
}

#[tokio::test]
async fn a_poison_event_inside_a_batch_is_dead_lettered_alone_and_the_others_are_applied() {
    let app = TestApp::spawn().await;
    let ws = installed(&app, "ws-batch-poison", &[EventType::NewProject]).await;
    let good_before = project(&ws, "p1", "before");
    // PostgreSQL cannot store U+0000 in jsonb: this event fails however often it is tried.
    let poison = project(&ws, "p2", "nul \u{0} inside");
    let good_after = project(&ws, "p3", "after");
    publish_batch(
        &app,
        "batch-poison",
        &[good_before.clone(), poison.clone(), good_after.clone()],
    )
    .await;

    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-batch-poison' and source = 'webhook'",
        2,
        WAIT,
    )
    .await;
    let names = QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let started = std::time::Instant::now();
    while app.queue_depth(&names.dead_letters()).await != 1 {
        assert!(started.elapsed() < WAIT, "the poison event never died");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outcome_of(&app, &good_before).await.0, "applied");
    assert_eq!(outcome_of(&app, &good_after).await.0, "applied");
    assert_eq!(
        app.count("select count(*) from entities where workspace_id = 'ws-batch-poison'")
            .await,
        2,
        "p1 and p3 stored, p2 not"
    );

    // The dead letter is the poison event alone, named by its own id and the queue it died on.
    let (_connection, channel) = app.broker_channel().await;
    let letter = channel
        .basic_get(
            names.dead_letters().as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .expect("get")
        .expect("one dead letter");
    let dead: EventMessage = serde_json::from_slice(&letter.delivery.data).expect("one event");
    assert_eq!(dead, poison);
    assert_eq!(
        letter
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some(poison.message_id.to_string())
    );
    let headers = letter
        .delivery
        .properties
        .headers()
        .clone()
        .expect("headers");
    let origin = match headers.inner().get("x-first-death-queue") {
        Some(AMQPValue::LongString(queue)) => queue.to_string(),
        other => panic!("no origin queue: {other:?}"),
    };
    assert_eq!(origin, partition_queue(&app, "ws-batch-poison"));
    assert_eq!(
        app.queue_depth(&partition_queue(&app, "ws-batch-poison"))
            .await,
        0,
        "the batch was acked, nothing loops"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_batch_delivered_again_after_its_commit_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let ws = installed(&app, "ws-batch-again", &[EventType::NewProject]).await;
    let batch = [
        project(&ws, "p1", "first"),
        project(&ws, "p1", "second"),
        project(&ws, "p2", "first"),
    ];
    publish_batch(&app, "batch-again", &batch).await;
    let logged = "select count(*) from event_log where workspace_id = 'ws-batch-again' and source = 'webhook'";
    app.wait_for_count(logged, 3, WAIT).await;
    let snapshot = "select string_agg(entity_id || ':' || (data->>'name') || ':' || updated_at::text, ',' order by entity_id)
                    from entities where workspace_id = 'ws-batch-again'";
    let before: Option<String> = sqlx::query_scalar(snapshot)
        .fetch_one(&app.db)
        .await
        .expect("entities");

    // What the broker hands a worker after one died between its commit and its ack: the same
    // message again. Then the same batch with one new event after it, then a marker.
    publish_batch(&app, "batch-again", &batch).await;
    let mut longer = batch.to_vec();
    let p3 = project(&ws, "p3", "new");
    longer.push(p3.clone());
    publish_batch(&app, "batch-again-longer", &longer).await;
    let marker = project(&ws, "p9", "marker");
    publish_one(&app, &marker).await;
    app.wait_for_count(logged, 5, WAIT).await;

    assert_eq!(outcome_of(&app, &p3).await.0, "applied");
    let after_p1_p2: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "{snapshot} and entity_id in ('p1', 'p2')"
    )))
    .fetch_one(&app.db)
    .await
    .expect("entities");
    assert_eq!(
        after_p1_p2, before,
        "p1 (at its second version) and p2 untouched"
    );
    assert!(before.expect("rows").contains("p1:second"));
    let redelivered = super::hostile_clients::sample(
        &app.workers_metrics().await,
        "studio_messages_processed_total{outcome=\"redelivered\",queue=\"events\"}",
    );
    assert_eq!(redelivered, 6.0, "every event of the batch, twice");
    app.stop().await;
}

#[tokio::test]
async fn a_lifecycle_callback_inside_a_batch_decides_the_webhooks_after_it() {
    let app = TestApp::spawn().await;
    let ws = installed(&app, "ws-batch-life", &[EventType::NewProject]).await;
    // Applied alone first, so the worker holds the installation as active.
    let warm = project(&ws, "p0", "warm");
    publish_one(&app, &warm).await;
    let logged = "select count(*) from event_log where workspace_id = 'ws-batch-life' and source = 'webhook'";
    app.wait_for_count(logged, 1, WAIT).await;

    let p1 = project(&ws, "p1", "still active");
    let p2 = project(&ws, "p2", "after inactive");
    publish_batch(
        &app,
        "batch-life-1",
        &[
            p1.clone(),
            status(&ws, InstallationStatus::Inactive),
            p2.clone(),
        ],
    )
    .await;
    let p3 = project(&ws, "p3", "later, still inactive");
    publish_one(&app, &p3).await;
    let p4 = project(&ws, "p4", "after active again");
    publish_batch(
        &app,
        "batch-life-2",
        &[status(&ws, InstallationStatus::Active), p4.clone()],
    )
    .await;
    let p5 = project(&ws, "p5", "later, active");
    publish_one(&app, &p5).await;
    app.wait_for_count(logged, 6, WAIT).await;

    assert_eq!(outcome_of(&app, &warm).await.0, "applied");
    assert_eq!(outcome_of(&app, &p1).await.0, "applied");
    assert_eq!(
        outcome_of(&app, &p2).await,
        ("rejected".to_owned(), Some("inactive".to_owned()))
    );
    assert_eq!(
        outcome_of(&app, &p3).await,
        ("rejected".to_owned(), Some("inactive".to_owned())),
        "a webhook after the batch sees the callback too"
    );
    assert_eq!(outcome_of(&app, &p4).await.0, "applied");
    assert_eq!(outcome_of(&app, &p5).await.0, "applied");
    app.stop().await;
}

/// While a batch is written, the next is decided as if the first went in as staged. When it did
/// not (a redelivery: its event was applied long ago and the entity has moved on since), the
/// next batch must be decided again against what is stored, or it would take a real change for
/// a duplicate of the redelivered event.
#[tokio::test]
async fn the_batch_after_a_redelivery_is_decided_against_the_store_not_the_redelivered_event() {
    let app = TestApp::spawn().await;
    let ws = installed(&app, "ws-after-redelivery", &[EventType::NewProject]).await;
    let first_a = project(&ws, "p1", "A");
    let then_b = project(&ws, "p1", "B");
    publish_one(&app, &first_a).await;
    publish_one(&app, &then_b).await;
    let logged = "select count(*) from event_log where workspace_id = 'ws-after-redelivery' and source = 'webhook'";
    app.wait_for_count(logged, 2, WAIT).await;

    // The first event again (p1 back at A, as staged), then, as a batch of its own, a new event
    // that really sets p1 back to A.
    publish_one(&app, &first_a).await;
    let redelivered = "studio_messages_processed_total{outcome=\"redelivered\",queue=\"events\"}";
    let started = std::time::Instant::now();
    while super::hostile_clients::sample(&app.workers_metrics().await, redelivered) < 1.0 {
        assert!(
            started.elapsed() < WAIT,
            "the redelivery was never recognised"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back_to_a = project(&ws, "p1", "A");
    publish_one(&app, &back_to_a).await;
    app.wait_for_count(logged, 3, WAIT).await;

    assert_eq!(
        outcome_of(&app, &back_to_a).await.0,
        "applied",
        "decided against the stored B, not the redelivered A"
    );
    let name: String = sqlx::query_scalar(
        "select data->>'name' from entities where workspace_id = 'ws-after-redelivery' and entity_id = 'p1'",
    )
    .fetch_one(&app.db)
    .await
    .expect("p1");
    assert_eq!(name, "A");
    app.stop().await;
}
