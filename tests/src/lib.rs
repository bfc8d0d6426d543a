//! The integration test harness: isolated environments on the real RabbitMQ, PostgreSQL and
//! Redis, both tiers spawned on port 0 (in process or as real processes), and a signer standing
//! in for Clockify. Helpers are methods on [`TestApp`].

pub mod browser;
pub mod drill;
pub mod drill_services;
pub mod env;
pub mod forwarder;
pub mod heavy;
pub mod logs;
pub mod process;
pub mod studio;
pub mod test_app;
pub mod traces;

pub use env::TestEnv;
pub use test_app::{Installation, TestApp};
