//! Redacting secrets from Clockify's answers before an API Studio result is stored or shown.
//!
//! The rule works on field names, at any depth: a name is normalised (lower case, letters and
//! digits only, so `auth_token`, `Auth-Token` and `authToken` are one name) and redacted when it
//! contains `token`, `secret`, `password`, `passwd`, `apikey`, `accesskey`, `privatekey` or
//! `credential`, or is exactly `pwd`, `authorization`, `cookie`, `setcookie` or `signature`.
//! Containment rather than a list of exact names catches `accessToken`, `refreshToken`,
//! `clientSecret`, `webhookSecret` and names not yet seen; the cost is that a harmless field
//! such as `tokenExpiresAt` is hidden too, which is the right side to err on. Independently of
//! names, any string that looks like a JWT is redacted wherever it appears.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

const CONTAINED: [&str; 8] = [
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
];
const EXACT: [&str; 5] = ["pwd", "authorization", "cookie", "setcookie", "signature"];

/// Whether a field of this name holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let normalised: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    CONTAINED.iter().any(|word| normalised.contains(word)) || EXACT.contains(&normalised.as_str())
}

/// Replaces, in place, every non-null value of a secret field and every JWT-looking string.
pub fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if is_secret_field(name) {
                    if !field.is_null() {
                        *field = Value::String(REDACTED.to_owned());
                    }
                } else {
                    redact_secrets(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        Value::String(text) if looks_like_jwt(text) => *text = REDACTED.to_owned(),
        _ => {}
    }
}

/// `eyJ…` (a base64url JSON header) followed by two more dot-separated base64url parts.
fn looks_like_jwt(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[..2].iter().all(|part| part.len() >= 4)
        && parts.iter().all(|part| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_fields_are_redacted_at_any_depth_whatever_their_spelling() {
        let mut body = json!([{
            "id": "wh-1",
            "authToken": "abc",
            "nested": {"client_secret": {"value": "s"}, "Password": 7, "API-KEY": ["k"]},
            "refreshToken": null,
            "name": "kept",
        }]);
        redact_secrets(&mut body);
        assert_eq!(
            body,
            json!([{
                "id": "wh-1",
                "authToken": REDACTED,
                "nested": {"client_secret": REDACTED, "Password": REDACTED, "API-KEY": REDACTED},
                "refreshToken": null,
                "name": "kept",
            }])
        );
    }

    #[test]
    fn a_jwt_under_an_innocent_name_is_redacted() {
        let mut body = json!({"note": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"});
        redact_secrets(&mut body);
        assert_eq!(body, json!({"note": REDACTED}));
    }

    #[test]
    fn ordinary_fields_are_kept() {
        for name in [
            "id",
            "name",
            "workspaceId",
            "userKey",
            "archived",
            "keywords",
        ] {
            assert!(!is_secret_field(name), "{name}");
        }
        for name in [
            "token",
            "accessToken",
            "x-addon-token",
            "clientSecret",
            "apiKey",
            "authorization",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
    }
}
