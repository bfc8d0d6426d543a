//! A stand-in for Clockify: signs tokens and builds callbacks exactly as the platform does, for
//! tests, demos and benchmarks.

pub mod bootstrap_bench;
pub mod demo;
pub mod event_bodies;
pub mod keys;
pub mod load;
pub mod payloads;
pub mod scenario;
pub mod serve;
pub mod signer;
pub mod standin;

pub use signer::ClockifySigner;
