//! Deterministic entities of a [`WorkspaceSpec`]: each is a pure function of the spec and its
//! index, so huge workspaces cost no memory and every id is predictable (`{ws}-p3`, `{ws}-u2-e7`).
//! Indexes are 0-based; ids count from 1.

use chrono::{DateTime, Duration as TimeSpan, Utc};
use serde_json::{Value, json};

use super::spec::WorkspaceSpec;
use crate::payloads;

const FIRST_NAMES: [&str; 8] = [
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro",
];
const LAST_NAMES: [&str; 8] = [
    "Novak", "Okafor", "Silva", "Tanaka", "Meyer", "Haddad", "Kowalski", "Lind",
];
const PROJECT_WORDS: [&str; 6] = [
    "Website",
    "Mobile app",
    "Audit",
    "Migration",
    "Campaign",
    "Support",
];
const TAG_WORDS: [&str; 5] = ["billable", "meeting", "review", "research", "travel"];
const TASK_WORDS: [&str; 5] = ["Design", "Build", "Test", "Deploy", "Document"];

/// How far back time entries reach.
pub(crate) const HISTORY_DAYS: i64 = 90;

pub(crate) fn user_id(ws: &str, index: usize) -> String {
    format!("{ws}-u{}", index + 1)
}

pub(crate) fn project_id(ws: &str, index: usize) -> String {
    format!("{ws}-p{}", index + 1)
}

fn client_id(ws: &str, index: usize) -> String {
    format!("{ws}-c{}", index + 1)
}

fn tag_id(ws: &str, index: usize) -> String {
    format!("{ws}-t{}", index + 1)
}

fn task_id(ws: &str, project: usize, index: usize) -> String {
    format!("{}-k{}", project_id(ws, project), index + 1)
}

/// The index of a generated user from its id (`{ws}-u{n}`), when it exists.
pub(crate) fn user_index(spec: &WorkspaceSpec, id: &str) -> Option<usize> {
    index_in(id, &format!("{}-u", spec.workspace_id), spec.users)
}

/// The index of a generated project from its id (`{ws}-p{n}`), when it is within the spec.
pub(crate) fn project_index(spec: &WorkspaceSpec, id: &str) -> Option<usize> {
    index_in(id, &format!("{}-p", spec.workspace_id), spec.projects)
}

fn index_in(id: &str, prefix: &str, count: usize) -> Option<usize> {
    let n: usize = id.strip_prefix(prefix)?.parse().ok()?;
    (1..=count).contains(&n).then(|| n - 1)
}

pub(crate) fn workspace(spec: &WorkspaceSpec) -> Value {
    json!({
        "id": spec.workspace_id,
        "name": format!("Workspace {}", spec.workspace_id),
        "hourlyRate": {"amount": 5000, "currency": "USD"},
        "costRate": null,
        "memberships": [],
        "workspaceSettings": {"timeRoundingInReports": false, "onlyAdminsSeeBillableRates": true},
        "imageUrl": "",
        "featureSubscriptionType": "PRO",
    })
}

pub(crate) fn user(spec: &WorkspaceSpec, index: usize) -> Value {
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()];
    let email = format!(
        "{}.{}{}@{}.example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        index + 1,
        spec.workspace_id
    );
    payloads::user(
        &user_id(&spec.workspace_id, index),
        &email,
        &format!("{first} {last}"),
    )
}

/// A project as first generated; the workspace keeps it from then on, since it is mutable.
pub(crate) fn project(spec: &WorkspaceSpec, index: usize) -> Value {
    let ws = &spec.workspace_id;
    let word = PROJECT_WORDS[index % PROJECT_WORDS.len()];
    let mut project =
        payloads::project(ws, &project_id(ws, index), &format!("{word} {}", index + 1));
    if spec.clients > 0 {
        project["clientId"] = json!(client_id(ws, index % spec.clients));
    }
    project
}

pub(crate) fn client(spec: &WorkspaceSpec, index: usize) -> Value {
    let ws = &spec.workspace_id;
    payloads::named(ws, &client_id(ws, index), &format!("Client {}", index + 1))
}

pub(crate) fn tag(spec: &WorkspaceSpec, index: usize) -> Value {
    let ws = &spec.workspace_id;
    let word = TAG_WORDS[index % TAG_WORDS.len()];
    payloads::named(ws, &tag_id(ws, index), &format!("{word}-{}", index + 1))
}

pub(crate) fn task(spec: &WorkspaceSpec, project: usize, index: usize) -> Value {
    let ws = &spec.workspace_id;
    let word = TASK_WORDS[index % TASK_WORDS.len()];
    payloads::task(
        &task_id(ws, project, index),
        &project_id(ws, project),
        &format!("{word} {}", index + 1),
    )
}

/// When entry `index` starts: the user's entries are spread evenly over the last
/// [`HISTORY_DAYS`] days before `anchor`, oldest first, each ending before `anchor`.
pub(crate) fn time_entry_start(
    spec: &WorkspaceSpec,
    anchor: DateTime<Utc>,
    index: usize,
) -> DateTime<Utc> {
    let history = TimeSpan::days(HISTORY_DAYS).num_seconds();
    let usable = history - TimeSpan::hours(4).num_seconds();
    let slots = spec.time_entries_per_user as i64 + 1;
    let offset = usable * (index as i64 + 1) / slots;
    anchor - TimeSpan::seconds(history) + TimeSpan::seconds(offset)
}

pub(crate) fn time_entry(
    spec: &WorkspaceSpec,
    anchor: DateTime<Utc>,
    user: usize,
    index: usize,
) -> Value {
    let ws = &spec.workspace_id;
    let start = time_entry_start(spec, anchor, index);
    let minutes = 30 + 15 * (index % 7) as i64;
    let end = start + TimeSpan::minutes(minutes);
    let id = format!("{}-e{}", user_id(ws, user), index + 1);
    let description = format!("{} work", TASK_WORDS[(user + index) % TASK_WORDS.len()]);
    let end_text = format_instant(end);
    let mut entry = payloads::time_entry(ws, &id, &description, Some(&end_text));
    entry["userId"] = json!(user_id(ws, user));
    let project = (spec.projects > 0).then(|| (user + index) % spec.projects);
    entry["projectId"] = json!(project.map(|p| project_id(ws, p)));
    entry["taskId"] = match project {
        Some(p) if spec.tasks_per_project > 0 => {
            json!(task_id(ws, p, index % spec.tasks_per_project))
        }
        _ => Value::Null,
    };
    entry["tagIds"] = match spec.tags {
        0 => json!([]),
        tags => json!([tag_id(ws, (user + index) % tags)]),
    };
    entry["billable"] = json!(!index.is_multiple_of(4));
    entry["timeInterval"] = json!({
        "start": format_instant(start),
        "end": end_text,
        "duration": iso_minutes(minutes),
    });
    entry
}

/// An ISO 8601 duration of whole minutes (`PT45M`, `PT1H`, `PT1H15M`), as Clockify writes them.
fn iso_minutes(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("PT{m}M"),
        (h, 0) => format!("PT{h}H"),
        (h, m) => format!("PT{h}H{m}M"),
    }
}

/// Clockify's instant format, `yyyy-MM-ddThh:mm:ssZ`.
pub(crate) fn format_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_entries_fall_within_the_history_and_end_before_the_anchor() {
        let spec = WorkspaceSpec::sized("w", 1_000);
        let anchor = Utc::now();
        let first = time_entry_start(&spec, anchor, 0);
        let last = time_entry(&spec, anchor, 0, spec.time_entries_per_user - 1);
        assert!(first > anchor - TimeSpan::days(HISTORY_DAYS));
        let end: DateTime<Utc> = last["timeInterval"]["end"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an end instant");
        assert!(end < anchor);
        assert_eq!(last["userId"], "w-u1");
    }

    #[test]
    fn ids_map_back_to_indexes_only_within_the_spec() {
        let spec = WorkspaceSpec::sized("w", 1_000);
        assert_eq!(user_index(&spec, "w-u1"), Some(0));
        assert_eq!(user_index(&spec, &format!("w-u{}", spec.users + 1)), None);
        assert_eq!(project_index(&spec, "w-p0"), None);
        assert_eq!(project_index(&spec, "x-p1"), None);
    }
}
