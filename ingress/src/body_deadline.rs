//! The request body timeout: a body not received in full within `INGRESS_BODY_TIMEOUT_SECS` of
//! the handler starting to read it ends with [`BodyReadTimeout`], which `read_limited` turns into
//! a 408. The clock starts at the first read, so a handler's checks before reading (signature,
//! auth) do not eat into it, and a body never read costs nothing.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use prometheus::IntCounter;
use tokio::time::Sleep;

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within {0:?}")]
pub struct BodyReadTimeout(pub Duration);

/// The deadline every body gets, and the counter of bodies that missed it.
#[derive(Clone)]
pub struct BodyDeadline {
    pub timeout: Duration,
    pub missed: IntCounter,
}

/// Middleware: puts every request body under the deadline.
pub async fn limit_body_time(
    State(deadline): State<BodyDeadline>,
    request: Request,
    next: Next,
) -> Response {
    next.run(request.map(|body| Body::new(DeadlineBody::new(body, deadline))))
        .await
}

/// A body that fails once `timeout` has passed since it was first polled.
struct DeadlineBody {
    inner: Body,
    limit: BodyDeadline,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Body, limit: BodyDeadline) -> Self {
        Self {
            inner,
            limit,
            deadline: None,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        let timeout = this.limit.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.limit.missed.inc();
                Poll::Ready(Some(Err(Box::new(BodyReadTimeout(timeout)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` (or what caused it) is a body timeout.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyReadTimeout>() {
            return true;
        }
        current = error.source();
    }
    false
}
