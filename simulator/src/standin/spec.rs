//! What a stand-in workspace holds, and how many requests importing it page by page costs.

use serde::{Deserialize, Serialize};

/// The largest `page-size` the stand-in honours; larger asks are served this many items.
pub const MAX_PAGE_SIZE: usize = 5000;

/// The shape of one generated workspace. Entities are derived from it deterministically, so a
/// test can predict every id and count without asking the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSpec {
    /// The id in paths and token claims; entity ids are prefixed with it (`{ws}-p1`).
    pub workspace_id: String,
    pub users: usize,
    /// Projects at start; clients may create more through the API.
    pub projects: usize,
    pub clients: usize,
    pub tags: usize,
    /// Tasks of each generated project (created projects start with none).
    pub tasks_per_project: usize,
    /// Time entries of each user, spread over the last 90 days.
    pub time_entries_per_user: usize,
    /// The other kinds a complete copy holds (user groups, expenses, time off, ...).
    #[serde(default)]
    pub more: MoreKinds,
}

/// How many of each further kind a workspace holds; all zero by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MoreKinds {
    pub user_groups: usize,
    /// Listed in one answer, unpaged, as Clockify does.
    pub custom_fields: usize,
    pub expense_categories: usize,
    pub expenses: usize,
    pub invoices: usize,
    pub approval_requests: usize,
    pub time_off_policies: usize,
    /// Served by the time-off (`/pto`) API, paged in the POST body.
    pub time_off_requests: usize,
    /// Balances of each policy, served by the time-off API.
    pub balances_per_policy: usize,
    /// Listed in one answer, unpaged, as Clockify does.
    pub holidays: usize,
    /// Scheduling assignments, all within a week of the stand-in's start.
    pub assignments: usize,
}

impl MoreKinds {
    fn entity_count(&self) -> usize {
        self.user_groups
            + self.custom_fields
            + self.expense_categories
            + self.expenses
            + self.invoices
            + self.approval_requests
            + self.time_off_policies
            + self.time_off_requests
            + self.time_off_policies * self.balances_per_policy
            + self.holidays
            + self.assignments
    }

    /// The requests importing these kinds costs, empty lists included (one request each).
    pub fn request_count(&self, page_size: usize) -> usize {
        let pages = |items: usize| pages_to_import(items, page_size);
        pages(self.user_groups)
            + 1 // custom fields, one answer
            + pages(self.expense_categories)
            + pages(self.expenses)
            + pages(self.invoices)
            + pages(self.approval_requests)
            + pages(self.time_off_policies)
            + pages(self.time_off_requests)
            + self.time_off_policies * pages(self.balances_per_policy)
            + 1 // holidays, one answer
            + pages(self.assignments)
    }
}

impl WorkspaceSpec {
    /// A workspace of exactly `entities` entities spread as a real team's is: about one user per
    /// fifty entities, one project per forty, a client per four projects, some tags, around 15%
    /// tasks, and time entries for the rest (most of a workspace is time entries).
    pub fn sized(workspace_id: &str, entities: usize) -> Self {
        let mut remaining = entities;
        let mut take = |want: usize| {
            let got = want.min(remaining);
            remaining -= got;
            got
        };
        let users = take((entities / 50).max(1));
        let projects = take((entities / 40).max(1));
        let clients = take((projects / 4).max(1));
        let mut tags = take((entities / 200).max(1));
        let time_off_policies = take((entities / 5_000).max(1));
        let balance_budget = take(users * time_off_policies);
        let balances_per_policy = balance_budget.checked_div(time_off_policies).unwrap_or(0);
        let more = MoreKinds {
            user_groups: take(entities / 500),
            custom_fields: take(entities / 1_000),
            expense_categories: take(entities / 1_000),
            expenses: take(entities / 50),
            invoices: take(entities / 200),
            approval_requests: take(entities / 200),
            time_off_policies,
            time_off_requests: take(entities / 100),
            balances_per_policy,
            holidays: take(entities / 1_000),
            assignments: take(entities / 100),
        };
        // What the policies' balances could not share evenly goes back to the budget.
        remaining += balance_budget - balances_per_policy * time_off_policies;
        let tasks_per_project = match projects {
            0 => 0,
            p => (remaining * 15 / 100) / p,
        };
        remaining -= tasks_per_project * projects;
        let time_entries_per_user = match users {
            0 => 0,
            u => remaining / u,
        };
        remaining -= time_entries_per_user * users;
        // What does not divide evenly over the users becomes tags, so the total is exact.
        tags += remaining;
        Self {
            workspace_id: workspace_id.to_owned(),
            users,
            projects,
            clients,
            tags,
            tasks_per_project,
            time_entries_per_user,
            more,
        }
    }

    /// Every entity a complete import brings in.
    pub fn entity_count(&self) -> usize {
        self.users
            + self.projects
            + self.clients
            + self.tags
            + self.projects * self.tasks_per_project
            + self.users * self.time_entries_per_user
            + self.more.entity_count()
    }

    /// The GETs a page-by-page import with `page_size` makes, stopping on the first page shorter
    /// than `page_size` (so a list whose length is a multiple of it costs one extra, empty page).
    /// Benchmarks compare this with what the recorder saw to prove nothing was fetched twice.
    pub fn bootstrap_request_count(&self, page_size: usize) -> usize {
        let pages = |items: usize| pages_to_import(items, page_size);
        pages(self.users)
            + pages(self.projects)
            + pages(self.clients)
            + pages(self.tags)
            + self.projects * pages(self.tasks_per_project)
            + self.users * pages(self.time_entries_per_user)
            + self.more.request_count(page_size)
    }
}

impl WorkspaceSpec {
    /// Requests a reconciliation pass of an unchanged workspace makes when it reads time entries
    /// from the three change feeds: every list a bootstrap reads, less the users' time entries,
    /// plus one page of each feed.
    pub fn reconcile_request_count(&self, page_size: usize) -> usize {
        self.bootstrap_request_count(page_size)
            - self.users * pages_to_import(self.time_entries_per_user, page_size)
            + 3
    }
}

/// Pages an importer asking for `page_size` (taken as at least 1) fetches from a list of `items`.
/// Above [`MAX_PAGE_SIZE`] every page the server sends is short, so the first one ends the import.
fn pages_to_import(items: usize, page_size: usize) -> usize {
    let page_size = page_size.max(1);
    if page_size > MAX_PAGE_SIZE {
        1
    } else {
        items / page_size + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_workspaces_hold_exactly_the_entities_asked_for() {
        for entities in [0, 1, 3, 7, 10, 99, 500, 1_000, 12_345, 100_000] {
            let spec = WorkspaceSpec::sized("w", entities);
            assert_eq!(spec.entity_count(), entities, "{spec:?}");
        }
    }

    #[test]
    fn sized_workspaces_are_mostly_time_entries() {
        let spec = WorkspaceSpec::sized("w", 10_000);
        assert_eq!(spec.users, 200);
        assert_eq!(spec.projects, 250);
        assert!(spec.tasks_per_project >= 3, "{spec:?}");
        assert!(spec.users * spec.time_entries_per_user > 6_000, "{spec:?}");
        assert!(
            spec.more.expenses > 0 && spec.more.balances_per_policy > 0,
            "{spec:?}"
        );
    }

    #[test]
    fn an_exact_multiple_of_the_page_size_costs_an_empty_last_page() {
        assert_eq!(pages_to_import(0, 50), 1);
        assert_eq!(pages_to_import(49, 50), 1);
        assert_eq!(pages_to_import(50, 50), 2);
        assert_eq!(pages_to_import(101, 50), 3);
        assert_eq!(pages_to_import(20_000, 10_000), 1);
    }
}
