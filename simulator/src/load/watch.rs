//! Which processes a load run watches for CPU and memory: the tiers it started, the simulator
//! itself, and the broker and database on this machine.

use super::system::System;
use super::usage::Watched;

/// The started tiers' processes.
pub(crate) fn tier_pids(system: &System) -> Vec<Watched> {
    system
        .tiers()
        .filter_map(|t| Some(Watched::pid(&t.label, t.pid()?)))
        .collect()
}

/// The simulator itself, `tiers`, and the broker and database processes on this machine.
pub(crate) fn services(tiers: &[Watched]) -> Vec<Watched> {
    let mut watched = vec![Watched::pid("simulator", std::process::id())];
    watched.extend(tiers.iter().cloned());
    watched.push(Watched::by_name("rabbitmq", "beam.smp"));
    watched.push(Watched::by_name("postgres", "postgres"));
    watched
}
