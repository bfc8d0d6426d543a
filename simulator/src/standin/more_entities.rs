//! Deterministic entities of the further kinds a complete copy holds ([`MoreKinds`]): user
//! groups, custom fields, expense categories and expenses, invoices, approval requests, time-off
//! policies, requests and balances, holidays and scheduling assignments. Like [`super::entities`],
//! each is a pure function of the spec and its index; ids count from 1.

use chrono::{DateTime, Duration as TimeSpan, Utc};
use serde_json::{Value, json};

use super::entities::{format_instant, project_id, user_id};
use super::spec::{MoreKinds, WorkspaceSpec};

/// The further kinds, by the unit key a bootstrap gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum More {
    UserGroups,
    CustomFields,
    ExpenseCategories,
    Expenses,
    Invoices,
    ApprovalRequests,
    TimeOffPolicies,
    TimeOffRequests,
    Holidays,
    Assignments,
}

impl More {
    /// How many the workspace holds.
    pub(crate) fn count(self, more: &MoreKinds) -> usize {
        match self {
            More::UserGroups => more.user_groups,
            More::CustomFields => more.custom_fields,
            More::ExpenseCategories => more.expense_categories,
            More::Expenses => more.expenses,
            More::Invoices => more.invoices,
            More::ApprovalRequests => more.approval_requests,
            More::TimeOffPolicies => more.time_off_policies,
            More::TimeOffRequests => more.time_off_requests,
            More::Holidays => more.holidays,
            More::Assignments => more.assignments,
        }
    }

    /// The key of its list among the workspace's changes (the bootstrap's unit key).
    pub(crate) fn list_key(self) -> &'static str {
        match self {
            More::UserGroups => "user_groups",
            More::CustomFields => "custom_fields",
            More::ExpenseCategories => "expense_categories",
            More::Expenses => "expenses",
            More::Invoices => "invoices",
            More::ApprovalRequests => "approval_requests",
            More::TimeOffPolicies => "time_off_policies",
            More::TimeOffRequests => "time_off_requests",
            More::Holidays => "holidays",
            More::Assignments => "assignments",
        }
    }

    fn id_part(self) -> &'static str {
        match self {
            More::UserGroups => "g",
            More::CustomFields => "f",
            More::ExpenseCategories => "xc",
            More::Expenses => "x",
            More::Invoices => "i",
            More::ApprovalRequests => "a",
            More::TimeOffPolicies => "po",
            More::TimeOffRequests => "r",
            More::Holidays => "h",
            More::Assignments => "s",
        }
    }

    /// Item `index` of this kind.
    pub(crate) fn item(self, spec: &WorkspaceSpec, anchor: DateTime<Utc>, index: usize) -> Value {
        let ws = &spec.workspace_id;
        let id = self.id(ws, index);
        let n = index + 1;
        let user = (spec.users > 0).then(|| user_id(ws, index % spec.users));
        let project = (spec.projects > 0).then(|| project_id(ws, index % spec.projects));
        let day = |days: i64| format_instant(anchor + TimeSpan::days(days));
        match self {
            More::UserGroups => json!({
                "id": id, "name": format!("Team {n}"), "workspaceId": ws,
                "userIds": user.into_iter().collect::<Vec<_>>(),
            }),
            More::CustomFields => json!({
                "id": id, "name": format!("Field {n}"), "workspaceId": ws, "type": "TXT",
                "status": "VISIBLE", "entityType": "TIMEENTRY",
            }),
            More::ExpenseCategories => json!({
                "id": id, "name": format!("Category {n}"), "workspaceId": ws, "hasUnitPrice": false,
                "archived": false,
            }),
            More::Expenses => json!({
                "id": id, "workspaceId": ws, "userId": user, "projectId": project,
                "categoryId": (spec.more.expense_categories > 0)
                    .then(|| More::ExpenseCategories.id(ws, index % spec.more.expense_categories)),
                "date": day(-((index % 60) as i64)), "quantity": 1, "total": 1_000 + 10 * n,
                "billable": index.is_multiple_of(2), "notes": format!("Expense {n}"),
            }),
            More::Invoices => json!({
                "id": id, "workspaceId": ws, "number": n.to_string(), "status": "UNSENT",
                "currency": "USD", "amount": 10_000 + n, "issuedDate": day(-((index % 30) as i64)),
            }),
            More::ApprovalRequests => json!({
                "id": id, "workspaceId": ws, "owner": {"userId": user},
                "status": {"state": "PENDING"},
                "dateRange": {"start": day(-7), "end": day(0)},
            }),
            More::TimeOffPolicies => json!({
                "id": id, "name": format!("Policy {n}"), "workspaceId": ws, "timeUnit": "DAYS",
                "archived": false, "allowHalfDay": true,
            }),
            More::TimeOffRequests => json!({
                "id": id, "workspaceId": ws, "userId": user,
                "policyId": (spec.more.time_off_policies > 0)
                    .then(|| More::TimeOffPolicies.id(ws, index % spec.more.time_off_policies)),
                "status": {"statusType": "PENDING"},
                "timeOffPeriod": {"period": {"start": day(7), "end": day(8)}},
            }),
            More::Holidays => json!({
                "id": id, "name": format!("Holiday {n}"), "workspaceId": ws,
                "datePeriod": {"startDate": day(30 + index as i64), "endDate": day(30 + index as i64)},
                "everyoneIncludingNew": true,
            }),
            More::Assignments => json!({
                "id": id, "workspaceId": ws, "userId": user, "projectId": project,
                "period": {"start": day((index % 7) as i64), "end": day((index % 7) as i64 + 1)},
                "hoursPerDay": 4, "billable": true,
            }),
        }
    }

    pub(crate) fn id(self, ws: &str, index: usize) -> String {
        format!("{ws}-{}{}", self.id_part(), index + 1)
    }
}

/// The index of a generated policy from its id, when it is within the spec.
pub(crate) fn policy_index(spec: &WorkspaceSpec, id: &str) -> Option<usize> {
    let prefix = format!("{}-{}", spec.workspace_id, More::TimeOffPolicies.id_part());
    let n: usize = id.strip_prefix(&prefix)?.parse().ok()?;
    (1..=spec.more.time_off_policies)
        .contains(&n)
        .then(|| n - 1)
}

/// Balance `index` of policy `policy`: one user's balance in it.
pub(crate) fn balance(spec: &WorkspaceSpec, policy: usize, index: usize) -> Value {
    let ws = &spec.workspace_id;
    let policy_id = More::TimeOffPolicies.id(ws, policy);
    let user = (spec.users > 0).then(|| user_id(ws, index % spec.users));
    json!({
        "id": format!("{policy_id}-b{}", index + 1), "policyId": policy_id, "userId": user,
        "balance": 20 - (index % 5) as i64, "used": (index % 5) as i64, "total": 20,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_per_kind_and_policies_map_back() {
        let spec = WorkspaceSpec::sized("w", 10_000);
        let anchor = Utc::now();
        let a = More::Expenses.item(&spec, anchor, 0);
        let b = More::ExpenseCategories.item(&spec, anchor, 0);
        assert_ne!(a["id"], b["id"]);
        assert_eq!(policy_index(&spec, "w-po1"), Some(0));
        assert_eq!(policy_index(&spec, "w-po0"), None);
    }
}
