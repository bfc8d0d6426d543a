//! The demo's scenario as Clockify would play it against a running ingress: installs, a stream of
//! webhooks of several kinds, a settings change, a status change and an uninstall.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{Value, json};

use common::events::EventType;

use crate::payloads;
use crate::signer::ClockifySigner;

/// A workspace the scenario installed, with the tokens Clockify gave it.
pub struct DemoWorkspace {
    pub workspace_id: String,
    pub addon_id: String,
    pub webhook_tokens: Vec<(EventType, String)>,
}

impl DemoWorkspace {
    /// The token Clockify signs `event`'s deliveries with (empty when none was registered).
    pub fn webhook_token(&self, event: EventType) -> &str {
        self.webhook_tokens
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }
}

/// The events demo installations hold webhook tokens for: every type, as an installation whose
/// manifest subscriptions and extra registrations together cover them all would.
pub const DEMO_EVENTS: &[EventType] = EventType::ALL;

/// Calls ingress the way Clockify does: signed lifecycle callbacks and webhook deliveries.
pub struct IngressCaller {
    pub base_url: String,
    pub signer: ClockifySigner,
    pub http: reqwest::Client,
}

impl IngressCaller {
    /// Sends INSTALLED for `workspace_id` and returns what Clockify would remember of it.
    pub async fn install(
        &self,
        workspace_id: &str,
        api_url: &str,
    ) -> anyhow::Result<DemoWorkspace> {
        let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
        let auth_token = self
            .signer
            .installation_token(workspace_id, &addon_id, api_url);
        let webhook_tokens: Vec<(EventType, String)> = DEMO_EVENTS
            .iter()
            .map(|e| {
                (
                    *e,
                    self.signer
                        .webhook_token(workspace_id, &addon_id, e.as_str()),
                )
            })
            .collect();
        let hooks: Vec<(String, String)> = webhook_tokens
            .iter()
            .map(|(e, t)| (format!("{}{}", self.base_url, e.path()), t.clone()))
            .collect();
        let body = payloads::installed(workspace_id, &addon_id, &auth_token, api_url, &hooks);
        self.lifecycle("/lifecycle/installed", workspace_id, &addon_id, &body)
            .await?;
        Ok(DemoWorkspace {
            workspace_id: workspace_id.to_owned(),
            addon_id,
            webhook_tokens,
        })
    }

    /// Sends a signed lifecycle callback and expects a 200.
    pub async fn lifecycle(
        &self,
        path: &str,
        workspace_id: &str,
        addon_id: &str,
        body: &Value,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(
                "X-Addon-Lifecycle-Token",
                self.signer.lifecycle_token(workspace_id, addon_id),
            )
            .json(body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{path} answered {}",
            response.status()
        );
        Ok(())
    }

    /// Delivers one webhook; returns the status and how long ingress took to answer.
    pub async fn deliver(
        &self,
        workspace: &DemoWorkspace,
        event: EventType,
        body: &Value,
    ) -> (u16, Duration) {
        let token = workspace.webhook_token(event);
        let started = Instant::now();
        let status = self
            .http
            .post(format!("{}{}", self.base_url, event.path()))
            .header("Clockify-Signature", token)
            .header("Clockify-Webhook-Event-Type", event.as_str())
            .json(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (status, started.elapsed())
    }
}

/// The `i`th webhook of a workspace's stream: creations, then updates and a few deletions.
pub fn webhook_for(workspace_id: &str, i: usize) -> (EventType, Value) {
    match i % 8 {
        0 => (
            EventType::NewProject,
            payloads::project(
                workspace_id,
                &format!("p{}", i / 8),
                &format!("Project {i}"),
            ),
        ),
        1 => (
            EventType::NewClient,
            payloads::named(workspace_id, &format!("c{}", i / 8), &format!("Client {i}")),
        ),
        2 => (
            EventType::NewTag,
            payloads::named(workspace_id, &format!("t{}", i / 8), &format!("tag-{i}")),
        ),
        3 | 4 => (
            EventType::NewTimeEntry,
            payloads::time_entry(
                workspace_id,
                &format!("te{i}"),
                &format!("work item {i}"),
                Some("2026-11-30T09:00:00Z"),
            ),
        ),
        5 => (
            EventType::TimeEntryUpdated,
            payloads::time_entry(workspace_id, &format!("te{}", i - 2), "renamed", None),
        ),
        6 => (
            EventType::UserUpdated,
            payloads::user(
                &format!("u{}", i / 8),
                &format!("user{i}@example.com"),
                &format!("User {i}"),
            ),
        ),
        _ => (
            EventType::TimeEntryDeleted,
            payloads::time_entry(workspace_id, &format!("te{}", i - 3), "work", None),
        ),
    }
}

/// Delivers `per_workspace` webhooks to each workspace with `concurrency` in flight; returns
/// each delivery's status and latency.
pub async fn deliver_stream(
    client: &IngressCaller,
    workspaces: &[DemoWorkspace],
    per_workspace: usize,
    concurrency: usize,
) -> Vec<(u16, Duration)> {
    let jobs: Vec<(&DemoWorkspace, EventType, Value)> = (0..per_workspace)
        .flat_map(|i| {
            workspaces.iter().map(move |ws| {
                let (event, body) = webhook_for(&ws.workspace_id, i);
                (ws, event, body)
            })
        })
        .collect();
    futures::stream::iter(jobs)
        .map(|(ws, event, body)| async move { client.deliver(ws, event, &body).await })
        .buffered(concurrency)
        .collect()
        .await
}

/// SETTINGS_UPDATED with one setting.
pub fn settings_body(workspace: &DemoWorkspace) -> Value {
    json!({
        "workspaceId": workspace.workspace_id,
        "addonId": workspace.addon_id,
        "settings": [{"id": "default-page-size", "name": "Default page size", "value": 200}],
    })
}
