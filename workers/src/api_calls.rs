//! Executing a recorded API Studio call and storing Clockify's answer.
//!
//! The call row is the source of truth: a redelivered job whose call already has a result is
//! acked untouched, and a non-idempotent call found `running` (its worker died after sending)
//! is marked failed rather than sent again, since it may have taken effect.

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use common::clockify_client::{OutboundError, OutboundRequest};

use crate::WorkerState;
use crate::installation::{InstallationError, load_active};
use crate::job_consumer::JobResult;

#[derive(sqlx::FromRow)]
struct CallRow {
    status: String,
    method: String,
    path: String,
    query: Value,
    body: Option<Value>,
    api_base: String,
    tag: String,
}

/// Runs the call `call_id` of `workspace_id` once.
pub async fn run_api_call(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
) -> anyhow::Result<JobResult> {
    let call: Option<CallRow> = sqlx::query_as(
        "select status, method, path, query, body, api_base, tag from api_calls where workspace_id = $1 and id = $2",
    )
    .bind(workspace_id)
    .bind(call_id)
    .fetch_optional(&state.db)
    .await?;
    let Some(call) = call else {
        return Ok(JobResult::Done);
    };
    let method = Method::from_bytes(call.method.as_bytes()).unwrap_or(Method::GET);
    let idempotent = matches!(
        method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE
    );
    match call.status.as_str() {
        "succeeded" | "failed" => return Ok(JobResult::Done),
        "running" if !idempotent => {
            finish(state, workspace_id, call_id, Finish::error("the worker stopped after sending this request; it was not repeated because it may have taken effect")).await?;
            return Ok(JobResult::Done);
        }
        _ => {}
    }
    sqlx::query("update api_calls set status = 'running' where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(call_id)
        .execute(&state.db)
        .await?;
    let installation = match load_active(&state.db, state.cipher.as_deref(), workspace_id).await {
        Ok(installation) => installation,
        Err(InstallationError::Database(error)) => return Err(error.into()),
        Err(error) => {
            finish(
                state,
                workspace_id,
                call_id,
                Finish::error(&error.to_string()),
            )
            .await?;
            state
                .metrics
                .api_calls
                .with_label_values(&["refused"])
                .inc();
            return Ok(JobResult::Done);
        }
    };
    let base_url = if call.api_base == "reports" {
        &installation.reports_url
    } else {
        &installation.backend_url
    };
    let query: Vec<(String, String)> = serde_json::from_value(call.query).unwrap_or_default();
    let outbound = &state.config.outbound;
    let answer = state
        .client
        .send(&OutboundRequest {
            workspace_id,
            base_url,
            method,
            path: &call.path,
            query: &query,
            body: call.body.as_ref(),
            token: &installation.token,
            group: &call.tag,
            retry: outbound.call_retry(),
        })
        .await;
    let result = match answer {
        Ok(response) => {
            let (body, truncated) =
                capture_body(&response.body, state.config.api_call_result_max_bytes);
            let error = match response.status {
                200..=299 => None,
                300..=399 => Some(format!(
                    "Clockify answered {} with a redirect{}; redirects are not followed",
                    response.status,
                    response
                        .location
                        .map(|l| format!(" to {l}"))
                        .unwrap_or_default()
                )),
                status => Some(format!("Clockify answered {status}")),
            };
            Finish {
                upstream_status: Some(i32::from(response.status)),
                duration_ms: Some(response.duration.as_millis().min(i32::MAX as u128) as i32),
                attempts: Some(response.attempts as i32),
                body,
                truncated,
                error,
            }
        }
        Err(OutboundError::Host(error)) => {
            Finish::error(&format!("refused before sending: {error}"))
        }
        Err(error) => Finish::error(&error.to_string()),
    };
    let outcome = if result.error.is_none() {
        "succeeded"
    } else {
        "failed"
    };
    finish(state, workspace_id, call_id, result).await?;
    state.metrics.api_calls.with_label_values(&[outcome]).inc();
    Ok(JobResult::Done)
}

/// What is stored of a finished call.
struct Finish {
    upstream_status: Option<i32>,
    duration_ms: Option<i32>,
    attempts: Option<i32>,
    body: Option<Value>,
    truncated: bool,
    error: Option<String>,
}

impl Finish {
    fn error(message: &str) -> Self {
        Self {
            upstream_status: None,
            duration_ms: None,
            attempts: None,
            body: None,
            truncated: false,
            error: Some(message.to_owned()),
        }
    }
}

async fn finish(
    state: &WorkerState,
    workspace_id: &str,
    call_id: Uuid,
    result: Finish,
) -> sqlx::Result<()> {
    sqlx::query(
        "update api_calls set status = $3, upstream_status = $4, duration_ms = $5, attempts = $6,
                response_body = $7, response_truncated = $8, error = $9, finished_at = now()
         where workspace_id = $1 and id = $2",
    )
    .bind(workspace_id)
    .bind(call_id)
    .bind(if result.error.is_none() {
        "succeeded"
    } else {
        "failed"
    })
    .bind(result.upstream_status)
    .bind(result.duration_ms)
    .bind(result.attempts)
    .bind(result.body)
    .bind(result.truncated)
    .bind(result.error)
    .execute(&state.db)
    .await?;
    Ok(())
}

/// The body as JSON (arrays and objects alike), or its text; past `limit` bytes, the text of its
/// first `limit` bytes with the truncated flag.
fn capture_body(bytes: &[u8], limit: usize) -> (Option<Value>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    if bytes.len() > limit {
        let mut end = limit;
        while end > 0 && std::str::from_utf8(&bytes[..end]).is_err() {
            end -= 1;
        }
        return (
            Some(Value::String(
                String::from_utf8_lossy(&bytes[..end]).into_owned(),
            )),
            true,
        );
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => (Some(value), false),
        Err(_) => (
            Some(Value::String(String::from_utf8_lossy(bytes).into_owned())),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_kept_as_json_or_truncated_text() {
        assert_eq!(
            capture_body(b"[1,2]", 100),
            (Some(serde_json::json!([1, 2])), false)
        );
        assert_eq!(
            capture_body(b"{\"a\":1}", 100),
            (Some(serde_json::json!({"a": 1})), false)
        );
        assert_eq!(
            capture_body(b"[1,2,3,4]", 4),
            (Some(Value::String("[1,2".into())), true)
        );
        assert_eq!(capture_body(b"", 4), (None, false));
    }
}
