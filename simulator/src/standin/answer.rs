//! Clockify's answer shapes: JSON errors `{"message", "code"}`, bare arrays paged by `page` and
//! `page-size`, and lenient JSON bodies.

use std::collections::HashMap;
use std::ops::Range;

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::spec::MAX_PAGE_SIZE;

/// A handler's result.
pub(crate) type Answer = Result<Response, ApiError>;

const DEFAULT_PAGE_SIZE: usize = 50;

/// A refusal, answered as Clockify's JSON error `{"message", "code"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"message": self.message, "code": self.status.as_u16()});
        (self.status, Json(body)).into_response()
    }
}

/// A JSON error as Clockify sends it.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    ApiError::new(status, message).into_response()
}

/// An error with `Retry-After: {seconds}`.
pub(crate) fn error_retry_after(status: StatusCode, message: &str, seconds: u64) -> Response {
    let mut response = error(status, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, message)
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn ok(value: Value) -> Response {
    Json(value).into_response()
}

pub(crate) fn created(value: Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// A request body as JSON, whatever its content type says (400 when it is not JSON).
pub(crate) fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| bad_request("Request body is not valid JSON"))
}

/// `page` (from 1) and `page-size` (default 50, at most [`MAX_PAGE_SIZE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    page: usize,
    size: usize,
}

impl Paging {
    /// Reads the query; page 0 is taken as 1, size 0 as 1 and sizes above the cap as the cap.
    pub(crate) fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let number = |name: &str, default: usize| match query.get(name) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<usize>()
                .map_err(|_| bad_request(format!("{name} must be a positive number"))),
        };
        Ok(Self {
            page: number("page", 1)?.max(1),
            size: number("page-size", DEFAULT_PAGE_SIZE)?.clamp(1, MAX_PAGE_SIZE),
        })
    }

    /// The slice of a list of `total` items this page holds (empty past the end).
    pub(crate) fn range(&self, total: usize) -> Range<usize> {
        let start = (self.page - 1).saturating_mul(self.size).min(total);
        let end = start.saturating_add(self.size).min(total);
        start..end
    }
}

/// One page of a list whose items are made on demand by `item`.
pub(crate) fn page_of(paging: Paging, total: usize, item: impl Fn(usize) -> Value) -> Response {
    ok(Value::Array(paging.range(total).map(item).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(pairs: &[(&str, &str)]) -> Paging {
        let query = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Paging::from_query(&query).expect("valid paging")
    }

    #[test]
    fn paging_defaults_to_fifty_from_page_one_and_caps_the_size() {
        assert_eq!(paging(&[]).range(120), 0..50);
        assert_eq!(paging(&[("page", "3")]).range(120), 100..120);
        assert_eq!(paging(&[("page", "4")]).range(120), 120..120);
        assert_eq!(
            paging(&[("page-size", "9999")]).range(9999),
            0..MAX_PAGE_SIZE
        );
    }

    #[test]
    fn paging_rejects_words() {
        let query = [("page".to_owned(), "two".to_owned())]
            .into_iter()
            .collect();
        assert!(Paging::from_query(&query).is_err());
    }
}
