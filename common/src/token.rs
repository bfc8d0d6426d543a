//! Verification of Clockify's RS256 tokens: lifecycle, webhook, installation and user tokens.
//!
//! Every token is checked the same way: `alg` pinned to RS256 before anything else is read,
//! the signature under the configured key, `iss == "clockify"`, `type == "addon"`,
//! `sub == ADDON_KEY`, and `exp` only when the token carries one.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

/// The claims Clockify puts in its add-on tokens; unknown claims are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockifyClaims {
    pub iss: String,
    pub sub: String,
    #[serde(rename = "type")]
    pub token_type: String,
    pub workspace_id: String,
    #[serde(default)]
    pub addon_id: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub backend_url: Option<String>,
    #[serde(default)]
    pub reports_url: Option<String>,
    #[serde(default)]
    pub locations_url: Option<String>,
    #[serde(default)]
    pub screenshots_url: Option<String>,
    #[serde(default)]
    pub workspace_role: Option<String>,
    #[serde(default)]
    pub exp: Option<u64>,
}

/// Why a token was refused; `reason()` is the closed label set used in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token is missing")]
    Missing,
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm is not RS256")]
    Algorithm,
    #[error("token signature is invalid")]
    Signature,
    #[error("token issuer is not clockify")]
    Issuer,
    #[error("token subject is not this add-on")]
    Subject,
    #[error("token type is not addon")]
    Type,
    #[error("token has expired")]
    Expired,
    #[error("token lacks a required claim")]
    Claims,
}

impl VerifyError {
    /// Metric label: a closed set.
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::Malformed => "malformed",
            VerifyError::Algorithm => "algorithm",
            VerifyError::Signature => "signature",
            VerifyError::Issuer => "issuer",
            VerifyError::Subject => "subject",
            VerifyError::Type => "type",
            VerifyError::Expired => "expired",
            VerifyError::Claims => "claims",
        }
    }
}

/// Verifies Clockify tokens with one RSA public key.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// `public_key_pem` is validated at config time; `addon_key` is the expected `sub`.
    pub fn new(public_key_pem: &str, addon_key: &str) -> Result<Self, jsonwebtoken::errors::Error> {
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.set_issuer(&["clockify"]);
        validation.sub = Some(addon_key.to_owned());
        // Installation and webhook tokens carry no `exp`; it is checked only when present.
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = true;
        validation.validate_aud = false;
        validation.leeway = 30;
        Ok(Self { key, validation })
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<ClockifyClaims, VerifyError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        // The algorithm is read and pinned before the library sees the token, so `none` and
        // HS256-with-the-public-key are refused by name rather than by accident.
        if header_algorithm(token)?.as_str() != "RS256" {
            return Err(VerifyError::Algorithm);
        }
        let data = jsonwebtoken::decode::<ClockifyClaims>(token, &self.key, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) => VerifyError::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    VerifyError::Algorithm
                }
                ErrorKind::InvalidIssuer => VerifyError::Issuer,
                ErrorKind::InvalidSubject => VerifyError::Subject,
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => VerifyError::Claims,
                _ => VerifyError::Malformed,
            })?;
        let claims = data.claims;
        if claims.token_type != "addon" {
            return Err(VerifyError::Type);
        }
        if claims.workspace_id.is_empty() {
            return Err(VerifyError::Claims);
        }
        Ok(claims)
    }
}

fn header_algorithm(token: &str) -> Result<String, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| VerifyError::Malformed)?;
    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
    Ok(header.alg)
}

/// Does this look like a JWT (three dot-separated base64url parts)? Used to tell a JWT
/// signature from an HMAC hex signature.
pub fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('.').collect();
    parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty())
}
