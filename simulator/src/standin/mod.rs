//! A stand-in Clockify REST API on a real socket, for integration tests, the demo and
//! benchmarks: deterministic workspaces, Clockify's pagination and strict per-workspace rate
//! limit, token checks, scripted and random faults (including truly dropped connections), and a
//! recorder of every request.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use simulator::standin::{StandIn, StandInConfig, WorkspaceSpec};
//! let config = StandInConfig {
//!     workspaces: vec![WorkspaceSpec::sized("ws-1", 1_000)],
//!     ..StandInConfig::default()
//! };
//! let standin = StandIn::start(config, "127.0.0.1:0".parse().expect("an address")).await?;
//! let api_url = standin.api_url(); // INSTALLED's `apiUrl`, the tokens' `backendUrl`
//! # let _ = api_url;
//! standin.stop().await;
//! # Ok(())
//! # }
//! ```

mod answer;
mod auth;
mod changes;
mod connection;
mod entities;
mod faults;
mod gate;
mod more_entities;
mod more_routes;
mod projects;
mod rate_limit;
mod recorder;
mod routes;
mod server;
mod settings;
mod shared;
mod spec;
mod webhooks;
mod workspace;

#[cfg(test)]
mod tests;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::signer::ClockifySigner;

pub use auth::Caller;
pub use faults::{Fault, FaultMatch, FaultScript};
pub use recorder::{RecordedRequest, Recorder};
pub use server::StandIn;
pub use spec::{MAX_PAGE_SIZE, MoreKinds, WorkspaceSpec};

/// How the stand-in behaves; `Default` is a well-behaved Clockify with no workspaces.
#[derive(Clone)]
pub struct StandInConfig {
    /// Admitted requests per workspace per trailing second (Clockify's is 50); 0 = unlimited.
    pub rate_limit_per_second: u32,
    /// The workspaces that exist; any other workspace id is answered 404.
    pub workspaces: Vec<WorkspaceSpec>,
    /// Added to every admitted request, to model a distant API.
    pub latency: Duration,
    /// Share of admitted requests answered 503 at random.
    pub failure_rate_5xx: f64,
    /// Share of admitted requests whose connection is dropped at random, unanswered.
    pub drop_rate: f64,
    /// When set, `X-Addon-Token` must be an RS256 JWT verifying with this key (401 otherwise),
    /// unexpired when it has an `exp`, whose `workspaceId` is the path's workspace (403
    /// otherwise). `None`: any non-empty token. Either way a user token (with `workspaceRole`)
    /// of a member may only read, and not the webhooks (403).
    pub public_key_pem: Option<String>,
    /// Signs created webhooks' `authToken` as Clockify would, so they verify at ingress; without
    /// it the token is a random string.
    pub signer: Option<ClockifySigner>,
}

impl Default for StandInConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_second: 50,
            workspaces: Vec::new(),
            latency: Duration::ZERO,
            failure_rate_5xx: 0.0,
            drop_rate: 0.0,
            public_key_pem: None,
            signer: None,
        }
    }
}

impl StandInConfig {
    /// Checks tokens with `signer`'s public key and signs webhook tokens with it: the setup
    /// that matches an add-on configured with the same signer.
    pub fn with_signer(mut self, signer: ClockifySigner) -> Self {
        self.public_key_pem = Some(signer.public_key_pem().to_owned());
        self.signer = Some(signer);
        self
    }
}

/// Locks `mutex`, carrying on after a panic elsewhere: a test tool's state stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
