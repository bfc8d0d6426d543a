//! Clockify's tokens: their claims, the kinds they come in, and why one was refused.
//!
//! Every Clockify token is an RS256 JWT with `iss: clockify`, `type: addon` and `sub` = the
//! add-on key. What tells the kinds apart is their claims (CLOCKIFY.md, "Token kinds"): only a
//! user token carries `workspaceRole` (with `language` and `theme`) and it expires after 30
//! minutes; an installation token has no expiry and carries the API base URLs; webhook and
//! lifecycle signatures carry neither. [`TokenKind`] is that rule, in one place.

mod keys;
mod verify;

use serde::{Deserialize, Serialize};

pub use keys::{JwksSettings, KeySet};
pub use verify::TokenVerifier;

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
    pub pto_url: Option<String>,
    #[serde(default)]
    pub workspace_role: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub exp: Option<u64>,
    #[serde(default)]
    pub nbf: Option<u64>,
    #[serde(default)]
    pub iat: Option<u64>,
}

/// Which of Clockify's tokens a verified token is, judged by its claims alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The sidebar's `auth_token`: acts as the viewing user for 30 minutes. It carries
    /// `workspaceRole` (and `language`, `theme`); no other kind does.
    User,
    /// INSTALLED's `authToken`: the add-on's own API token, no expiry, with the API base URLs.
    Installation,
    /// A webhook's `Clockify-Signature` or a lifecycle callback's token: proves a delivery,
    /// calls nothing.
    Signature,
}

impl TokenKind {
    /// The kind of a token with these claims.
    pub fn of(claims: &ClockifyClaims) -> Self {
        if claims.workspace_role.is_some() || claims.language.is_some() || claims.theme.is_some() {
            TokenKind::User
        } else if claims.exp.is_none() && claims.backend_url.is_some() {
            TokenKind::Installation
        } else {
            TokenKind::Signature
        }
    }

    /// Whether a token of this kind may prove that a callback or webhook comes from Clockify.
    /// A user token is in every member's browser, so it never may.
    pub fn may_sign_callbacks(self) -> bool {
        self != TokenKind::User
    }
}

impl ClockifyClaims {
    /// See [`TokenKind::of`].
    pub fn kind(&self) -> TokenKind {
        TokenKind::of(self)
    }
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
    #[error("token is signed with an unknown key")]
    UnknownKey,
    #[error("token issuer is not clockify")]
    Issuer,
    #[error("token subject is not this add-on")]
    Subject,
    #[error("token type is not addon")]
    Type,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token lacks a required claim")]
    Claims,
    #[error("a user token cannot sign Clockify's callbacks")]
    UserToken,
}

impl VerifyError {
    /// Metric label: a closed set.
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::Malformed => "malformed",
            VerifyError::Algorithm => "algorithm",
            VerifyError::Signature => "signature",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::Issuer => "issuer",
            VerifyError::Subject => "subject",
            VerifyError::Type => "type",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::Claims => "claims",
            VerifyError::UserToken => "user_token",
        }
    }
}

/// Does this look like a JWT (three dot-separated base64url parts)? Used to tell a JWT
/// signature from an HMAC signature.
pub fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('.').collect();
    parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ClockifyClaims {
        ClockifyClaims {
            iss: "clockify".into(),
            sub: "addon".into(),
            token_type: "addon".into(),
            workspace_id: "ws".into(),
            addon_id: Some("a".into()),
            user: None,
            backend_url: None,
            reports_url: None,
            locations_url: None,
            screenshots_url: None,
            pto_url: None,
            workspace_role: None,
            language: None,
            theme: None,
            exp: None,
            nbf: None,
            iat: None,
        }
    }

    #[test]
    fn only_a_token_with_a_role_or_user_preferences_is_a_user_token() {
        let signature = claims();
        assert_eq!(signature.kind(), TokenKind::Signature);
        let installation = ClockifyClaims {
            backend_url: Some("https://api.clockify.me/api".into()),
            ..claims()
        };
        assert_eq!(installation.kind(), TokenKind::Installation);
        let user = ClockifyClaims {
            workspace_role: Some("MEMBER".into()),
            exp: Some(1),
            ..installation.clone()
        };
        assert_eq!(user.kind(), TokenKind::User);
        assert!(!user.kind().may_sign_callbacks());
        let user_without_role = ClockifyClaims {
            theme: Some("DARK".into()),
            ..claims()
        };
        assert_eq!(user_without_role.kind(), TokenKind::User);
        let expiring = ClockifyClaims {
            exp: Some(1),
            ..installation
        };
        assert_eq!(
            expiring.kind(),
            TokenKind::Signature,
            "an installation token never expires"
        );
    }
}
