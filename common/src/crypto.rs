//! Hashing, constant-time comparison, and the cipher that keeps installation tokens
//! encrypted everywhere outside the worker that uses them (on the queue and at rest).

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;

/// Lowercase hex SHA-256: how tokens that only need comparing travel and are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// A ciphertext could not be opened: wrong key, wrong workspace, or tampered bytes.
#[derive(Debug, thiserror::Error)]
#[error("sealed token cannot be opened")]
pub struct OpenError;

/// The format sealed by a key without an id (`TOKEN_ENCRYPTION_KEY` alone), and by every build
/// before key rotation: `v1:` + base64. Opened by trying each configured key.
const LEGACY_PREFIX: &str = "v1:";
/// The format of a key with an id (`TOKEN_ENCRYPTION_KEYS`): `v2:<key id>:` + base64.
const KEYED_PREFIX: &str = "v2:";

/// AES-256-GCM with a random nonce per seal, over a key ring: the first key seals, every key
/// opens. The workspace id is bound as associated data, so a ciphertext moved to another
/// workspace's row does not open. A sealed value names the key that sealed it.
pub struct TokenCipher {
    /// (key id, key); the id is empty for the legacy single key.
    keys: Vec<(String, RandomizedNonceKey)>,
}

impl TokenCipher {
    /// One key without an id: seals the `v1:` format.
    pub fn new(key: &[u8; 32]) -> Self {
        Self::with_keys(&[("", key)])
    }

    /// A key ring; the first key seals. Panics on an empty ring (config refuses one).
    pub fn with_keys(keys: &[(&str, &[u8; 32])]) -> Self {
        assert!(!keys.is_empty(), "a key ring holds at least one key");
        Self {
            keys: keys
                .iter()
                .map(|(id, key)| {
                    let key = RandomizedNonceKey::new(&AES_256_GCM, *key)
                        .expect("AES-256-GCM takes a 32-byte key");
                    ((*id).to_owned(), key)
                })
                .collect(),
        }
    }

    /// The prefix every value sealed by the current key starts with.
    pub fn current_prefix(&self) -> String {
        match self.keys[0].0.as_str() {
            "" => LEGACY_PREFIX.to_owned(),
            id => format!("{KEYED_PREFIX}{id}:"),
        }
    }

    /// Whether `sealed` is under the current key (re-sealing it would change nothing).
    pub fn is_current(&self, sealed: &str) -> bool {
        let prefix = self.current_prefix();
        sealed.starts_with(&prefix) && (prefix != LEGACY_PREFIX || self.keys.len() == 1)
    }

    /// Seals `secret` for `workspace_id` under the current key.
    pub fn seal(&self, workspace_id: &str, secret: &str) -> String {
        let mut in_out = secret.as_bytes().to_vec();
        let nonce = self.keys[0]
            .1
            .seal_in_place_append_tag(Aad::from(workspace_id.as_bytes()), &mut in_out)
            .expect("AES-GCM sealing fails only on inputs of many gigabytes");
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&in_out);
        format!(
            "{}{}",
            self.current_prefix(),
            base64::engine::general_purpose::STANDARD.encode(sealed)
        )
    }

    /// Opens what [`seal`](Self::seal) produced for the same workspace, under any key of the
    /// ring: the named key for `v2:`, each key in turn for `v1:`.
    pub fn open(&self, workspace_id: &str, sealed: &str) -> Result<String, OpenError> {
        if let Some(rest) = sealed.strip_prefix(KEYED_PREFIX) {
            let (id, encoded) = rest.split_once(':').ok_or(OpenError)?;
            let (_, key) = self
                .keys
                .iter()
                .find(|(key_id, _)| key_id == id)
                .ok_or(OpenError)?;
            return open_with(key, workspace_id, encoded);
        }
        let encoded = sealed.strip_prefix(LEGACY_PREFIX).ok_or(OpenError)?;
        self.keys
            .iter()
            .find_map(|(_, key)| open_with(key, workspace_id, encoded).ok())
            .ok_or(OpenError)
    }
}

fn open_with(
    key: &RandomizedNonceKey,
    workspace_id: &str,
    encoded: &str,
) -> Result<String, OpenError> {
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| OpenError)?;
    if bytes.len() < NONCE_LEN {
        return Err(OpenError);
    }
    let mut ciphertext = bytes.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| OpenError)?;
    let plain = key
        .open_in_place(nonce, Aad::from(workspace_id.as_bytes()), &mut ciphertext)
        .map_err(|_| OpenError)?;
    String::from_utf8(plain.to_vec()).map_err(|_| OpenError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_token_opens_only_for_its_workspace() {
        let cipher = TokenCipher::new(&[7; 32]);
        let sealed = cipher.seal("ws-1", "secret-token");
        assert!(!sealed.contains("secret-token"));
        assert_eq!(cipher.open("ws-1", &sealed).expect("opens"), "secret-token");
        assert!(cipher.open("ws-2", &sealed).is_err());
        assert!(TokenCipher::new(&[8; 32]).open("ws-1", &sealed).is_err());
    }

    #[test]
    fn two_seals_of_one_token_differ() {
        let cipher = TokenCipher::new(&[7; 32]);
        assert_ne!(cipher.seal("ws", "t"), cipher.seal("ws", "t"));
    }

    #[test]
    fn a_rotated_ring_seals_under_the_first_key_and_opens_every_older_value() {
        let legacy = TokenCipher::new(&[1; 32]).seal("ws", "old");
        let under_a = TokenCipher::with_keys(&[("a", &[1; 32])]).seal("ws", "a-token");
        assert!(under_a.starts_with("v2:a:"));
        let rotated = TokenCipher::with_keys(&[("b", &[2; 32]), ("a", &[1; 32])]);
        assert_eq!(rotated.open("ws", &legacy).expect("v1 opens"), "old");
        assert_eq!(rotated.open("ws", &under_a).expect("v2:a opens"), "a-token");
        let resealed = rotated.seal("ws", "a-token");
        assert!(resealed.starts_with("v2:b:") && rotated.is_current(&resealed));
        assert!(!rotated.is_current(&under_a) && !rotated.is_current(&legacy));
        let only_b = TokenCipher::with_keys(&[("b", &[2; 32])]);
        assert_eq!(only_b.open("ws", &resealed).expect("opens"), "a-token");
        assert!(only_b.open("ws", &under_a).is_err());
    }
}
