//! Test modules, one per concern.

mod bootstrap;
mod bootstrap_kinds;
mod bounded_exposure;
mod bulk_yields;
mod catalog_url;
mod dead_letters;
mod extra_webhooks;
mod hostile_clients;
mod idempotency;
mod jwks;
mod lifecycle;
mod limiter_fallback;
mod manifest_and_ops;
mod migrations;
mod pipeline;
mod processes;
mod rejections;
mod signatures;
mod studio;
mod studio_fairness;
mod studio_viewer;
mod traces;
mod trust_boundaries;
mod uninstall;
