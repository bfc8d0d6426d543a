//! `POST /webhooks/{event}`: one route per Clockify event type.
//!
//! Authenticity, in order: the signature, judged from the headers before the body is read
//! (Clockify's RS256 JWT, never a user token; or, when configured and the signature is not a JWT,
//! the HMAC fallback's fresh timestamp, its tag checked over timestamp, event type and body once
//! read); the event-type header equals the route's event; the workspace comes from the claims,
//! never the body. The comparison with the installation's stored token of this very webhook
//! happens in the worker, against the token's SHA-256 carried in the message.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret as _;

use crate::token_cache::CacheOutcome;
use common::crypto::sha256_hex;
use common::events::EventType;
use common::messages::{Event, EventMessage, SignatureScheme, WebhookEvent};
use common::token::{VerifyError, looks_like_jwt};
use common::webhook_hmac::{HmacError, HmacSignature};

use crate::body::{parse_body, read_limited, require_json};
use crate::enqueue::enqueue_event;
use crate::error::ApiError;
use crate::rejection::{Reason, Rejection};
use crate::request_id::RequestId;
use crate::state::AppState;

const SIGNATURE_HEADER: &str = "clockify-signature";
/// Names older integrations used; accepted with a warning and counted.
const LEGACY_SIGNATURE_HEADERS: [&str; 2] = ["x-clockify-signature", "clockify-webhook-signature"];
const EVENT_TYPE_HEADER: &str = "clockify-webhook-event-type";

/// Handles one delivery of `event`.
#[tracing::instrument(name = "webhook", skip_all, fields(request_id = %request_id, event_type = event.as_str()))]
pub async fn handle_webhook(
    event: EventType,
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(event, &state, request_id, &headers, body).await {
        Ok(scheme) => {
            let scheme = match scheme {
                SignatureScheme::Jwt => "jwt",
                SignatureScheme::Hmac => "hmac",
                SignatureScheme::Unverified => "unverified",
            };
            state
                .metrics
                .webhooks_accepted
                .with_label_values(&[event.as_str(), scheme])
                .inc();
            StatusCode::OK.into_response()
        }
        Err(Rejection { reason, error }) => {
            state
                .metrics
                .rejections
                .with_label_values(&["webhook", reason])
                .inc();
            tracing::info!(event_type = event.as_str(), reason, "webhook refused");
            error.into_response()
        }
    }
}

/// Who signed the delivery, as far as ingress can tell.
struct Signer {
    scheme: SignatureScheme,
    workspace_id: Option<String>,
    addon_id: Option<String>,
    token_sha256: Option<String>,
}

/// What the headers prove before the body is read: a verified JWT, or an HMAC whose timestamp is
/// fresh and whose tag is checked against the body once it is read.
enum Credentials {
    Signed(Signer),
    Hmac(HmacSignature),
}

async fn accept(
    event: EventType,
    state: &AppState,
    request_id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<SignatureScheme, Rejection> {
    require_json(headers).reason("content_type")?;
    // Everything the headers can prove is proven before a byte of the body is read.
    let credentials = authenticate(state, headers).await?;
    match headers.get(EVENT_TYPE_HEADER).and_then(|v| v.to_str().ok()) {
        Some(name) if name.trim() == event.as_str() => {}
        Some(_) => {
            return Err(ApiError::Forbidden(
                "event type header does not match the route",
            ))
            .reason("event_type_mismatch");
        }
        None => {
            return Err(ApiError::BadRequest(
                "Clockify-Webhook-Event-Type header is required".into(),
            ))
            .reason("event_type_missing");
        }
    }
    let bytes = read_limited(headers, body, state.config.webhook_max_payload_bytes)
        .await
        .reason("too_large")?;
    let signer = match credentials {
        Credentials::Signed(signer) => signer,
        Credentials::Hmac(signature) => {
            let secret = state
                .config
                .webhook_hmac_secret
                .as_ref()
                .map_or(&[][..], |secret| secret.expose_secret());
            let verified = signature.verify(secret, event.as_str(), &bytes);
            state
                .metrics
                .hmac_fallback
                .with_label_values(&[if verified.is_ok() {
                    "accepted"
                } else {
                    "rejected"
                }])
                .inc();
            verified.map_err(|e| hmac_refused(state, e))?;
            Signer {
                scheme: SignatureScheme::Hmac,
                workspace_id: None,
                addon_id: None,
                token_sha256: None,
            }
        }
    };
    let body = parse_body(&bytes).reason("malformed")?;
    let body_workspace = body.fields().workspace_id.as_deref();
    let workspace_id = match (&signer.workspace_id, body_workspace) {
        (Some(claimed), Some(in_body)) if claimed != in_body => {
            return Err(ApiError::Forbidden(
                "body workspaceId does not match the token",
            ))
            .reason("workspace_mismatch");
        }
        (Some(claimed), _) => claimed.clone(),
        // HMAC and development deliveries have no claims: the (authenticated) body names it.
        (None, Some(in_body)) => in_body.to_owned(),
        (None, None) => {
            return Err(ApiError::Unprocessable(
                "workspaceId is required without a signed token".into(),
            ))
            .reason("payload");
        }
    };
    let message = EventMessage::new(
        workspace_id,
        request_id,
        Event::Webhook(WebhookEvent {
            event_type: event,
            scheme: signer.scheme,
            addon_id: signer.addon_id,
            token_sha256: signer.token_sha256,
            body_sha256: sha256_hex(&bytes),
            body,
        }),
    );
    enqueue_event(state, &message)
        .await
        .reason("broker_unavailable")?;
    Ok(signer.scheme)
}

fn count_signature_failure(state: &AppState, reason: &'static str) {
    state
        .metrics
        .signature_failures
        .with_label_values(&["webhook", reason])
        .inc();
}

fn hmac_refused(state: &AppState, error: HmacError) -> Rejection {
    count_signature_failure(state, error.reason());
    Rejection {
        reason: error.reason(),
        error: ApiError::Unauthorized(match error {
            HmacError::Malformed => "signature is not t=<unix>,v1=<hex>",
            HmacError::Stale => "signature timestamp is too old or in the future",
            HmacError::Mismatch => "signature is invalid",
        }),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Credentials, Rejection> {
    let signature = signature_header(state, headers);
    if !state.config.require_signature_verification {
        return Ok(Credentials::Signed(Signer {
            scheme: SignatureScheme::Unverified,
            workspace_id: None,
            addon_id: None,
            token_sha256: None,
        }));
    }
    let Some(signature) = signature else {
        count_signature_failure(state, "missing");
        return Err(ApiError::Unauthorized(
            "Clockify-Signature header is required",
        ))
        .reason("missing");
    };
    if !looks_like_jwt(&signature) {
        if state.config.webhook_hmac_secret.is_some() {
            return HmacSignature::parse_fresh(&signature, chrono::Utc::now().timestamp())
                .map(Credentials::Hmac)
                .map_err(|e| hmac_refused(state, e));
        }
        count_signature_failure(state, "malformed");
        return Err(ApiError::Unauthorized("signature token is malformed")).reason("malformed");
    }
    let (claims, cache) = state.verifier.verify(&signature).await.map_err(|e| {
        count_signature_failure(state, e.reason());
        Rejection::from(e)
    })?;
    state
        .metrics
        .token_cache
        .with_label_values(&[if cache == CacheOutcome::Hit {
            "hit"
        } else {
            "miss"
        }])
        .inc();
    if !claims.kind().may_sign_callbacks() {
        count_signature_failure(state, VerifyError::UserToken.reason());
        return Err(Rejection::from(VerifyError::UserToken));
    }
    Ok(Credentials::Signed(Signer {
        scheme: SignatureScheme::Jwt,
        workspace_id: Some(claims.workspace_id.clone()),
        addon_id: claims.addon_id.clone(),
        token_sha256: Some(sha256_hex(signature.trim().as_bytes())),
    }))
}

fn signature_header(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(value) = read(SIGNATURE_HEADER) {
        return Some(value);
    }
    for legacy in LEGACY_SIGNATURE_HEADERS {
        if let Some(value) = read(legacy) {
            tracing::warn!(header = legacy, "webhook signed under a legacy header name");
            state
                .metrics
                .legacy_signature_header
                .with_label_values(&[legacy])
                .inc();
            return Some(value);
        }
    }
    None
}
