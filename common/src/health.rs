//! The `/health` and `/ready` answers both tiers give.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Liveness: the process answers; version and time help spot a stale deploy.
pub fn health(service: &'static str) -> Response {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        service: &'static str,
        version: &'static str,
        time: String,
    }
    Json(Health {
        status: "ok",
        service,
        version: env!("CARGO_PKG_VERSION"),
        time: chrono::Utc::now().to_rfc3339(),
    })
    .into_response()
}

/// One dependency's state in `/ready`.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether the tier cannot do its job without it.
    pub critical: bool,
}

impl Check {
    pub fn ok(critical: bool) -> Self {
        Self {
            status: "ok",
            detail: None,
            critical,
        }
    }

    pub fn failed(critical: bool, detail: impl Into<String>) -> Self {
        Self {
            status: "unavailable",
            detail: Some(detail.into()),
            critical,
        }
    }

    pub fn degraded(detail: impl Into<String>) -> Self {
        Self {
            status: "degraded",
            detail: Some(detail.into()),
            critical: false,
        }
    }
}

/// Readiness: 200 when every critical dependency answers, 503 otherwise.
pub fn ready(checks: BTreeMap<&'static str, Check>) -> Response {
    let ready = checks.values().all(|c| !c.critical || c.status == "ok");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    #[derive(Serialize)]
    struct Ready {
        status: &'static str,
        checks: BTreeMap<&'static str, Check>,
    }
    let body = Ready {
        status: if ready { "ready" } else { "unavailable" },
        checks,
    };
    (status, Json(body)).into_response()
}
