//! RabbitMQ: connection pool, queue names and the topology both tiers declare at start.
//!
//! Events go to `EVENT_PARTITIONS` durable quorum queues, each with a single active consumer, so
//! one workspace's events apply in order while workspaces proceed in parallel. Messages rejected
//! by a worker, or delivered more than `MAX_DELIVERY_ATTEMPTS` times, are dead-lettered to a
//! quorum queue of their own where an operator can see them.
//!
//! Each event partition holds at most `EVENT_QUEUE_MAX_LENGTH` messages (`x-max-length` with
//! `x-overflow: reject-publish`): past it the broker nacks publishes, ingress answers 503, and a
//! flood cannot fill the broker's disk.

use deadpool_lapin::{Pool, Runtime};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ConnectionProperties, ExchangeKind};

use crate::config::{Config, DEFAULT_API_CALL_PARTITIONS, DEFAULT_BOOTSTRAP_PARTITIONS};
use crate::job_messages::{JobMessage, JobQueue};
use crate::messages::partition_of;

/// Queue and exchange names under one prefix, so tests and tenants can share a broker.
#[derive(Debug, Clone)]
pub struct QueueNames {
    prefix: String,
    partitions: u16,
    bootstrap_partitions: u16,
    api_call_partitions: u16,
    event_max_length: Option<u32>,
    /// `x-message-ttl` of the dead-letter queue (`DEAD_LETTER_RETENTION_DAYS`).
    dead_letter_ttl_ms: Option<u64>,
}

impl QueueNames {
    pub fn new(prefix: &str, partitions: u16) -> Self {
        Self {
            prefix: prefix.to_owned(),
            partitions,
            bootstrap_partitions: DEFAULT_BOOTSTRAP_PARTITIONS,
            api_call_partitions: DEFAULT_API_CALL_PARTITIONS,
            event_max_length: None,
            dead_letter_ttl_ms: None,
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self {
            prefix: config.queue_prefix.clone(),
            partitions: config.event_partitions,
            bootstrap_partitions: config.bootstrap.partitions,
            api_call_partitions: config.api_call_partitions,
            event_max_length: Some(config.event_queue_max_length),
            dead_letter_ttl_ms: Some(u64::from(config.retention.dead_letter_days) * 86_400_000),
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
///
/// An event partition that already exists with other arguments (declared before
/// `EVENT_QUEUE_MAX_LENGTH` existed, or with another length) is used as it is, with a loud
/// warning: RabbitMQ refuses to redeclare a queue with different arguments, and a policy is the
/// way to change a live queue's limit (README, "Limits against hostile clients").
pub async fn declare_topology_with(
    pool: &Pool,
    names: &QueueNames,
    max_delivery_attempts: u32,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let connection = pool.get().await.context("connecting to RabbitMQ")?;
    let open = || async {
        connection
            .create_channel()
            .await
            .context("opening a RabbitMQ channel")
    };
    let mut channel = open().await?;
    match declare_dead_letters(&channel, names).await {
        Ok(()) => {}
        Err(error) if is_precondition_failed(&error) => {
            tracing::error!(
                queue = names.dead_letters().as_str(),
                fix = DEAD_LETTER_POLICY_HINT,
                "dead-letter queue exists with other arguments (no or another message TTL); using it as it is"
            );
            channel = open().await?;
            bind_dead_letters(&channel, names)
                .await
                .context("binding the existing dead-letter queue")?;
        }
        Err(error) => return Err(error).context("declaring the dead-letter queue"),
    }
    for queue in names.event_partitions() {
        let declared = channel
            .queue_declare(
                queue.as_str().into(),
                durable(),
                event_arguments(names, max_delivery_attempts),
            )
            .await;
        match declared {
            Ok(_) => {}
            Err(error) if is_precondition_failed(&error) => {
                tracing::error!(
                    queue = queue.as_str(),
                    max_length = names.event_max_length,
                    fix = POLICY_HINT,
                    "event queue exists with other arguments (no or another maximum length); using it as it is"
                );
                // The refused declare closed the channel.
                channel = open().await?;
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                };
                channel
                    .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                    .await
                    .with_context(|| format!("checking the existing queue {queue}"))?;
            }
            Err(error) => {
                return Err(error).with_context(|| format!("declaring the queue {queue}"));
            }
        }
    }
    declare_job_queues(&channel, names, max_delivery_attempts)
        .await
        .context("declaring the job queues")?;
    let _ = channel.close(200, "topology declared".into()).await;
    Ok(())
}

/// Declares the whole topology. Idempotent: whichever tier starts first creates it.
pub async fn declare_topology(
    channel: &Channel,
    names: &QueueNames,
    max_delivery_attempts: u32,
) -> lapin::Result<()> {
    declare_dead_letters(channel, names).await?;
    for queue in names.event_partitions() {
        channel
            .queue_declare(
                queue.into(),
                durable(),
                event_arguments(names, max_delivery_attempts),
            )
            .await?;
    }
    declare_job_queues(channel, names, max_delivery_attempts).await
}

/// How an operator gives an existing dead-letter queue its message TTL.
const DEAD_LETTER_POLICY_HINT: &str = r#"rabbitmqctl set_policy dead-letter-ttl '^<QUEUE_PREFIX>\.dead-letters$' '{"message-ttl":1209600000}' --apply-to queues"#;

/// How an operator bounds queues that were declared before the limit existed.
const POLICY_HINT: &str = r#"rabbitmqctl set_policy event-queue-limit '^<QUEUE_PREFIX>\.events\.' '{"max-length":N,"overflow":"reject-publish"}' --apply-to queues"#;

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

async fn declare_dead_letters(channel: &Channel, names: &QueueNames) -> lapin::Result<()> {
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
    let mut arguments = quorum_arguments(None);
    if let Some(ttl) = names.dead_letter_ttl_ms {
        arguments.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(i64::try_from(ttl).unwrap_or(i64::MAX)),
        );
    }
    channel
        .queue_declare(names.dead_letters().into(), durable(), arguments)
        .await?;
    bind_dead_letters(channel, names).await
}

async fn bind_dead_letters(channel: &Channel, names: &QueueNames) -> lapin::Result<()> {
    channel
        .queue_bind(
            names.dead_letters().into(),
            names.dead_letter_exchange().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// An event partition: dead-lettered, one active consumer, and bounded when configured.
fn event_arguments(names: &QueueNames, max_delivery_attempts: u32) -> FieldTable {
    let mut arguments =
        quorum_arguments(Some((names.dead_letter_exchange(), max_delivery_attempts)));
    arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    if let Some(max_length) = names.event_max_length {
        arguments.insert(
            "x-max-length".into(),
            AMQPValue::LongLongInt(i64::from(max_length)),
        );
        arguments.insert(
            "x-overflow".into(),
            AMQPValue::LongString(LongString::from("reject-publish")),
        );
    }
    arguments
}

async fn declare_job_queues(
    channel: &Channel,
    names: &QueueNames,
    max_delivery_attempts: u32,
) -> lapin::Result<()> {
    let dead_letter = Some((names.dead_letter_exchange(), max_delivery_attempts));
    for queue in names
        .bootstrap_partitions()
        .into_iter()
        .chain(names.api_call_partitions())
    {
        channel
            .queue_declare(
                queue.into(),
                durable(),
                quorum_arguments(dead_letter.clone()),
            )
            .await?;
    }
    Ok(())
}

/// The broker's 406: the queue exists with other arguments.
fn is_precondition_failed(error: &lapin::Error) -> bool {
    matches!(
        error.kind(),
        lapin::ErrorKind::ProtocolError(amqp) if matches!(
            amqp.kind(),
            lapin::protocol::AMQPErrorKind::Soft(lapin::protocol::AMQPSoftError::PRECONDITIONFAILED)
        )
    )
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
