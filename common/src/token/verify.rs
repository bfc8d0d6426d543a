//! Verifying one token: `alg` pinned to RS256 before anything else is read, the key chosen by
//! `kid` ([`KeySet`]), the signature, `iss == "clockify"`, `type == "addon"`, `sub == ADDON_KEY`,
//! and the time claims: `exp` only when present (installation and webhook tokens carry none),
//! `nbf` and `iat` honoured with a small leeway.

use std::sync::Arc;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::keys::{JwksSettings, KeySet};
use super::{ClockifyClaims, VerifyError};

/// Clock difference tolerated on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Verifies Clockify tokens.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: KeySet,
    validation: Arc<Validation>,
}

impl TokenVerifier {
    /// `public_key_pem` is validated at config time; `addon_key` is the expected `sub`.
    pub fn new(public_key_pem: &str, addon_key: &str) -> Result<Self, jsonwebtoken::errors::Error> {
        Self::with_jwks(public_key_pem, addon_key, None)
    }

    /// As [`new`](Self::new), with keys by id from a JWKS document; the PEM key is the fallback
    /// while the document cannot be fetched.
    pub fn with_jwks(
        public_key_pem: &str,
        addon_key: &str,
        jwks: Option<JwksSettings>,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        let fallback = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.set_issuer(&["clockify"]);
        validation.sub = Some(addon_key.to_owned());
        // Installation and webhook tokens carry no `exp`; it is checked only when present.
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            keys: KeySet::new(fallback, jwks),
            validation: Arc::new(validation),
        })
    }

    /// The keys it verifies with (readiness, and the first JWKS fetch at start).
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token` and returns its claims. Waits only when the token names a key id not
    /// seen yet (a JWKS refresh).
    pub async fn verify(&self, token: &str) -> Result<ClockifyClaims, VerifyError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        // The algorithm is read and pinned before the library sees the token, so `none` and
        // HS256-with-the-public-key are refused by name rather than by accident.
        let header = read_header(token)?;
        if header.alg != "RS256" {
            return Err(VerifyError::Algorithm);
        }
        let key = self.keys.key_for(header.kid.as_deref()).await?;
        let data =
            jsonwebtoken::decode::<ClockifyClaims>(token, &key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) => {
                        VerifyError::Signature
                    }
                    ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                        VerifyError::Algorithm
                    }
                    ErrorKind::InvalidIssuer => VerifyError::Issuer,
                    ErrorKind::InvalidSubject => VerifyError::Subject,
                    ErrorKind::ExpiredSignature => VerifyError::Expired,
                    ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
                    ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => VerifyError::Claims,
                    _ => VerifyError::Malformed,
                }
            })?;
        let claims = data.claims;
        if claims.token_type != "addon" {
            return Err(VerifyError::Type);
        }
        if claims.workspace_id.is_empty() {
            return Err(VerifyError::Claims);
        }
        if claims.iat.is_some_and(|iat| iat > now() + LEEWAY_SECS) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(claims)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

fn read_header(token: &str) -> Result<Header, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
