//! A realistic body for every webhook event type, shaped as CLOCKIFY.md documents each family:
//! the entity itself, no envelope; user and task events carry no `workspaceId`.

use serde_json::{Value, json};

use common::events::{EntityKind, EventType};

use crate::payloads;

/// The body Clockify would send for `event` about entity `id` of `workspace_id`.
pub fn body_for(event: EventType, workspace_id: &str, id: &str) -> Value {
    match event.entity_kind() {
        EntityKind::TimeEntry => {
            let running = matches!(event, EventType::NewTimerStarted);
            let end = (!running).then_some("2026-11-30T09:00:00Z");
            payloads::time_entry(
                workspace_id,
                id,
                &format!("{} {id}", event.as_str().to_lowercase()),
                end,
            )
        }
        EntityKind::Project => payloads::project(workspace_id, id, &format!("Project {id}")),
        EntityKind::Client | EntityKind::Tag => payloads::named(
            workspace_id,
            id,
            &format!("{} {id}", event.as_str().to_lowercase()),
        ),
        EntityKind::Task => payloads::task(id, "project-1", &format!("Task {id}")),
        EntityKind::User => {
            let mut user = payloads::user(id, &format!("{id}@example.com"), &format!("User {id}"));
            if event == EventType::UserEmailChanged {
                user["oldEmail"] = json!(format!("old-{id}@example.com"));
            }
            user
        }
        EntityKind::Invoice => json!({
            "id": id, "workspaceId": workspace_id, "number": id, "clientId": "client-1",
            "currency": "USD", "amount": 125_000, "status": "UNSENT", "issuedDate": "2026-11-30T00:00:00Z",
            "dueDate": "2026-12-30T00:00:00Z",
        }),
        EntityKind::ApprovalRequest => json!({
            "id": id, "workspaceId": workspace_id,
            "dateRange": {"start": "2026-11-23T00:00:00Z", "end": "2026-11-29T23:59:59Z"},
            "owner": {"userId": "user-1", "userName": "Ada"},
            "status": {"state": if event == EventType::NewApprovalRequest { "PENDING" } else { "APPROVED" }},
        }),
        EntityKind::TimeOffRequest => json!({
            "id": id, "workspaceId": workspace_id, "userId": "user-1", "policyId": "policy-1",
            "timeOffPeriod": {"period": {"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T23:59:59Z"}},
            "status": {"statusType": time_off_status(event)},
        }),
        EntityKind::Balance => json!({
            "workspaceId": workspace_id, "userId": id, "policyId": "policy-1", "value": 12.5,
            "note": "yearly top-up", "updatedBy": "user-1",
        }),
        EntityKind::UserGroup => {
            json!({"id": id, "name": format!("Group {id}"), "workspaceId": workspace_id, "userIds": ["user-1"]})
        }
        EntityKind::Expense => json!({
            "id": id, "workspaceId": workspace_id, "userId": "user-1", "projectId": "project-1",
            "categoryId": "category-1", "date": "2026-11-30T00:00:00Z", "quantity": 1, "total": 4_200,
            "billable": true, "notes": "train ticket",
        }),
        EntityKind::Assignment => {
            json!({"workspaceId": workspace_id, "userId": "user-1", "projectId": "project-1", "assignmentId": id})
        }
        EntityKind::Rate => json!({
            "workspaceId": workspace_id, "userId": id, "amount": 6_000, "currency": "USD",
            "since": "2026-11-01T00:00:00Z",
        }),
        // No webhook carries these; they come from lists only.
        EntityKind::CustomField
        | EntityKind::ExpenseCategory
        | EntityKind::TimeOffPolicy
        | EntityKind::Holiday => {
            json!({"id": id, "name": format!("Item {id}"), "workspaceId": workspace_id})
        }
    }
}

fn time_off_status(event: EventType) -> &'static str {
    match event {
        EventType::TimeOffRequestApproved => "APPROVED",
        EventType::TimeOffRequestRejected => "REJECTED",
        EventType::TimeOffRequestWithdrawn => "WITHDRAWN",
        _ => "PENDING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_body_naming_its_entity() {
        for event in EventType::ALL {
            let body = body_for(*event, "ws-1", "e-1");
            assert!(body.is_object(), "{event:?}");
            assert!(
                event.entity_kind().entity_id(&body).is_some(),
                "{event:?} body names no entity"
            );
        }
        let user = body_for(EventType::UserUpdated, "ws-1", "u-1");
        assert!(
            user.get("workspaceId").is_none(),
            "user events carry no workspaceId"
        );
    }
}
