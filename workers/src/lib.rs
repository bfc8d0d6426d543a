//! The worker tier: consumes the event partitions and applies them to PostgreSQL in ordered,
//! batched transactions; runs the job queues (bootstrap units, API Studio calls, webhook
//! registrations). Any number of worker processes may run; nothing here assumes it is alone.
//!
//! Three rooms: [`state`] (what consumers and jobs share), [`app`] (build and run), [`routes`]
//! (the ops router); consumers speak one vocabulary, [`disposition::Disposition`].

mod api_call_body;
mod api_call_failure;
mod app;
mod assignment;
mod batch;
mod batch_retry;
mod bootstrap;
mod disposition;
mod event_consumer;
mod event_deliveries;
mod event_intake;
mod event_outcome;
mod freshness;
mod gauges;
mod installation;
mod installation_cache;
mod job_consumer;
pub mod jobs;
mod lifecycle;
mod metrics;
mod outbox_relay;
mod publish;
mod reconciler;
mod redaction;
mod retention;
mod routes;
mod state;
mod subscription;
pub mod webhooks;

pub use app::App;
pub use state::WorkerState;
