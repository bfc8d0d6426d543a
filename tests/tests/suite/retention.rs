//! Retention: old event-log rows and finished API calls are purged by the workers, entities
//! never; dead letters expire through the dead-letter queue's message TTL.

use std::time::Duration;

use integration_tests::{TestApp, TestEnv};

/// Inserts an event-log row of `workspace_id` processed `days_ago` days ago.
async fn log_row(app: &TestApp, workspace_id: &str, days_ago: i32) {
    sqlx::query(
        "insert into event_log (workspace_id, message_id, source, event_type, outcome, request_id,
                                accepted_at, processed_at)
         values ($1, gen_random_uuid(), 'webhook', 'NEW_TAG', 'applied', 'req',
                 now() - make_interval(days => $2), now() - make_interval(days => $2))",
    )
    .bind(workspace_id)
    .bind(days_ago)
    .execute(&app.db)
    .await
    .expect("log row");
}

/// Inserts an API call of `workspace_id` with `status`, created `days_ago` days ago.
async fn call_row(app: &TestApp, workspace_id: &str, status: &str, days_ago: i32) {
    sqlx::query(
        "insert into api_calls (id, workspace_id, request_id, operation_id, api_base, tag, method,
                                path, status, created_at)
         values (gen_random_uuid(), $1, 'req', 'getTags', 'backend', 'Tag', 'GET', '/v1/x', $2,
                 now() - make_interval(days => $3))",
    )
    .bind(workspace_id)
    .bind(status)
    .bind(days_ago)
    .execute(&app.db)
    .await
    .expect("call row");
}

#[tokio::test]
async fn rows_older_than_their_retention_are_purged_and_entities_are_kept() {
    let app = TestApp::spawn_with(
        TestEnv::new(),
        true,
        &[
            ("RETENTION_INTERVAL_SECS", "0.2"),
            ("EVENT_LOG_RETENTION_DAYS", "30"),
            ("API_CALL_RETENTION_DAYS", "90"),
        ],
    )
    .await;
    for _ in 0..3 {
        log_row(&app, "ws-old", 31).await;
    }
    log_row(&app, "ws-old", 29).await;
    call_row(&app, "ws-old", "succeeded", 91).await;
    call_row(&app, "ws-old", "failed", 91).await;
    call_row(&app, "ws-old", "succeeded", 89).await;
    // Old but never finished: not the purger's to remove.
    call_row(&app, "ws-old", "queued", 91).await;
    sqlx::query(
        "insert into entities (workspace_id, kind, entity_id, data, body_sha256, source, observed_at)
         values ('ws-old', 'tag', 't1', '{}', 'x', 'webhook', now() - interval '400 days')",
    )
    .execute(&app.db)
    .await
    .expect("entity");

    app.wait_for_count("select count(*) from event_log", 1, Duration::from_secs(20))
        .await;
    app.wait_for_count("select count(*) from api_calls", 2, Duration::from_secs(20))
        .await;
    assert_eq!(
        app.count("select count(*) from api_calls where status = 'queued' or created_at > now() - interval '90 days'")
            .await,
        2
    );
    assert_eq!(
        app.count("select count(*) from entities").await,
        1,
        "entities untouched"
    );
    let metrics = app.workers_metrics().await;
    assert!(
        metrics.contains("studio_rows_purged_total{table=\"event_log\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("studio_rows_purged_total{table=\"api_calls\"} 2"));
    app.stop().await;
}

#[tokio::test]
async fn the_dead_letter_queue_expires_messages_after_the_retention() {
    let app = TestApp::spawn_with(
        TestEnv::new(),
        false,
        &[("DEAD_LETTER_RETENTION_DAYS", "3")],
    )
    .await;
    let queue =
        common::broker::QueueNames::new(&app.env.queue_prefix, app.env.partitions).dead_letters();
    let listing = tokio::process::Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "--no-table-headers",
            "-q",
            "name",
            "arguments",
        ])
        .output()
        .await
        .expect("rabbitmqctl runs (it ships with the RabbitMQ the tests use)");
    let text = String::from_utf8_lossy(&listing.stdout);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(queue.as_str()))
        .unwrap_or_else(|| panic!("{queue} not listed: {text}"));
    assert!(line.contains("x-message-ttl"), "{line}");
    assert!(line.contains(&(3u64 * 86_400_000).to_string()), "{line}");
    app.stop().await;
}
