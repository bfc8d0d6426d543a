//! What a consumer does with a message once its handler is through: the one vocabulary every
//! consumer speaks, the event partitions' and the job queues' alike.

/// Done, retry later, or give up with a reason. `T` is what a finished handler hands back (the
/// event batch's follow-up jobs; nothing for a job).
#[derive(Debug)]
pub enum Disposition<T = ()> {
    /// Finished: its effects are committed, or its failure is recorded where users see it. Ack.
    Done(T),
    /// Not now: back to the queue, to be tried again (shutdown, or a failure that says nothing
    /// about the message, such as the database being away). The delivery limit dead-letters a
    /// message that keeps coming back.
    RetryLater(&'static str),
    /// Never: the message cannot succeed. Dead-lettered, with the reason logged.
    GiveUp(String),
}

impl Disposition {
    /// A job that finished.
    pub fn done() -> Self {
        Disposition::Done(())
    }
}

impl<T> Disposition<T> {
    /// The metric label: a closed set.
    pub fn label(&self) -> &'static str {
        match self {
            Disposition::Done(_) => "done",
            Disposition::RetryLater(_) => "retried",
            Disposition::GiveUp(_) => "dead_lettered",
        }
    }
}
