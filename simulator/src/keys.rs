//! The simulator's signing key pair: generated fresh (RSA-2048) or read from PEM files, as a real
//! Clockify environment has its own key. Tests and the demo may use the bundled test key instead.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;

use crate::signer::ClockifySigner;

/// Generates a new RSA-2048 key pair and returns a signer for `addon_key`.
pub fn generate_signer(addon_key: &str) -> anyhow::Result<ClockifySigner> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let private: Pkcs8V1Der<'static> = pair
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the private key"))?;
    let public: PublicKeyX509Der<'static> = pair
        .public_key()
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the public key"))?;
    let private_pem = pem("PRIVATE KEY", private.as_ref());
    let public_pem = pem("PUBLIC KEY", public.as_ref());
    Ok(ClockifySigner::from_pem(
        &private_pem,
        &public_pem,
        addon_key,
    )?)
}

/// Reads a signer from a private key PEM file and its public key PEM file.
pub fn signer_from_files(
    private_path: &str,
    public_path: &str,
    addon_key: &str,
) -> anyhow::Result<ClockifySigner> {
    let private = std::fs::read_to_string(private_path)
        .map_err(|e| anyhow::anyhow!("reading {private_path}: {e}"))?;
    let public = std::fs::read_to_string(public_path)
        .map_err(|e| anyhow::anyhow!("reading {public_path}: {e}"))?;
    Ok(ClockifySigner::from_pem(&private, &public, addon_key)?)
}

fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_generated_key_signs_tokens_the_add_on_verifies() {
        let signer = generate_signer("gen-addon").expect("generated");
        let verifier = common::token::TokenVerifier::new(signer.public_key_pem(), "gen-addon")
            .expect("public key");
        let claims = verifier
            .verify(&signer.lifecycle_token("ws", "addon"))
            .await
            .expect("verifies");
        assert_eq!(claims.workspace_id, "ws");
        let other = generate_signer("gen-addon").expect("generated");
        assert!(
            verifier
                .verify(&other.lifecycle_token("ws", "addon"))
                .await
                .is_err(),
            "another key's token is refused"
        );
    }
}
