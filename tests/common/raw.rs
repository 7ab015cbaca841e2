//! A minimal HTTP/1.1 client over a raw socket, for the hostile suites
//! (`hostile.rs`, `hostile_objects.rs`): requests are sent byte for byte, so
//! nothing is tidied up by a client library on the way.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a read waits for the server.
pub const WAIT: Duration = Duration::from_secs(15);

/// A response as read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// The head, header names and values lowercased.
    pub head: String,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One connection, with whatever was read past the last response.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        Conn {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes`; a refused write is the server closing early,
    /// which the caller sees when it reads.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads more bytes; `false` on EOF or reset.
    pub async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(WAIT, self.stream.read(&mut chunk)).await {
            Err(_) => panic!("no bytes from the server within {WAIT:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response (`head`: to a HEAD request, so no body whatever
    /// `content-length` says), or `None` if the server closed first.
    pub async fn response(&mut self, head_request: bool) -> Option<Raw> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if !self.fill().await {
                assert!(
                    self.buf.is_empty(),
                    "connection closed mid-response: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let mut raw = Raw {
            status,
            head,
            body: Vec::new(),
        };
        let len: usize = if head_request {
            0
        } else {
            raw.header("content-length")
                .map_or(0, |v| v.parse().expect("a numeric content-length"))
        };
        let start = head_end + 4;
        while self.buf.len() < start + len {
            assert!(self.fill().await, "connection closed mid-body");
        }
        raw.body = self.buf[start..start + len].to_vec();
        self.buf.drain(..start + len);
        Some(raw)
    }

    /// Whether the server closes the connection (EOF or reset) within the wait.
    pub async fn closes(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(WAIT, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A request: method, target and version, `host`, the headers given, and a
/// `content-length` for a non-empty body.
pub fn http(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    http_v("HTTP/1.1", method, target, headers, body)
}

/// [`http`] with another protocol version.
pub fn http_v(
    version: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} {version}\r\nhost: 127.0.0.1\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The same with a hand-chunked body (`chunks`, then the last chunk).
pub fn http_chunked(
    method: &str,
    target: &str,
    headers: &[(&str, &[u8])],
    chunks: &[&[u8]],
) -> Vec<u8> {
    let mut all = headers.to_vec();
    all.push(("transfer-encoding", b"chunked"));
    let mut out = http(method, target, &all, b"");
    for c in chunks {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// `GET /_mock/health`, for checking a connection or the server after a case.
pub const HEALTH: &[u8] = b"GET /_mock/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/// After the error response: whether the connection must stay usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// A health check on the same socket must answer 200.
    KeepAlive,
    /// The server must close the connection; the reason is in the case.
    Closes,
}

/// What a hostile case must leave behind once its error is read: `conn`
/// usable (a health check on it answers 200) or closed, as `after` says, and
/// the server healthy on a fresh connection.
pub async fn check_after(conn: &mut Conn, after: After, addr: SocketAddr) -> Result<(), String> {
    match after {
        After::KeepAlive => {
            conn.send(HEALTH)
                .await
                .map_err(|e| format!("connection unusable after the error: {e}"))?;
            match conn.response(false).await {
                Some(r) if r.status == 200 => {}
                Some(r) => return Err(format!("health on the same socket gave {}", r.status)),
                None => return Err("connection closed after the error response".into()),
            }
        }
        After::Closes => {
            if !conn.closes().await {
                return Err("connection stayed open".into());
            }
        }
    }
    let mut fresh = Conn::open(addr).await;
    fresh.send(HEALTH).await.map_err(|e| e.to_string())?;
    match fresh.response(false).await {
        Some(r) if r.status == 200 => Ok(()),
        other => Err(format!("server unhealthy afterwards: {other:?}")),
    }
}
