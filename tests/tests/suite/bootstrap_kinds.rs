//! A bootstrap imports every kind a complete copy holds, each a unit of its own; a kind the
//! workspace's plan does not offer (403) ends `not_available` without failing the job.

use std::time::Duration;

use common::bootstrap_kinds::{KINDS, KindRole};
use simulator::standin::{Fault, FaultMatch, WorkspaceSpec};

use super::bootstrap::{BOOTSTRAP, standin};
use integration_tests::{TestApp, TestEnv};

async fn stored(app: &TestApp, workspace_id: &str, kind: &str) -> i64 {
    sqlx::query_scalar("select count(*) from entities where workspace_id = $1 and kind = $2")
        .bind(workspace_id)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_stores_every_kind_and_a_kind_answered_403_ends_not_available() {
    let app = TestApp::spawn_with(TestEnv::new(), true, &BOOTSTRAP).await;
    let ws = "ws-kinds";
    let spec = WorkspaceSpec::sized(ws, 1_500);
    let clockify = standin(&app, vec![spec.clone()]).await;
    // The plan does not offer invoices: every ask answers 403.
    let forbidden = Fault::Status {
        status: 403,
        retry_after_secs: None,
    };
    clockify
        .faults()
        .push(FaultMatch::path("/invoices"), forbidden, 1_000);

    app.install_at(ws, &clockify.api_url()).await;
    assert_eq!(
        app.wait_for_bootstrap(ws, Duration::from_secs(90)).await,
        "completed",
        "a kind the plan does not offer does not fail the job"
    );

    let more = &spec.more;
    let expected = [
        ("user", spec.users),
        ("project", spec.projects),
        ("client", spec.clients),
        ("tag", spec.tags),
        ("task", spec.projects * spec.tasks_per_project),
        ("time_entry", spec.users * spec.time_entries_per_user),
        ("user_group", more.user_groups),
        ("custom_field", more.custom_fields),
        ("expense_category", more.expense_categories),
        ("expense", more.expenses),
        ("invoice", 0),
        ("approval_request", more.approval_requests),
        ("time_off_policy", more.time_off_policies),
        ("time_off_request", more.time_off_requests),
        ("balance", more.time_off_policies * more.balances_per_policy),
        ("holiday", more.holidays),
        ("assignment", more.assignments),
    ];
    let lists = KINDS.iter().filter(|k| k.role == KindRole::List).count();
    assert_eq!(expected.len(), lists, "every kind is checked");
    for (kind, count) in expected {
        assert!(count > 0 || kind == "invoice", "the spec holds some {kind}");
        assert_eq!(stored(&app, ws, kind).await, count as i64, "{kind}");
    }

    let units: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select unit_key, status, error from bootstrap_units where workspace_id = $1
         and status <> 'done'",
    )
    .bind(ws)
    .fetch_all(&app.db)
    .await
    .expect("units");
    assert_eq!(units.len(), 1, "{units:?}");
    assert_eq!(units[0].0, "invoices");
    assert_eq!(units[0].1, "not_available");
    assert!(units[0].2.as_deref().unwrap_or_default().contains("403"));

    // The time-off requests and balances came from the time-off API's base.
    let pto_paths = clockify
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/pto/v1/workspaces/ws-kinds/time-off/"))
        .count();
    assert!(pto_paths >= 2, "time off read through /pto");
    clockify.stop().await;
    app.stop().await;
}
