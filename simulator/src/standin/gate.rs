//! What happens to every request before and after its route: scripted faults, the rate limit,
//! random latency, drops and 503s, the token check and the caller's rights, and recording. The order is the one a real
//! deployment has: a fault in front of the API, then the limiter, then the backend.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::answer::{error, error_retry_after};
use super::auth::{Caller, Denial, check_token};
use super::connection::ConnectionAbort;
use super::faults::Fault;
use super::rate_limit::Admission;
use super::recorder::RecordedRequest;
use super::shared::Shared;

/// The request as it will be recorded, filled in as it passes the gate.
struct Visit {
    shared: Arc<Shared>,
    record: RecordedRequest,
    abort: Option<ConnectionAbort>,
}

impl Visit {
    fn finish(mut self, response: Response) -> Response {
        self.record.status = response.status().as_u16();
        self.shared.recorder.record(self.record);
        response
    }

    /// Aborts the connection; the returned response is never written.
    fn drop_connection(mut self) -> Response {
        let Some(abort) = self.abort.take() else {
            // Only reachable without the stand-in's listener; answer rather than pretend.
            return self.finish(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "connection drop unavailable",
            ));
        };
        abort.trigger();
        self.record.status = 0;
        self.shared.recorder.record(self.record);
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// The middleware in front of every route (fallbacks included).
pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let mut visit = Visit {
        record: RecordedRequest {
            workspace_id: workspace_in(&path).unwrap_or_default().to_owned(),
            method: request.method().as_str().to_owned(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            path,
            status: 0,
            admitted: false,
            at: Instant::now(),
            caller: Caller::Unchecked,
            token_sha256: request
                .headers()
                .get("x-addon-token")
                .map(|token| common::crypto::sha256_hex(token.as_bytes())),
        },
        abort: request
            .extensions()
            .get::<ConnectInfo<ConnectionAbort>>()
            .map(|info| info.0.clone()),
        shared: Arc::clone(&shared),
    };

    let mut drop_after_applying = false;
    match shared.faults.take(&visit.record.method, &visit.record.path) {
        Some(Fault::Status {
            status,
            retry_after_secs,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = status.canonical_reason().unwrap_or("Scripted fault");
            let response = match retry_after_secs {
                Some(seconds) => error_retry_after(status, message, seconds),
                None => error(status, message),
            };
            return visit.finish(response);
        }
        Some(Fault::DropConnection) => return visit.drop_connection(),
        Some(Fault::DropAfterApplying) => drop_after_applying = true,
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }

    if !visit.record.workspace_id.is_empty() {
        match shared.limiter.admit(&visit.record.workspace_id) {
            Admission::Admitted(at) => {
                visit.record.at = at;
                visit.record.admitted = true;
            }
            Admission::Limited(at) => {
                visit.record.at = at;
                let response =
                    error_retry_after(StatusCode::TOO_MANY_REQUESTS, "Too many requests", 1);
                return visit.finish(response);
            }
        }
    }

    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    if shared.dice.chance(shared.drop_rate) {
        return visit.drop_connection();
    }
    if shared.dice.chance(shared.failure_rate_5xx) {
        let response = error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        return visit.finish(response);
    }

    let token = request
        .headers()
        .get("x-addon-token")
        .and_then(|v| v.to_str().ok());
    match check_token(shared.verifier.as_ref(), token, &visit.record.workspace_id) {
        Ok(caller) => visit.record.caller = caller,
        Err(Denial::Unauthenticated) => {
            let response = error(
                StatusCode::UNAUTHORIZED,
                "Full authentication is required to access this resource",
            );
            return visit.finish(response);
        }
        Err(Denial::WrongWorkspace) => {
            let response = error(StatusCode::FORBIDDEN, "Access denied to this workspace");
            return visit.finish(response);
        }
    }
    if !visit
        .record
        .caller
        .may(&visit.record.method, &visit.record.path)
    {
        let response = error(
            StatusCode::FORBIDDEN,
            "Your role in this workspace does not allow this",
        );
        return visit.finish(response);
    }

    let response = next.run(request).await;
    if drop_after_applying {
        return visit.drop_connection();
    }
    visit.finish(response)
}

/// The workspace a path is about: the segment after `workspaces`
/// (`/api/v1/workspaces/{ws}/...`, `/api/addon/workspaces/{ws}/...`).
pub(crate) fn workspace_in(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "workspaces")?;
    segments.next().filter(|ws| !ws.is_empty())
}

#[cfg(test)]
mod tests {
    use super::workspace_in;

    #[test]
    fn the_workspace_is_the_segment_after_workspaces() {
        assert_eq!(workspace_in("/api/v1/workspaces/w1/users"), Some("w1"));
        assert_eq!(
            workspace_in("/api/addon/workspaces/w2/settings"),
            Some("w2")
        );
        assert_eq!(workspace_in("/api/v1/workspaces/"), None);
        assert_eq!(workspace_in("/api/v1/user"), None);
    }
}
