//! Per-connection timeouts that hyper cannot express by itself: a request's headers must arrive
//! within the header timeout, and a kept-alive connection with no request in progress is closed
//! after the idle timeout.
//!
//! hyper's own `header_read_timeout` starts as soon as it waits for the next request, so on a
//! kept-alive connection it would also be the idle timeout. Here the two are apart: a fresh
//! connection has the header timeout to deliver its first request's headers; between requests
//! the idle timeout runs until a byte arrives, and from that byte the header timeout runs. While
//! a request is being handled neither runs (the body has its own timeout, see `body_deadline`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Which timeout closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Header,
    Idle,
}

impl Expiry {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::Header => "header",
            Expiry::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request: since when, and since when its first byte is here, if it is.
    Waiting {
        since: Instant,
        first_byte: Option<Instant>,
        fresh: bool,
    },
    /// Requests being handled (hyper handles one at a time on HTTP/1; a count stays correct).
    Serving(usize),
}

/// The state of one connection, shared by its stream, its service and its watchdog.
pub struct ConnectionClock {
    phase: Mutex<Phase>,
    changed: Notify,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl ConnectionClock {
    pub fn new(header_timeout: Duration, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
                first_byte: None,
                fresh: true,
            }),
            changed: Notify::new(),
            header_timeout,
            idle_timeout,
        })
    }

    fn update(&self, change: impl FnOnce(&mut Phase) -> bool) {
        let changed = change(&mut self.phase.lock().unwrap_or_else(PoisonError::into_inner));
        if changed {
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: if no request is in progress, its headers' clock starts now.
    fn bytes_received(&self) {
        self.update(|phase| match phase {
            Phase::Waiting { first_byte, .. } if first_byte.is_none() => {
                *first_byte = Some(Instant::now());
                true
            }
            _ => false,
        });
    }

    /// hyper parsed a request's headers and hands it to the service.
    pub fn request_started(&self) {
        self.update(|phase| {
            *phase = match *phase {
                Phase::Serving(n) => Phase::Serving(n + 1),
                Phase::Waiting { .. } => Phase::Serving(1),
            };
            true
        });
    }

    /// The service answered (or was dropped): the connection waits for the next request.
    pub fn request_finished(&self) {
        self.update(|phase| {
            *phase = match *phase {
                Phase::Serving(n) if n > 1 => Phase::Serving(n - 1),
                _ => Phase::Waiting {
                    since: Instant::now(),
                    first_byte: None,
                    fresh: false,
                },
            };
            true
        });
    }

    /// When the connection must be closed if nothing changes, and by which timeout.
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        match *self.phase.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Serving(_) => None,
            Phase::Waiting {
                first_byte: Some(at),
                ..
            } => Some((at + self.header_timeout, Expiry::Header)),
            Phase::Waiting {
                since, fresh: true, ..
            } => Some((since + self.header_timeout, Expiry::Header)),
            Phase::Waiting { since, .. } => Some((since + self.idle_timeout, Expiry::Idle)),
        }
    }

    /// Resolves when the connection has outlived its deadline; the caller then drops it.
    pub async fn expired(&self) -> Expiry {
        loop {
            // `notify_one` keeps a permit when nobody waits, so no change is missed here.
            let changed = self.changed.notified();
            match self.deadline() {
                Some((at, expiry)) if at <= Instant::now() => return expiry,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// Marks the clock's request as finished when dropped, whether answered or cancelled.
pub struct RequestGuard(Arc<ConnectionClock>);

impl RequestGuard {
    pub fn start(clock: Arc<ConnectionClock>) -> Self {
        clock.request_started();
        Self(clock)
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The TCP stream, telling the clock when bytes arrive.
pub struct WatchedStream {
    stream: TcpStream,
    clock: Arc<ConnectionClock>,
}

impl WatchedStream {
    pub fn new(stream: TcpStream, clock: Arc<ConnectionClock>) -> Self {
        Self { stream, clock }
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.clock.bytes_received();
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
