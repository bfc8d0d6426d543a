//! `X-Addon-Token` checking as Clockify does it: an RS256 installation token for the workspace
//! in the path, so a client that mixes up installations is caught by a 403.

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

/// Verifies tokens against the configured public key.
pub(crate) struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier for `public_key_pem`; installation tokens carry no `exp`, so none is required.
    pub(crate) fn from_pem(public_key_pem: &str) -> Result<Self, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&["clockify"]);
        Ok(Self {
            key: DecodingKey::from_rsa_pem(public_key_pem.as_bytes())?,
            validation,
        })
    }
}

/// Checks `token` for a request on `workspace_id` (empty when the path names none). Without a
/// verifier any non-empty token passes.
pub(crate) fn check_token(
    verifier: Option<&TokenVerifier>,
    token: Option<&str>,
    workspace_id: &str,
) -> Result<(), Denial> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Denial::Unauthenticated)?;
    let Some(verifier) = verifier else {
        return Ok(());
    };
    let claims = jsonwebtoken::decode::<Value>(token, &verifier.key, &verifier.validation)
        .map_err(|_| Denial::Unauthenticated)?
        .claims;
    if workspace_id.is_empty() || claims["workspaceId"].as_str() == Some(workspace_id) {
        Ok(())
    } else {
        Err(Denial::WrongWorkspace)
    }
}

/// The `addonId` claim of a token, unverified: only used to sign webhook tokens for the same
/// installation that created the webhook.
pub(crate) fn addon_id_of(token: Option<&str>) -> Option<String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token?).ok()?;
    claims["addonId"].as_str().map(str::to_owned)
}
