//! A bounded cache of verified webhook tokens.
//!
//! Clockify sends the same signature JWT on every delivery of a webhook, so the RS256 check runs
//! once per token. Entries are keyed by the token's SHA-256 (the raw token is not kept), and a
//! hit is only possible for byte-identical tokens, so the cache cannot widen what verifies.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use common::token::{ClockifyClaims, TokenVerifier, VerifyError};

/// A verifier that remembers tokens it has already accepted.
#[derive(Clone)]
pub struct CachedVerifier {
    verifier: TokenVerifier,
    capacity: usize,
    entries: Arc<RwLock<HashMap<[u8; 32], Arc<ClockifyClaims>>>>,
}

/// Whether a verification was answered from the cache (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

impl CachedVerifier {
    pub fn new(verifier: TokenVerifier, capacity: usize) -> Self {
        Self {
            verifier,
            capacity,
            entries: Arc::default(),
        }
    }

    /// The uncached verifier, for tokens that are not worth caching (lifecycle, user).
    pub fn inner(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// Verifies `token`, from the cache when it was seen before and has not expired since.
    pub async fn verify(
        &self,
        token: &str,
    ) -> Result<(Arc<ClockifyClaims>, CacheOutcome), VerifyError> {
        let key = digest(token.trim());
        if let Some(claims) = self.read(&key)
            && claims.exp.is_none_or(|exp| exp > now())
        {
            return Ok((claims, CacheOutcome::Hit));
        }
        let claims = Arc::new(self.verifier.verify(token).await?);
        if self.capacity > 0 {
            let mut entries = self
                .entries
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if entries.len() >= self.capacity {
                // Bounded memory beats a perfect hit rate: start over rather than track recency.
                entries.clear();
            }
            entries.insert(key, claims.clone());
        }
        Ok((claims, CacheOutcome::Miss))
    }

    fn read(&self, key: &[u8; 32]) -> Option<Arc<ClockifyClaims>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(key).cloned()
    }
}

fn digest(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    d.as_ref().try_into().expect("SHA-256 digests are 32 bytes")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
