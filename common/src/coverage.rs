//! The coverage plan: which event types reach the copy by webhook (the manifest's, or extra ones
//! registered through Clockify's webhooks API) and which are left to reconciliation, computed
//! from the configuration here and nowhere else, and checked against Clockify's limits at start.
//!
//! Clockify allows 10 webhooks in a manifest, and webhooks created through the API count against
//! 10 per admin and 100 per workspace (3 on the Free plan), so webhooks alone never cover all its
//! event types: every kind is also re-read by a reconciliation pass every `RECONCILE_INTERVAL`.

use std::time::Duration;

use serde::Serialize;

use crate::events::{DEFAULT_WEBHOOK_EVENTS, Effect, EntityKind, EventType};

/// Webhooks an add-on's manifest may declare.
pub const MANIFEST_WEBHOOK_LIMIT: usize = 10;
/// Webhooks one admin (the add-on's user) may create through the API.
pub const API_WEBHOOKS_PER_ADMIN: usize = 10;

/// The extra webhooks registered when `EXTRA_WEBHOOK_EVENTS` does not say: with the manifest's
/// defaults they cover create, update and delete of time entries and timers, projects, tasks,
/// clients, tags and users.
pub const DEFAULT_EXTRA_EVENTS: [EventType; 10] = [
    EventType::NewTask,
    EventType::TaskUpdated,
    EventType::TaskDeleted,
    EventType::ClientUpdated,
    EventType::ClientDeleted,
    EventType::TagUpdated,
    EventType::TagDeleted,
    EventType::UserJoinedWorkspace,
    EventType::UserUpdated,
    EventType::UserDeletedFromWorkspace,
];

/// `RECONCILE_INTERVAL` when unset.
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(6 * 3_600);

/// The kinds the copy holds that no webhook event writes: only reconciliation refreshes them.
const KINDS_WITHOUT_EVENTS: [EntityKind; 4] = [
    EntityKind::CustomField,
    EntityKind::ExpenseCategory,
    EntityKind::TimeOffPolicy,
    EntityKind::Holiday,
];

/// A plan that breaks a limit or names an unknown event; `variable` is the one to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub variable: &'static str,
    pub reason: String,
}

fn refuse(variable: &'static str, reason: impl Into<String>) -> PlanError {
    PlanError {
        variable,
        reason: reason.into(),
    }
}

/// How one event type reaches the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// A manifest webhook, created by Clockify on install.
    Manifest,
    /// An extra webhook the add-on registers through the webhooks API.
    Registered,
    /// No webhook: the reconciliation pass notices the change.
    Reconciliation,
}

/// How fresh one kind is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Every event type of the kind arrives by webhook: stale for seconds.
    Webhooks,
    /// Some event types by webhook, the others by reconciliation.
    Partly,
    /// Only reconciliation: stale for up to the interval.
    Reconciliation,
}

/// One kind of the copy and how it is kept fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindFreshness {
    pub kind: &'static str,
    pub freshness: Freshness,
    /// Its event types that arrive by webhook.
    pub by_webhook: Vec<&'static str>,
    /// Its event types left to reconciliation.
    pub by_reconciliation: Vec<&'static str>,
}

/// The configured plan: manifest events, extra events, the reconciliation interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveragePlan {
    manifest: Vec<EventType>,
    extra: Vec<EventType>,
    reconcile_interval: Duration,
}

impl CoveragePlan {
    /// Builds the plan from the raw values of `WEBHOOK_EVENTS`, `EXTRA_WEBHOOK_EVENTS` and
    /// `RECONCILE_INTERVAL` (`None` when unset). `EXTRA_WEBHOOK_EVENTS` may be `default` (the
    /// same as unset), `none` or empty (no extra webhooks), or a comma-separated list.
    pub fn from_settings(
        manifest: Option<&str>,
        extra: Option<&str>,
        reconcile_interval: Option<&str>,
    ) -> Result<Self, PlanError> {
        let manifest = match manifest.filter(|s| !s.trim().is_empty()) {
            Some(list) => parse_events("WEBHOOK_EVENTS", list)?,
            None => DEFAULT_WEBHOOK_EVENTS.to_vec(),
        };
        let extra = match extra.map(str::trim) {
            None | Some("default") => DEFAULT_EXTRA_EVENTS
                .into_iter()
                .filter(|e| !manifest.contains(e))
                .collect(),
            Some("" | "none") => Vec::new(),
            Some(list) => parse_events("EXTRA_WEBHOOK_EVENTS", list)?,
        };
        let interval = match reconcile_interval {
            Some(text) if !text.trim().is_empty() => parse_interval(text)?,
            _ => DEFAULT_RECONCILE_INTERVAL,
        };
        Self::new(manifest, extra, interval)
    }

    /// Checks the plan against Clockify's limits.
    pub fn new(
        manifest: Vec<EventType>,
        extra: Vec<EventType>,
        reconcile_interval: Duration,
    ) -> Result<Self, PlanError> {
        if manifest.len() > MANIFEST_WEBHOOK_LIMIT {
            return Err(refuse(
                "WEBHOOK_EVENTS",
                format!(
                    "{} events, but Clockify allows at most {MANIFEST_WEBHOOK_LIMIT} webhooks per add-on manifest",
                    manifest.len()
                ),
            ));
        }
        if extra.len() > API_WEBHOOKS_PER_ADMIN {
            return Err(refuse(
                "EXTRA_WEBHOOK_EVENTS",
                format!(
                    "{} events, but Clockify allows at most {API_WEBHOOKS_PER_ADMIN} webhooks created through its API per admin (and 100 per workspace, 3 on the Free plan); leave the rest to reconciliation",
                    extra.len()
                ),
            ));
        }
        if let Some(both) = extra.iter().find(|e| manifest.contains(e)) {
            return Err(refuse(
                "EXTRA_WEBHOOK_EVENTS",
                format!(
                    "{} is already in WEBHOOK_EVENTS: it would be delivered twice",
                    both.as_str()
                ),
            ));
        }
        Ok(Self {
            manifest,
            extra,
            reconcile_interval,
        })
    }

    /// The manifest's webhook events.
    pub fn manifest(&self) -> &[EventType] {
        &self.manifest
    }

    /// The events registered through the webhooks API per installation.
    pub fn extra(&self) -> &[EventType] {
        &self.extra
    }

    /// How often every installation is reconciled.
    pub fn reconcile_interval(&self) -> Duration {
        self.reconcile_interval
    }

    /// How `event` reaches the copy.
    pub fn source(&self, event: EventType) -> EventSource {
        if self.manifest.contains(&event) {
            EventSource::Manifest
        } else if self.extra.contains(&event) {
            EventSource::Registered
        } else {
            EventSource::Reconciliation
        }
    }

    /// Every event type Clockify documents, with how it reaches the copy.
    pub fn events(&self) -> impl Iterator<Item = (EventType, EventSource)> + '_ {
        EventType::ALL.iter().map(|e| (*e, self.source(*e)))
    }

    /// Every kind the copy holds, with how fresh it is kept.
    pub fn kinds(&self) -> Vec<KindFreshness> {
        let mut kinds: Vec<KindFreshness> = Vec::new();
        for (event, source) in self.events() {
            let kind = event.entity_kind().as_str();
            let index = match kinds.iter().position(|k| k.kind == kind) {
                Some(index) => index,
                None => {
                    kinds.push(KindFreshness {
                        kind,
                        freshness: Freshness::Reconciliation,
                        by_webhook: Vec::new(),
                        by_reconciliation: Vec::new(),
                    });
                    kinds.len() - 1
                }
            };
            match source {
                EventSource::Reconciliation => kinds[index].by_reconciliation.push(event.as_str()),
                _ => kinds[index].by_webhook.push(event.as_str()),
            }
        }
        for kind in KINDS_WITHOUT_EVENTS {
            kinds.push(KindFreshness {
                kind: kind.as_str(),
                freshness: Freshness::Reconciliation,
                by_webhook: Vec::new(),
                by_reconciliation: Vec::new(),
            });
        }
        for kind in &mut kinds {
            kind.freshness = match (
                kind.by_webhook.is_empty(),
                kind.by_reconciliation.is_empty(),
            ) {
                (false, true) => Freshness::Webhooks,
                (false, false) => Freshness::Partly,
                (true, _) => Freshness::Reconciliation,
            };
        }
        kinds
    }

    /// Whether webhooks cover creating, changing and deleting `kind` (each effect by at least one
    /// event), the bar the defaults are chosen to meet for the kinds that change most.
    pub fn covers_every_effect(&self, kind: EntityKind) -> bool {
        let covered = |effect: Effect, creates: Option<bool>| {
            EventType::ALL.iter().any(|e| {
                e.entity_kind() == kind
                    && e.effect() == effect
                    && creates.is_none_or(|c| is_create(*e) == c)
                    && self.source(*e) != EventSource::Reconciliation
            })
        };
        covered(Effect::Upsert, Some(true))
            && covered(Effect::Upsert, Some(false))
            && covered(Effect::Delete, None)
    }
}

/// Whether the event announces a new entity rather than a change.
fn is_create(event: EventType) -> bool {
    matches!(
        event,
        EventType::NewProject
            | EventType::NewTask
            | EventType::NewClient
            | EventType::NewTag
            | EventType::NewTimerStarted
            | EventType::NewTimeEntry
            | EventType::NewInvoice
            | EventType::UserJoinedWorkspace
            | EventType::NewApprovalRequest
            | EventType::TimeOffRequested
            | EventType::UserGroupCreated
            | EventType::ExpenseCreated
            | EventType::AssignmentCreated
    )
}

/// A comma-separated list of Clockify event names, duplicates dropped.
fn parse_events(variable: &'static str, list: &str) -> Result<Vec<EventType>, PlanError> {
    let mut events = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let event = EventType::parse(name)
            .ok_or_else(|| refuse(variable, format!("unknown event type {name}")))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    Ok(events)
}

/// `6h`, `30m`, `90s` or a number of seconds; between a second and 30 days.
fn parse_interval(text: &str) -> Result<Duration, PlanError> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, 'h')) => (&text[..at], 3_600),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 's')) => (&text[..at], 1),
        _ => (text, 1),
    };
    let invalid = || {
        refuse(
            "RECONCILE_INTERVAL",
            "must be a duration such as 6h, 30m or 90s, between 1s and 720h",
        )
    };
    let amount: u64 = number.trim().parse().map_err(|_| invalid())?;
    let secs = amount.checked_mul(unit).ok_or_else(invalid)?;
    if (1..=720 * 3_600).contains(&secs) {
        Ok(Duration::from_secs(secs))
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
#[path = "coverage_tests.rs"]
mod tests;
