//! Signs tokens the way Clockify does: RS256, `iss: clockify`, `type: addon`, `sub` = add-on key,
//! with the claims of lifecycle, webhook, installation and user tokens (CLOCKIFY.md).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const TEST_PRIVATE_KEY: &str = include_str!("../keys/test-signer.key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../keys/test-signer.pub.pem");

/// A Clockify stand-in's signing identity.
#[derive(Clone)]
pub struct ClockifySigner {
    key: EncodingKey,
    public_key_pem: String,
    addon_key: String,
}

impl ClockifySigner {
    /// The repository's throwaway test key (see `keys/README.md`).
    pub fn test_key(addon_key: &str) -> Self {
        Self::from_pem(TEST_PRIVATE_KEY, TEST_PUBLIC_KEY, addon_key)
            .expect("the bundled test key is valid")
    }

    /// A signer from a PEM key pair.
    pub fn from_pem(
        private_pem: &str,
        public_pem: &str,
        addon_key: &str,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            key: EncodingKey::from_rsa_pem(private_pem.as_bytes())?,
            public_key_pem: public_pem.to_owned(),
            addon_key: addon_key.to_owned(),
        })
    }

    /// The PEM the add-on must be configured with (`CLOCKIFY_PUBLIC_KEY`).
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The add-on key this signer puts in `sub`.
    pub fn addon_key(&self) -> &str {
        &self.addon_key
    }

    /// Signs arbitrary claims with RS256 (tests use this to forge wrong claims).
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &self.key)
            .expect("RS256 signing of JSON claims")
    }

    /// Signs with RS256 and names the key `kid` in the header, as a JWKS-publishing issuer does.
    pub fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).expect("RS256 signing of JSON claims")
    }

    /// This signer's public key as a JWKS entry with id `kid` (`alg` RS256, `use` sig).
    pub fn jwk(&self, kid: &str) -> Value {
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&self.key, Algorithm::RS256)
            .expect("an RSA key has a JWK form");
        let mut value = serde_json::to_value(jwk).expect("a JWK serializes");
        value["kid"] = json!(kid);
        value["use"] = json!("sig");
        value
    }

    /// The claims every Clockify add-on token carries.
    pub fn base_claims(&self, workspace_id: &str, addon_id: &str) -> Value {
        json!({
            "iss": "clockify",
            "sub": self.addon_key,
            "type": "addon",
            "workspaceId": workspace_id,
            "addonId": addon_id,
        })
    }

    /// `X-Addon-Lifecycle-Token`.
    pub fn lifecycle_token(&self, workspace_id: &str, addon_id: &str) -> String {
        self.sign(&self.base_claims(workspace_id, addon_id))
    }

    /// A webhook's `authToken` (sent as `Clockify-Signature` on every delivery). `webhook` makes
    /// each webhook's token distinct, as Clockify's are.
    pub fn webhook_token(&self, workspace_id: &str, addon_id: &str, webhook: &str) -> String {
        let mut claims = self.base_claims(workspace_id, addon_id);
        claims["jti"] = json!(format!("{workspace_id}:{addon_id}:{webhook}"));
        self.sign(&claims)
    }

    /// The installation token of INSTALLED: no expiry, with the API base URLs.
    pub fn installation_token(
        &self,
        workspace_id: &str,
        addon_id: &str,
        backend_url: &str,
    ) -> String {
        let mut claims = self.base_claims(workspace_id, addon_id);
        claims["backendUrl"] = json!(backend_url);
        // The stand-in serves reports on the same host as the rest of the API.
        claims["reportsUrl"] = json!(backend_url);
        claims["user"] = json!(format!("addon-user-{addon_id}"));
        self.sign(&claims)
    }

    /// A user token (the sidebar's `auth_token`): 30 minutes, with the viewer's role.
    pub fn user_token(
        &self,
        workspace_id: &str,
        addon_id: &str,
        user_id: &str,
        role: &str,
        backend_url: &str,
    ) -> String {
        let viewer = SidebarViewer {
            user_id,
            role,
            theme: "DARK",
            language: "EN",
            valid_for_secs: 30 * 60,
        };
        self.sidebar_token(workspace_id, addon_id, &viewer, backend_url)
    }

    /// A user token for `viewer`, with their theme and lifetime (the demo's last its whole run).
    pub fn sidebar_token(
        &self,
        workspace_id: &str,
        addon_id: &str,
        viewer: &SidebarViewer<'_>,
        backend_url: &str,
    ) -> String {
        let mut claims = self.base_claims(workspace_id, addon_id);
        claims["user"] = json!(viewer.user_id);
        claims["workspaceRole"] = json!(viewer.role);
        claims["language"] = json!(viewer.language);
        claims["theme"] = json!(viewer.theme);
        claims["backendUrl"] = json!(backend_url);
        claims["exp"] = json!(now() + viewer.valid_for_secs);
        self.sign(&claims)
    }
}

/// Who opens the sidebar: a user id, a workspace role (`OWNER`, `ADMIN`, `USER`), Clockify's
/// theme (`DARK` or `DEFAULT`), language (`EN`, `DE`, ...) and how long the token lasts.
#[derive(Debug, Clone, Copy)]
pub struct SidebarViewer<'a> {
    pub user_id: &'a str,
    pub role: &'a str,
    pub theme: &'a str,
    pub language: &'a str,
    pub valid_for_secs: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
