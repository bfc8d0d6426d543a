//! What both tiers share: configuration, message contracts, token verification, the broker
//! topology and publisher, the database layer, metrics, telemetry and shutdown.

pub mod bootstrap_kinds;
pub mod bootstrap_start;
pub mod broker;
pub mod busy_pace;
pub mod config;
pub mod coverage;
pub mod crypto;
pub mod db;
pub mod events;
pub mod health;
pub mod job_messages;
pub mod json_text;
pub mod messages;
pub mod metrics;
pub mod publisher;
pub mod shutdown;
pub mod telemetry;
pub mod token;
pub mod trace_context;
pub mod webhook_body;
pub mod webhook_hmac;
