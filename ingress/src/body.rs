//! Reading a JSON request body: content type checked, size bounded before and while reading,
//! time bounded by the body deadline every request carries (`body_deadline`).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use common::webhook_body::{BodyError, WebhookBody};

use crate::body_deadline::is_body_timeout;
use crate::error::ApiError;

/// Refuses anything but `application/json` (parameters such as charset allowed).
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Reads at most `limit` bytes; a declared or actual larger body is a 413, a body not received
/// within `INGRESS_BODY_TIMEOUT_SECS` a 408.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if is_body_timeout(&error) {
            ApiError::RequestTimeout
        } else {
            ApiError::PayloadTooLarge(limit)
        }
    })
}

/// Parses a JSON object; malformed JSON is a 400, valid JSON of another shape a 422.
pub fn parse_object(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "malformed JSON: line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(ApiError::Unprocessable("body must be a JSON object".into())),
    }
}

/// Reads a webhook's body without building it as a tree; the same statuses as [`parse_object`].
pub fn parse_body(bytes: &[u8]) -> Result<WebhookBody, ApiError> {
    WebhookBody::parse(bytes).map_err(|e| match e {
        BodyError::Malformed { .. } => ApiError::BadRequest(e.to_string()),
        BodyError::NotAnObject | BodyError::NulEscape => ApiError::Unprocessable(e.to_string()),
    })
}

/// A required non-empty string field, or a 422 naming it.
pub fn required_str<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<&'a str, ApiError> {
    match map.get(field) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ApiError::Unprocessable(format!(
            "{field} must be a non-empty string"
        ))),
        None => Err(ApiError::Unprocessable(format!("{field} is required"))),
    }
}

/// An optional string field; present but not a string is a 422.
pub fn optional_str(
    map: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::Unprocessable(format!("{field} must be a string"))),
    }
}
