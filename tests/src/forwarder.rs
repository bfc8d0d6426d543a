//! A TCP forwarder in front of a shared service, which a test can switch off (existing
//! connections cut, new ones refused) and on again on the same port: the service becomes
//! unreachable for whoever was pointed at the forwarder, and no one else notices. It can also
//! hold what the service sends back for a while, as a slow network would.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A forwarder from a local port to `target`.
pub struct Forwarder {
    pub address: SocketAddr,
    target: SocketAddr,
    /// How long what the service sends is held before it is passed on.
    reply_delay: Duration,
    running: Mutex<Option<CancellationToken>>,
}

impl Forwarder {
    /// Starts forwarding from a free local port to `target` (e.g. `127.0.0.1:5672`).
    pub async fn start(target: &str) -> Self {
        Self::start_with_reply_delay(target, Duration::ZERO).await
    }

    /// As [`Forwarder::start`], holding each piece of what the service sends for `delay` before
    /// passing it on, in order (what the client sends goes through at once).
    pub async fn start_with_reply_delay(target: &str, delay: Duration) -> Self {
        let target: SocketAddr = target.parse().expect("a socket address");
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        let address = socket.local_addr().expect("bound address");
        let forwarder = Self {
            address,
            target,
            reply_delay: delay,
            running: Mutex::new(None),
        };
        forwarder.serve(socket);
        forwarder
    }

    /// The AMQP URL that reaches RabbitMQ through this forwarder.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.address)
    }

    /// Cuts every forwarded connection and refuses new ones.
    pub fn switch_off(&self) {
        if let Some(token) = self.running.lock().expect("lock").take() {
            token.cancel();
        }
    }

    /// Listens on the same port again.
    pub fn switch_on(&self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket
            .bind(self.address)
            .expect("rebinding the forwarder's port");
        self.serve(socket);
    }

    fn serve(&self, socket: TcpSocket) {
        let listener = socket.listen(64).expect("listen");
        let token = CancellationToken::new();
        *self.running.lock().expect("lock") = Some(token.clone());
        let (target, delay) = (self.target, self.reply_delay);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = token.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                let token = token.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        () = token.cancelled() => {}
                        _ = forward(&mut inbound, &mut outbound, delay) => {}
                    }
                });
            }
        });
    }
}

/// Copies both ways until either side closes, holding the service's replies for `delay`.
async fn forward(client: &mut TcpStream, service: &mut TcpStream, delay: Duration) {
    if delay.is_zero() {
        let _ = tokio::io::copy_bidirectional(client, service).await;
        return;
    }
    let (mut client_read, mut client_write) = client.split();
    let (mut service_read, mut service_write) = service.split();
    let (held, mut due) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let requests = tokio::io::copy(&mut client_read, &mut service_write);
    let replies_in = async move {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(read) = service_read.read(&mut buffer).await {
            if read == 0
                || held
                    .send((tokio::time::Instant::now() + delay, buffer[..read].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    };
    let replies_out = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if client_write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        () = async { tokio::join!(replies_in, replies_out); } => {}
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.switch_off();
    }
}
