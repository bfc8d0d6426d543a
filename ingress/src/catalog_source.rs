//! Where the API catalog comes from: a file, or a URL fetched at start (Clockify's published
//! document, say) and cached on disk, with the bundled catalog as the fallback when the fetch
//! fails. A fallback is logged and shown by `/ready` as degraded, never as down: the studio keeps
//! working with the operations it has.

use std::path::Path;

use anyhow::Context as _;
use catalog::Catalog;
use reqwest::Url;

use common::config::Config;

/// The catalog loaded at start, and why it is not the one asked for, if it is not.
pub struct LoadedCatalog {
    pub catalog: Catalog,
    /// Shown by `/ready` as the catalog's degraded detail.
    pub degraded: Option<&'static str>,
}

/// Loads `CLOCKIFY_OPENAPI_PATH`: a file as is, a URL by fetching it (then the cache, then the
/// bundled file). A URL the configuration does not allow is an error, as is a bad file.
pub async fn load_catalog(config: &Config) -> anyhow::Result<LoadedCatalog> {
    let source = config.openapi_path.as_str();
    let Some(url) = catalog_url(source, config.outbound.allow_http_loopback)? else {
        let catalog = Catalog::load(Path::new(source))
            .with_context(|| format!("loading the API catalog (CLOCKIFY_OPENAPI_PATH={source})"))?;
        return Ok(LoadedCatalog {
            catalog,
            degraded: None,
        });
    };
    match fetch(&url, config).await {
        Ok(catalog) => {
            if let Err(error) = std::fs::write(&config.openapi_cache_path, catalog.1.as_bytes()) {
                tracing::warn!(path = config.openapi_cache_path, error = %error, "the fetched API catalog could not be cached");
            }
            Ok(LoadedCatalog {
                catalog: catalog.0,
                degraded: None,
            })
        }
        Err(error) => {
            tracing::warn!(url = %url, error = format!("{error:#}"), "the API catalog could not be fetched; falling back");
            if let Ok(cached) = Catalog::load(Path::new(&config.openapi_cache_path)) {
                return Ok(LoadedCatalog {
                    catalog: cached,
                    degraded: Some("the catalog URL could not be fetched; using the cached copy"),
                });
            }
            let fallback = &config.openapi_fallback_path;
            let catalog = Catalog::load(Path::new(fallback)).with_context(|| {
                format!(
                    "loading the fallback API catalog (CLOCKIFY_OPENAPI_FALLBACK_PATH={fallback})"
                )
            })?;
            Ok(LoadedCatalog {
                catalog,
                degraded: Some("the catalog URL could not be fetched; using the bundled catalog"),
            })
        }
    }
}

/// The URL in `source`, if it is one: `https://`, or `http://` to a loopback host when allowed.
fn catalog_url(source: &str, allow_http_loopback: bool) -> anyhow::Result<Option<Url>> {
    let lowered = source.to_ascii_lowercase();
    if !lowered.starts_with("https://") && !lowered.starts_with("http://") {
        return Ok(None);
    }
    let url = Url::parse(source).context("CLOCKIFY_OPENAPI_PATH is not a valid URL")?;
    if url.scheme() == "http" {
        let host = url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        anyhow::ensure!(
            loopback && allow_http_loopback,
            "CLOCKIFY_OPENAPI_PATH may be http:// only for a loopback host with ALLOW_HTTP_LOOPBACK=true"
        );
    }
    Ok(Some(url))
}

/// Fetches and parses the document within the configured timeout; returns it with its text.
async fn fetch(url: &Url, config: &Config) -> anyhow::Result<(Catalog, String)> {
    let client = reqwest::Client::builder()
        .timeout(config.openapi_fetch_timeout)
        .connect_timeout(config.openapi_fetch_timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .context("building the catalog fetcher")?;
    let response = client.get(url.clone()).send().await.context("fetching")?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "the catalog URL answered {status}");
    let text = response.text().await.context("reading the document")?;
    let catalog = Catalog::from_json(&text, url.as_str()).context("parsing the document")?;
    Ok((catalog, text))
}

#[cfg(test)]
mod tests {
    use super::catalog_url;

    #[test]
    fn plain_http_is_only_for_loopback_when_allowed() {
        assert!(
            catalog_url("openapi.json", false)
                .expect("a file")
                .is_none()
        );
        assert!(
            catalog_url("https://docs.example/openapi.json", false)
                .expect("ok")
                .is_some()
        );
        assert!(
            catalog_url("http://127.0.0.1:9/openapi.json", true)
                .expect("ok")
                .is_some()
        );
        assert!(catalog_url("http://127.0.0.1:9/openapi.json", false).is_err());
        assert!(catalog_url("http://docs.example/openapi.json", true).is_err());
    }
}
