//! Changes made to a stand-in workspace behind the add-on's back (no webhook sent): generated
//! entities replaced, deleted or added per list, and the change history of time entries that
//! Clockify's change feeds (`/entities/created|updated|deleted`) answer from. Lists without
//! changes keep the generated fast path.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A time-entry change as the feeds report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedChange {
    Created,
    Updated,
    Deleted,
}

impl FeedChange {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "created" => Some(Self::Created),
            "updated" => Some(Self::Updated),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Overlay {
    replaced: HashMap<String, Value>,
    deleted: HashSet<String>,
    added: Vec<Value>,
}

#[derive(Debug, Clone)]
struct FeedEntry {
    at: DateTime<Utc>,
    change: FeedChange,
    entry: Value,
}

/// A workspace's changes: per list key (`users`, `tasks:{projectId}`, `time_entries:{userId}`,
/// `invoices`, ...), and the time-entry history.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    lists: HashMap<String, Overlay>,
    feed: Vec<FeedEntry>,
}

/// A list as answered: generated items, or the generated ones with changes applied.
pub(crate) enum Listed<F> {
    Generated { total: usize, item: F },
    Changed(Vec<Value>),
}

impl<F: Fn(usize) -> Value> Listed<F> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Listed::Generated { total, .. } => *total,
            Listed::Changed(items) => items.len(),
        }
    }

    pub(crate) fn item(&self, index: usize) -> Value {
        match self {
            Listed::Generated { item, .. } => item(index),
            Listed::Changed(items) => items.get(index).cloned().unwrap_or(Value::Null),
        }
    }
}

fn id_of(entity: &Value) -> Option<&str> {
    entity.get("id").and_then(Value::as_str)
}

impl Changes {
    /// Replaces the entity with `entity`'s id (added when the list never had it).
    pub(crate) fn change(&mut self, list: &str, entity: Value) {
        let Some(id) = id_of(&entity).map(str::to_owned) else {
            return;
        };
        self.record(list, FeedChange::Updated, &entity);
        let overlay = self.lists.entry(list.to_owned()).or_default();
        match overlay
            .added
            .iter_mut()
            .find(|e| id_of(e) == Some(id.as_str()))
        {
            Some(added) => *added = entity,
            None => {
                overlay.replaced.insert(id, entity);
            }
        }
    }

    /// Adds `entity` to the list.
    pub(crate) fn add(&mut self, list: &str, entity: Value) {
        self.record(list, FeedChange::Created, &entity);
        self.lists
            .entry(list.to_owned())
            .or_default()
            .added
            .push(entity);
    }

    /// Deletes entity `id` from the list; `entity` is what it was (for the deletion feed).
    pub(crate) fn delete(&mut self, list: &str, id: &str, entity: Value) {
        self.record(list, FeedChange::Deleted, &entity);
        let overlay = self.lists.entry(list.to_owned()).or_default();
        overlay.added.retain(|e| id_of(e) != Some(id));
        overlay.replaced.remove(id);
        overlay.deleted.insert(id.to_owned());
    }

    fn record(&mut self, list: &str, change: FeedChange, entity: &Value) {
        if list.starts_with("time_entries:") {
            self.feed.push(FeedEntry {
                at: Utc::now(),
                change,
                entry: entity.clone(),
            });
        }
    }

    /// The list `key` of `total` generated items, with its changes applied when it has any
    /// (additions first, as the newest).
    pub(crate) fn listed<F: Fn(usize) -> Value>(
        &self,
        key: &str,
        total: usize,
        item: F,
    ) -> Listed<F> {
        let Some(overlay) = self.lists.get(key) else {
            return Listed::Generated { total, item };
        };
        let mut items: Vec<Value> = overlay.added.iter().rev().cloned().collect();
        for index in 0..total {
            let generated = item(index);
            let id = id_of(&generated).unwrap_or_default().to_owned();
            if overlay.deleted.contains(&id) {
                continue;
            }
            items.push(overlay.replaced.get(&id).cloned().unwrap_or(generated));
        }
        Listed::Changed(items)
    }

    /// What a change feed answers for `[start, end]`: the latest version of each time entry with
    /// such a change in the range. As in Clockify, an entry created in the range is left out of
    /// `updated`, and one created and deleted in it out of `deleted`.
    pub(crate) fn feed(
        &self,
        change: FeedChange,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Vec<Value> {
        let in_range = |entry: &&FeedEntry| {
            start.is_none_or(|s| entry.at >= s) && end.is_none_or(|e| entry.at <= e)
        };
        let created: HashSet<&str> = self
            .feed
            .iter()
            .filter(in_range)
            .filter(|e| e.change == FeedChange::Created)
            .filter_map(|e| id_of(&e.entry))
            .collect();
        let mut latest: Vec<Value> = Vec::new();
        for entry in self
            .feed
            .iter()
            .filter(in_range)
            .filter(|e| e.change == change)
        {
            let Some(id) = id_of(&entry.entry) else {
                continue;
            };
            if change != FeedChange::Created && created.contains(id) {
                continue;
            }
            latest.retain(|e| id_of(e) != Some(id));
            latest.push(entry.entry.clone());
        }
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn feeds_report_changes_in_range_as_clockify_does() {
        let mut changes = Changes::default();
        let list = "time_entries:u1";
        let before = Utc::now();
        changes.change(list, json!({"id": "e1", "description": "changed"}));
        changes.delete(list, "e2", json!({"id": "e2"}));
        changes.add(list, json!({"id": "e3"}));
        changes.change(list, json!({"id": "e3", "description": "then changed"}));
        let ids = |change| {
            changes
                .feed(change, Some(before), None)
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(FeedChange::Created), ["e3"]);
        assert_eq!(
            ids(FeedChange::Updated),
            ["e1"],
            "e3 was created in the range"
        );
        assert_eq!(ids(FeedChange::Deleted), ["e2"]);
        assert!(
            changes
                .feed(FeedChange::Updated, None, Some(before))
                .is_empty()
        );
        let listed = changes.listed(list, 2, |i| json!({"id": format!("e{}", i + 1)}));
        let now: Vec<Value> = (0..listed.len()).map(|i| listed.item(i)).collect();
        assert_eq!(
            now,
            [
                json!({"id": "e3", "description": "then changed"}),
                json!({"id": "e1", "description": "changed"}),
            ]
        );
    }
}
