//! What each bootstrap unit reads: its endpoint, its query, and the entity kind it stores.

use chrono::{DateTime, Duration, Utc};

/// A parsed unit key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Users,
    Projects,
    Clients,
    Tags,
    Tasks { project_id: String },
    TimeEntries { user_id: String },
}

impl Unit {
    pub fn parse(key: &str) -> Option<Self> {
        Some(match key.split_once(':') {
            None => match key {
                "users" => Unit::Users,
                "projects" => Unit::Projects,
                "clients" => Unit::Clients,
                "tags" => Unit::Tags,
                _ => return None,
            },
            Some(("tasks", id)) if !id.is_empty() => Unit::Tasks {
                project_id: id.to_owned(),
            },
            Some(("time_entries", id)) if !id.is_empty() => Unit::TimeEntries {
                user_id: id.to_owned(),
            },
            Some(_) => return None,
        })
    }

    /// The entity store kind of what it imports.
    pub fn entity_kind(&self) -> &'static str {
        match self {
            Unit::Users => "user",
            Unit::Projects => "project",
            Unit::Clients => "client",
            Unit::Tags => "tag",
            Unit::Tasks { .. } => "task",
            Unit::TimeEntries { .. } => "time_entry",
        }
    }

    /// The path under `{backendUrl}`, every id percent-encoded.
    pub fn path(&self, workspace_id: &str) -> String {
        let ws = encode(workspace_id);
        match self {
            Unit::Users => format!("/v1/workspaces/{ws}/users"),
            Unit::Projects => format!("/v1/workspaces/{ws}/projects"),
            Unit::Clients => format!("/v1/workspaces/{ws}/clients"),
            Unit::Tags => format!("/v1/workspaces/{ws}/tags"),
            Unit::Tasks { project_id } => {
                format!("/v1/workspaces/{ws}/projects/{}/tasks", encode(project_id))
            }
            Unit::TimeEntries { user_id } => {
                format!("/v1/workspaces/{ws}/user/{}/time-entries", encode(user_id))
            }
        }
    }

    /// The query of one page; time entries are bounded by the job's window.
    pub fn query(
        &self,
        page: i32,
        page_size: u32,
        window_end: DateTime<Utc>,
        days: u32,
    ) -> Vec<(String, String)> {
        let mut query = vec![
            ("page".to_owned(), page.to_string()),
            ("page-size".to_owned(), page_size.to_string()),
        ];
        if let Unit::TimeEntries { .. } = self {
            let start = window_end - Duration::days(i64::from(days));
            query.push((
                "start".to_owned(),
                start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ));
            query.push((
                "end".to_owned(),
                window_end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ));
        }
        query
    }

    /// The units found in a page: every project's tasks, every user's time entries.
    pub fn children(&self, ids: &[String]) -> Vec<String> {
        match self {
            Unit::Projects => ids.iter().map(|id| format!("tasks:{id}")).collect(),
            Unit::Users => ids.iter().map(|id| format!("time_entries:{id}")).collect(),
            _ => vec![],
        }
    }
}

/// Encodes everything but RFC 3986 unreserved characters, so an id cannot change the path.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_keys_parse_and_name_their_paths() {
        assert_eq!(
            Unit::parse("tasks:p/1"),
            Some(Unit::Tasks {
                project_id: "p/1".into()
            })
        );
        assert_eq!(
            Unit::parse("tasks:p/1").map(|u| u.path("ws")),
            Some("/v1/workspaces/ws/projects/p%2F1/tasks".into())
        );
        assert_eq!(Unit::parse("nonsense"), None);
        assert_eq!(Unit::parse("tasks:"), None);
    }
}
