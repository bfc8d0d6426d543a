//! The `/health` and `/ready` answers both tiers give.
//!
//! `/ready` names the dependency that is down with a fixed phrase (`unreachable`, `timed out`);
//! the driver's error text, which can name hosts, users and databases, goes to the log only.

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
    pub detail: Option<&'static str>,
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

    /// Down, for a reason told by a fixed phrase.
    pub fn failed(critical: bool, detail: &'static str) -> Self {
        Self {
            status: "unavailable",
            detail: Some(detail),
            critical,
        }
    }

    /// Down with a driver error: the error is logged here, the answer says `unreachable`.
    pub fn unreachable(
        critical: bool,
        dependency: &'static str,
        error: &dyn std::fmt::Display,
    ) -> Self {
        tracing::warn!(dependency, error = %error, "readiness check failed");
        Self::failed(critical, "unreachable")
    }

    /// Down because it did not answer in time (logged, like `unreachable`).
    pub fn timed_out(critical: bool, dependency: &'static str) -> Self {
        tracing::warn!(dependency, "readiness check timed out");
        Self::failed(critical, "timed out")
    }

    pub fn degraded(detail: &'static str) -> Self {
        Self {
            status: "degraded",
            detail: Some(detail),
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
