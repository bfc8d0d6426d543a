//! The strict per-workspace rate limit.

use futures::future::join_all;

use super::{Api, small_workspace, start};
use crate::standin::StandInConfig;

#[tokio::test]
async fn the_limiter_answers_429_with_retry_after_past_50_per_second_while_another_workspace_gets_its_own_50()
 {
    let standin = start(StandInConfig {
        workspaces: vec![small_workspace("a"), small_workspace("b")],
        ..StandInConfig::default()
    })
    .await;
    let api = Api::new(&standin, "any-token");

    let burst_a = join_all((0..120).map(|_| api.get("/v1/workspaces/a/tags"))).await;
    let burst_b = join_all((0..50).map(|_| api.get("/v1/workspaces/b/tags"))).await;

    let mut limited = 0;
    for response in burst_a {
        let response = response.expect("an answer");
        if response.status() == 429 {
            limited += 1;
            let retry_after = response.headers().get("retry-after").cloned();
            let body: serde_json::Value = response.json().await.expect("a JSON body");
            assert_eq!(
                retry_after.as_ref().and_then(|v| v.to_str().ok()),
                Some("1")
            );
            assert_eq!(body["message"], "Too many requests");
            assert_eq!(body["code"], 429);
        } else {
            assert_eq!(response.status(), 200);
        }
    }
    let b_statuses: Vec<u16> = burst_b
        .into_iter()
        .map(|r| r.expect("an answer").status().as_u16())
        .collect();
    let recorder = standin.recorder();

    assert!(limited >= 1, "a burst of 120 must be limited");
    assert_eq!(recorder.too_many_requests("a"), limited);
    assert_eq!(recorder.peak_rate("a"), 50);
    assert_eq!(recorder.count("a"), 120);
    assert!(b_statuses.iter().all(|s| *s == 200), "{b_statuses:?}");
    assert_eq!(recorder.too_many_requests("b"), 0);
    assert_eq!(recorder.peak_rate("b"), 50);
    assert!(
        recorder.mean_rate("b") > 50.0,
        "50 requests well within a second"
    );
    standin.stop().await;
}

#[tokio::test]
async fn the_window_slides_so_a_client_at_the_limit_is_admitted_again_a_second_later() {
    let standin = start(StandInConfig {
        rate_limit_per_second: 5,
        workspaces: vec![small_workspace("a")],
        ..StandInConfig::default()
    })
    .await;
    let api = Api::new(&standin, "any-token");

    let first = join_all((0..6).map(|_| api.get("/v1/workspaces/a/tags"))).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_050)).await;
    let later = api.get("/v1/workspaces/a/tags").await.expect("an answer");

    let first_limited = first
        .into_iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.status() == 429))
        .count();
    assert_eq!(first_limited, 1);
    assert_eq!(later.status(), 200);
    assert_eq!(standin.recorder().peak_rate("a"), 5);
    standin.stop().await;
}
