//! Test modules, one per concern.

mod bootstrap;
mod bounded_exposure;
mod dead_letters;
mod extra_webhooks;
mod hostile_clients;
mod idempotency;
mod lifecycle;
mod limiter_fallback;
mod manifest_and_ops;
mod pipeline;
mod processes;
mod rejections;
mod signatures;
mod studio;
