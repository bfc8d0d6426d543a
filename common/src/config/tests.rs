//! Configuration parsing: defaults, refusals named by variable.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

#[test]
fn defaults_are_valid_when_the_encryption_key_is_given() {
    let config = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEY", KEY)])).expect("valid");
    assert_eq!(config.event_partitions, 8);
    assert_eq!(config.webhook_events.len(), 10);
    assert_eq!(config.addon_key, "clockify-api-studio");
}

#[test]
fn missing_encryption_key_is_refused_by_name() {
    let err = Config::from_vars(&vars(&[])).expect_err("refused");
    assert_eq!(err.name, "TOKEN_ENCRYPTION_KEY");
}

#[test]
fn eleven_webhook_events_are_refused() {
    let list = "NEW_PROJECT,PROJECT_UPDATED,PROJECT_DELETED,NEW_TASK,TASK_UPDATED,TASK_DELETED,NEW_CLIENT,CLIENT_UPDATED,CLIENT_DELETED,NEW_TAG,TAG_UPDATED";
    let err = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", KEY),
        ("WEBHOOK_EVENTS", list),
    ]))
    .expect_err("refused");
    assert_eq!(err.name, "WEBHOOK_EVENTS");
}

#[test]
fn out_of_range_number_is_refused_by_name() {
    let err = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", KEY),
        ("EVENT_PARTITIONS", "0"),
    ]))
    .expect_err("refused");
    assert_eq!(err.name, "EVENT_PARTITIONS");
}

#[test]
fn a_call_cap_that_could_fill_a_queue_is_refused() {
    let err = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", KEY),
        ("API_CALL_CONCURRENCY", "16"),
        ("API_CALL_MAX_PENDING_PER_WORKSPACE", "16"),
    ]))
    .expect_err("refused");
    assert_eq!(err.name, "API_CALL_MAX_PENDING_PER_WORKSPACE");
}

#[test]
fn frame_ancestors_default_to_clockify_and_refuse_another_directive() {
    let config = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEY", KEY)])).expect("valid");
    assert_eq!(
        config.http.ui_frame_ancestors,
        "https://*.clockify.me https://clockify.me"
    );
    let err = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", KEY),
        ("UI_FRAME_ANCESTORS", "https://a.example; script-src *"),
    ]))
    .expect_err("refused");
    assert_eq!(err.name, "UI_FRAME_ANCESTORS");
}
