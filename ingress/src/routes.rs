//! The route table: which lifecycle and webhook paths exist. The router and the manifest both
//! read it, so they cannot drift.

use axum::Router;
use axum::routing::{get, post};

use common::config::Config;
use common::events::EventType;

use crate::AppState;
use crate::lifecycle::{LifecycleKind, handle_lifecycle};
use crate::webhooks::handle_webhook;

/// The sidebar component's path.
pub const SIDEBAR_PATH: &str = "/ui";

/// Every lifecycle callback route.
pub fn lifecycle_routes() -> impl Iterator<Item = LifecycleKind> {
    LifecycleKind::ALL.into_iter()
}

/// Every webhook route: all event types, subscribed or not, so a registration made outside the
/// manifest (the webhooks API) has a path to arrive at.
pub fn webhook_routes() -> impl Iterator<Item = EventType> {
    EventType::ALL.iter().copied()
}

/// The webhook routes the manifest subscribes to (`WEBHOOK_EVENTS`, at most 10).
pub fn subscribed_webhook_routes(config: &Config) -> impl Iterator<Item = EventType> + '_ {
    webhook_routes().filter(|event| config.webhook_events.contains(event))
}

/// Adds the lifecycle and webhook routes to `router`.
pub fn event_routes(mut router: Router<AppState>) -> Router<AppState> {
    for kind in lifecycle_routes() {
        router = router.route(
            kind.path(),
            post(move |state, request_id, headers, body| {
                handle_lifecycle(kind, state, request_id, headers, body)
            }),
        );
    }
    for event in webhook_routes() {
        router = router.route(
            &event.path(),
            post(move |state, request_id, headers, body| {
                handle_webhook(event, state, request_id, headers, body)
            }),
        );
    }
    router.route(SIDEBAR_PATH, get(crate::sidebar::get_sidebar))
}
