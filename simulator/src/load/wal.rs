//! What PostgreSQL wrote ahead while a phase ran: the bytes of WAL (exact, from the WAL insert
//! position) and the checkpoints completed, so two database phases can be compared per event and
//! a phase that paid for a checkpoint's writes and full-page images is seen to have.

use sqlx::PgPool;

/// The cluster's WAL position and completed checkpoints at one moment.
#[derive(Debug, Clone, Copy)]
pub struct WalSample {
    position: i64,
    checkpoints: i64,
}

/// What the cluster wrote ahead between two samples: every database's writes, not only the
/// phase's own, so a phase is measured with nothing else writing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalUse {
    pub bytes: u64,
    /// Checkpoints that completed between the samples (begun before the first, or not).
    pub checkpoints: u64,
}

impl WalSample {
    /// Reads the position and the checkpoint count now, through any database of the cluster.
    pub async fn take(db: &PgPool) -> sqlx::Result<Self> {
        let version: i32 = sqlx::query_scalar("select current_setting('server_version_num')::int")
            .fetch_one(db)
            .await?;
        // PostgreSQL 17 moved the checkpoint counts from the background writer's view to their own.
        let query = if version >= 170_000 {
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                    (select num_timed + num_requested from pg_stat_checkpointer)"
        } else {
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                    (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)"
        };
        let (position, checkpoints) = sqlx::query_as(query).fetch_one(db).await?;
        Ok(Self {
            position,
            checkpoints,
        })
    }

    /// What was written from this sample until `later`.
    pub fn until(&self, later: &WalSample) -> WalUse {
        let grown = |from: i64, to: i64| u64::try_from(to.saturating_sub(from)).unwrap_or(0);
        WalUse {
            bytes: grown(self.position, later.position),
            checkpoints: grown(self.checkpoints, later.checkpoints),
        }
    }
}

impl WalUse {
    /// One line for the report: KB of WAL per event of `events`, and the checkpoints completed.
    pub fn describe(&self, events: u64) -> String {
        let per_event = self.bytes as f64 / 1024.0 / events.max(1) as f64;
        let checkpoints = match self.checkpoints {
            1 => "1 checkpoint".to_owned(),
            n => format!("{n} checkpoints"),
        };
        format!("wal {per_event:.2} KB per event, {checkpoints} completed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    async fn connect() -> PgPool {
        PgPool::connect(URL).await.unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is not answering at {URL} ({error}). Start it with: pg_ctlcluster \
                 --skip-systemctl-redirect $(ls /etc/postgresql) main start"
            )
        })
    }

    #[tokio::test]
    async fn counts_the_bytes_written_ahead_and_the_checkpoints_completed() {
        let db = connect().await;
        let table = format!("wal_probe_{}", uuid::Uuid::new_v4().simple());
        let sql = |text: String| sqlx::AssertSqlSafe(text);
        let run = |text: String| {
            let db = db.clone();
            async move {
                sqlx::query(sql(text))
                    .execute(&db)
                    .await
                    .expect("the probe's statement runs");
            }
        };
        let sample = || async { WalSample::take(&db).await.expect("the counters read") };
        run(format!("create table {table} (n int, filler text)")).await;
        let before = sample().await;
        run(format!(
            "insert into {table} select n, repeat('x', 100) from generate_series(1, 10000) n"
        ))
        .await;
        let written = sample().await;
        run("checkpoint".to_owned()).await;
        let after = sample().await;
        run(format!("drop table {table}")).await;

        // 10,000 rows of more than 100 bytes each are at least a megabyte of WAL.
        let insert = before.until(&written);
        assert!(insert.bytes >= 1_000_000, "{insert:?}");
        // Samples taken out of order give nothing rather than a wrapped-around count.
        assert_eq!(after.until(&written), WalUse::default());
        assert!(
            written.until(&after).checkpoints >= 1,
            "{:?}",
            written.until(&after)
        );
        assert_eq!(
            WalUse {
                bytes: 3 * 1024 * 1024,
                checkpoints: 1
            }
            .describe(1024),
            "wal 3.00 KB per event, 1 checkpoint completed"
        );
    }
}
