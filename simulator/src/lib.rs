//! A stand-in for Clockify: signs tokens and builds callbacks exactly as the platform does, for
//! tests, demos and benchmarks.

pub mod demo;
pub mod payloads;
pub mod scenario;
pub mod signer;
pub mod standin;

pub use signer::ClockifySigner;
