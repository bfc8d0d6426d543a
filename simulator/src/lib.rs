//! A stand-in for Clockify: signs tokens and builds callbacks exactly as the platform does, for
//! tests, demos and benchmarks.

pub mod payloads;
pub mod signer;

pub use signer::ClockifySigner;
