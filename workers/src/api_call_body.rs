//! What is kept of Clockify's answer to an API Studio call: the whole body parsed, its secret
//! fields redacted, and only then serialised and, past the size limit, truncated. Nothing of the
//! raw body is stored when it is JSON; a body that looks like JSON but does not parse is
//! withheld, since its secrets could not be found.

use serde_json::Value;

use crate::redaction::redact_secrets;

/// Stored instead of a body that looks like JSON but cannot be parsed.
pub const WITHHELD: &str = "[the answer looked like JSON but could not be parsed, so it is not kept: secrets in it could not be redacted]";

/// The body as redacted JSON, or its text; past `limit` bytes, the first `limit` bytes of that
/// text with the truncated flag.
pub fn capture_body(bytes: &[u8], limit: usize) -> (Option<Value>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            redact_secrets(&mut value);
            let text = value.to_string();
            if text.len() <= limit {
                return (Some(value), false);
            }
            text
        }
        Err(_) if looks_like_json(bytes) => return (Some(Value::String(WITHHELD.into())), false),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    if text.len() <= limit {
        return (Some(Value::String(text)), false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (Some(Value::String(text[..end].to_owned())), true)
}

fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[' | b'"')
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_are_kept_as_json_or_truncated_text() {
        assert_eq!(capture_body(b"[1,2]", 100), (Some(json!([1, 2])), false));
        assert_eq!(
            capture_body(b"{\"a\":1}", 100),
            (Some(json!({"a": 1})), false)
        );
        assert_eq!(
            capture_body(b"[1,2,3,4]", 4),
            (Some(Value::String("[1,2".into())), true)
        );
        assert_eq!(capture_body(b"", 4), (None, false));
        assert_eq!(
            capture_body(b"plain text", 100),
            (Some(Value::String("plain text".into())), false)
        );
    }

    #[test]
    fn a_truncated_body_is_cut_after_redaction() {
        let token = "a-secret-value-that-must-not-survive-truncation";
        let body = json!([{"authToken": token, "name": "x".repeat(200)}]).to_string();
        let (kept, truncated) = capture_body(body.as_bytes(), 64);
        let kept = kept.expect("kept").as_str().expect("text").to_owned();
        assert!(truncated);
        assert!(kept.len() <= 64 && kept.starts_with("[{"), "{kept}");
        assert!(!kept.contains("a-secret"), "{kept}");
    }

    #[test]
    fn unparseable_json_is_withheld_not_stored_raw() {
        let (kept, _) = capture_body(b"[{\"authToken\": \"abc\", ", 1_000);
        assert_eq!(kept, Some(Value::String(WITHHELD.into())));
    }
}
