//! The installation an outbound call acts for: active, with its token opened for this call only.
//! API Studio calls bring the viewer's own token and take only the API's base URLs from here.

use sqlx::PgExecutor;

use common::crypto::TokenCipher;
use common::db::installations::{self, ActiveRow};

/// What an outbound call needs. The token lives only as long as the call that uses it.
pub struct ActiveInstallation {
    pub addon_id: String,
    pub token: String,
    pub backend_url: String,
    pub pto_url: String,
}

/// Why no call can be made for a workspace.
#[derive(Debug, thiserror::Error)]
pub enum InstallationError {
    #[error("the workspace has no active installation")]
    NotActive,
    #[error("the installation has no API base URL")]
    NoBaseUrl,
    #[error("the installation token cannot be opened with TOKEN_ENCRYPTION_KEY")]
    Sealed,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Where an active installation's API lives.
pub struct ApiBases {
    pub backend_url: String,
    pub reports_url: String,
    /// The time-off API: the claims' `ptoUrl`, else derived from the backend URL.
    pub pto_url: String,
}

/// The base URLs of the workspace's installation if it is installed and active. The
/// installation token is not read: callers bring a token of their own.
pub async fn load_active_bases(
    executor: impl PgExecutor<'_>,
    workspace_id: &str,
) -> Result<ApiBases, InstallationError> {
    let urls = installations::active_api_urls(executor, workspace_id)
        .await?
        .ok_or(InstallationError::NotActive)?;
    api_bases(
        urls.backend_url.or(urls.api_url),
        urls.reports_url,
        urls.pto_url,
    )
}

fn api_bases(
    backend_url: Option<String>,
    reports_url: Option<String>,
    pto_url: Option<String>,
) -> Result<ApiBases, InstallationError> {
    let backend_url = backend_url.ok_or(InstallationError::NoBaseUrl)?;
    let backend_url = backend_url.trim_end_matches('/').to_owned();
    let reports_url = reports_url.unwrap_or_else(|| backend_url.clone());
    let pto_url = pto_url.unwrap_or_else(|| derived_pto_url(&backend_url));
    Ok(ApiBases {
        reports_url: reports_url.trim_end_matches('/').to_owned(),
        pto_url: pto_url.trim_end_matches('/').to_owned(),
        backend_url,
    })
}

/// The time-off base when the claims carry no `ptoUrl`: Clockify's published document serves it
/// as the `/pto` server beside `/api`, so `https://euc1.clockify.me/api` becomes
/// `https://euc1.clockify.me/pto`; the global `https://api.clockify.me/api` has its own host,
/// `https://pto.api.clockify.me`.
pub fn derived_pto_url(backend_url: &str) -> String {
    let backend_url = backend_url.trim_end_matches('/');
    if backend_url == "https://api.clockify.me/api" {
        return "https://pto.api.clockify.me".to_owned();
    }
    match backend_url.strip_suffix("/api") {
        Some(root) => format!("{root}/pto"),
        None => format!("{backend_url}/pto"),
    }
}

/// Loads the workspace's installation if it is installed and active, opening its token.
pub async fn load_active(
    executor: impl PgExecutor<'_>,
    cipher: Option<&TokenCipher>,
    workspace_id: &str,
) -> Result<ActiveInstallation, InstallationError> {
    let ActiveRow {
        addon_id,
        sealed_auth_token: sealed,
        backend_url,
        api_url,
        reports_url,
        pto_url,
    } = installations::active_with_token(executor, workspace_id)
        .await?
        .ok_or(InstallationError::NotActive)?;
    let bases = api_bases(backend_url.or(api_url), reports_url, pto_url)?;
    let token = cipher
        .zip(sealed)
        .and_then(|(cipher, sealed)| cipher.open(workspace_id, &sealed).ok())
        .ok_or(InstallationError::Sealed)?;
    Ok(ActiveInstallation {
        addon_id,
        token,
        backend_url: bases.backend_url,
        pto_url: bases.pto_url,
    })
}

#[cfg(test)]
mod tests {
    use super::derived_pto_url;

    #[test]
    fn the_time_off_base_is_derived_beside_the_backend() {
        assert_eq!(
            derived_pto_url("https://api.clockify.me/api"),
            "https://pto.api.clockify.me"
        );
        assert_eq!(
            derived_pto_url("https://euc1.clockify.me/api/"),
            "https://euc1.clockify.me/pto"
        );
        assert_eq!(
            derived_pto_url("http://127.0.0.1:9/api"),
            "http://127.0.0.1:9/pto"
        );
    }
}
