//! What both tiers share: configuration, message contracts, token verification, the broker
//! topology and publisher, the database layer, metrics, telemetry and shutdown.

pub mod allowed_hosts;
pub mod bootstrap_jobs;
pub mod broker;
pub mod clockify_client;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dead_letters;
pub mod events;
pub mod health;
pub mod jobs;
pub mod messages;
pub mod metrics;
pub mod outbound_metrics;
pub mod publisher;
pub mod rate_limit;
pub mod redaction;
pub mod shutdown;
pub mod telemetry;
pub mod token;
pub mod token_cache;
pub mod trace_context;
pub mod webhook_hmac;
