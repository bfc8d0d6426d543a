//! The closed set of Clockify webhook event types and what each one does to the entity store.

use serde::{Deserialize, Serialize};

use crate::webhook_body::BodyFields;

macro_rules! event_types {
    ($($variant:ident => $name:literal, $kind:ident, $effect:ident;)*) => {
        /// A Clockify webhook event type, exactly as Clockify names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl EventType {
            /// Every event type in the Clockify docs, including newer schema versions'.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The name Clockify uses in the manifest and the event-type header.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The entity store kind this event writes.
            pub fn entity_kind(self) -> EntityKind {
                match self { $(EventType::$variant => EntityKind::$kind,)* }
            }

            /// Whether the event removes its entity (it then carries the entity as it was).
            pub fn effect(self) -> Effect {
                match self { $(EventType::$variant => Effect::$effect,)* }
            }
        }
    };
}

event_types! {
    NewProject => "NEW_PROJECT", Project, Upsert;
    ProjectUpdated => "PROJECT_UPDATED", Project, Upsert;
    ProjectDeleted => "PROJECT_DELETED", Project, Delete;
    NewTask => "NEW_TASK", Task, Upsert;
    TaskUpdated => "TASK_UPDATED", Task, Upsert;
    TaskDeleted => "TASK_DELETED", Task, Delete;
    NewClient => "NEW_CLIENT", Client, Upsert;
    ClientUpdated => "CLIENT_UPDATED", Client, Upsert;
    ClientDeleted => "CLIENT_DELETED", Client, Delete;
    NewTag => "NEW_TAG", Tag, Upsert;
    TagUpdated => "TAG_UPDATED", Tag, Upsert;
    TagDeleted => "TAG_DELETED", Tag, Delete;
    NewTimerStarted => "NEW_TIMER_STARTED", TimeEntry, Upsert;
    TimerStopped => "TIMER_STOPPED", TimeEntry, Upsert;
    TimeEntryUpdated => "TIME_ENTRY_UPDATED", TimeEntry, Upsert;
    TimeEntryDeleted => "TIME_ENTRY_DELETED", TimeEntry, Delete;
    NewTimeEntry => "NEW_TIME_ENTRY", TimeEntry, Upsert;
    NewInvoice => "NEW_INVOICE", Invoice, Upsert;
    InvoiceUpdated => "INVOICE_UPDATED", Invoice, Upsert;
    UserJoinedWorkspace => "USER_JOINED_WORKSPACE", User, Upsert;
    UserDeletedFromWorkspace => "USER_DELETED_FROM_WORKSPACE", User, Delete;
    UserDeactivatedOnWorkspace => "USER_DEACTIVATED_ON_WORKSPACE", User, Upsert;
    UserActivatedOnWorkspace => "USER_ACTIVATED_ON_WORKSPACE", User, Upsert;
    UserEmailChanged => "USER_EMAIL_CHANGED", User, Upsert;
    UserUpdated => "USER_UPDATED", User, Upsert;
    NewApprovalRequest => "NEW_APPROVAL_REQUEST", ApprovalRequest, Upsert;
    ApprovalRequestStatusUpdated => "APPROVAL_REQUEST_STATUS_UPDATED", ApprovalRequest, Upsert;
    TimeOffRequested => "TIME_OFF_REQUESTED", TimeOffRequest, Upsert;
    TimeOffRequestApproved => "TIME_OFF_REQUEST_APPROVED", TimeOffRequest, Upsert;
    TimeOffRequestRejected => "TIME_OFF_REQUEST_REJECTED", TimeOffRequest, Upsert;
    TimeOffRequestWithdrawn => "TIME_OFF_REQUEST_WITHDRAWN", TimeOffRequest, Upsert;
    BalanceUpdated => "BALANCE_UPDATED", Balance, Upsert;
    UserGroupCreated => "USER_GROUP_CREATED", UserGroup, Upsert;
    UserGroupUpdated => "USER_GROUP_UPDATED", UserGroup, Upsert;
    UserGroupDeleted => "USER_GROUP_DELETED", UserGroup, Delete;
    ExpenseCreated => "EXPENSE_CREATED", Expense, Upsert;
    ExpenseUpdated => "EXPENSE_UPDATED", Expense, Upsert;
    ExpenseDeleted => "EXPENSE_DELETED", Expense, Delete;
    AssignmentCreated => "ASSIGNMENT_CREATED", Assignment, Upsert;
    AssignmentUpdated => "ASSIGNMENT_UPDATED", Assignment, Upsert;
    AssignmentDeleted => "ASSIGNMENT_DELETED", Assignment, Delete;
    AssignmentPublished => "ASSIGNMENT_PUBLISHED", Assignment, Upsert;
    BillableRateUpdated => "BILLABLE_RATE_UPDATED", Rate, Upsert;
    CostRateUpdated => "COST_RATE_UPDATED", Rate, Upsert;
    ExpenseRestored => "EXPENSE_RESTORED", Expense, Upsert;
    LimitedUsersAddedToWorkspace => "LIMITED_USERS_ADDED_TO_WORKSPACE", User, Upsert;
    TimeEntryRestored => "TIME_ENTRY_RESTORED", TimeEntry, Upsert;
    TimeEntrySplit => "TIME_ENTRY_SPLIT", TimeEntry, Upsert;
    TimeOffRequestStarted => "TIME_OFF_REQUEST_STARTED", TimeOffRequest, Upsert;
    TimeOffRequestUpdated => "TIME_OFF_REQUEST_UPDATED", TimeOffRequest, Upsert;
    UsersInvitedToWorkspace => "USERS_INVITED_TO_WORKSPACE", User, Upsert;
}

/// The manifest's default subscriptions: the ten events most add-ons care about.
pub const DEFAULT_WEBHOOK_EVENTS: [EventType; 10] = [
    EventType::NewTimeEntry,
    EventType::TimeEntryUpdated,
    EventType::TimeEntryDeleted,
    EventType::NewTimerStarted,
    EventType::TimerStopped,
    EventType::NewProject,
    EventType::ProjectUpdated,
    EventType::ProjectDeleted,
    EventType::NewClient,
    EventType::NewTag,
];

impl EventType {
    /// Parses Clockify's name (`NEW_PROJECT`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.as_str() == name)
    }

    /// The ingress path that receives this event: `/webhooks/new-project`.
    pub fn path(self) -> String {
        format!(
            "/webhooks/{}",
            self.as_str().to_ascii_lowercase().replace('_', "-")
        )
    }
}

/// What an event does to its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Upsert,
    Delete,
}

/// The kinds of workspace entity the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    TimeEntry,
    Project,
    Client,
    Tag,
    Task,
    User,
    Invoice,
    ApprovalRequest,
    TimeOffRequest,
    Balance,
    UserGroup,
    Expense,
    Assignment,
    Rate,
    CustomField,
    ExpenseCategory,
    TimeOffPolicy,
    Holiday,
}

impl EntityKind {
    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::TimeEntry => "time_entry",
            EntityKind::Project => "project",
            EntityKind::Client => "client",
            EntityKind::Tag => "tag",
            EntityKind::Task => "task",
            EntityKind::User => "user",
            EntityKind::Invoice => "invoice",
            EntityKind::ApprovalRequest => "approval_request",
            EntityKind::TimeOffRequest => "time_off_request",
            EntityKind::Balance => "balance",
            EntityKind::UserGroup => "user_group",
            EntityKind::Expense => "expense",
            EntityKind::Assignment => "assignment",
            EntityKind::Rate => "rate",
            EntityKind::CustomField => "custom_field",
            EntityKind::ExpenseCategory => "expense_category",
            EntityKind::TimeOffPolicy => "time_off_policy",
            EntityKind::Holiday => "holiday",
        }
    }

    /// Finds the entity id in a payload: `id` for most kinds; assignments and balances carry theirs
    /// under other names.
    pub fn entity_id(self, payload: &serde_json::Value) -> Option<String> {
        self.entity_id_in(&BodyFields::of_value(payload))
    }

    /// The entity id among a body's identifying fields; an empty string names nothing.
    pub fn entity_id_in(self, fields: &BodyFields) -> Option<String> {
        let field = |value: &Option<String>| value.clone().filter(|s| !s.is_empty());
        match self {
            EntityKind::Assignment => field(&fields.assignment_id).or_else(|| field(&fields.id)),
            EntityKind::Balance => field(&fields.id).or_else(|| {
                // A balance belongs to one user and one policy.
                let user = field(&fields.user_id)?;
                Some(match field(&fields.policy_id) {
                    Some(policy) => format!("{user}:{policy}"),
                    None => user,
                })
            }),
            EntityKind::Rate => field(&fields.id).or_else(|| field(&fields.user_id)),
            _ => field(&fields.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_name_and_has_a_unique_path() {
        let mut paths = std::collections::HashSet::new();
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(*event));
            assert!(paths.insert(event.path()));
        }
        assert_eq!(EventType::ALL.len(), 51);
        assert_eq!(
            EventType::NewTimerStarted.path(),
            "/webhooks/new-timer-started"
        );
    }

    #[test]
    fn assignment_id_comes_from_assignment_id() {
        let payload = serde_json::json!({"assignmentId": "a1", "userId": "u1"});
        assert_eq!(
            EntityKind::Assignment.entity_id(&payload).as_deref(),
            Some("a1")
        );
    }
}
