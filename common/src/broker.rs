//! RabbitMQ: connection pool, queue names and the topology both tiers declare at start.
//!
//! Events go to `EVENT_PARTITIONS` durable quorum queues, each with a single active consumer, so
//! one workspace's events apply in order while workspaces proceed in parallel. Messages rejected
//! by a worker, or delivered more than `MAX_DELIVERY_ATTEMPTS` times, are dead-lettered to a
//! quorum queue of their own where an operator can see them.

use deadpool_lapin::{Pool, Runtime};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ConnectionProperties, ExchangeKind};

use crate::config::{Config, DEFAULT_API_CALL_PARTITIONS, DEFAULT_BOOTSTRAP_PARTITIONS};
use crate::jobs::{JobMessage, JobQueue};
use crate::messages::partition_of;

/// Queue and exchange names under one prefix, so tests and tenants can share a broker.
#[derive(Debug, Clone)]
pub struct QueueNames {
    prefix: String,
    partitions: u16,
    bootstrap_partitions: u16,
    api_call_partitions: u16,
}

impl QueueNames {
    pub fn new(prefix: &str, partitions: u16) -> Self {
        Self {
            prefix: prefix.to_owned(),
            partitions,
            bootstrap_partitions: DEFAULT_BOOTSTRAP_PARTITIONS,
            api_call_partitions: DEFAULT_API_CALL_PARTITIONS,
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self {
            prefix: config.queue_prefix.clone(),
            partitions: config.event_partitions,
            bootstrap_partitions: config.bootstrap.partitions,
            api_call_partitions: config.api_call_partitions,
        }
    }

    pub fn partitions(&self) -> u16 {
        self.partitions
    }

    /// The queue of one event partition.
    pub fn event_partition(&self, partition: u16) -> String {
        format!("{}.events.{partition}", self.prefix)
    }

    /// Every event partition queue, in order.
    pub fn event_partitions(&self) -> Vec<String> {
        (0..self.partitions)
            .map(|p| self.event_partition(p))
            .collect()
    }

    /// One bootstrap partition. Bootstrap units and installation jobs are long and paced by the
    /// workspace's rate limit, so they have queues of their own (never delaying events), split by
    /// workspace so one workspace's backlog does not hold up another's import.
    pub fn bootstrap_partition(&self, partition: u16) -> String {
        format!("{}.bootstrap.{partition}", self.prefix)
    }

    /// Every bootstrap partition queue, in order.
    pub fn bootstrap_partitions(&self) -> Vec<String> {
        (0..self.bootstrap_partitions)
            .map(|p| self.bootstrap_partition(p))
            .collect()
    }

    /// The queue a job message goes to.
    pub fn job_queue(&self, message: &JobMessage) -> String {
        match message.queue() {
            JobQueue::Bootstrap => self.bootstrap_partition(partition_of(
                &message.workspace_id,
                self.bootstrap_partitions,
            )),
            JobQueue::ApiCalls => self.api_call_partition(partition_of(
                &message.workspace_id,
                self.api_call_partitions,
            )),
        }
    }

    /// One API Studio call partition. Calls are split by workspace like bootstrap units; what
    /// keeps one workspace's backlog from delaying another's call is the per-workspace cap
    /// (`API_CALL_MAX_PENDING_PER_WORKSPACE`), kept below the slots a worker runs per queue.
    pub fn api_call_partition(&self, partition: u16) -> String {
        format!("{}.api-calls.{partition}", self.prefix)
    }

    /// Every API call partition queue, in order.
    pub fn api_call_partitions(&self) -> Vec<String> {
        (0..self.api_call_partitions)
            .map(|p| self.api_call_partition(p))
            .collect()
    }

    /// Where failed messages end up.
    pub fn dead_letters(&self) -> String {
        format!("{}.dead-letters", self.prefix)
    }

    fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    /// Every queue, for clean-up in tests and for readiness checks.
    pub fn all(&self) -> Vec<String> {
        let mut all = self.event_partitions();
        all.extend(self.bootstrap_partitions());
        all.extend(self.api_call_partitions());
        all.push(self.dead_letters());
        all
    }
}

/// A pool of broker connections; a broken connection is replaced on the next checkout.
pub fn connection_pool(amqp_url: &str) -> anyhow::Result<Pool> {
    let config = deadpool_lapin::Config {
        url: Some(amqp_url.to_owned()),
        ..Default::default()
    };
    Ok(config.create_pool(ConnectionProperties::default, Runtime::Tokio1)?)
}

/// Connects through `pool` and declares the topology on a channel of its own.
pub async fn declare_topology_with(
    pool: &Pool,
    names: &QueueNames,
    max_delivery_attempts: u32,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let connection = pool.get().await.context("connecting to RabbitMQ")?;
    let channel = connection
        .create_channel()
        .await
        .context("opening a RabbitMQ channel")?;
    declare_topology(&channel, names, max_delivery_attempts)
        .await
        .context("declaring the queue topology")?;
    let _ = channel.close(200, "topology declared".into()).await;
    Ok(())
}

/// Declares the whole topology. Idempotent: whichever tier starts first creates it.
pub async fn declare_topology(
    channel: &Channel,
    names: &QueueNames,
    max_delivery_attempts: u32,
) -> lapin::Result<()> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            names.dead_letter_exchange().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(names.dead_letters().into(), durable, quorum_arguments(None))
        .await?;
    channel
        .queue_bind(
            names.dead_letters().into(),
            names.dead_letter_exchange().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let dead_letter = Some((names.dead_letter_exchange(), max_delivery_attempts));
    for queue in names.event_partitions() {
        let mut arguments = quorum_arguments(dead_letter.clone());
        arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        channel
            .queue_declare(queue.into(), durable, arguments)
            .await?;
    }
    for queue in names
        .bootstrap_partitions()
        .into_iter()
        .chain(names.api_call_partitions())
    {
        channel
            .queue_declare(queue.into(), durable, quorum_arguments(dead_letter.clone()))
            .await?;
    }
    Ok(())
}

fn quorum_arguments(dead_letter: Option<(String, u32)>) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    if let Some((exchange, attempts)) = dead_letter {
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from(exchange)),
        );
        arguments.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(attempts.min(i32::MAX as u32) as i32),
        );
    }
    arguments
}

/// A short string for lapin's APIs.
pub fn short(value: &str) -> ShortString {
    ShortString::from(value)
}
