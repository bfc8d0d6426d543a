//! `POST /admin/reseal`: re-seals every stored token (installation tokens, tokens kept for
//! webhook deletions, user tokens of waiting API calls) under the current key of
//! `TOKEN_ENCRYPTION_KEYS`, and reports how many remain under older keys, so an operator knows
//! when an old key can be removed.
//!
//! It pages through the rows not under the current key, 100 at a time; each row is replaced by
//! its own statement (committed alone), and only if it still holds the value read, so a token
//! written meanwhile (a re-install) is never overwritten. The system keeps running throughout.
//! A value no configured key opens is counted as `failed` and left as it is.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};

use common::crypto::TokenCipher;
use common::db::{SealedToken, api_calls, installations, webhook_deletions};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::user_auth::Operator;

/// Rows read per page.
const PAGE: i64 = 100;

/// The tables holding sealed tokens.
#[derive(Debug, Clone, Copy)]
enum SealedTable {
    Installations,
    WebhookDeletions,
    ApiCalls,
}

const TABLES: [SealedTable; 3] = [
    SealedTable::Installations,
    SealedTable::WebhookDeletions,
    SealedTable::ApiCalls,
];

/// What one pass did.
#[derive(Debug, Default)]
struct Tally {
    resealed: u64,
    failed: u64,
}

#[tracing::instrument(name = "admin.reseal", skip_all, fields(request_id = %request_id))]
pub async fn reseal(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    operator: Operator,
) -> Result<Json<Value>, ApiError> {
    let Some(cipher) = state.cipher.clone() else {
        return Err(ApiError::Unprocessable(
            "no token encryption key is configured".into(),
        ));
    };
    let result = reseal_all(&state, &cipher).await;
    let (outcome, detail) = match &result {
        Ok((tally, remaining)) => (
            "done",
            json!({"resealed": tally.resealed, "failed": tally.failed, "remainingUnderOlderKeys": remaining}),
        ),
        Err(_) => ("failed", Value::Null),
    };
    crate::audit::record(
        &state,
        &operator,
        "tokens.reseal",
        None,
        &request_id,
        outcome,
        Some(detail),
    )
    .await;
    let (tally, remaining) = result.map_err(|e| ApiError::Internal(e.into()))?;
    state.metrics.tokens_under_old_keys.set(remaining);
    tracing::info!(
        resealed = tally.resealed,
        failed = tally.failed,
        remaining,
        "tokens re-sealed"
    );
    Ok(Json(json!({
        "currentKey": cipher.current_prefix(),
        "resealed": tally.resealed,
        "failed": tally.failed,
        "remainingUnderOlderKeys": remaining,
    })))
}

async fn reseal_all(state: &AppState, cipher: &TokenCipher) -> sqlx::Result<(Tally, i64)> {
    let prefix = cipher.current_prefix();
    let mut tally = Tally::default();
    for table in TABLES {
        let mut after = String::new();
        loop {
            let page = page(state, table, &prefix, &after).await?;
            let Some(last) = page.last() else { break };
            after = last.row_key.clone();
            for token in &page {
                let Ok(secret) = cipher.open(&token.workspace_id, &token.sealed) else {
                    tally.failed += 1;
                    continue;
                };
                let resealed = cipher.seal(&token.workspace_id, &secret);
                if replace(state, table, token, &resealed).await? {
                    tally.resealed += 1;
                }
            }
        }
    }
    let mut remaining = 0;
    for table in TABLES {
        remaining += match table {
            SealedTable::Installations => {
                installations::count_sealed_not_under(&state.db, &prefix).await?
            }
            SealedTable::WebhookDeletions => {
                webhook_deletions::count_sealed_not_under(&state.db, &prefix).await?
            }
            SealedTable::ApiCalls => api_calls::count_sealed_not_under(&state.db, &prefix).await?,
        };
    }
    Ok((tally, remaining))
}

async fn page(
    state: &AppState,
    table: SealedTable,
    prefix: &str,
    after: &str,
) -> sqlx::Result<Vec<SealedToken>> {
    match table {
        SealedTable::Installations => {
            installations::sealed_not_under(&state.db, prefix, after, PAGE).await
        }
        SealedTable::WebhookDeletions => {
            webhook_deletions::sealed_not_under(&state.db, prefix, after, PAGE).await
        }
        SealedTable::ApiCalls => api_calls::sealed_not_under(&state.db, prefix, after, PAGE).await,
    }
}

async fn replace(
    state: &AppState,
    table: SealedTable,
    token: &SealedToken,
    resealed: &str,
) -> sqlx::Result<bool> {
    match table {
        SealedTable::Installations => {
            installations::replace_sealed(&state.db, &token.workspace_id, &token.sealed, resealed)
                .await
        }
        SealedTable::WebhookDeletions => {
            webhook_deletions::replace_sealed(&state.db, &token.row_key, &token.sealed, resealed)
                .await
        }
        SealedTable::ApiCalls => {
            api_calls::replace_sealed(&state.db, &token.row_key, &token.sealed, resealed).await
        }
    }
}
