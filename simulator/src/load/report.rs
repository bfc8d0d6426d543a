//! What `simulator load` prints: throughput, latency, errors, persistence, end-to-end latency,
//! memory and CPU, each figure beside its raw limit when one was measured.

use std::collections::BTreeMap;
use std::time::Duration;

use super::raw::Rate;
use super::scrape::{BatchFigures, GroupFigures, SizeFigures};
use super::usage::CpuUse;
use super::wal::WalUse;
use super::webhooks::Answer;

/// Every figure of one run.
#[derive(Default)]
pub struct LoadReport {
    pub setup: String,
    pub broker_raw: Option<(Rate, CpuUse)>,
    pub database_raw: Option<(Rate, CpuUse)>,
    pub database_raw_wal: Option<WalUse>,
    pub message_bytes: usize,
    pub answers: Vec<Answer>,
    pub send_elapsed: Duration,
    pub delayed_launches: usize,
    pub send_cpu: CpuUse,
    pub persisted_at_send_end: i64,
    pub persisted_after: Duration,
    pub drain_cpu: Option<CpuUse>,
    pub end_to_end_ms: Option<(f64, f64)>,
    /// `--backlog`: the workers draining the queues alone, and what that cost.
    pub backlog: Option<(Rate, CpuUse)>,
    /// What the cluster wrote ahead while the workers persisted the run's events: the drain with
    /// `--backlog`, else from the first send until the last event was in the database.
    pub workers_wal: Option<WalUse>,
    pub batches: Vec<(String, BatchFigures)>,
    /// Events per message ingress published, and its overlapped messages (a started system only).
    pub groups: Option<GroupFigures>,
    pub memory: Vec<(String, Option<u64>)>,
}

impl LoadReport {
    fn accepted(&self) -> usize {
        self.answers.iter().filter(|(s, _)| *s == 200).count()
    }

    /// Accepted webhooks per second of sending.
    pub fn accepted_per_second(&self) -> f64 {
        self.accepted() as f64 / self.send_elapsed.as_secs_f64().max(1e-9)
    }

    /// Accepted events per second from the first send until the last was in the database.
    pub fn persisted_per_second(&self) -> f64 {
        self.accepted() as f64 / self.persisted_after.as_secs_f64().max(1e-9)
    }

    /// Events the workers persisted per second after sending stopped (their backlog alone).
    fn drain_per_second(&self) -> Option<f64> {
        let backlog = self.accepted() as i64 - self.persisted_at_send_end;
        let drain = self.persisted_after.checked_sub(self.send_elapsed)?;
        (backlog > 0 && drain > Duration::from_millis(500))
            .then(|| backlog as f64 / drain.as_secs_f64())
    }

    pub fn print(&self) {
        let accepted = self.accepted();
        println!("\nLoad report ({})", self.setup);
        if let Some((rate, cpu)) = &self.broker_raw {
            println!(
                "  raw broker     {:>8.0} confirmed persistent publishes/s ({} in {:.1} s, {} B bodies)",
                rate.per_second(),
                rate.count,
                rate.elapsed.as_secs_f64(),
                self.message_bytes
            );
            print_cpu("                 ", cpu, rate.per_second());
        }
        if let Some((rate, cpu)) = &self.database_raw {
            println!(
                "  raw database   {:>8.0} events/s written as workers write them ({} in {:.1} s)",
                rate.per_second(),
                rate.count,
                rate.elapsed.as_secs_f64()
            );
            print_cpu("                 ", cpu, rate.per_second());
            if let Some(wal) = &self.database_raw_wal {
                println!("                 {}", wal.describe(rate.count));
            }
        }
        println!(
            "  ingress        {:>8.0} accepted/s ({accepted} of {} in {:.2} s){}",
            self.accepted_per_second(),
            self.answers.len(),
            self.send_elapsed.as_secs_f64(),
            ratio(self.accepted_per_second(), self.broker_raw.as_ref())
        );
        let latencies = self.latencies_ms();
        println!(
            "  latency        p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(0.0)
        );
        if self.delayed_launches > 0 {
            println!(
                "  open loop      {} launches waited for a free slot",
                self.delayed_launches
            );
        }
        println!("  errors         {}", self.errors());
        print_cpu(
            "  cpu sending    ",
            &self.send_cpu,
            self.accepted_per_second(),
        );
        println!(
            "  persisted      all {accepted} accepted events in the database {:.2} s after the first send; {} were at the end of sending",
            self.persisted_after.as_secs_f64(),
            self.persisted_at_send_end
        );
        println!(
            "  workers        {:>8.0} persisted events/s (first send to last commit){}",
            self.persisted_per_second(),
            ratio(self.persisted_per_second(), self.database_raw.as_ref())
        );
        if let Some(drain) = self.drain_per_second().filter(|_| self.backlog.is_none()) {
            println!(
                "  backlog drain  {drain:>8.0} events/s after sending stopped{}",
                ratio(drain, self.database_raw.as_ref())
            );
        }
        if let Some(cpu) = &self.drain_cpu {
            print_cpu(
                "  cpu draining   ",
                cpu,
                self.drain_per_second().unwrap_or(0.0),
            );
        }
        if let Some((p50, p99)) = self.end_to_end_ms.filter(|_| self.backlog.is_none()) {
            println!(
                "  end to end     accepted -> committed p50 {p50:.1} ms, p99 {p99:.1} ms (event_log.processed_at - accepted_at)"
            );
        }
        if let Some((rate, cpu)) = &self.backlog {
            println!(
                "  backlog        {:>8.0} events/s: workers drained {} queued events in {:.2} s with ingress idle{}",
                rate.per_second(),
                rate.count,
                rate.elapsed.as_secs_f64(),
                ratio(rate.per_second(), self.database_raw.as_ref())
            );
            print_cpu("  cpu backlog    ", cpu, rate.per_second());
        }
        if let Some(wal) = &self.workers_wal {
            let (span, events) = match &self.backlog {
                Some((rate, _)) => ("wal backlog", rate.count),
                None => ("wal persisting", accepted as u64),
            };
            println!("  {span:<15}{}", wal.describe(events));
        }
        if let Some(groups) = self.groups.as_ref().filter(|g| g.sizes.count > 0.0) {
            let sizes = &groups.sizes;
            println!(
                "  ingress groups {:.0} event messages published, mean {:.2} events each, p99 {}; {:.0} sent while another of their lane awaited its confirm",
                sizes.count,
                sizes.mean(),
                size_bound(sizes),
                groups.overlapped
            );
        }
        if !self.batches.is_empty() {
            let mut total = BatchFigures::default();
            for (_, figures) in &self.batches {
                total += figures.clone();
            }
            println!(
                "  batch sizes    worker batches: mean {:.1} events, p99 {}",
                total.mean_batch_size(),
                size_bound(&total.sizes())
            );
            println!(
                "  worker batches {:.0} batches, mean {:.1} events, mean {:.2} ms each; mean lag acceptance -> commit {:.1} ms",
                total.batches,
                total.mean_batch_size(),
                total.mean_batch_ms(),
                total.mean_lag_ms()
            );
            let bound = |q: f64| {
                total
                    .lag_bound_ms(q)
                    .map(|ms| format!("<= {ms} ms"))
                    .unwrap_or_else(|| "> 10 s".to_owned())
            };
            println!(
                "  workers' lag   acceptance -> commit from their own histogram: p50 {}, p99 {}",
                bound(0.5),
                bound(0.99)
            );
            let shares: Vec<String> = self
                .batches
                .iter()
                .map(|(label, f)| format!("{label} {:.0}", f.messages))
                .collect();
            println!("  events by worker process: {}", shares.join(", "));
        }
        for (label, peak) in &self.memory {
            match peak {
                Some(bytes) => println!(
                    "  peak memory    {label:<10} {:.1} MB (VmHWM)",
                    *bytes as f64 / (1024.0 * 1024.0)
                ),
                None => println!("  peak memory    {label:<10} unknown (process gone)"),
            }
        }
    }

    fn latencies_ms(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self
            .answers
            .iter()
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    fn errors(&self) -> String {
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for (status, _) in &self.answers {
            if *status != 200 {
                *by_status.entry(*status).or_default() += 1;
            }
        }
        if by_status.is_empty() {
            return "none".to_owned();
        }
        by_status
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The value at `p` of sorted `values` (nearest rank), 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ratio(value: f64, raw: Option<&(Rate, CpuUse)>) -> String {
    match raw {
        Some((rate, _)) => format!(
            " = {:.1}% of the raw limit ({:.0}/s)",
            100.0 * value / rate.per_second().max(1e-9),
            rate.per_second()
        ),
        None => String::new(),
    }
}

/// "<= N events" for the p99 of a size histogram.
fn size_bound(sizes: &SizeFigures) -> String {
    sizes
        .bound(0.99)
        .map(|n| format!("<= {n:.0} events"))
        .unwrap_or_else(|| "> 1024 events".to_owned())
}

/// Prints CPU use, then (when `per_second` events were handled) CPU microseconds per event of
/// each process: percent of one core x 10,000 / events per second.
fn print_cpu(indent: &str, cpu: &CpuUse, per_second: f64) {
    print_cpu_shares(indent, cpu);
    if per_second <= 0.0 {
        return;
    }
    let per_event = |percent: f64| percent * 10_000.0 / per_second;
    let mut items: Vec<String> = cpu
        .processes
        .iter()
        .map(|(label, percent)| format!("{label} {:.1}", per_event(*percent)))
        .collect();
    items.push(format!("kernel softirq {:.1}", per_event(cpu.softirq)));
    let total: f64 = cpu.processes.iter().map(|(_, p)| *p).sum::<f64>() + cpu.softirq;
    println!(
        "{indent}cpu µs per event at {per_second:.0}/s: {}; total {:.1}",
        items.join(", "),
        per_event(total)
    );
}

fn print_cpu_shares(indent: &str, cpu: &CpuUse) {
    let list = |items: &[(String, f64)]| {
        items
            .iter()
            .map(|(label, percent)| format!("{label} {percent:.0}%"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{indent}cpu (% of one core): {}; kernel softirq {:.0}%; others: {}",
        list(&cpu.processes),
        cpu.softirq,
        if cpu.others.is_empty() {
            "none".to_owned()
        } else {
            list(&cpu.others)
        },
    );
    println!(
        "{indent}machine busy {:.0}% of all cores, iowait {:.0}%",
        cpu.machine_busy, cpu.machine_iowait
    );
}

/// Prints a step of the run.
pub(crate) fn step(text: &str) {
    println!("==> {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 51.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
