//! What each bootstrap unit reads: its kind (from `common::bootstrap_kinds::KINDS`), the
//! request of one page, and the list in the answer.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use common::bootstrap_kinds::{
    BootstrapKind, KindPaging, KindWindow, TIME_ENTRIES_KEY, children_of, parse_unit,
};

/// A parsed unit key: its kind and, for a child kind, the parent item's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub kind: &'static BootstrapKind,
    pub parent: Option<String>,
}

/// The time a job reads around: its start, `BOOTSTRAP_TIME_ENTRIES_DAYS`, and for a
/// reconciliation the range of the change feeds.
#[derive(Debug, Clone, Copy)]
pub struct JobWindow {
    pub job_start: DateTime<Utc>,
    pub days: u32,
    pub feed: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl JobWindow {
    /// The `start`/`end` a windowed kind reads (time entries, assignments).
    pub fn range(&self, window: KindWindow) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let days = Duration::days(i64::from(self.days));
        match window {
            KindWindow::None => None,
            KindWindow::Past => Some((self.job_start - days, self.job_start)),
            KindWindow::Around => Some((self.job_start - days, self.job_start + days)),
        }
    }
}

/// The request of one page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Unit {
    pub fn parse(key: &str) -> Option<Self> {
        let (kind, parent) = parse_unit(key)?;
        Some(Self {
            kind,
            parent: parent.map(str::to_owned),
        })
    }

    /// The entity store kind of what it imports.
    pub fn entity_kind(&self) -> &'static str {
        self.kind.entity.as_str()
    }

    /// The path under the kind's base URL, every id percent-encoded.
    pub fn path(&self, workspace_id: &str) -> String {
        let tail = match &self.parent {
            Some(parent) => self.kind.path.replace("{parent}", &encode(parent)),
            None => self.kind.path.to_owned(),
        };
        format!("/v1/workspaces/{}{tail}", encode(workspace_id))
    }

    /// The request of page `page` (counted from 1); windowed kinds are bounded around the job's
    /// start, change feeds by the pass's feed range.
    pub fn request(
        &self,
        workspace_id: &str,
        page: i32,
        page_size: u32,
        window: &JobWindow,
    ) -> PageRequest {
        let mut query = Vec::new();
        let (method, body) = match self.kind.paging {
            KindPaging::Query => {
                query.push(("page".to_owned(), page.to_string()));
                query.push(("page-size".to_owned(), page_size.to_string()));
                (Method::GET, None)
            }
            KindPaging::Body => (
                Method::POST,
                Some(json!({ "page": page, "pageSize": page_size })),
            ),
            KindPaging::Whole => (Method::GET, None),
            KindPaging::Feed => {
                query.push(("type".to_owned(), "TIME_ENTRY".to_owned()));
                query.push(("page".to_owned(), (page - 1).to_string()));
                query.push(("limit".to_owned(), page_size.to_string()));
                (Method::GET, None)
            }
        };
        let range = match self.kind.paging {
            KindPaging::Feed => window.feed,
            _ => window.range(self.kind.window),
        };
        if let Some((start, end)) = range {
            query.push(("start".to_owned(), instant(start)));
            query.push(("end".to_owned(), instant(end)));
        }
        PageRequest {
            method,
            path: self.path(workspace_id),
            query,
            body,
        }
    }

    /// The list in an answer: the answer itself or the array at the kind's pointer.
    pub fn items(&self, answer: Value) -> Option<Vec<Value>> {
        let list = match self.kind.list_at {
            None => answer,
            Some(pointer) => {
                let mut answer = answer;
                answer.pointer_mut(pointer)?.take()
            }
        };
        match list {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether a page of `len` items is the last one.
    pub fn is_last_page(&self, len: usize, page_size: u32) -> bool {
        self.kind.paging == KindPaging::Whole || len < page_size as usize
    }

    /// The units found in a page: every project's tasks, every user's time entries, every
    /// policy's balances. A reconciliation that reads the time-entry change feeds leaves the
    /// users' time entries out (`without_time_entries`).
    pub fn children(&self, ids: &[String], without_time_entries: bool) -> Vec<String> {
        children_of(self.kind.key)
            .filter(|child| !(without_time_entries && child.key == TIME_ENTRIES_KEY))
            .flat_map(|child| ids.iter().map(move |id| format!("{}:{id}", child.key)))
            .collect()
    }
}

/// Clockify's instant format, `yyyy-MM-ddThh:mm:ssZ`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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
        let unit = Unit::parse("tasks:p/1").expect("a task unit");
        assert_eq!(unit.parent.as_deref(), Some("p/1"));
        assert_eq!(unit.path("ws"), "/v1/workspaces/ws/projects/p%2F1/tasks");
        assert_eq!(Unit::parse("nonsense"), None);
        assert_eq!(Unit::parse("tasks:"), None);
    }

    #[test]
    fn object_answers_give_up_their_list_and_time_off_requests_page_in_the_body() {
        let expenses = Unit::parse("expenses").expect("a kind");
        let answer = json!({"expenses": {"expenses": [{"id": "e1"}], "count": 1}});
        assert_eq!(expenses.items(answer).map(|i| i.len()), Some(1));
        let requests = Unit::parse("time_off_requests").expect("a kind");
        let window = JobWindow {
            job_start: Utc::now(),
            days: 30,
            feed: None,
        };
        let page = requests.request("ws", 2, 50, &window);
        assert_eq!(page.method, Method::POST);
        assert_eq!(page.body, Some(json!({"page": 2, "pageSize": 50})));
        let policies = Unit::parse("time_off_policies").expect("a kind");
        assert_eq!(
            policies.children(&["p1".into()], true),
            vec!["time_off_balances:p1"]
        );
        let users = Unit::parse("users").expect("a kind");
        assert_eq!(
            users.children(&["u1".into()], false),
            vec!["time_entries:u1"]
        );
        assert!(users.children(&["u1".into()], true).is_empty());
    }

    #[test]
    fn change_feeds_page_from_zero_over_the_pass_range() {
        let feed = Unit::parse("time_entries_deleted").expect("a kind");
        let start = Utc::now() - Duration::hours(6);
        let end = Utc::now();
        let window = JobWindow {
            job_start: end,
            days: 90,
            feed: Some((start, end)),
        };
        let page = feed.request("ws", 1, 200, &window);
        assert_eq!(page.path, "/v1/workspaces/ws/entities/deleted");
        let query: Vec<(&str, &str)> = page
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(query.contains(&("type", "TIME_ENTRY")));
        assert!(query.contains(&("page", "0")));
        assert!(query.contains(&("limit", "200")));
        assert!(query.contains(&("start", instant(start).as_str())));
    }
}
