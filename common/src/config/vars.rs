//! Reading one environment variable at a time, each failure naming the variable.

use std::collections::HashMap;
use std::time::Duration;

use super::error::ConfigError;

/// A refusal naming `name`.
pub(super) fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

/// The variables being read.
pub(super) struct Vars<'a>(pub(super) &'a HashMap<String, String>);

impl Vars<'_> {
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }

    pub(super) fn string(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    pub(super) fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    pub(super) fn parsed<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<T, ConfigError> {
        self.string(name, default)
            .trim()
            .parse()
            .map_err(|_| invalid(name, "cannot be parsed"))
    }

    pub(super) fn fraction(
        &self,
        name: &'static str,
        default: f64,
        min: f64,
        max: f64,
    ) -> Result<f64, ConfigError> {
        let value = match self.optional(name) {
            None => default,
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| invalid(name, "must be a number"))?,
        };
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(invalid(name, format!("must be between {min} and {max}")))
        }
    }

    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: f64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs_f64(
            self.fraction(name, default, 0.0, 3_600.0)?,
        ))
    }

    pub(super) fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let value = match self.optional(name) {
            None => default,
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| invalid(name, "must be a whole number"))?,
        };
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(invalid(
                name,
                format!("must be between {} and {}", range.start(), range.end()),
            ))
        }
    }
}
