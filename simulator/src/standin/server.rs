//! Starting and stopping the stand-in.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::StandInConfig;
use super::connection::{AbortableListener, ConnectionAbort};
use super::faults::FaultScript;
use super::recorder::Recorder;
use super::routes::router;
use super::shared::Shared;

/// How long `stop` lets in-flight requests finish before cutting them off.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A running stand-in. Dropping it stops accepting connections; `stop` also waits for the
/// server to wind down.
pub struct StandIn {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Binds `bind` (port 0 picks a free port) and serves until stopped. Fails on a bind error or
    /// an unreadable `public_key_pem`.
    pub async fn start(config: StandInConfig, bind: SocketAddr) -> io::Result<StandIn> {
        let shared = Arc::new(Shared::from_config(config)?);
        let listener = TcpListener::bind(bind).await?;
        let address = listener.local_addr()?;
        let app =
            router(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnectionAbort>();
        let shutdown = CancellationToken::new();
        let serve = axum::serve(AbortableListener(listener), app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(async move {
            if let Err(error) = serve.await {
                tracing::warn!(%error, "stand-in server failed");
            }
        });
        Ok(StandIn {
            address,
            shared,
            shutdown,
            server: Some(server),
        })
    }

    /// The bound address (the real port when bound to port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT/api`: what INSTALLED's `apiUrl` and the tokens' `backendUrl`
    /// point at. An unspecified bind address is reported as loopback, which is reachable.
    pub fn api_url(&self) -> String {
        let mut address = self.address;
        if address.ip().is_unspecified() {
            address.set_ip(match address {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{address}/api")
    }

    /// Scripted faults, applied before anything else to matching requests.
    pub fn faults(&self) -> &FaultScript {
        &self.shared.faults
    }

    /// What the stand-in was asked, and answered.
    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    /// Replaces an entity of workspace `ws`'s list `list` (`users`, `clients`, `tags`,
    /// `tasks:{projectId}`, `time_entries:{userId}`, `invoices`, ... as a bootstrap names its
    /// units) with `entity`, matched by its `id`, without sending any webhook. Time-entry changes
    /// show in the change feeds. `false` when there is no such workspace.
    pub fn change_entity(&self, ws: &str, list: &str, entity: serde_json::Value) -> bool {
        self.with_changes(ws, |changes| changes.change(list, entity))
    }

    /// Adds `entity` to a list, without sending any webhook.
    pub fn add_entity(&self, ws: &str, list: &str, entity: serde_json::Value) -> bool {
        self.with_changes(ws, |changes| changes.add(list, entity))
    }

    /// Deletes entity `id` (which was `entity`) from a list, without sending any webhook.
    pub fn delete_entity(&self, ws: &str, list: &str, id: &str, entity: serde_json::Value) -> bool {
        self.with_changes(ws, |changes| changes.delete(list, id, entity))
    }

    fn with_changes(&self, ws: &str, apply: impl FnOnce(&mut super::changes::Changes)) -> bool {
        match self.shared.workspaces.get(ws) {
            Some(workspace) => {
                apply(&mut workspace.changes());
                true
            }
            None => false,
        }
    }

    /// Stops accepting, lets in-flight requests finish for a short grace period, then cuts off.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(STOP_GRACE, &mut server).await.is_err()
        {
            server.abort();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
