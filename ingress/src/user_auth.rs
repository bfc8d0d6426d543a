//! Who is calling the studio API: a Clockify user token (`Authorization: Bearer` or
//! `X-Addon-Token`), verified like every Clockify token, for a workspace whose installation is
//! current and active. The workspace and role come from the token, never from the request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::ExposeSecret as _;

use common::crypto::constant_time_eq;
use common::token::TokenKind;

use crate::error::ApiError;
use crate::state::AppState;

/// A verified workspace user.
#[derive(Debug, Clone)]
pub struct StudioUser {
    pub workspace_id: String,
    pub user_id: Option<String>,
    pub role: Option<String>,
    /// Clockify's theme for the viewer (`DARK` or `DEFAULT`), from the token.
    pub theme: Option<String>,
    /// The viewer's language, from the token.
    pub language: Option<String>,
    /// The user token itself: API Studio calls run with it, so Clockify applies this user's
    /// own permissions.
    pub token: UserToken,
}

/// A user token in clear, with its expiry. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct UserToken {
    secret: String,
    /// The `exp` claim, in seconds since the epoch.
    pub expires_at: u64,
}

impl UserToken {
    /// The token, for sealing; never for a log line or an answer.
    pub fn expose(&self) -> &str {
        &self.secret
    }
}

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl StudioUser {
    /// Owners and admins may make calls that change data and start bootstraps.
    pub fn is_admin(&self) -> bool {
        matches!(self.role.as_deref(), Some("OWNER" | "ADMIN"))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for StudioUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .or_else(|| {
                parts
                    .headers
                    .get("x-addon-token")
                    .and_then(|v| v.to_str().ok())
            })
            .ok_or(ApiError::Unauthorized("a Clockify user token is required"))?;
        let claims = state.verifier.inner().verify(token).await?;
        // Installation and webhook tokens verify too, but never expire and carry no role: only a
        // user token (30 minutes, with the viewer's role) may act for a user. Webhook tokens are
        // visible in Clockify's webhook logs, so this matters.
        let expires_at = match claims.exp {
            Some(exp) if claims.kind() == TokenKind::User => exp,
            _ => return Err(ApiError::Unauthorized("a Clockify user token is required")),
        };
        let token = UserToken {
            secret: token.trim().to_owned(),
            expires_at,
        };
        let installation =
            common::db::installations::active_addon_id(&state.db, &claims.workspace_id)
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
        let Some(addon_id) = installation else {
            return Err(ApiError::Forbidden(
                "the add-on is not installed and active in this workspace",
            ));
        };
        if let Some(claimed) = &claims.addon_id
            && claimed != &addon_id
        {
            return Err(ApiError::Forbidden(
                "the token belongs to another installation",
            ));
        }
        Ok(StudioUser {
            workspace_id: claims.workspace_id,
            user_id: claims.user,
            role: claims.workspace_role,
            theme: claims.theme,
            language: claims.language,
            token,
        })
    }
}

/// An operator, authenticated by `ADMIN_TOKEN`. The admin API does not exist when it is unset.
/// `name` is who the audit log says acted: `OPERATOR_NAME`, or else `admin-token:` and the first
/// 12 hex digits of the admin token's SHA-256 (an id that names the token without revealing it).
#[derive(Debug, Clone)]
pub struct Operator {
    pub name: String,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::NotFound);
        };
        let given = bearer(parts).ok_or(ApiError::Unauthorized("the admin token is required"))?;
        if constant_time_eq(given.as_bytes(), expected.expose_secret().as_bytes()) {
            let name = match &state.config.operator_name {
                Some(name) => name.clone(),
                None => format!(
                    "admin-token:{}",
                    &common::crypto::sha256_hex(expected.expose_secret().as_bytes())[..12]
                ),
            };
            Ok(Operator { name })
        } else {
            Err(ApiError::Unauthorized("the admin token is not valid"))
        }
    }
}
