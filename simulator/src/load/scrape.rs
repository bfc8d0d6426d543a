//! The tiers' own account of their batches, read from their `/metrics`: how many events a
//! committed worker batch held, how long it took, the lag from acceptance to commit, and how
//! many events each message ingress published held (its group commit), and how many of those
//! messages went out while another of their lane awaited its confirm.

/// Sums and counts of the workers' event batch histograms, over every worker process.
#[derive(Debug, Clone, Default)]
pub struct BatchFigures {
    pub batches: f64,
    pub messages: f64,
    pub batch_seconds: f64,
    pub lag_seconds: f64,
    pub lag_count: f64,
    /// Cumulative `processing_lag_seconds` buckets: (upper bound in seconds, count).
    pub lag_buckets: Vec<(f64, f64)>,
    /// Cumulative `batch_size` buckets: (upper bound in events, count).
    pub size_buckets: Vec<(f64, f64)>,
}

/// A count histogram (events per message or per batch): how many, their sum, their buckets.
#[derive(Debug, Clone, Default)]
pub struct SizeFigures {
    pub count: f64,
    pub sum: f64,
    /// Cumulative buckets: (upper bound, count).
    pub buckets: Vec<(f64, f64)>,
}

impl SizeFigures {
    pub fn mean(&self) -> f64 {
        self.sum / self.count.max(1.0)
    }

    /// The upper bound of the bucket holding quantile `q` (`None` past the last finite one).
    pub fn bound(&self, q: f64) -> Option<f64> {
        bound(&self.buckets, q * self.count)
    }
}

/// The upper bound of the first cumulative bucket reaching `wanted`.
fn bound(buckets: &[(f64, f64)], wanted: f64) -> Option<f64> {
    buckets
        .iter()
        .find(|(_, count)| *count >= wanted && *count > 0.0)
        .map(|(le, _)| *le)
}

impl BatchFigures {
    pub fn mean_batch_size(&self) -> f64 {
        self.messages / self.batches.max(1.0)
    }

    pub fn mean_batch_ms(&self) -> f64 {
        1000.0 * self.batch_seconds / self.batches.max(1.0)
    }

    pub fn mean_lag_ms(&self) -> f64 {
        1000.0 * self.lag_seconds / self.lag_count.max(1.0)
    }

    /// The upper bound (ms) of the lag bucket holding quantile `q`: the histogram says no more.
    pub fn lag_bound_ms(&self, q: f64) -> Option<f64> {
        bound(&self.lag_buckets, q * self.lag_count).map(|le| le * 1000.0)
    }

    /// Events per committed batch as a size histogram.
    pub fn sizes(&self) -> SizeFigures {
        SizeFigures {
            count: self.batches,
            sum: self.messages,
            buckets: self.size_buckets.clone(),
        }
    }
}

impl std::ops::AddAssign for BatchFigures {
    fn add_assign(&mut self, other: Self) {
        self.batches += other.batches;
        self.messages += other.messages;
        self.batch_seconds += other.batch_seconds;
        self.lag_seconds += other.lag_seconds;
        self.lag_count += other.lag_count;
        add_buckets(&mut self.lag_buckets, other.lag_buckets);
        add_buckets(&mut self.size_buckets, other.size_buckets);
    }
}

fn add_buckets(mine: &mut Vec<(f64, f64)>, theirs: Vec<(f64, f64)>) {
    if mine.is_empty() {
        *mine = theirs;
    } else {
        for (mine, theirs) in mine.iter_mut().zip(theirs) {
            mine.1 += theirs.1;
        }
    }
}

/// The event batch figures of one worker at `ops_url`; zeros when it does not answer.
pub async fn batch_figures(http: &reqwest::Client, ops_url: &str) -> BatchFigures {
    let text = match http.get(format!("{ops_url}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    BatchFigures {
        batches: value(&text, "studio_batch_size_count"),
        messages: value(&text, "studio_batch_size_sum"),
        batch_seconds: value(&text, "studio_batch_duration_seconds_sum"),
        lag_seconds: value(&text, "studio_processing_lag_seconds_sum"),
        lag_count: value(&text, "studio_processing_lag_seconds_count"),
        lag_buckets: buckets(&text, "studio_processing_lag_seconds_bucket"),
        size_buckets: buckets(&text, "studio_batch_size_bucket"),
    }
}

/// Ingress's group commit: events per message, and messages sent while another was in flight.
#[derive(Debug, Clone, Default)]
pub struct GroupFigures {
    pub sizes: SizeFigures,
    /// Event messages a lane sent while an earlier one of its own was unsettled.
    pub overlapped: f64,
}

/// What ingress at `url` published (its group commit); zeros when it does not answer or
/// predates group commit.
pub async fn group_figures(http: &reqwest::Client, url: &str) -> GroupFigures {
    let text = match http.get(format!("{url}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    GroupFigures {
        sizes: SizeFigures {
            count: value(&text, "studio_event_group_size_count"),
            sum: value(&text, "studio_event_group_size_sum"),
            buckets: buckets(&text, "studio_event_group_size_bucket"),
        },
        overlapped: series(&text, "studio_event_messages_overlapped_total").unwrap_or(0.0),
    }
}

/// The finite buckets of histogram `name{queue="events"}`, in order: (le, cumulative count).
fn buckets(text: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}{{");
    text.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter(|rest| rest.contains("queue=\"events\""))
        .filter_map(|rest| {
            let le = rest
                .split("le=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            let count = rest.rsplit(' ').next()?.trim().parse().ok()?;
            Some((le, count))
        })
        .filter(|(le, _): &(f64, f64)| le.is_finite())
        .collect()
}

/// Event partitions the worker at `ops_url` consumes (`studio_event_partitions_owned`); `None`
/// when it does not answer.
pub async fn partitions_owned(http: &reqwest::Client, ops_url: &str) -> Option<u64> {
    let response = http.get(format!("{ops_url}/metrics")).send().await.ok()?;
    let text = response.text().await.ok()?;
    series(&text, "studio_event_partitions_owned").map(|owned| owned as u64)
}

/// The value of `name{queue="events"}` in Prometheus text, 0 when absent.
fn value(text: &str, name: &str) -> f64 {
    series(text, &format!("{name}{{queue=\"events\"}}")).unwrap_or(0.0)
}

/// The value of one exact series (name and labels as written) in Prometheus text.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_queue_series_are_read() {
        let text = "studio_batch_size_sum{queue=\"events\"} 500\n\
                    studio_batch_size_count{queue=\"events\"} 4\n\
                    studio_batch_size_count{queue=\"jobs\"} 9\n";
        assert_eq!(value(text, "studio_batch_size_count"), 4.0);
        assert_eq!(value(text, "studio_batch_size_sum"), 500.0);
        assert_eq!(value(text, "studio_missing"), 0.0);
    }

    #[test]
    fn lag_bucket_bounds_a_quantile() {
        let text = "studio_processing_lag_seconds_bucket{queue=\"events\",le=\"0.01\"} 40\n\
                    studio_processing_lag_seconds_bucket{queue=\"events\",le=\"0.025\"} 99\n\
                    studio_processing_lag_seconds_bucket{queue=\"events\",le=\"+Inf\"} 100\n\
                    studio_processing_lag_seconds_count{queue=\"events\"} 100\n";
        let figures = BatchFigures {
            lag_count: value(text, "studio_processing_lag_seconds_count"),
            lag_buckets: buckets(text, "studio_processing_lag_seconds_bucket"),
            ..BatchFigures::default()
        };
        assert_eq!(figures.lag_bound_ms(0.5), Some(25.0));
        assert_eq!(figures.lag_bound_ms(0.99), Some(25.0));
        assert_eq!(figures.lag_bound_ms(0.999), None);
    }
}
