//! An ingress lane that keeps two messages awaiting their confirms at once
//! (`INGRESS_GROUP_IN_FLIGHT=2`) still hands its partition every caller's events once each, in
//! the order that caller sent them, and its messages in the order it sent them: a lane sends
//! them one after the other on one channel. Over a full partition, whose broker refuses them,
//! every accepted event still reaches the log once, through the outbox, in each caller's order.

use std::collections::HashMap;

use futures::StreamExt as _;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;

use common::broker::QueueNames;
use common::events::EventType;
use common::messages::{BATCH_KIND, Event, Queued, partition_of};
use integration_tests::forwarder::Forwarder;
use integration_tests::{TestApp, TestEnv};

const CALLERS: usize = 16;
const EVENTS_EACH: usize = 25;
/// How long the queue may take to hand over the next message.
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::test]
async fn with_two_messages_in_flight_a_lanes_messages_and_each_callers_events_keep_their_order() {
    let app = TestApp::spawn_with(TestEnv::new(), false, &[("INGRESS_GROUP_IN_FLIGHT", "2")]).await;
    let ws = app
        .install("ws-two-in-flight", &[EventType::NewProject])
        .await;

    // Callers send at the same time, each its own events one after the other.
    let callers = (0..CALLERS).map(|caller| {
        let (app, ws) = (&app, &ws);
        async move {
            for n in 0..EVENTS_EACH {
                let id = format!("c{caller}-{n}");
                let response = app.post_project(ws, &id, "two in flight").await;
                assert_eq!(response.status(), 200, "{id} accepted");
            }
        }
    });
    futures::future::join_all(callers).await;

    // The partition's queue, message by message, in the broker's order.
    let names = QueueNames::new(&app.env.queue_prefix, app.env.partitions);
    let queue = names.event_partition(partition_of(&ws.workspace_id, app.env.partitions));
    let (_connection, channel) = app.broker_channel().await;
    // Quorum queues with a single active consumer take no basic.get: consume, as a worker would.
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            "lanes-in-flight-test".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let mut messages = 0;
    let mut project_ids = Vec::new();
    // A batch's id is a UUIDv7 the lane mints as it sends the batch: they rise in send order.
    let mut last_batch_id: Option<uuid::Uuid> = None;
    while project_ids.len() < CALLERS * EVENTS_EACH {
        let delivery = tokio::time::timeout(WAIT, deliveries.next())
            .await
            .unwrap_or_else(|_| panic!("only {} events on the queue", project_ids.len()))
            .expect("a delivery")
            .expect("delivered");
        messages += 1;
        let kind = delivery.properties.kind().as_ref().map(|k| k.as_str());
        if kind == Some(BATCH_KIND) {
            let id = delivery
                .properties
                .message_id()
                .as_ref()
                .and_then(|id| uuid::Uuid::parse_str(id.as_str()).ok())
                .expect("a batch's message id");
            assert!(
                last_batch_id.is_none_or(|last| last < id),
                "batch {id} reached the queue after one the lane sent later ({last_batch_id:?})"
            );
            last_batch_id = Some(id);
        }
        let events = match Queued::decode(kind, &delivery.data).expect("a message ingress wrote") {
            Queued::One(event) => vec![*event],
            Queued::Batch(batch) => batch.events.into_iter().map(|e| e.message).collect(),
        };
        for event in events {
            if let Event::Webhook(webhook) = event.event {
                project_ids.push(webhook.body.fields().id.clone().expect("project id"));
            }
        }
    }

    assert_eq!(project_ids.len(), CALLERS * EVENTS_EACH, "every event once");
    let mut next_of: HashMap<&str, usize> = HashMap::new();
    for id in &project_ids {
        let (caller, n) = id.split_once('-').expect("c<caller>-<n>");
        let expected = next_of.entry(caller).or_insert(0);
        assert_eq!(
            n.parse::<usize>().expect("n"),
            *expected,
            "{caller}'s events in the order it sent them (queue: {project_ids:?})"
        );
        *expected += 1;
    }
    assert!(
        messages < CALLERS * EVENTS_EACH,
        "concurrent callers shared messages ({messages} messages)"
    );
    let overlapped = series(
        &app.metrics().await,
        "studio_event_messages_overlapped_total",
    );
    assert!(
        overlapped > 0.0,
        "the lane sent messages while an earlier one was still unsettled"
    );
    app.stop().await;
}

/// Callers of one workspace when its partition holds only 3 messages (the rest refused).
const FULL_CALLERS: usize = 8;
const FULL_EVENTS_EACH: usize = 10;

#[tokio::test]
async fn with_two_messages_in_flight_over_a_full_partition_every_event_is_applied_once_in_each_callers_order()
 {
    // Outbox writes and the relay wait on the database: run alone.
    let _heavy = integration_tests::heavy::exclusive().await;
    let config = [
        ("INGRESS_GROUP_IN_FLIGHT", "2"),
        ("EVENT_QUEUE_MAX_LENGTH", "3"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), false, &config).await;
    let token = app
        .env
        .signer
        .webhook_token("ws-full-two", "addon-full-two", "NEW_PROJECT");

    // No worker yet: the broker takes 3 messages and refuses the rest, often two of a lane's in
    // flight at once; the refused events go to the outbox, settled in the order they were sent,
    // and their workspace's next events join them there.
    let callers = (0..FULL_CALLERS).map(|caller| {
        let (app, token) = (&app, &token);
        async move {
            for n in 0..FULL_EVENTS_EACH {
                let id = format!("c{caller}-{n}");
                let body = simulator::payloads::project("ws-full-two", &id, "flood");
                let response = app.post_webhook(EventType::NewProject, token, &body).await;
                assert_eq!(response.status(), 200, "{id} accepted");
            }
        }
    });
    futures::future::join_all(callers).await;
    assert!(
        app.count("select count(*) from event_outbox").await > 0,
        "some events were refused by the full partition and outboxed"
    );

    // A worker drains the partition and the relay moves the outbox behind it.
    let worker = app.start_worker(&config).await;
    let total = FULL_CALLERS * FULL_EVENTS_EACH;
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-full-two'",
        i64::try_from(total).expect("small"),
        WAIT,
    )
    .await;
    app.wait_for_count("select count(*) from event_outbox", 0, WAIT)
        .await;

    // Each caller's events, by when they were accepted: each once, applied in that order.
    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select entity_id, processed_at from event_log
         where workspace_id = 'ws-full-two' order by accepted_at",
    )
    .fetch_all(&app.db)
    .await
    .expect("event log");
    assert_eq!(rows.len(), total, "every event once");
    for caller in 0..FULL_CALLERS {
        let prefix = format!("c{caller}-");
        let own: Vec<&(String, chrono::DateTime<chrono::Utc>)> = rows
            .iter()
            .filter(|(id, _)| id.starts_with(&prefix))
            .collect();
        let ids: Vec<&str> = own.iter().map(|(id, _)| id.as_str()).collect();
        let expected: Vec<String> = (0..FULL_EVENTS_EACH)
            .map(|n| format!("c{caller}-{n}"))
            .collect();
        assert_eq!(
            ids, expected,
            "caller {caller}'s events once each, in its order"
        );
        for pair in own.windows(2) {
            assert!(
                pair[0].1 <= pair[1].1,
                "caller {caller}: {} applied after {}",
                pair[0].0,
                pair[1].0
            );
        }
    }
    worker.stop().await;
    app.stop().await;
}

/// Callers of one workspace: more than a lane overlaps its messages for.
const MANY_CALLERS: usize = 64;
const MANY_EVENTS_EACH: usize = 40;

/// The value of one exact series in Prometheus text.
fn series(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// Event messages ingress has sent, and how many of them while another of their lane was
/// unsettled.
async fn sent_and_overlapped(app: &TestApp) -> (f64, f64) {
    let metrics = app.metrics().await;
    (
        series(&metrics, "studio_event_group_size_count{queue=\"events\"}"),
        series(&metrics, "studio_event_messages_overlapped_total"),
    )
}

#[tokio::test]
async fn a_lane_with_many_callers_keeps_one_message_in_flight() {
    // Timing decides how many callers wait at once: run alone.
    let _heavy = integration_tests::heavy::exclusive().await;
    // The broker's replies (its confirms among them) reach ingress 20 ms late, so a lane's
    // callers pile up behind each message: a lane that may overlap would send the next at once.
    let forwarder =
        Forwarder::start_with_reply_delay("127.0.0.1:5672", std::time::Duration::from_millis(20))
            .await;
    let amqp_url = forwarder.amqp_url();
    // The default configuration otherwise: two messages in flight allowed.
    let app = TestApp::spawn_with(TestEnv::new(), false, &[("AMQP_URL", &amqp_url)]).await;
    let ws = app
        .install("ws-many-callers", &[EventType::NewProject])
        .await;

    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let callers = (0..MANY_CALLERS).map(|caller| {
        let (app, ws, accepted) = (&app, &ws, &accepted);
        async move {
            for n in 0..MANY_EVENTS_EACH {
                let id = format!("c{caller}-{n}");
                let response = app.post_project(ws, &id, "many callers").await;
                assert_eq!(response.status(), 200, "{id} accepted");
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    // While every caller is busy (past the first quarter of the events, before the last), as a
    // lane overlaps only while the first callers arrive and the last ones leave.
    let total = MANY_CALLERS * MANY_EVENTS_EACH;
    let watch = async {
        let mut samples = Vec::new();
        for quarters in [1, 3] {
            while accepted.load(std::sync::atomic::Ordering::Relaxed) < total * quarters / 4 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            samples.push(sent_and_overlapped(&app).await);
        }
        samples
    };
    let ((), samples) = tokio::join!(
        async {
            futures::future::join_all(callers).await;
        },
        watch
    );
    let (messages, overlapped) = (samples[1].0 - samples[0].0, samples[1].1 - samples[0].1);
    assert!(
        messages >= 5.0,
        "the lane sent messages between the samples ({messages})"
    );
    assert!(
        overlapped <= messages / 10.0,
        "a lane with {MANY_CALLERS} callers overlapped {overlapped} of its {messages} messages"
    );
    app.stop().await;
}
