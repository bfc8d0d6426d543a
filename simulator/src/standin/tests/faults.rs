//! Scripted and random faults, seen from a real HTTP client.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Api, ids, small_workspace, start};
use crate::standin::{Fault, FaultMatch, StandIn, StandInConfig};

async fn standin() -> StandIn {
    start(StandInConfig {
        workspaces: vec![small_workspace("w1")],
        ..StandInConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_scripted_429_carries_its_retry_after_and_is_used_up() {
    let standin = standin().await;
    let api = Api::new(&standin, "any-token");
    let fault = Fault::Status {
        status: 429,
        retry_after_secs: Some(7),
    };
    standin
        .faults()
        .push(FaultMatch::path("/projects"), fault, 1);

    let users = api.get("/v1/workspaces/w1/users").await.expect("an answer");
    let limited = api
        .get("/v1/workspaces/w1/projects")
        .await
        .expect("an answer");
    let again = api
        .get("/v1/workspaces/w1/projects")
        .await
        .expect("an answer");

    assert_eq!(users.status(), 200, "other paths are not matched");
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(again.status(), 200);
    assert_eq!(standin.recorder().too_many_requests("w1"), 1);
    assert_eq!(standin.faults().pending(), 0);
    standin.stop().await;
}

#[tokio::test]
async fn a_scripted_503_is_answered_as_many_times_as_asked() {
    let standin = standin().await;
    let api = Api::new(&standin, "any-token");
    let fault = Fault::Status {
        status: 503,
        retry_after_secs: None,
    };
    standin.faults().push(FaultMatch::any(), fault, 2);

    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = api.get("/v1/workspaces/w1/tags").await.expect("an answer");
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [503, 503, 200]);
    standin.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_is_an_error_for_the_client_and_recorded_unanswered() {
    let standin = standin().await;
    let api = Api::new(&standin, "any-token");
    standin.faults().push(
        FaultMatch::method_path("GET", "/clients"),
        Fault::DropConnection,
        1,
    );

    let dropped = api.get("/v1/workspaces/w1/clients").await;
    let next = api
        .get("/v1/workspaces/w1/clients")
        .await
        .expect("an answer");

    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(next.status(), 200);
    let statuses: Vec<u16> = standin
        .recorder()
        .requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [0, 200]);
    standin.stop().await;
}

#[tokio::test]
async fn a_drop_after_applying_loses_the_answer_but_still_creates_the_project() {
    let standin = standin().await;
    let api = Api::new(&standin, "any-token");
    standin.faults().push(
        FaultMatch::method_path("post", "/projects"),
        Fault::DropAfterApplying,
        1,
    );

    let lost = api
        .send_json(
            reqwest::Method::POST,
            "/v1/workspaces/w1/projects",
            &json!({"name": "Lost answer"}),
        )
        .await;
    let projects = api.get_json("/v1/workspaces/w1/projects").await;

    assert!(lost.is_err(), "{lost:?}");
    assert!(ids(&projects).contains(&"w1-p6".to_owned()));
    assert_eq!(projects[5]["name"], "Lost answer");
    let post = &standin.recorder().requests()[0];
    assert_eq!(
        (post.method.as_str(), post.status, post.admitted),
        ("POST", 0, true)
    );
    standin.stop().await;
}

#[tokio::test]
async fn a_scripted_delay_holds_the_answer() {
    let standin = standin().await;
    let api = Api::new(&standin, "any-token");
    let delay = Duration::from_millis(300);
    standin
        .faults()
        .push(FaultMatch::any(), Fault::Delay(delay), 1);

    let started = Instant::now();
    let response = api.get("/v1/workspaces/w1/tags").await.expect("an answer");

    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= delay);
    standin.stop().await;
}

#[tokio::test]
async fn configured_rates_of_one_fail_or_drop_every_request() {
    let failing = start(StandInConfig {
        workspaces: vec![small_workspace("w1")],
        failure_rate_5xx: 1.0,
        ..StandInConfig::default()
    })
    .await;
    let dropping = start(StandInConfig {
        workspaces: vec![small_workspace("w1")],
        drop_rate: 1.0,
        ..StandInConfig::default()
    })
    .await;

    let failed = Api::new(&failing, "t").get("/v1/workspaces/w1/tags").await;
    let dropped = Api::new(&dropping, "t").get("/v1/workspaces/w1/tags").await;

    assert_eq!(failed.expect("an answer").status(), 503);
    assert!(dropped.is_err(), "{dropped:?}");
    failing.stop().await;
    dropping.stop().await;
}
