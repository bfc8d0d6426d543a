//! Commits outbox rows in batches: while the broker is away every event is an outbox write, and
//! one transaction per event (a WAL flush and a pooled connection each) held ingress under the
//! RabbitMQ restart drill's 320 events a second on a 2-core machine; requests then waited past
//! the pool's acquire timeout and were answered 503.
//!
//! A request hands its row to [`OutboxWriter::write`] and waits for the commit of the batch it
//! joined. A few writer tasks each take whatever rows are waiting (up to [`BATCH`]) and insert
//! them in one statement, so a busy second costs a few dozen commits, not hundreds. A request
//! answered 200 has had its row committed; rows of requests still in flight together carry no
//! order between them, and a request sent after another's answer joins a later batch.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use common::db::outbox::{NewRow, insert_many};

/// Rows in one insert at most.
const BATCH: usize = 256;
/// Writer tasks: while one waits for its commit, another gathers the next batch.
const WRITERS: usize = 4;
/// Rows waiting for a writer at most; a request beyond it waits to hand its row over.
const QUEUE: usize = 4 * BATCH;

type Pending = (NewRow, oneshot::Sender<Result<(), String>>);

/// The handle requests write through; cheap to clone.
#[derive(Clone)]
pub struct OutboxWriter {
    rows: mpsc::Sender<Pending>,
}

impl OutboxWriter {
    /// Starts the writer tasks on `db`; they end when every handle is dropped.
    pub fn start(db: PgPool) -> Self {
        let (rows, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..WRITERS {
            tokio::spawn(run_writer(db.clone(), receiver.clone()));
        }
        Self { rows }
    }

    /// Commits `row`; Err (the database's error, as text) when its batch could not be committed.
    pub async fn write(&self, row: NewRow) -> Result<(), String> {
        let (done, committed) = oneshot::channel();
        self.rows
            .send((row, done))
            .await
            .map_err(|_| "the outbox writers stopped".to_owned())?;
        committed
            .await
            .map_err(|_| "the outbox writer ended before the commit".to_owned())?
    }
}

async fn run_writer(db: PgPool, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        {
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, BATCH).await == 0 {
                return;
            }
        }
        let (rows, waiting): (Vec<NewRow>, Vec<_>) = batch.into_iter().unzip();
        let outcome = insert_many(&db, &rows).await.map_err(|e| e.to_string());
        for done in waiting {
            let _ = done.send(outcome.clone());
        }
    }
}
