//! Bootstrap: importing a workspace's users, projects, clients, tags, tasks and time entries from
//! the Clockify API into the entity store the webhooks write.
//!
//! A job is split into units (one list, the tasks of one project, the time entries of one user)
//! that any worker may run, so several workers share one workspace's import and its rate limit.
//! Each page is committed together with the unit's checkpoint, so a unit whose worker died
//! resumes at the next page. A webhook newer than the page's read is never overwritten.

pub mod run;
pub mod store;
pub mod units;
