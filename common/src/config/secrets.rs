//! The variables that carry keys and secrets or where they come from: Clockify's public key (or
//! its file), the JWKS, the operator token and HMAC secret (with their length floor), and the
//! OTLP endpoint.

use std::time::Duration;

use secrecy::{SecretSlice, SecretString};

use super::error::ConfigError;
use super::vars::{Vars, invalid};

/// Clockify's published RS256 key (CLOCKIFY.md); a development environment may configure another.
pub const CLOCKIFY_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAubktufFNO/op+E5WBWL6
/Y9QRZGSGGCsV00FmPRl5A0mSfQu3yq2Yaq47IlN0zgFy9IUG8/JJfwiehsmbrKa
49t/xSkpG1u9w1GUyY0g4eKDUwofHKAt3IPw0St4qsWLK9mO+koUo56CGQOEpTui
5bMfmefVBBfShXTaZOtXPB349FdzSuYlU/5o3L12zVWMutNhiJCKyGfsuu2uXa9+
6uQnZBw1wO3/QEci7i4TbC+ZXqW1rCcbogSMORqHAP6qSAcTFRmrjFAEsOWiUUhZ
rLDg2QJ8VTDghFnUhYklNTJlGgfo80qEWe1NLIwvZj0h3bWRfrqZHsD/Yjh0duk6
yQIDAQAB
-----END PUBLIC KEY-----
";

pub(super) fn public_key_pem(env: &Vars<'_>) -> Result<String, ConfigError> {
    let pem = match (
        env.optional("CLOCKIFY_PUBLIC_KEY"),
        env.optional("CLOCKIFY_PUBLIC_KEY_FILE"),
    ) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "CLOCKIFY_PUBLIC_KEY",
                "set either it or CLOCKIFY_PUBLIC_KEY_FILE, not both",
            ));
        }
        (Some(text), None) => text.replace("\\n", "\n"),
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                "CLOCKIFY_PUBLIC_KEY_FILE",
                format!("cannot read {path}: {e}"),
            )
        })?,
        (None, None) => CLOCKIFY_PUBLIC_KEY_PEM.to_owned(),
    };
    jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|_| invalid("CLOCKIFY_PUBLIC_KEY", "not an RSA public key in PEM form"))?;
    Ok(pem)
}

/// Operator secrets shorter than this are refused: a guessable one opens the operator API.
pub const MIN_SECRET_LEN: usize = 32;

pub(super) fn admin_token(env: &Vars<'_>) -> Result<Option<SecretString>, ConfigError> {
    let token = env.optional("ADMIN_TOKEN");
    if token.as_ref().is_some_and(|t| t.len() < MIN_SECRET_LEN) {
        return Err(invalid(
            "ADMIN_TOKEN",
            format!("must be at least {MIN_SECRET_LEN} characters (try `openssl rand -hex 32`)"),
        ));
    }
    Ok(token.map(SecretString::from))
}

pub(super) fn hmac_secret(env: &Vars<'_>) -> Result<Option<SecretSlice<u8>>, ConfigError> {
    let secret = env.optional("WEBHOOK_HMAC_SECRET");
    if secret.as_ref().is_some_and(|s| s.len() < MIN_SECRET_LEN) {
        return Err(invalid(
            "WEBHOOK_HMAC_SECRET",
            format!("must be at least {MIN_SECRET_LEN} bytes (try `openssl rand -hex 32`)"),
        ));
    }
    Ok(secret.map(|s| SecretSlice::from(s.into_bytes())))
}

pub(super) fn otlp_endpoint(env: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let Some(url) = env.optional("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "must be an http(s) URL (the collector's OTLP/HTTP base, e.g. http://collector:4318)",
        ));
    }
    Ok(Some(url))
}

pub(super) fn jwks(env: &Vars<'_>) -> Result<Option<crate::token::JwksSettings>, ConfigError> {
    let Some(url) = env.optional("CLOCKIFY_JWKS_URL") else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid("CLOCKIFY_JWKS_URL", "must be an http(s) URL"));
    }
    let min_refresh =
        Duration::from_secs(env.ranged("CLOCKIFY_JWKS_MIN_REFRESH_SECS", 60, 1..=86_400)?);
    Ok(Some(crate::token::JwksSettings { url, min_refresh }))
}
