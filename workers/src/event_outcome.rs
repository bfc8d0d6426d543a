//! What became of one message: the closed set used in the event log, metrics and logs.

use common::db::event_log::LogOutcome;

/// The outcome of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its effect is committed.
    Applied,
    /// Same content as what is stored: nothing changed.
    Duplicate,
    /// Already handled (a redelivery of the same message).
    Redelivered,
    /// Not authentic for the installation, or the workspace is not installed and active.
    Rejected,
    /// A lifecycle callback for another installation than the current one.
    Ignored,
    /// Could not be handled at all; sent to the dead-letter queue.
    DeadLettered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Redelivered => "redelivered",
            Outcome::Rejected => "rejected",
            Outcome::Ignored => "ignored",
            Outcome::DeadLettered => "dead_lettered",
        }
    }

    /// The event log's name for it; `None` for the outcomes never logged: a redelivery's row is
    /// already there, and a dead letter's transaction never committed.
    pub fn logged_as(self) -> Option<LogOutcome> {
        match self {
            Outcome::Applied => Some(LogOutcome::Applied),
            Outcome::Duplicate => Some(LogOutcome::Duplicate),
            Outcome::Rejected => Some(LogOutcome::Rejected),
            Outcome::Ignored => Some(LogOutcome::Ignored),
            Outcome::Redelivered | Outcome::DeadLettered => None,
        }
    }
}

/// An outcome with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processed {
    pub outcome: Outcome,
    pub reason: Option<&'static str>,
}

impl Processed {
    pub fn applied() -> Self {
        Self {
            outcome: Outcome::Applied,
            reason: None,
        }
    }

    pub fn duplicate() -> Self {
        Self {
            outcome: Outcome::Duplicate,
            reason: Some("unchanged"),
        }
    }

    pub fn redelivered() -> Self {
        Self {
            outcome: Outcome::Redelivered,
            reason: None,
        }
    }

    pub fn rejected(reason: &'static str) -> Self {
        Self {
            outcome: Outcome::Rejected,
            reason: Some(reason),
        }
    }

    pub fn ignored(reason: &'static str) -> Self {
        Self {
            outcome: Outcome::Ignored,
            reason: Some(reason),
        }
    }
}
