//! The kinds a bootstrap imports, one entry each: the unit key, the entity kind it stores, the
//! API base and path it reads, how it pages, where the list sits in the answer, and which kind's
//! items spawn its units. Shared by ingress (which starts jobs) and workers (which run them and,
//! later, reconcile with the same table). Paths and paging follow Clockify's published OpenAPI
//! document.

use crate::events::EntityKind;

/// Which of Clockify's hosts serves the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindBase {
    /// `{backendUrl}`.
    Backend,
    /// The time-off API: the claims' `ptoUrl`, else derived from the backend URL.
    Pto,
}

/// How the list is paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindPaging {
    /// `GET` with `page` (from 1) and `page-size` in the query; a short page ends the list.
    Query,
    /// `POST` with `{"page", "pageSize"}` in the body (time-off requests); a short page ends it.
    Body,
    /// One `GET` answers the whole list (custom fields, holidays).
    Whole,
    /// A change feed: `GET` with `page` (from 0) and `limit`, over the pass's `start`/`end`
    /// (`type=TIME_ENTRY`); a short page ends it.
    Feed,
}

/// The time range a list is asked for, around the job's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindWindow {
    None,
    /// `start` = `BOOTSTRAP_TIME_ENTRIES_DAYS` before the job, `end` = the job's start.
    Past,
    /// The same number of days before and after the job's start (schedules look ahead).
    Around,
}

/// One kind a bootstrap imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapKind {
    /// The unit key (`users`) or its prefix (`tasks:{projectId}`); also the progress label.
    pub key: &'static str,
    /// What `entities.kind` stores.
    pub entity: EntityKind,
    pub base: KindBase,
    /// Under `/v1/workspaces/{workspaceId}`; `{parent}` is the parent item's id.
    pub path: &'static str,
    pub paging: KindPaging,
    /// JSON pointer of the list when the answer is an object (`/invoices`); `None`: a bare array.
    pub list_at: Option<&'static str>,
    pub window: KindWindow,
    /// The kind whose items each start one unit of this kind (`tasks` per project).
    pub parent: Option<&'static str>,
    /// The field of an item naming its parent (`projectId` of a task), which scopes what a
    /// reconciliation of one parent's list may mark deleted.
    pub parent_field: Option<&'static str>,
    /// What a reconciliation does with the items: most lists are compared whole; a change feed
    /// is applied as it says.
    pub role: KindRole,
}

/// What a kind's units are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindRole {
    /// A list of the kind's entities: imported by a bootstrap, compared by a reconciliation.
    List,
    /// A change feed of created or updated entities, read by reconciliations only.
    FeedUpserts,
    /// The change feed of deleted entities, read by reconciliations only.
    FeedDeletions,
}

const fn kind(key: &'static str, entity: EntityKind, path: &'static str) -> BootstrapKind {
    BootstrapKind {
        key,
        entity,
        base: KindBase::Backend,
        path,
        paging: KindPaging::Query,
        list_at: None,
        window: KindWindow::None,
        parent: None,
        parent_field: None,
        role: KindRole::List,
    }
}

const fn feed(key: &'static str, path: &'static str, role: KindRole) -> BootstrapKind {
    BootstrapKind {
        paging: KindPaging::Feed,
        role,
        ..kind(key, EntityKind::TimeEntry, path)
    }
}

/// Every kind, roots first. A root kind is one unit per job; a child kind one unit per parent item.
pub const KINDS: &[BootstrapKind] = &[
    kind("users", EntityKind::User, "/users"),
    kind("projects", EntityKind::Project, "/projects"),
    kind("clients", EntityKind::Client, "/clients"),
    kind("tags", EntityKind::Tag, "/tags"),
    kind("user_groups", EntityKind::UserGroup, "/user-groups"),
    BootstrapKind {
        paging: KindPaging::Whole,
        ..kind("custom_fields", EntityKind::CustomField, "/custom-fields")
    },
    BootstrapKind {
        list_at: Some("/categories"),
        ..kind(
            "expense_categories",
            EntityKind::ExpenseCategory,
            "/expenses/categories",
        )
    },
    BootstrapKind {
        list_at: Some("/expenses/expenses"),
        ..kind("expenses", EntityKind::Expense, "/expenses")
    },
    BootstrapKind {
        list_at: Some("/invoices"),
        ..kind("invoices", EntityKind::Invoice, "/invoices")
    },
    kind(
        "approval_requests",
        EntityKind::ApprovalRequest,
        "/approval-requests",
    ),
    kind(
        "time_off_policies",
        EntityKind::TimeOffPolicy,
        "/time-off/policies",
    ),
    BootstrapKind {
        base: KindBase::Pto,
        paging: KindPaging::Body,
        list_at: Some("/requests"),
        ..kind(
            "time_off_requests",
            EntityKind::TimeOffRequest,
            "/time-off/requests",
        )
    },
    BootstrapKind {
        paging: KindPaging::Whole,
        ..kind("holidays", EntityKind::Holiday, "/holidays")
    },
    BootstrapKind {
        window: KindWindow::Around,
        ..kind(
            "assignments",
            EntityKind::Assignment,
            "/scheduling/assignments/all",
        )
    },
    feed(
        "time_entries_created",
        "/entities/created",
        KindRole::FeedUpserts,
    ),
    feed(
        "time_entries_updated",
        "/entities/updated",
        KindRole::FeedUpserts,
    ),
    feed(
        "time_entries_deleted",
        "/entities/deleted",
        KindRole::FeedDeletions,
    ),
    BootstrapKind {
        parent: Some("projects"),
        parent_field: Some("projectId"),
        ..kind("tasks", EntityKind::Task, "/projects/{parent}/tasks")
    },
    BootstrapKind {
        parent: Some("users"),
        parent_field: Some("userId"),
        window: KindWindow::Past,
        ..kind(
            "time_entries",
            EntityKind::TimeEntry,
            "/user/{parent}/time-entries",
        )
    },
    BootstrapKind {
        parent: Some("time_off_policies"),
        parent_field: Some("policyId"),
        base: KindBase::Pto,
        list_at: Some("/balances"),
        ..kind(
            "time_off_balances",
            EntityKind::Balance,
            "/time-off/balance/policy/{parent}",
        )
    },
];

/// The keys of the units every bootstrap starts with.
pub fn root_keys() -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .filter(|k| k.parent.is_none() && k.role == KindRole::List)
        .map(|k| k.key)
}

/// The keys of the units a reconciliation pass starts with: every list, and the time-entry
/// change feeds when the pass has a range to read them over (else users start the re-read of
/// their time entries, as in a bootstrap).
pub fn reconcile_root_keys(with_feeds: bool) -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .filter(move |k| k.parent.is_none() && (with_feeds || k.role == KindRole::List))
        .map(|k| k.key)
}

/// The child kind whose units the time-entry feeds replace.
pub const TIME_ENTRIES_KEY: &str = "time_entries";

/// The kind of a unit key (`tasks:p1` is a `tasks` unit of project `p1`) and its parent id.
pub fn parse_unit(unit_key: &str) -> Option<(&'static BootstrapKind, Option<&str>)> {
    let (prefix, parent) = match unit_key.split_once(':') {
        Some((prefix, id)) if !id.is_empty() => (prefix, Some(id)),
        Some(_) => return None,
        None => (unit_key, None),
    };
    let kind = KINDS.iter().find(|k| k.key == prefix)?;
    (kind.parent.is_some() == parent.is_some()).then_some((kind, parent))
}

/// The kinds whose units an item of `key` starts.
pub fn children_of(key: &str) -> impl Iterator<Item = &'static BootstrapKind> + '_ {
    KINDS.iter().filter(move |k| k.parent == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_keys_name_their_kind_and_parent() {
        let (kind, parent) = parse_unit("tasks:p1").expect("a task unit");
        assert_eq!((kind.key, parent), ("tasks", Some("p1")));
        assert_eq!(
            parse_unit("invoices").map(|(k, _)| k.entity),
            Some(EntityKind::Invoice)
        );
        assert!(
            parse_unit("tasks").is_none(),
            "a child kind needs its parent"
        );
        assert!(parse_unit("users:u1").is_none(), "a root kind has none");
        assert!(parse_unit("nonsense").is_none());
    }

    #[test]
    fn every_kind_has_one_entry_and_every_parent_is_a_kind() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert!(
                KINDS[i + 1..].iter().all(|k| k.key != kind.key),
                "{}",
                kind.key
            );
            if let Some(parent) = kind.parent {
                assert!(KINDS.iter().any(|k| k.key == parent), "{parent}");
            }
        }
        assert_eq!(root_keys().count(), 14);
        assert_eq!(reconcile_root_keys(true).count(), 17);
        assert_eq!(reconcile_root_keys(false).count(), 14);
    }
}
