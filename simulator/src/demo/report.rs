//! The demo's report: what was sent, what landed, how fast, and the outbound rate each workspace
//! saw against Clockify's 50 per second.

use std::time::Duration;

/// One workspace's bootstrap as the stand-in saw it.
pub struct BootstrapFigures {
    pub workspace_id: String,
    pub status: String,
    pub entities: usize,
    pub seconds: f64,
    pub requests: usize,
    pub peak_rate: usize,
    pub too_many_requests: usize,
}

/// Everything the demo prints at the end.
pub struct Report {
    pub sent: usize,
    pub accepted: usize,
    pub send_time: Duration,
    pub persisted_after: Duration,
    pub latencies: Vec<Duration>,
    pub bootstraps: Vec<BootstrapFigures>,
    pub calls: Vec<(String, String, Option<i64>, Option<i64>)>,
    pub entities: Vec<(String, i64)>,
    pub outcomes: Vec<(String, i64)>,
    pub installations: Vec<String>,
    pub logged: i64,
}

impl Report {
    pub fn print(&self) {
        let percentile = |p: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies
                .get(index)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        println!("\nReport");
        println!(
            "  webhooks sent {}, accepted {}, in the event log {}, lost {}",
            self.sent,
            self.accepted,
            self.logged,
            self.accepted as i64 - self.logged
        );
        println!(
            "  ingress latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {:.0} accepted/s",
            percentile(0.5),
            percentile(0.95),
            percentile(0.99),
            self.accepted as f64 / self.send_time.as_secs_f64()
        );
        println!(
            "  every accepted webhook committed {:.2} s after the first was sent",
            self.persisted_after.as_secs_f64()
        );
        println!("  bootstraps (the stand-in allows 50 requests/s per workspace):");
        for b in &self.bootstraps {
            println!(
                "    {:<11} {:<10} {} entities in {:.1} s (ideal {:.1} s at 50/s), {} requests, peak {}/s in any second, {} answered 429",
                b.workspace_id,
                b.status,
                b.entities,
                b.seconds,
                b.requests as f64 / 50.0,
                b.requests,
                b.peak_rate,
                b.too_many_requests
            );
        }
        println!("  API Studio calls:");
        for (operation, status, upstream, millis) in &self.calls {
            let upstream = upstream
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let millis = millis.map(|m| format!("{m} ms")).unwrap_or_default();
            println!("    {operation:<22} {status:<10} upstream {upstream:<4} {millis}");
        }
        println!("  installations:");
        for name in &self.installations {
            println!("    {name}");
        }
        println!("  demo-alpha event log by outcome:");
        for (outcome, count) in &self.outcomes {
            println!("    {outcome:<10} {count}");
        }
        println!("  entities stored (demo-beta's were purged on uninstall):");
        for (kind, count) in &self.entities {
            println!("    {kind:<28} {count}");
        }
    }
}
