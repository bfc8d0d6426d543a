//! The route table: which lifecycle, webhook and component paths exist. The router and the
//! manifest both read it, so they cannot drift.

use common::config::Config;
use common::events::EventType;

use crate::lifecycle::LifecycleKind;

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
