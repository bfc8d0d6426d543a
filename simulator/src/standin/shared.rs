//! The state the stand-in's handlers and gate share, and looking a workspace up in it.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use chrono::{SubsecRound as _, Utc};

use super::StandInConfig;
use super::answer::{ApiError, not_found};
use super::auth::TokenVerifier;
use super::faults::{Dice, FaultScript};
use super::rate_limit::SlidingWindowLimiter;
use super::recorder::Recorder;
use super::workspace::Workspace;
use crate::signer::ClockifySigner;

/// Everything handlers and the gate need; one per stand-in.
pub(crate) struct Shared {
    pub(crate) workspaces: HashMap<String, Workspace>,
    pub(crate) latency: Duration,
    pub(crate) failure_rate_5xx: f64,
    pub(crate) drop_rate: f64,
    pub(crate) verifier: Option<TokenVerifier>,
    pub(crate) signer: Option<ClockifySigner>,
    pub(crate) faults: FaultScript,
    pub(crate) recorder: Recorder,
    pub(crate) limiter: SlidingWindowLimiter,
    pub(crate) dice: Dice,
}

impl Shared {
    pub(crate) fn from_config(config: StandInConfig) -> io::Result<Self> {
        let verifier = config
            .public_key_pem
            .as_deref()
            .map(TokenVerifier::from_pem)
            .transpose()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("public key: {e}")))?;
        let anchor = Utc::now().trunc_subsecs(0);
        let workspaces = config
            .workspaces
            .into_iter()
            .map(|spec| (spec.workspace_id.clone(), Workspace::new(spec, anchor)))
            .collect();
        Ok(Self {
            workspaces,
            latency: config.latency,
            failure_rate_5xx: config.failure_rate_5xx,
            drop_rate: config.drop_rate,
            verifier,
            signer: config.signer,
            faults: FaultScript::default(),
            recorder: Recorder::default(),
            limiter: SlidingWindowLimiter::new(config.rate_limit_per_second),
            dice: Dice::from_clock(),
        })
    }
}

/// The workspace `id`, or the 404 Clockify answers for an unknown one.
pub(crate) fn workspace<'a>(shared: &'a Shared, id: &str) -> Result<&'a Workspace, ApiError> {
    shared
        .workspaces
        .get(id)
        .ok_or_else(|| not_found(format!("Workspace {id} not found")))
}
