//! One stand-in workspace: the generated read-only entities come from [`entities`], the mutable
//! ones (projects, webhooks, add-on settings) live here behind locks.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::changes::Changes;
use super::entities;
use super::lock;
use super::spec::WorkspaceSpec;

/// Why a write was refused: answered 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid(pub(crate) String);

pub(crate) struct Workspace {
    pub(crate) spec: WorkspaceSpec,
    /// "Now" for generated time entries, fixed at start so pages stay stable.
    pub(crate) anchor: DateTime<Utc>,
    projects: Mutex<Projects>,
    webhooks: Mutex<Vec<Value>>,
    settings: Mutex<Vec<Value>>,
    changes: Mutex<Changes>,
}

struct Projects {
    list: Vec<Value>,
    /// The number the next created project gets (`{ws}-p{n}`); never reused.
    next: usize,
}

impl Workspace {
    pub(crate) fn new(spec: WorkspaceSpec, anchor: DateTime<Utc>) -> Self {
        let list = (0..spec.projects)
            .map(|i| entities::project(&spec, i))
            .collect();
        let next = spec.projects + 1;
        Self {
            spec,
            anchor,
            projects: Mutex::new(Projects { list, next }),
            webhooks: Mutex::new(Vec::new()),
            settings: Mutex::new(Vec::new()),
            changes: Mutex::new(Changes::default()),
        }
    }

    /// Changes made behind the add-on's back, and the time-entry change history.
    pub(crate) fn changes(&self) -> std::sync::MutexGuard<'_, Changes> {
        lock(&self.changes)
    }

    pub(crate) fn id(&self) -> &str {
        &self.spec.workspace_id
    }

    /// The current projects in creation order (a clone, so no lock is held while answering).
    pub(crate) fn projects(&self) -> Vec<Value> {
        lock(&self.projects).list.clone()
    }

    pub(crate) fn project(&self, id: &str) -> Option<Value> {
        lock(&self.projects)
            .list
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    /// Creates a project from a create body (`name` required, unique as in Clockify).
    pub(crate) fn create_project(&self, body: &Value) -> Result<Value, Invalid> {
        let name = required_text(body, "name")?;
        let mut projects = lock(&self.projects);
        if projects.list.iter().any(|p| p["name"] == name) {
            return Err(Invalid(format!(
                "Project with name '{name}' already exists"
            )));
        }
        let id = format!("{}-p{}", self.id(), projects.next);
        projects.next += 1;
        let mut project = crate::payloads::project(self.id(), &id, name);
        overlay(&mut project, body);
        projects.list.push(project.clone());
        Ok(project)
    }

    /// Applies the fields of an update body; `None` when there is no such project.
    pub(crate) fn update_project(&self, id: &str, body: &Value) -> Option<Value> {
        let mut projects = lock(&self.projects);
        let project = projects.list.iter_mut().find(|p| p["id"] == id)?;
        overlay(project, body);
        Some(project.clone())
    }

    pub(crate) fn delete_project(&self, id: &str) -> Option<Value> {
        let mut projects = lock(&self.projects);
        let index = projects.list.iter().position(|p| p["id"] == id)?;
        Some(projects.list.remove(index))
    }

    pub(crate) fn webhooks(&self) -> Vec<Value> {
        lock(&self.webhooks).clone()
    }

    pub(crate) fn webhook(&self, id: &str) -> Option<Value> {
        lock(&self.webhooks).iter().find(|w| w["id"] == id).cloned()
    }

    /// Validates a create body and stores the webhook with the given `id` and `authToken`.
    pub(crate) fn create_webhook(
        &self,
        body: &Value,
        id: &str,
        auth_token: &str,
    ) -> Result<Value, Invalid> {
        let name = required_text(body, "name")?;
        let url = required_text(body, "url")?;
        let event = required_text(body, "webhookEvent")?;
        let webhook = json!({
            "id": id,
            "name": name,
            "url": url,
            "webhookEvent": event,
            "triggerSourceType": body.get("triggerSourceType").cloned().unwrap_or(json!("WORKSPACE_ID")),
            "triggerSource": body.get("triggerSource").cloned().unwrap_or(json!([])),
            "workspaceId": self.id(),
            "userId": format!("admin-{}", self.id()),
            "enabled": true,
            "authToken": auth_token,
        });
        lock(&self.webhooks).push(webhook.clone());
        Ok(webhook)
    }

    pub(crate) fn delete_webhook(&self, id: &str) -> Option<Value> {
        let mut webhooks = lock(&self.webhooks);
        let index = webhooks.iter().position(|w| w["id"] == id)?;
        Some(webhooks.remove(index))
    }

    /// The add-on settings document: `{"settings": [{"id", "value", ...}]}`.
    pub(crate) fn settings(&self) -> Value {
        json!({ "settings": *lock(&self.settings) })
    }

    /// Upserts `{"settings": [{"id", "value"}]}` by id and returns the whole document.
    pub(crate) fn patch_settings(&self, body: &Value) -> Result<Value, Invalid> {
        let changes = body["settings"]
            .as_array()
            .ok_or_else(|| Invalid("settings must be an array".into()))?;
        let mut settings = lock(&self.settings);
        for change in changes {
            let id = required_text(change, "id")?;
            match settings.iter_mut().find(|s| s["id"] == id) {
                Some(existing) => overlay(existing, change),
                None => settings.push(change.clone()),
            }
        }
        Ok(json!({ "settings": *settings }))
    }
}

fn required_text<'a>(body: &'a Value, field: &str) -> Result<&'a str, Invalid> {
    body[field]
        .as_str()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Invalid(format!("{field} is required")))
}

/// Copies the body's fields onto `target`, except the ones the server owns.
fn overlay(target: &mut Value, body: &Value) {
    let (Some(target), Some(body)) = (target.as_object_mut(), body.as_object()) else {
        return;
    };
    let owned: &[&str] = &["id", "workspaceId"];
    let changes: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| !owned.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    target.extend(changes);
}
