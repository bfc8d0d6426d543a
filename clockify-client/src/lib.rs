//! The workers' outbound stack: every call to Clockify goes through [`client::ClockifyClient`],
//! paced per workspace by [`rate_limit::RateLimiter`], to hosts [`allowed_hosts`] admits, counted
//! in [`metrics::OutboundMetrics`]; bulk work yields to interactive calls in the limiter and lends
//! its [`worker_slot::WorkerSlot`] out while it waits. Ingress never calls Clockify, so none of this is in `common`.

pub mod allowed_hosts;
pub mod bulk_pace;
pub mod client;
pub mod metrics;
pub mod rate_limit;
pub mod worker_slot;
