//! Test modules, one per concern.

mod bootstrap;
mod bounded_exposure;
mod dead_letters;
mod extra_webhooks;
mod hostile_clients;
mod idempotency;
mod jwks;
mod lifecycle;
mod limiter_fallback;
mod manifest_and_ops;
mod migrations;
mod operator_repair;
mod outbox;
mod pipeline;
mod processes;
mod rejections;
mod retention;
mod sidebar_api;
mod sidebar_browser;
mod signatures;
mod studio;
mod studio_fairness;
mod studio_viewer;
mod traces;
mod trust_boundaries;
mod uninstall;
