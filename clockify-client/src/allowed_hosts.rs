//! Which API base URLs outbound calls may use: https hosts from `ALLOWED_API_DOMAINS` (exact
//! names and `*.` wildcards), and plain-http loopback only when `ALLOW_HTTP_LOOPBACK` says so.

use reqwest::Url;

/// The allow-list of outbound hosts.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    patterns: Vec<String>,
    allow_http_loopback: bool,
}

/// Why a base URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("API base URL is not a valid URL")]
    Invalid,
    #[error("API base URL must use https")]
    NotHttps,
    #[error("API host {0} is not in ALLOWED_API_DOMAINS")]
    NotAllowed(String),
}

impl AllowedHosts {
    /// `list` is comma-separated: `api.clockify.me,*.clockify.me`.
    pub fn new(list: &str, allow_http_loopback: bool) -> Self {
        let patterns = list
            .split(',')
            .map(|p| p.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        Self {
            patterns,
            allow_http_loopback,
        }
    }

    /// Checks a base URL such as `https://api.clockify.me/api`.
    pub fn check(&self, base_url: &str) -> Result<Url, HostError> {
        let url = Url::parse(base_url).map_err(|_| HostError::Invalid)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HostError::Invalid);
        }
        let host = url
            .host_str()
            .ok_or(HostError::Invalid)?
            .to_ascii_lowercase();
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1");
        match url.scheme() {
            "https" => {}
            "http" if loopback && self.allow_http_loopback => return Ok(url),
            _ => return Err(HostError::NotHttps),
        }
        if loopback && self.allow_http_loopback {
            return Ok(url);
        }
        if self
            .patterns
            .iter()
            .any(|pattern| host_matches(pattern, &host))
        {
            Ok(url)
        } else {
            Err(HostError::NotAllowed(host))
        }
    }
}

/// `*.example.com` matches any name below `example.com` (not `example.com` itself).
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host[..host.len() - suffix.len()].ends_with('.')
        }
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> AllowedHosts {
        AllowedHosts::new("api.clockify.me,*.clockify.me,*.api.clockify.me", false)
    }

    #[test]
    fn exact_and_wildcard_hosts_are_allowed_over_https() {
        assert!(hosts().check("https://api.clockify.me/api").is_ok());
        assert!(hosts().check("https://euc1.clockify.me/api").is_ok());
        assert!(hosts().check("https://reports.api.clockify.me").is_ok());
    }

    #[test]
    fn lookalike_and_plain_http_hosts_are_refused() {
        assert_eq!(
            hosts().check("https://evilclockify.me/api"),
            Err(HostError::NotAllowed("evilclockify.me".into()))
        );
        assert_eq!(
            hosts().check("https://clockify.me.evil.com/api"),
            Err(HostError::NotAllowed("clockify.me.evil.com".into()))
        );
        assert_eq!(
            hosts().check("http://api.clockify.me/api"),
            Err(HostError::NotHttps)
        );
        assert_eq!(
            hosts().check("http://127.0.0.1:9/api"),
            Err(HostError::NotHttps)
        );
        assert_eq!(
            hosts().check("https://user:pw@api.clockify.me/api"),
            Err(HostError::Invalid)
        );
    }

    #[test]
    fn loopback_http_needs_the_setting() {
        let local = AllowedHosts::new("api.clockify.me", true);
        assert!(local.check("http://127.0.0.1:9/api").is_ok());
        assert_eq!(local.check("http://10.0.0.1/api"), Err(HostError::NotHttps));
    }
}
