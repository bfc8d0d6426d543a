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

#[test]
fn a_debug_print_of_the_config_shows_no_secret() {
    let admin = "admin-token-that-is-long-enough-0123456789";
    let hmac = "hmac-secret-that-is-long-enough-0123456789";
    let key = "c2VjcmV0LWtleS10aGF0LWlzLTMyLWJ5dGVzLWxvbmc=";
    let config = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", key),
        ("ADMIN_TOKEN", admin),
        ("WEBHOOK_HMAC_SECRET", hmac),
        (
            "DATABASE_URL",
            "postgres://studio:db-password-9@127.0.0.1/studio",
        ),
    ]))
    .expect("valid");
    let printed = format!("{config:?} {config:#?}");
    for secret in [admin, hmac, key, "db-password-9"] {
        assert!(!printed.contains(secret), "{secret} printed: {printed}");
    }
    // The raw key bytes, in any of the shapes Debug could give them, are absent too.
    let raw = config.encryption_key().expect("key");
    assert!(!printed.contains(&format!("{raw:?}")));
    assert!(!printed.contains(&format!("{:?}", hmac.as_bytes())));
    // The secrets are still there for their users.
    assert!(printed.contains("admin_token"));
    assert_eq!(raw, b"secret-key-that-is-32-bytes-long");
}

#[test]
fn an_otlp_endpoint_that_is_not_http_is_refused_by_name() {
    let err = Config::from_vars(&vars(&[
        ("TOKEN_ENCRYPTION_KEY", KEY),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
    ]))
    .expect_err("refused");
    assert_eq!(err.name, "OTEL_EXPORTER_OTLP_ENDPOINT");
}

#[test]
fn a_key_ring_replaces_the_single_key_and_bad_rings_are_refused_by_name() {
    let other = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let ring = format!("new:{other},old:{KEY}");
    let config = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEYS", &ring)])).expect("valid");
    let ids: Vec<&str> = config
        .token_encryption_keys
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(ids, ["new", "old"]);
    assert_eq!(
        config.encryption_key(),
        Some(&[1u8; 32]),
        "the first key seals"
    );
    let cipher = config.token_cipher().expect("a cipher");
    assert!(cipher.seal("ws", "t").starts_with("v2:new:"));
    let legacy = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEY", KEY)])).expect("valid");
    assert!(
        legacy
            .token_cipher()
            .expect("cipher")
            .seal("ws", "t")
            .starts_with("v1:")
    );
    for bad in [
        KEY.to_owned(),
        format!("a:{KEY},a:{other}"),
        format!("bad id:{KEY}"),
        "a:not-base64".to_owned(),
    ] {
        let err = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEYS", &bad)])).expect_err(&bad);
        assert_eq!(err.name, "TOKEN_ENCRYPTION_KEYS", "{bad}");
    }
}

#[test]
fn retention_defaults_to_thirty_ninety_and_fourteen_days() {
    let config = Config::from_vars(&vars(&[("TOKEN_ENCRYPTION_KEY", KEY)])).expect("valid");
    assert_eq!(config.retention.event_log_days, 30);
    assert_eq!(config.retention.api_call_days, 90);
    assert_eq!(config.retention.dead_letter_days, 14);
}
