//! Test modules, one per concern.

mod idempotency;
mod lifecycle;
mod manifest_and_ops;
mod pipeline;
mod processes;
mod rejections;
