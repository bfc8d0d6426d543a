//! Real dropped connections: every accepted socket carries an abort switch that a handler can
//! flip; from then on the socket refuses to read or write and is closed with a TCP reset, so the
//! client sees its request sent and no answer, as when a proxy or Clockify itself fails mid-way.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The abort switch of one connection, handed to handlers as `ConnectInfo`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionAbort(Arc<AtomicBool>);

impl ConnectionAbort {
    /// Makes the connection fail instead of writing whatever answer is produced next.
    pub(crate) fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, AbortableListener>> for ConnectionAbort {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        stream.io().abort.clone()
    }
}

/// A TCP listener whose connections can be aborted.
#[derive(Debug)]
pub(crate) struct AbortableListener(pub(crate) TcpListener);

impl Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, address)) => {
                    let stream = AbortableStream {
                        inner,
                        abort: ConnectionAbort::default(),
                    };
                    return (stream, address);
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::debug!(%error, "stand-in accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that fails every operation once its switch is flipped.
#[derive(Debug)]
pub(crate) struct AbortableStream {
    inner: TcpStream,
    abort: ConnectionAbort,
}

impl AbortableStream {
    /// `Err` once aborted; arms a zero linger so closing the socket sends a reset, not a FIN.
    fn check(&self) -> io::Result<()> {
        if !self.abort.is_triggered() {
            return Ok(());
        }
        if let Err(error) = self.inner.set_zero_linger() {
            tracing::debug!(%error, "could not arm a reset on an aborted stand-in connection");
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection dropped by a stand-in fault",
        ))
    }
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
