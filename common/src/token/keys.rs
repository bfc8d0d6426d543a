//! The keys tokens are verified with: the configured PEM key, and optionally keys by id from a
//! JWKS document (`CLOCKIFY_JWKS_URL`), so Clockify can rotate its key without a restart.
//!
//! The document is fetched at start and again when a token names a `kid` not seen yet: one fetch
//! at a time, at most once per `min_refresh` (a flood of made-up key ids costs one request a
//! minute). Only RSA keys meant for RS256 are taken from it. While the document cannot be fetched,
//! the configured key is the fallback; once it can, a `kid` it does not list is refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::VerifyError;

/// Where the JWKS document is and how often it may be fetched.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub url: String,
    pub min_refresh: Duration,
}

/// The verification keys; cheap to clone.
#[derive(Clone)]
pub struct KeySet {
    fallback: Arc<DecodingKey>,
    jwks: Option<Arc<Jwks>>,
}

struct Jwks {
    settings: JwksSettings,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// Held for the length of a fetch, so only one runs at a time.
    refresh: Mutex<RefreshState>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    /// Whether the last attempt got the document.
    available: bool,
}

impl KeySet {
    pub fn new(fallback: DecodingKey, jwks: Option<JwksSettings>) -> Self {
        Self {
            fallback: Arc::new(fallback),
            jwks: jwks.map(|settings| {
                Arc::new(Jwks {
                    settings,
                    client: reqwest::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .expect("an HTTP client with these settings builds wherever rustls does"),
                    keys: RwLock::default(),
                    refresh: Mutex::default(),
                })
            }),
        }
    }

    /// Fetches the JWKS document now, if one is configured (at start; failure is not fatal).
    pub async fn prefetch(&self) {
        if let Some(jwks) = &self.jwks {
            let mut state = jwks.refresh.lock().await;
            jwks.fetch(&mut state).await;
        }
    }

    /// The key a token with this `kid` is verified with.
    pub(super) async fn key_for(&self, kid: Option<&str>) -> Result<Arc<DecodingKey>, VerifyError> {
        let (Some(jwks), Some(kid)) = (&self.jwks, kid) else {
            return Ok(self.fallback.clone());
        };
        if let Some(key) = jwks.cached(kid) {
            return Ok(key);
        }
        let available = {
            let mut state = jwks.refresh.lock().await;
            // Another caller may have fetched while this one waited for the lock.
            if let Some(key) = jwks.cached(kid) {
                return Ok(key);
            }
            let due = state
                .last_attempt
                .is_none_or(|at| at.elapsed() >= jwks.settings.min_refresh);
            if due {
                jwks.fetch(&mut state).await;
            }
            state.available
        };
        match jwks.cached(kid) {
            Some(key) => Ok(key),
            None if available => Err(VerifyError::UnknownKey),
            None => Ok(self.fallback.clone()),
        }
    }
}

impl Jwks {
    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(kid)
            .cloned()
    }

    async fn fetch(&self, state: &mut RefreshState) {
        state.last_attempt = Some(Instant::now());
        match self.download().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "verification keys loaded from the JWKS");
                *self
                    .keys
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
                state.available = true;
            }
            Err(error) => {
                tracing::warn!(
                    error,
                    "JWKS document unavailable; verifying with the configured key"
                );
                state.available = false;
            }
        }
    }

    async fn download(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        let response = self
            .client
            .get(&self.settings.url)
            .send()
            .await
            .map_err(|e| format!("fetching: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status().as_u16()));
        }
        let document: JwksDocument = response
            .json()
            .await
            .map_err(|_| "not a JWKS document".to_owned())?;
        Ok(rs256_keys(document))
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// The RS256 signing keys of a document, by id; every other key is skipped.
fn rs256_keys(document: JwksDocument) -> HashMap<String, Arc<DecodingKey>> {
    document
        .keys
        .into_iter()
        .filter(|k| k.kty == "RSA")
        .filter(|k| k.alg.as_deref().is_none_or(|alg| alg == "RS256"))
        .filter(|k| k.key_use.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
            Some((k.kid?, Arc::new(key)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_taken() {
        let document: JwksDocument = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "good", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "no-alg", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "alg": "RS256", "n": "sXch", "e": "AQAB"}
        ]}))
        .expect("parses");
        let mut kids: Vec<String> = rs256_keys(document).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["good", "no-alg"]);
    }
}
