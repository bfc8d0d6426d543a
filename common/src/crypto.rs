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

const VERSION_PREFIX: &str = "v1:";

/// AES-256-GCM with a random nonce per seal. The workspace id is bound as associated data, so a
/// ciphertext moved to another workspace's row does not open.
pub struct TokenCipher {
    key: RandomizedNonceKey,
}

impl TokenCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            key: RandomizedNonceKey::new(&AES_256_GCM, key)
                .expect("AES-256-GCM takes a 32-byte key"),
        }
    }

    /// Seals `secret` for `workspace_id`: `v1:` + base64(nonce || ciphertext || tag).
    pub fn seal(&self, workspace_id: &str, secret: &str) -> String {
        let mut in_out = secret.as_bytes().to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(workspace_id.as_bytes()), &mut in_out)
            .expect("AES-GCM sealing fails only on inputs of many gigabytes");
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&in_out);
        format!(
            "{VERSION_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        )
    }

    /// Opens what [`seal`](Self::seal) produced for the same workspace.
    pub fn open(&self, workspace_id: &str, sealed: &str) -> Result<String, OpenError> {
        let encoded = sealed.strip_prefix(VERSION_PREFIX).ok_or(OpenError)?;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| OpenError)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(workspace_id.as_bytes()), &mut ciphertext)
            .map_err(|_| OpenError)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError)
    }
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
}
