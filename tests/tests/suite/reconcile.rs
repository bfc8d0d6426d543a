//! Reconciliation passes: after Clockify changed, deleted and added entities with no webhook
//! sent, a pass leaves the copy equal to Clockify's data (time entries through the change feeds,
//! or a re-read when a feed answers an error), records what it changed per kind, and never
//! overwrites a webhook newer than its read.

use std::time::Duration;

use serde_json::json;
use simulator::standin::{Fault, FaultMatch, StandIn, WorkspaceSpec};

use super::bootstrap::standin;
use integration_tests::{TestApp, TestEnv};

mod support;

use support::{
    OPERATOR_TOKEN, WAIT, assert_copy_equals_clockify, bootstrapped, changed, copy_items, drift,
    latest_pass, overrides, start_pass, time_entry_drift,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_repairs_what_changed_behind_the_copys_back_using_the_change_feeds() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-rec", 600)]).await;
    let ws = bootstrapped(&app, &clockify, "ws-rec").await;
    drift(&clockify, "ws-rec");
    // A project deleted at Clockify (its webhook never sent): its tasks go with it.
    let deleted = app
        .http
        .delete(format!(
            "{}/v1/workspaces/ws-rec/projects/ws-rec-p2",
            clockify.api_url()
        ))
        .header("X-Addon-Token", &ws.auth_token)
        .send()
        .await
        .expect("stand-in answers");
    assert_eq!(deleted.status(), 200);
    let p2_tasks = copy_items(&app, "ws-rec", "task", Some(("projectId", "ws-rec-p2"))).await;
    assert!(!p2_tasks.is_empty());
    let entry_reads = |clockify: &StandIn| {
        clockify
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.path.contains("/time-entries"))
            .count()
    };
    let read_by_the_bootstrap = entry_reads(&clockify);
    // The feeds are asked in whole seconds: the changes are left a second to fall inside.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    assert_eq!(
        entry_reads(&clockify),
        read_by_the_bootstrap,
        "time entries came from the feeds"
    );
    assert_copy_equals_clockify(&app, &clockify, &ws).await;

    let pass = latest_pass(&app, &ws).await;
    assert_eq!(pass["status"], "completed");
    assert_eq!(
        (
            changed(&pass, "tag", "added"),
            changed(&pass, "tag", "updated"),
            changed(&pass, "tag", "deleted")
        ),
        (1, 1, 1)
    );
    assert_eq!(changed(&pass, "user", "updated"), 1);
    assert_eq!(
        (
            changed(&pass, "task", "updated"),
            changed(&pass, "task", "deleted")
        ),
        (1, 1 + p2_tasks.len() as i64),
        "the changed task, the deleted one, and the deleted project's"
    );
    assert_eq!(changed(&pass, "project", "deleted"), 1);
    assert!(
        copy_items(&app, "ws-rec", "task", Some(("projectId", "ws-rec-p2")))
            .await
            .is_empty()
    );
    assert_eq!(changed(&pass, "invoice", "added"), 1);
    assert_eq!(
        (
            changed(&pass, "time_entry", "added"),
            changed(&pass, "time_entry", "updated"),
            changed(&pass, "time_entry", "deleted")
        ),
        (1, 1, 1)
    );
    assert_eq!(
        changed(&pass, "project", "updated"),
        0,
        "nothing else changed"
    );
    let requests = clockify.recorder().requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/entities/deleted"))
    );
    let metrics = app.workers_metrics().await;
    assert!(
        metrics.contains(r#"studio_reconcile_changes_total{change="deleted",kind="tag"} 1"#),
        "{metrics}"
    );

    // A second pass over an unchanged workspace changes nothing.
    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(pass["changes"], json!([]), "{pass}");

    // Operators may start one too, recorded in the audit log.
    let answer = app
        .http
        .post(app.url("/admin/workspaces/ws-rec/reconcile"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .expect("ingress answers");
    assert_eq!(answer.status(), 202);
    assert_eq!(app.wait_for_bootstrap("ws-rec", WAIT).await, "completed");
    let audited = app
        .count("select count(*) from operator_audit where action = 'reconcile.start' and outcome = 'started'")
        .await;
    assert_eq!(audited, 1);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_answers_an_error_hands_over_to_a_re_read() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-refeed", 600)]).await;
    let ws = bootstrapped(&app, &clockify, "ws-refeed").await;
    time_entry_drift(&clockify, "ws-refeed");
    let broken = Fault::Status {
        status: 400,
        retry_after_secs: None,
    };
    clockify
        .faults()
        .push(FaultMatch::path("/entities/"), broken, 3);

    start_pass(&app, &ws).await;
    assert_eq!(app.wait_for_bootstrap("ws-refeed", WAIT).await, "completed");
    assert_eq!(clockify.faults().pending(), 0, "every feed was asked");
    assert_copy_equals_clockify(&app, &clockify, &ws).await;
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(changed(&pass, "time_entry", "deleted"), 1);
    let progress = pass["progress"].as_array().expect("progress");
    let feeds = progress
        .iter()
        .find(|p| p["kind"] == "time_entries_deleted")
        .expect("the deletions feed's unit");
    assert!(
        feeds["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("re-read")),
        "{feeds}"
    );
    let rereads = progress
        .iter()
        .find(|p| p["kind"] == "time_entries")
        .expect("time entries re-read");
    assert_eq!(rereads["units"], rereads["units_done"]);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_newer_than_the_passs_read_is_kept() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides()).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-newer", 300)]).await;
    let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
    let events = [common::events::EventType::TagUpdated];
    let ws = app
        .install_full("ws-newer", &addon_id, &events, &clockify.api_url())
        .await;
    assert_eq!(app.wait_for_bootstrap("ws-newer", WAIT).await, "completed");
    // Clockify's answer to the pass's read of the tags is slow; meanwhile a webhook arrives.
    let stale = json!({"id": "ws-newer-t3", "name": "what the read says", "workspaceId": "ws-newer", "archived": false});
    clockify.change_entity("ws-newer", "tags", stale);
    clockify.faults().push(
        FaultMatch::path("/tags"),
        Fault::Delay(Duration::from_secs(4)),
        1,
    );
    start_pass(&app, &ws).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let newer = json!({"id": "ws-newer-t3", "name": "what the webhook says", "workspaceId": "ws-newer", "archived": false});
    let token = ws
        .token_for(common::events::EventType::TagUpdated)
        .to_owned();
    assert_eq!(
        app.post_webhook(common::events::EventType::TagUpdated, &token, &newer)
            .await
            .status(),
        200
    );
    app.wait_for_count(
        "select count(*) from entities where workspace_id = 'ws-newer' and entity_id = 'ws-newer-t3' and data ->> 'name' = 'what the webhook says'",
        1,
        WAIT,
    )
    .await;
    let tags_pending = app
        .count("select count(*) from bootstrap_units u join bootstrap_jobs j on j.id = u.job_id where j.workspace_id = 'ws-newer' and j.mode = 'reconcile' and u.unit_key = 'tags' and u.status = 'pending'")
        .await;
    assert_eq!(
        tags_pending, 1,
        "the webhook landed before the pass wrote its read"
    );

    assert_eq!(app.wait_for_bootstrap("ws-newer", WAIT).await, "completed");
    let name: String = sqlx::query_scalar(
        "select data ->> 'name' from entities where workspace_id = 'ws-newer' and entity_id = 'ws-newer-t3' and not deleted",
    )
    .fetch_one(&app.db)
    .await
    .expect("the tag is live");
    assert_eq!(name, "what the webhook says");
    let pass = latest_pass(&app, &ws).await;
    assert_eq!(changed(&pass, "tag", "updated"), 0);
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_start_on_schedule_without_being_asked() {
    let overrides = [
        ("RECONCILE_INTERVAL", "2s"),
        ("FRESHNESS_SWEEP_SECS", "1"),
        ("RECONCILE_FEED_LAG_SECS", "0"),
    ];
    let app = TestApp::spawn_with(TestEnv::new(), true, &overrides).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized("ws-sched", 200)]).await;
    app.install_at("ws-sched", &clockify.api_url()).await;
    // No bootstrap was asked for: the first scheduled pass imports the workspace.
    app.wait_for_count(
        "select least(count(*), 1) from bootstrap_jobs where workspace_id = 'ws-sched' and mode = 'reconcile' and requested_by = 'schedule' and status = 'completed'",
        1,
        WAIT,
    )
    .await;
    let users = app
        .count("select count(*) from entities where workspace_id = 'ws-sched' and kind = 'user' and not deleted")
        .await;
    assert_eq!(users, WorkspaceSpec::sized("ws-sched", 200).users as i64);
    clockify.stop().await;
    app.stop().await;
}
