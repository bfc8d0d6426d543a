//! The outbox: events the broker cannot confirm (unreachable, or their partition full) are
//! committed to PostgreSQL and answered 200; the relay publishes them in order once the broker
//! takes them again; only with the database away too is the answer 503.

use std::time::Duration;

use sqlx::Connection as _;

use common::events::EventType;
use integration_tests::forwarder::Forwarder;
use integration_tests::{Installation, TestApp, TestEnv};
use simulator::payloads;

const WAIT: Duration = Duration::from_secs(60);
/// A port nothing listens on: the database "away" for ingress.
const CLOSED_DATABASE: &str = "postgres://postgres@127.0.0.1:1/nowhere";

/// Posts NEW_PROJECT `p{from}..p{to}` for `ws`, one after the other; all must be answered 200.
async fn post_projects(app: &TestApp, ws: &Installation, from: usize, to: usize) {
    for i in from..to {
        let response = app.post_project(ws, &format!("p{i}"), "outboxed").await;
        assert_eq!(
            response.status(),
            200,
            "p{i} of {} accepted",
            ws.workspace_id
        );
    }
}

/// Asserts `ws`'s webhooks are in the event log exactly once each, `p0..p{count}`, and were
/// applied in the order they were accepted (no later one committed before an earlier one).
async fn assert_logged_once_in_order(app: &TestApp, workspace_id: &str, count: usize) {
    let rows: Vec<(Option<String>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select entity_id, processed_at from event_log
         where workspace_id = $1 and source = 'webhook' order by accepted_at",
    )
    .bind(workspace_id)
    .fetch_all(&app.db)
    .await
    .expect("event log");
    let ids: Vec<String> = rows
        .iter()
        .map(|(id, _)| id.clone().unwrap_or_default())
        .collect();
    let expected: Vec<String> = (0..count).map(|i| format!("p{i}")).collect();
    assert_eq!(
        ids, expected,
        "{workspace_id}: every event once, in acceptance order"
    );
    for pair in rows.windows(2) {
        assert!(
            pair[0].1 <= pair[1].1,
            "{workspace_id}: {:?} committed after {:?}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test]
async fn events_accepted_while_the_broker_is_unreachable_are_relayed_once_in_order() {
    // Its answers wait on connect, confirm and database timeouts: run alone, so a loaded machine
    // does not stretch them past the client's patience.
    let _heavy = integration_tests::heavy::exclusive().await;
    let forwarder = Forwarder::start("127.0.0.1:5672").await;
    let amqp_url = forwarder.amqp_url();
    let app = TestApp::spawn_tiers(TestEnv::new(), &[("AMQP_URL", &amqp_url)], Some(&[])).await;
    let a = app.install("ws-outbox-a", &[EventType::NewProject]).await;
    let b = app.install("ws-outbox-b", &[EventType::NewProject]).await;
    post_projects(&app, &a, 0, 3).await;
    post_projects(&app, &b, 0, 3).await;

    // Hold the relay off (its per-partition locks) until the broker is back for ingress, so
    // the outboxed events are still waiting when the next ones arrive.
    let mut relay_blocker = sqlx::PgConnection::connect(&app.env.database_url)
        .await
        .expect("connection");
    for partition in 0..i32::from(app.env.partitions) {
        sqlx::query("select pg_advisory_lock($1, $2)")
            .bind(common::db::outbox::RELAY_LOCK_CLASS)
            .bind(partition)
            .execute(&mut relay_blocker)
            .await
            .expect("relay lock");
    }

    // The broker is gone for ingress: every event is answered 200 from the outbox.
    forwarder.switch_off();
    post_projects(&app, &a, 3, 8).await;
    post_projects(&app, &b, 3, 8).await;
    assert_eq!(
        app.count("select count(*) from event_outbox").await,
        10,
        "the unconfirmed events wait in the outbox"
    );

    // Back: the new events must queue behind the outboxed ones, not overtake them.
    forwarder.switch_on();
    post_projects(&app, &a, 8, 11).await;
    post_projects(&app, &b, 8, 11).await;
    assert_eq!(
        app.count("select count(*) from event_outbox").await,
        16,
        "a workspace with events in the outbox sends its next ones there too"
    );
    relay_blocker.close().await.expect("locks released");

    app.wait_for_count("select count(*) from event_outbox", 0, WAIT)
        .await;
    app.wait_for_count(
        "select count(*) from event_log where source = 'webhook'",
        22,
        WAIT,
    )
    .await;
    assert_logged_once_in_order(&app, "ws-outbox-a", 11).await;
    assert_logged_once_in_order(&app, "ws-outbox-b", 11).await;
    let ingress_metrics = app.metrics().await;
    assert!(
        ingress_metrics.contains("studio_events_outboxed_total{reason=\"unavailable\"}"),
        "outboxed events counted"
    );
    let relayed =
        super::hostile_clients::sample(&app.workers_metrics().await, "studio_outbox_relayed_total");
    assert!(relayed >= 10.0, "relayed {relayed}");
    app.stop().await;
}

#[tokio::test]
async fn events_over_a_full_partition_wait_in_the_outbox_until_workers_drain_it() {
    // Its answers wait on connect, confirm and database timeouts: run alone, so a loaded machine
    // does not stretch them past the client's patience.
    let _heavy = integration_tests::heavy::exclusive().await;
    let limit = [("EVENT_QUEUE_MAX_LENGTH", "3")];
    let app = TestApp::spawn_with(TestEnv::new(), false, &limit).await;
    let token = app
        .env
        .signer
        .webhook_token("ws-full", "addon-full", "NEW_PROJECT");
    for i in 0..8 {
        let body = payloads::project("ws-full", &format!("p{i}"), "flood");
        let response = app.post_webhook(EventType::NewProject, &token, &body).await;
        assert_eq!(response.status(), 200, "p{i} accepted");
    }
    let queued = i64::from(app.queued_events().await);
    assert!(queued <= 4, "{queued} on the queue");
    assert_eq!(
        app.count("select count(*) from event_outbox").await,
        8 - queued,
        "the rest in the outbox"
    );

    // A worker starts: it drains the partition, and the relay moves the outbox behind it.
    let worker = app.start_worker(&limit).await;
    app.wait_for_count(
        "select count(*) from event_log where workspace_id = 'ws-full'",
        8,
        WAIT,
    )
    .await;
    app.wait_for_count("select count(*) from event_outbox", 0, WAIT)
        .await;
    assert_logged_once_in_order(&app, "ws-full", 8).await;
    worker.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn with_both_the_broker_and_the_database_away_an_event_is_a_503_with_retry_after() {
    // Its answers wait on connect, confirm and database timeouts: run alone, so a loaded machine
    // does not stretch them past the client's patience.
    let _heavy = integration_tests::heavy::exclusive().await;
    let forwarder = Forwarder::start("127.0.0.1:5672").await;
    let amqp_url = forwarder.amqp_url();
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[("AMQP_URL", &amqp_url), ("DATABASE_URL", CLOSED_DATABASE)],
    )
    .await;
    let token = app
        .env
        .signer
        .webhook_token("ws-away", "addon-away", "NEW_PROJECT");
    forwarder.switch_off();

    let body = payloads::project("ws-away", "p1", "lost?");
    let response = app.post_webhook(EventType::NewProject, &token, &body).await;

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        app.metrics()
            .await
            .contains("studio_outbox_write_failures_total 1")
    );
    app.stop().await;
}
