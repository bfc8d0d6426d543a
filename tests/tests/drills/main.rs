//! The restart drills: each breaks one service or tier under a steady signed load (320 webhooks a
//! second over four workspaces) and checks that every event answered 200 is in the event log
//! exactly once, in per-workspace order. The services they break are private instances of their
//! own, never the shared ones. Not part of `cargo test --workspace`: run them one at a time with
//! `cargo test -p integration-tests --test drills -- --test-threads=1 --nocapture` (CI does,
//! after the other tests).

mod ingress_killed;
mod postgres_restarted;
mod rabbitmq_stopped;
mod redis_restarted;
mod worker_killed;
