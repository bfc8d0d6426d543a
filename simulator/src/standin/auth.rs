//! `X-Addon-Token` checking as Clockify does it: an RS256 add-on token for the workspace in the
//! path, so a client that mixes up installations is caught by a 403. A user token (one with a
//! `workspaceRole`) acts with that user's rights: an expired one is 401, and a member (any role
//! but OWNER and ADMIN) may only read, and not the webhooks. An installation token acts with the
//! add-on's full rights.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Why a request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// Missing, empty, malformed or badly signed: 401.
    Unauthenticated,
    /// Valid, but issued for another workspace: 403.
    WrongWorkspace,
}

/// Who a request's token says is calling, as recorded for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No token was looked at: the request was answered before the token check.
    Unchecked,
    /// An add-on token without a role (an installation token, or an opaque token when the
    /// stand-in checks no signatures): the add-on's full rights.
    Addon,
    /// A user token: `role`'s rights.
    User { user_id: String, role: String },
}

impl Caller {
    /// Whether this caller may make a request of `method` on `path`. Members may read, except
    /// the webhooks (whose tokens sign deliveries); owners, admins and the add-on may do anything.
    pub(crate) fn may(&self, method: &str, path: &str) -> bool {
        let Caller::User { role, .. } = self else {
            return true;
        };
        if matches!(role.as_str(), "OWNER" | "ADMIN") {
            return true;
        }
        let reads = matches!(method, "GET" | "HEAD");
        reads && !path.split('/').any(|segment| segment == "webhooks")
    }
}

/// Verifies tokens against the configured public key.
pub(crate) struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier for `public_key_pem`; installation tokens carry no `exp`, so none is required,
    /// but a user token's is enforced.
    pub(crate) fn from_pem(public_key_pem: &str) -> Result<Self, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = true;
        validation.leeway = 5;
        validation.validate_aud = false;
        validation.set_issuer(&["clockify"]);
        Ok(Self {
            key: DecodingKey::from_rsa_pem(public_key_pem.as_bytes())?,
            validation,
        })
    }
}

/// Checks `token` for a request on `workspace_id` (empty when the path names none) and says who
/// calls. Without a verifier any non-empty token passes, its claims read unverified.
pub(crate) fn check_token(
    verifier: Option<&TokenVerifier>,
    token: Option<&str>,
    workspace_id: &str,
) -> Result<Caller, Denial> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Denial::Unauthenticated)?;
    let Some(verifier) = verifier else {
        let claims =
            jsonwebtoken::dangerous::insecure_decode_claims::<Value>(token).unwrap_or(Value::Null);
        return Ok(caller_of(&claims));
    };
    let claims = jsonwebtoken::decode::<Value>(token, &verifier.key, &verifier.validation)
        .map_err(|_| Denial::Unauthenticated)?
        .claims;
    if workspace_id.is_empty() || claims["workspaceId"].as_str() == Some(workspace_id) {
        Ok(caller_of(&claims))
    } else {
        Err(Denial::WrongWorkspace)
    }
}

fn caller_of(claims: &Value) -> Caller {
    match claims["workspaceRole"].as_str() {
        Some(role) => Caller::User {
            user_id: claims["user"].as_str().unwrap_or_default().to_owned(),
            role: role.to_owned(),
        },
        None => Caller::Addon,
    }
}

/// The `addonId` claim of a token, unverified: only used to sign webhook tokens for the same
/// installation that created the webhook.
pub(crate) fn addon_id_of(token: Option<&str>) -> Option<String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token?).ok()?;
    claims["addonId"].as_str().map(str::to_owned)
}
