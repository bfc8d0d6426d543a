//! The raw limits the tiers are measured against, each with nothing of the system in between:
//! the broker's confirmed persistent publishes through lapin, and the database's batched
//! multi-row writes of the rows workers write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::PgPool;

use common::broker::{QueueNames, connection_pool, declare_topology};
use common::config::Config;
use common::crypto::sha256_hex;
use common::db::entities::{self, EntityKey, EntityWrite};
use common::db::event_log::{self, LogOutcome, LogRow, LogSource};
use common::events::EventType;
use common::messages::{Event, EventMessage, SignatureScheme, WebhookEvent, partition_of};
use common::publisher::Publisher;
use common::webhook_body::WebhookBody;

use super::system::{admin_url, database_name, delete_queues, sibling_database_url};
use super::usage::{CpuSample, CpuUse, Watched};
use super::wal::{WalSample, WalUse};
use crate::payloads;

/// Prefix of the broker measurement's queues, deleted afterwards.
/// Transactions of the workers' default batch size.
const BATCH: usize = 250;

/// One raw measurement: operations completed in the time they took.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub count: u64,
    pub elapsed: Duration,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The envelope ingress would publish for one NEW_TIME_ENTRY delivery, serialised.
pub fn webhook_message(workspace_id: &str, seq: usize) -> anyhow::Result<Vec<u8>> {
    let body = payloads::time_entry(
        workspace_id,
        &format!("load-te-{seq}"),
        &format!("load test entry {seq}"),
        Some("2026-11-30T09:00:00Z"),
    );
    let raw = serde_json::to_vec(&body)?;
    let event = Event::Webhook(WebhookEvent {
        event_type: EventType::NewTimeEntry,
        scheme: SignatureScheme::Jwt,
        addon_id: Some(format!("addon-{}", uuid::Uuid::new_v4().simple())),
        token_sha256: Some(sha256_hex(b"a webhook token")),
        body_sha256: sha256_hex(&raw),
        body: WebhookBody::parse(&raw)?,
    });
    let message = EventMessage::new(
        workspace_id.to_owned(),
        uuid::Uuid::new_v4().to_string(),
        event,
    );
    Ok(serde_json::to_vec(&message)?)
}

/// Persistent publishes with confirms to quorum event partitions declared like the system's
/// (prefix `raw`), over `channels` confirm channels, `concurrency` in flight, for `duration`; the
/// partitions are those `workspace_ids` route to. The queues are deleted afterwards. Returns the
/// rate and what `watched` spent on it.
pub async fn broker_rate(
    config: &Config,
    workspace_ids: &[String],
    channels: usize,
    concurrency: usize,
    duration: Duration,
    watched: &[Watched],
) -> anyhow::Result<(Rate, CpuUse)> {
    // `raw` beside the default `load`; `<prefix>-raw` beside any other.
    let prefix = match config.queue_prefix.as_str() {
        "load" => "raw".to_owned(),
        other => format!("{other}-raw"),
    };
    let names = QueueNames::new(&prefix, config.event_partitions);
    let pool = connection_pool(&config.amqp_url)?;
    {
        let connection = pool.get().await.context("connecting to RabbitMQ")?;
        let channel = connection.create_channel().await?;
        declare_topology(&channel, &names, config.max_delivery_attempts).await?;
    }
    let queues: Arc<Vec<String>> = Arc::new(
        workspace_ids
            .iter()
            .map(|id| names.event_partition(partition_of(id, names.partitions())))
            .collect(),
    );
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        workspace_ids
            .iter()
            .enumerate()
            .map(|(seq, id)| webhook_message(id, seq))
            .collect::<anyhow::Result<_>>()?,
    );
    let publisher = Publisher::new(pool, channels);
    let confirmed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let before = CpuSample::take();
    let started = Instant::now();
    let deadline = started + duration;
    let mut publishers = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let (publisher, queues, bodies) = (publisher.clone(), queues.clone(), bodies.clone());
        let (confirmed, failed) = (confirmed.clone(), failed.clone());
        publishers.spawn(async move {
            let mut seq = task;
            while Instant::now() < deadline {
                let index = seq % queues.len();
                let id = uuid::Uuid::now_v7().to_string();
                match publisher
                    .publish(&queues[index], &id, &id, &bodies[index])
                    .await
                {
                    Ok(()) => confirmed.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
                seq += concurrency;
            }
        });
    }
    while publishers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let cpu = before.until(&CpuSample::take(), watched);
    delete_queues(config, &names).await?;
    let failed = failed.load(Ordering::Relaxed);
    anyhow::ensure!(failed == 0, "{failed} raw publishes were not confirmed");
    let count = confirmed.load(Ordering::Relaxed);
    Ok((Rate { count, elapsed }, cpu))
}

/// `writers` concurrent writers, each committing transactions of 250 events written as workers
/// write them (one multi-row entity upsert and one multi-row event log insert), for `duration`,
/// in a scratch database created beside `database_url` and dropped afterwards. Returns the rate,
/// what `watched` spent on it and what the cluster wrote ahead.
pub async fn database_rate(
    database_url: &str,
    workspace_ids: &[String],
    writers: usize,
    duration: Duration,
    watched: &[Watched],
) -> anyhow::Result<(Rate, CpuUse, WalUse)> {
    let scratch = format!("{}_raw", database_name(database_url)?);
    let admin = PgPool::connect(&admin_url(database_url)).await?;
    common::db::server::drop_database_if_exists(&admin, &scratch).await?;
    let url = sibling_database_url(database_url, &scratch);
    let db = common::db::connect_and_migrate(&url, writers as u32 + 1).await?;
    // Open every writer's connection before the clock starts.
    let warm: Vec<_> = futures::future::try_join_all((0..writers).map(|_| db.acquire())).await?;
    drop(warm);
    let written = Arc::new(AtomicU64::new(0));
    let wal_before = WalSample::take(&admin).await?;
    let before = CpuSample::take();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let (db, written) = (db.clone(), written.clone());
        let workspace_id = workspace_ids[writer % workspace_ids.len()].clone();
        tasks.spawn(async move {
            let mut seq = 0usize;
            while Instant::now() < deadline {
                let (rows, log) = worker_rows(&workspace_id, writer, seq);
                seq += BATCH;
                let mut tx = db.begin().await?;
                entities::upsert_from_webhooks(&mut *tx, &rows).await?;
                event_log::insert_rows(&mut *tx, &log).await?;
                tx.commit().await?;
                written.fetch_add(BATCH as u64, Ordering::Relaxed);
            }
            Ok::<(), sqlx::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a raw database writer panicked")??;
    }
    let elapsed = started.elapsed();
    let cpu = before.until(&CpuSample::take(), watched);
    let wal = wal_before.until(&WalSample::take(&admin).await?);
    db.close().await;
    common::db::server::drop_database_if_exists(&admin, &scratch).await?;
    // Start what follows with the scratch writes flushed, not with a checkpoint due.
    common::db::server::checkpoint(&admin).await?;
    let count = written.load(Ordering::Relaxed);
    Ok((Rate { count, elapsed }, cpu, wal))
}

/// One batch of the rows a worker writes for new time entries: the entity versions and the
/// event log rows, as `workers::webhooks::stage_webhook` stages them.
fn worker_rows(
    workspace_id: &str,
    writer: usize,
    first: usize,
) -> (Vec<(EntityKey, EntityWrite)>, Vec<LogRow>) {
    let kind = EventType::NewTimeEntry.entity_kind().as_str();
    let mut entities = Vec::with_capacity(BATCH);
    let mut log = Vec::with_capacity(BATCH);
    for seq in first..first + BATCH {
        let entity_id = format!("raw-te-{writer}-{seq}");
        let body = payloads::time_entry(
            workspace_id,
            &entity_id,
            &format!("load test entry {seq}"),
            Some("2026-11-30T09:00:00Z"),
        );
        let body_sha256 = sha256_hex(body.to_string().as_bytes());
        let message_id = uuid::Uuid::now_v7();
        let accepted_at = chrono::Utc::now();
        let text = common::json_text::json_text(&body);
        entities.push((
            EntityKey {
                workspace_id: workspace_id.to_owned(),
                kind,
                entity_id: entity_id.clone(),
            },
            EntityWrite {
                data: text.clone(),
                deleted: false,
                body_sha256: body_sha256.clone(),
                observed_at: accepted_at,
                message_id,
            },
        ));
        log.push(LogRow {
            workspace_id: workspace_id.to_owned(),
            message_id,
            source: LogSource::Webhook,
            event_type: EventType::NewTimeEntry.as_str(),
            entity_kind: Some(kind),
            entity_id: Some(entity_id),
            outcome: LogOutcome::Applied,
            reason: None,
            request_id: uuid::Uuid::new_v4().to_string(),
            accepted_at,
            body_sha256: Some(body_sha256),
            payload: Some(text),
        });
    }
    (entities, log)
}
