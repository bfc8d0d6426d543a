//! The error a bad configuration value stops the process with.

/// A configuration value that could not be accepted; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}
