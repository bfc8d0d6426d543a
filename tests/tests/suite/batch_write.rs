//! A staged batch's one-statement write is all or nothing: a run holding a message id that is
//! logged already (a redelivery) writes none of its log rows and none of its entity versions, and
//! says so, for the worker to take the careful path.

use chrono::Utc;
use uuid::Uuid;

use common::db::entities::{EntityKey, EntityWrite};
use common::db::event_log::{self, LogOutcome, LogRow, LogSource};
use common::json_text::json_text;
use integration_tests::TestApp;

const WS: &str = "ws-run-write";

fn tag(message_id: Uuid, id: &str, name: &str) -> (LogRow, (EntityKey, EntityWrite)) {
    let data = json_text(&serde_json::json!({"id": id, "name": name, "workspaceId": WS}));
    let hash = common::crypto::sha256_hex(data.get().as_bytes());
    let row = LogRow {
        workspace_id: WS.into(),
        message_id,
        source: LogSource::Webhook,
        event_type: "NEW_TAG",
        entity_kind: Some("tag"),
        entity_id: Some(id.into()),
        outcome: LogOutcome::Applied,
        reason: None,
        request_id: format!("req-{name}"),
        accepted_at: Utc::now(),
        body_sha256: Some(hash.clone()),
        payload: Some(data.clone()),
    };
    let key = EntityKey {
        workspace_id: WS.into(),
        kind: "tag",
        entity_id: id.into(),
    };
    let write = EntityWrite {
        data,
        deleted: false,
        body_sha256: hash,
        observed_at: Utc::now(),
        message_id,
    };
    (row, (key, write))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_holding_a_logged_id_writes_nothing_and_says_so() {
    let app = TestApp::spawn().await;
    let (first_id, second_id) = (Uuid::now_v7(), Uuid::now_v7());
    let (row, write) = tag(first_id, "tag-1", "first");
    assert!(
        event_log::insert_webhook_run(&app.db, &[row], &[write])
            .await
            .expect("written"),
        "a run of new ids is written"
    );
    // The same first message again, now beside a new one that also renames tag-1.
    let (again, _) = tag(first_id, "tag-1", "first");
    let (new_row, new_write) = tag(second_id, "tag-2", "second");
    let (_, rename) = tag(second_id, "tag-1", "renamed");
    let written = event_log::insert_webhook_run(&app.db, &[again, new_row], &[rename, new_write])
        .await
        .expect("a redelivery is an answer, not an error");
    assert!(!written, "the run holds a logged id");
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(WS)
                .fetch_one(&db)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        count("select count(*) from event_log where workspace_id = $1").await,
        1,
        "the new message's log row was not kept"
    );
    assert_eq!(
        count("select count(*) from entities where workspace_id = $1 and entity_id = 'tag-2'")
            .await,
        0,
        "nor its entity"
    );
    assert_eq!(
        count(
            "select count(*) from entities where workspace_id = $1 and entity_id = 'tag-1' \
             and data->>'name' = 'first'"
        )
        .await,
        1,
        "and the logged entity keeps its version"
    );
}
