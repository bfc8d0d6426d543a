//! The token encryption keys: `TOKEN_ENCRYPTION_KEYS` as `id:base64key` pairs separated by
//! commas (the first seals, every one opens), or `TOKEN_ENCRYPTION_KEY` alone as one key
//! without an id (the `v1:` format).

use base64::Engine as _;
use secrecy::{CloneableSecret, SecretBox};

use super::error::ConfigError;
use super::vars::{Vars, invalid};

/// The 32 bytes that seal tokens at rest: a type of its own so `secrecy` can hold it (cloned
/// with the config, wiped on drop, never printed).
#[derive(Clone)]
pub struct EncryptionKey(pub [u8; 32]);

impl secrecy::zeroize::Zeroize for EncryptionKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl CloneableSecret for EncryptionKey {}

/// One key of the ring: its id (empty for the legacy single key) and its bytes.
pub type RingKey = (String, SecretBox<EncryptionKey>);

/// Reads the ring; empty when neither variable is set.
pub(super) fn encryption_keys(env: &Vars<'_>) -> Result<Vec<RingKey>, ConfigError> {
    const NAME: &str = "TOKEN_ENCRYPTION_KEYS";
    let Some(pairs) = env.optional(NAME) else {
        return Ok(env
            .optional("TOKEN_ENCRYPTION_KEY")
            .map(|text| decode(&text, "TOKEN_ENCRYPTION_KEY").map(|key| (String::new(), key)))
            .transpose()?
            .into_iter()
            .collect());
    };
    let mut ring: Vec<RingKey> = Vec::new();
    for pair in pairs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, key) = pair
            .split_once(':')
            .ok_or_else(|| invalid(NAME, "each entry must be id:base64key"))?;
        let valid_id = !id.is_empty()
            && id.len() <= 32
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_id {
            return Err(invalid(NAME, "a key id is 1 to 32 of A-Z a-z 0-9 - _"));
        }
        if ring.iter().any(|(seen, _)| seen == id) {
            return Err(invalid(NAME, "a key id appears twice"));
        }
        ring.push((id.to_owned(), decode(key, NAME)?));
    }
    if ring.is_empty() {
        return Err(invalid(NAME, "holds no key"));
    }
    Ok(ring)
}

fn decode(text: &str, name: &'static str) -> Result<SecretBox<EncryptionKey>, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| invalid(name, "not standard base64"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| invalid(name, "must decode to exactly 32 bytes"))?;
    Ok(SecretBox::new(Box::new(EncryptionKey(key))))
}
