//! A TCP forwarder in front of a shared service, which a test can switch off (existing
//! connections cut, new ones refused) and on again on the same port: the service becomes
//! unreachable for whoever was pointed at the forwarder, and no one else notices.

use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

/// A forwarder from a local port to `target`.
pub struct Forwarder {
    pub address: SocketAddr,
    target: SocketAddr,
    running: Mutex<Option<CancellationToken>>,
}

impl Forwarder {
    /// Starts forwarding from a free local port to `target` (e.g. `127.0.0.1:5672`).
    pub async fn start(target: &str) -> Self {
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
        let target = self.target;
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
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.switch_off();
    }
}
