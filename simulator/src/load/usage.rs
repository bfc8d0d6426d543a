//! What processes cost while the load runs, read from `/proc`: CPU time (utime + stime) of every
//! process between two samples, the machine's busy, softirq and iowait shares, and peak resident
//! memory (VmHWM).

use std::collections::HashMap;
use std::time::Instant;

/// A process whose CPU time is reported: one pid, or every process of a name (PostgreSQL runs a
/// process per connection, and connections open during a run).
#[derive(Debug, Clone)]
pub struct Watched {
    pub label: String,
    target: Target,
}

#[derive(Debug, Clone)]
enum Target {
    Pid(u32),
    Name(String),
}

impl Watched {
    pub fn pid(label: &str, pid: u32) -> Self {
        Self {
            label: label.to_owned(),
            target: Target::Pid(pid),
        }
    }

    /// Every process whose `comm` is `name` at each sample.
    pub fn by_name(label: &str, name: &str) -> Self {
        Self {
            label: label.to_owned(),
            target: Target::Name(name.to_owned()),
        }
    }

    fn matches(&self, pid: u32, comm: &str) -> bool {
        match &self.target {
            Target::Pid(p) => *p == pid,
            Target::Name(name) => name == comm,
        }
    }
}

/// CPU counters of every process and of the machine at one moment.
pub struct CpuSample {
    at: Instant,
    processes: HashMap<u32, (String, u64)>,
    machine: MachineTicks,
}

#[derive(Clone, Copy, Default)]
struct MachineTicks {
    total: u64,
    idle: u64,
    iowait: u64,
    softirq: u64,
}

/// CPU use between two samples, in percent of one core unless said otherwise.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// Each watched process (100 = one core busy).
    pub processes: Vec<(String, f64)>,
    /// The busiest processes watched by nobody, by command name.
    pub others: Vec<(String, f64)>,
    /// Busy time charged to no process: kernel softirq work (loopback networking, block I/O).
    pub softirq: f64,
    /// The machine's busy share of all its cores, in percent.
    pub machine_busy: f64,
    /// The machine's share of time idle waiting for disk, in percent.
    pub machine_iowait: f64,
}

impl CpuSample {
    /// Reads the counters of every process and of the machine now.
    pub fn take() -> Self {
        Self {
            at: Instant::now(),
            processes: all_processes(),
            machine: machine_ticks(),
        }
    }

    /// CPU use from `self` to `later`. A process born in between counts from its birth; one
    /// that ended in between is not counted.
    pub fn until(&self, later: &CpuSample, watched: &[Watched]) -> CpuUse {
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let hz = clock_ticks_per_second();
        let percent = |ticks: f64| 100.0 * ticks / hz / seconds;
        let mut processes: Vec<(String, f64)> =
            watched.iter().map(|w| (w.label.clone(), 0.0)).collect();
        let mut others: HashMap<String, f64> = HashMap::new();
        for (pid, (comm, ticks)) in &later.processes {
            let before = self.processes.get(pid).map(|(_, t)| *t).unwrap_or(0);
            let used = percent(ticks.saturating_sub(before) as f64);
            match watched.iter().position(|w| w.matches(*pid, comm)) {
                Some(index) => processes[index].1 += used,
                None => *others.entry(comm.clone()).or_default() += used,
            }
        }
        let mut others: Vec<(String, f64)> =
            others.into_iter().filter(|(_, p)| *p >= 1.0).collect();
        others.sort_by(|a, b| b.1.total_cmp(&a.1));
        others.truncate(4);
        let delta =
            |f: fn(&MachineTicks) -> u64| f(&later.machine).saturating_sub(f(&self.machine)) as f64;
        let total = delta(|m| m.total).max(1.0);
        let idle = delta(|m| m.idle);
        let iowait = delta(|m| m.iowait);
        CpuUse {
            processes,
            others,
            softirq: percent(delta(|m| m.softirq)),
            machine_busy: 100.0 * (total - idle - iowait) / total,
            machine_iowait: 100.0 * iowait / total,
        }
    }
}

/// Peak resident memory of `pid` in bytes (`VmHWM`), if the process is alive.
pub fn peak_resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `comm` and utime + stime (clock ticks) of every process now.
fn all_processes() -> HashMap<u32, (String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, process_stat(pid)?)))
        .collect()
}

/// A process's `comm` and utime + stime from `/proc/<pid>/stat`.
fn process_stat(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; the fields after it are fixed.
    let (head, after) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After `)`: state is field 3 of proc(5), so utime (14) and stime (15) are at 11 and 12.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((comm, field(11)? + field(12)?))
}

fn machine_ticks() -> MachineTicks {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return MachineTicks::default();
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let at = |i: usize| values.get(i).copied().unwrap_or(0);
    MachineTicks {
        total: values.iter().take(8).sum(),
        idle: at(3),
        iowait: at(4),
        softirq: at(6),
    }
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_found_with_its_peak_memory() {
        let me = std::process::id();
        let watched = [Watched::pid("self", me)];
        let before = CpuSample::take();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let usage = before.until(&CpuSample::take(), &watched);
        assert_eq!(usage.processes[0].0, "self");
        assert!(usage.processes[0].1 > 0.0);
        assert!(peak_resident_bytes(me).is_some_and(|b| b > 0));
    }
}
