//! Bootstrap: importing every kind of a workspace (`common::bootstrap_kinds::KINDS`) from the
//! Clockify API into the entity store the webhooks write.
//!
//! A job is split into units (one list, the tasks of one project, the time entries of one user)
//! that any worker may run, so several workers share one workspace's import and its rate limit.
//! Each page is committed together with the unit's checkpoint, so a unit whose worker died
//! resumes at the next page; a checkpoint applies only to the page it expects, so a duplicate
//! runner of the same unit can waste a request but never skip or double a page. Units are routed
//! to bootstrap queues by workspace, so one workspace's backlog does not stall another's import.
//! A webhook newer than the page's read is never overwritten.

pub mod reconcile;
pub mod units;
