//! `GET /ui`: the sidebar page Clockify loads in an iframe with the viewing user's token, and its
//! scripts, style and icon (`/ui/app.js`, `/ui/explorer.js`, `/ui/views.js`, `/ui/app.css`,
//! `/ui/icon.svg`), embedded in the binary: plain files, no build step, no CDN. The token stays
//! in the page (it calls `/api` with it); it is never logged or echoed here.
//!
//! The page is framed by Clockify only (`frame-ancestors`, `UI_FRAME_ANCESTORS`), runs no inline
//! script or style (everything from 'self'), talks to this origin only, and sends no referrer:
//! an injected string can neither run nor carry the token elsewhere.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

const PAGE: &str = include_str!("sidebar.html");
const SCRIPT: &str = include_str!("sidebar.js");
const EXPLORER_SCRIPT: &str = include_str!("sidebar_explorer.js");
const VIEWS_SCRIPT: &str = include_str!("sidebar_views.js");
const STYLE: &str = include_str!("sidebar.css");
/// The page's icon, so the browser does not ask for a missing `/favicon.ico`.
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#03a9f4\"/>\
<path d=\"M4 5l3 3-3 3M8 11h4\" stroke=\"#fff\" stroke-width=\"1.6\" fill=\"none\"/></svg>";

/// The script's path, as the page names it.
pub const SCRIPT_PATH: &str = "/ui/app.js";
/// The Explorer's script.
pub const EXPLORER_SCRIPT_PATH: &str = "/ui/explorer.js";
/// The History, Data, Events and Bootstrap views' script.
pub const VIEWS_SCRIPT_PATH: &str = "/ui/views.js";
/// The style's path, as the page names it.
pub const STYLE_PATH: &str = "/ui/app.css";

/// The icon's path, as the page names it.
pub const ICON_PATH: &str = "/ui/icon.svg";

/// The page's Content-Security-Policy, framed by `frame_ancestors` only.
pub fn content_security_policy(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors}"
    )
}

/// Serves the page; the query's `auth_token` is read by the page's script, not by the server.
pub async fn get_sidebar(State(state): State<AppState>) -> Response {
    let policy = content_security_policy(&state.config.http.ui_frame_ancestors);
    let mut response = asset("text/html; charset=utf-8", PAGE);
    // Validated at start (letters, digits and origin punctuation only); a fixed fallback anyway.
    let policy = HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /ui/app.js`.
pub async fn get_script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /ui/explorer.js`.
pub async fn get_explorer_script() -> Response {
    asset("text/javascript; charset=utf-8", EXPLORER_SCRIPT)
}

/// `GET /ui/views.js`.
pub async fn get_views_script() -> Response {
    asset("text/javascript; charset=utf-8", VIEWS_SCRIPT)
}

/// `GET /ui/app.css`.
pub async fn get_style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `GET /ui/icon.svg`.
pub async fn get_icon() -> Response {
    asset("image/svg+xml", ICON)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
