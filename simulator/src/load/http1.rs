//! The load's webhook sender: plain HTTP/1.1 over one keep-alive connection per sender, the
//! request written from one buffer and the answer parsed with `httparse`, as wrk sends. The load
//! tool shares the machine with what it measures, so what it spends per request is taken from the
//! system under test: this costs a fraction of a general-purpose client's per-request work (a
//! URL parsed, a header map built, a timer armed and a task hop per request). Only `http://`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use common::events::EventType;

use crate::scenario::DemoWorkspace;

/// The most response headers read; ingress sends a handful.
const MAX_HEADERS: usize = 32;

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the webhooks go: ingress's address and the `Host` it is called by.
#[derive(Debug, Clone)]
pub struct Target {
    address: SocketAddr,
    host: String,
}

impl Target {
    /// Resolves an `http://host:port` base URL.
    pub async fn resolve(base_url: &str) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(base_url).with_context(|| format!("parsing {base_url}"))?;
        anyhow::ensure!(
            url.scheme() == "http",
            "the load sends plain HTTP/1.1; {base_url} is not http://"
        );
        let host = url.host_str().context("a base URL without a host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        let address = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .with_context(|| format!("{host} resolves to no address"))?;
        Ok(Self {
            address,
            host: format!("{host}:{port}"),
        })
    }
}

/// One keep-alive connection to ingress, opened on first use and again after a failure.
pub struct Sender {
    target: Target,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Sender {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            stream: None,
            request: Vec::with_capacity(4096),
            response: Vec::with_capacity(1024),
        }
    }

    /// Delivers one webhook as Clockify does (its signature token and event type headers) and
    /// returns the answer's status, or 0 when the connection failed or the answer did not come.
    pub async fn deliver(
        &mut self,
        workspace: &DemoWorkspace,
        event: EventType,
        body: &serde_json::Value,
    ) -> u16 {
        let token = workspace.webhook_token(event);
        self.request.clear();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nClockify-Signature: {token}\r\n\
             Clockify-Webhook-Event-Type: {}\r\nContent-Type: application/json\r\n",
            event.path(),
            self.target.host,
            event.as_str(),
        );
        self.request.extend_from_slice(head.as_bytes());
        let Ok(json) = serde_json::to_vec(body) else {
            return 0;
        };
        self.request
            .extend_from_slice(format!("Content-Length: {}\r\n\r\n", json.len()).as_bytes());
        self.request.extend_from_slice(&json);
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange()).await {
            Ok(Ok(status)) => status,
            Ok(Err(_)) | Err(_) => {
                self.stream = None;
                0
            }
        }
    }

    /// Writes the request and reads one whole answer; keeps the connection unless it is closing.
    async fn exchange(&mut self) -> anyhow::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.target.address).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.response.clear();
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream.write_all(&self.request).await?;
        loop {
            if let Some(answer) = parse_answer(&self.response)? {
                self.response.drain(..answer.length);
                if answer.closing {
                    self.stream = None;
                }
                return Ok(answer.status);
            }
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "ingress closed the connection");
            self.response.extend_from_slice(&chunk[..read]);
        }
    }
}

/// A complete answer at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    /// Bytes of head and body together.
    length: usize,
    /// `Connection: close`: the server ends the connection after it.
    closing: bool,
}

/// The answer at the start of `buffer` once all of it is there (`None` until then). Bodies must
/// come with a `Content-Length`, as every answer of ingress does.
fn parse_answer(buffer: &[u8]) -> anyhow::Result<Option<Answer>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = response.parse(buffer)? else {
        return Ok(None);
    };
    let status = response.code.context("an answer without a status")?;
    let mut body = 0usize;
    let mut closing = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            body = std::str::from_utf8(header.value)?.trim().parse()?;
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            anyhow::bail!("a chunked answer; the load expects a Content-Length");
        } else if header.name.eq_ignore_ascii_case("connection") {
            closing = header.value.eq_ignore_ascii_case(b"close");
        }
    }
    let length = head + body;
    Ok((buffer.len() >= length).then_some(Answer {
        status,
        length,
        closing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_complete_once_its_head_and_body_are_in() {
        let whole = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 503";
        assert_eq!(parse_answer(&whole[..20]).expect("valid"), None);
        // The head is in, the body not yet.
        assert_eq!(parse_answer(&whole[..39]).expect("valid"), None);
        let answer = parse_answer(whole).expect("valid").expect("complete");
        assert_eq!(
            answer,
            Answer {
                status: 200,
                length: 40,
                closing: false
            }
        );
    }

    #[test]
    fn a_closing_answer_is_noticed_and_a_chunked_one_refused() {
        let closing =
            b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\ncontent-length: 0\r\n\r\n";
        let answer = parse_answer(closing).expect("valid").expect("complete");
        assert_eq!((answer.status, answer.closing), (429, true));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(parse_answer(chunked).is_err());
    }

    /// Reads one request off `stream`: its head, then as many body bytes as it declares.
    async fn read_request(stream: &mut TcpStream) -> String {
        let mut buffer = Vec::new();
        loop {
            let text = String::from_utf8_lossy(&buffer).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .expect("a Content-Length")
                    .parse()
                    .expect("a number");
                if buffer.len() >= end + 4 + length {
                    return text;
                }
            }
            let mut chunk = [0u8; 1024];
            let read = stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "the sender closed mid-request");
            buffer.extend_from_slice(&chunk[..read]);
        }
    }

    #[tokio::test]
    async fn webhooks_go_over_one_connection_until_the_server_closes_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.expect("first connection");
            let request = read_request(&mut first).await;
            first
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .expect("write");
            read_request(&mut first).await;
            first
                .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                .await
                .expect("write");
            drop(first);
            let (mut second, _) = listener.accept().await.expect("second connection");
            read_request(&mut second).await;
            second
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .await
                .expect("write");
            request
        });
        let target = Target::resolve(&format!("http://{address}"))
            .await
            .expect("target");
        let workspace = DemoWorkspace {
            workspace_id: "ws-1".to_owned(),
            addon_id: "addon-1".to_owned(),
            webhook_tokens: vec![(EventType::NewTimeEntry, "signed-token".to_owned())],
        };
        let body = serde_json::json!({"id": "te-1", "workspaceId": "ws-1"});
        let mut sender = Sender::new(target);
        let statuses = [
            sender
                .deliver(&workspace, EventType::NewTimeEntry, &body)
                .await,
            sender
                .deliver(&workspace, EventType::NewTimeEntry, &body)
                .await,
            sender
                .deliver(&workspace, EventType::NewTimeEntry, &body)
                .await,
        ];
        assert_eq!(statuses, [200, 200, 503]);
        let request = server.await.expect("server");
        assert!(request.starts_with("POST /webhooks/new-time-entry HTTP/1.1\r\n"));
        assert!(request.contains("\r\nClockify-Signature: signed-token\r\n"));
        assert!(request.contains("\r\nClockify-Webhook-Event-Type: NEW_TIME_ENTRY\r\n"));
        assert!(request.ends_with(&body.to_string()));
    }
}
