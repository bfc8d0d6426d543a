//! `GET /ui`: the sidebar page Clockify loads in an iframe with the viewing user's token.
//! The token stays in the page (it calls `/api` with it); it is never logged or echoed here.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("sidebar.html");

/// Serves the page; the query's `auth_token` is read by the page's script, not by the server.
pub async fn get_sidebar() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
        .into_response()
}
