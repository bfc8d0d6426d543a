//! The one error type of the HTTP surface: a status, a stable code, a message that never echoes
//! a secret. 5xx answers carry a fixed message; the cause is logged once, here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use common::token::VerifyError;

/// Everything a handler can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("not found")]
    NotFound,
    #[error("request body not received in time")]
    RequestTimeout,
    #[error("the queue cannot take the message now; retry later")]
    Unavailable { retry_after_secs: u32 },
    #[error("too many requests in progress; retry later")]
    Overloaded { retry_after_secs: u32 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<VerifyError> for ApiError {
    fn from(error: VerifyError) -> Self {
        ApiError::Unauthorized(match error {
            VerifyError::Missing => "signature token is missing",
            VerifyError::Malformed => "signature token is malformed",
            VerifyError::Algorithm => "signature algorithm is not allowed",
            VerifyError::Signature => "signature is invalid",
            VerifyError::UnknownKey => "token is signed with an unknown key",
            VerifyError::Issuer => "token issuer is not accepted",
            VerifyError::Subject => "token subject is not this add-on",
            VerifyError::Type => "token type is not accepted",
            VerifyError::Expired => "token has expired",
            VerifyError::NotYetValid => "token is not valid yet",
            VerifyError::Claims => "token lacks required claims",
            VerifyError::UserToken => "a user token cannot sign Clockify's callbacks",
        })
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let body = Json(json!({"error": {"code": code, "message": self.to_string()}}));
        let mut response = (status, body).into_response();
        match self {
            ApiError::Unavailable { retry_after_secs }
            | ApiError::Overloaded { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            // The rest of the body may still be on its way: the connection is not reused.
            ApiError::RequestTimeout => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
