//! The ingress tier: verifies Clockify's lifecycle callbacks and webhooks, enqueues them on
//! RabbitMQ with publisher confirms, and answers only once the broker has them. It also serves
//! the manifest, the sidebar page and the studio and operator APIs.
//!
//! Three rooms: [`state`] (what handlers share), [`app`] (build and run), [`routes`] (the whole
//! router); every other module is a handler or a piece one of them uses.

mod app;
mod audit;
mod body;
mod body_deadline;
mod bootstrap_api;
mod catalog_source;
mod connection_clock;
mod coverage_api;
mod data_api;
mod dead_letters;
mod dead_letters_api;
mod enqueue;
mod error;
mod group_commit;
mod job_start;
mod lane_intake;
mod lane_overlap;
mod lifecycle;
mod load_shed;
mod manifest;
mod metrics;
mod ops;
mod outbox;
mod publish_outcome;
mod reconcile_api;
mod rejection;
mod replay_api;
mod request_id;
mod reseal;
mod route_table;
mod routes;
mod serve;
mod sidebar;
mod state;
mod studio_api;
pub mod token_cache;
mod user_auth;
mod webhooks;

pub use app::App;
pub use routes::router;
pub use state::AppState;
