//! Shared helpers for the black-box tests: a real server on 127.0.0.1:0 served
//! by `archil_mock::run`, and a small JSON client over real HTTP.
#![allow(dead_code)] // each test binary uses its own subset

pub mod raw;
pub mod segments;

use std::net::SocketAddr;
use std::sync::Arc;

use archil_mock::{App, Config, KeySpec, DEFAULT_KEY};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The built-in key every default server accepts.
pub const KEY: &str = DEFAULT_KEY;

/// A server on a free port, stopped by [`TestServer::stop`] or on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server with the default config (built-in key only).
    pub async fn start() -> TestServer {
        TestServer::with(Config::default()).await
    }

    /// A server with this config.
    pub async fn with(config: Config) -> TestServer {
        let app = App::new(config).expect("config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(archil_mock::run(listener, app.clone(), async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            base: format!("http://{addr}"),
            app,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops accepting, drains, and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Sends a request with an optional key and JSON body; returns status and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client().request(method.parse().unwrap(), self.url(path));
        if let Some(key) = key {
            req = req.header("authorization", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, json)
    }

    /// Sends raw bytes with the given headers; returns status, headers and JSON body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = client()
            .request(method.parse().unwrap(), self.url(path))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, headers, json)
    }

    /// Creates a token with `key`; returns the create response's `data`.
    pub async fn create(&self, key: &str, name: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                "/api/tokens",
                Some(key),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"].clone()
    }

    /// Every token visible to `key`, following cursors with `limit`.
    pub async fn list_all(&self, key: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/tokens?limit={limit}&cursor={c}"),
                None => format!("/api/tokens?limit={limit}"),
            };
            let (status, body) = self.call("GET", &path, Some(key), None).await;
            assert_eq!(status, 200, "{body}");
            out.extend(body["data"]["tokens"].as_array().unwrap().iter().cloned());
            match body.get("nextCursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client that does not pool connections between tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// Asserts the error envelope: status, `success: false`, and a message containing `needle`.
pub fn assert_error(status: u16, body: &Value, expected: u16, needle: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["success"], false, "{body}");
    let msg = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"));
    assert!(msg.contains(needle), "error {msg:?} lacks {needle:?}");
}

// ---------------------------------------------------------------------------
// Disks

/// Whether `id` has a disk id's shape: `dsk-` and 16 lowercase hex digits.
pub fn is_disk_id(id: &str) -> bool {
    id.strip_prefix("dsk-").is_some_and(|hex| {
        hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Writes `fixture` as JSON to a fresh file in the temp directory, named
/// after this process and `name`; returns its path.
pub fn write_fixture(name: &str, fixture: &Value) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("archil-mock-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fixture.json");
    std::fs::write(&path, serde_json::to_vec_pretty(fixture).unwrap()).unwrap();
    path
}

impl TestServer {
    /// A server with the built-in key that also loads `fixture` (written to
    /// a temp file named after `name`).
    pub async fn with_fixture(name: &str, fixture: &Value) -> TestServer {
        TestServer::with(Config {
            fixtures: vec![write_fixture(name, fixture)],
            ..Config::default()
        })
        .await
    }

    /// Creates a disk with `key`; asserts 201 and returns the reply's `data`.
    pub async fn create_disk(&self, key: &str, body: Value) -> Value {
        let (status, reply) = self
            .call("POST", "/api/disks", Some(key), Some(body.clone()))
            .await;
        assert_eq!(status, 201, "{body} gave {reply}");
        assert_eq!(reply["success"], true, "{reply}");
        reply["data"].clone()
    }

    /// Creates a disk named `name` with `key`; returns its id.
    pub async fn create_disk_named(&self, key: &str, name: &str) -> String {
        let data = self
            .create_disk(key, serde_json::json!({ "name": name }))
            .await;
        data["diskId"].as_str().unwrap().to_owned()
    }

    /// `GET /api/disks/{id}` with `key`; asserts 200 and returns `data`.
    pub async fn disk(&self, key: &str, id: &str) -> Value {
        let (status, reply) = self
            .call("GET", &format!("/api/disks/{id}"), Some(key), None)
            .await;
        assert_eq!(status, 200, "{reply}");
        reply["data"].clone()
    }

    /// Every disk visible to `key`, following cursors with `limit`.
    pub async fn list_all_disks(&self, key: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let path = match &cursor {
                Some(c) => format!("/api/disks?limit={limit}&cursor={c}"),
                None => format!("/api/disks?limit={limit}"),
            };
            let (status, body) = self.call("GET", &path, Some(key), None).await;
            assert_eq!(status, 200, "{body}");
            out.extend(body["data"].as_array().unwrap().iter().cloned());
            match body.get("nextCursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("the disk listing never ends");
    }

    /// `GET /_mock/state`'s `data`: the state as a loadable fixture.
    pub async fn state(&self) -> Value {
        let (status, body) = self.call("GET", "/_mock/state", None, None).await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    /// `GET /_mock/requests`'s entries, oldest first.
    pub async fn journal(&self) -> Vec<Value> {
        let (status, body) = self.call("GET", "/_mock/requests", None, None).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["requests"].as_array().unwrap().clone()
    }
}

impl TestServer {
    /// `PUT /{disk}/{key}` through the S3 gateway with `key`; asserts 200.
    /// The key goes in the path as given (reqwest percent-encodes spaces and
    /// non-ASCII), so it must not contain `?`, `#` or `%`.
    pub async fn put_object(&self, key: &str, disk: &str, object: &str, bytes: &[u8]) {
        let resp = client()
            .put(self.url(&format!("/{disk}/{object}")))
            .header("authorization", key)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("the server answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "PUT /{disk}/{object}: {text}");
    }

    /// `DELETE /{disk}/{key}` through the S3 gateway with `key`; asserts 204.
    pub async fn delete_object(&self, key: &str, disk: &str, object: &str) {
        let resp = client()
            .delete(self.url(&format!("/{disk}/{object}")))
            .header("authorization", key)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(resp.status().as_u16(), 204, "DELETE /{disk}/{object}");
    }
}

/// Keys of two accounts, `alice` and `bob`, for [`two_accounts`].
pub const ALICE_KEY: &str = "key-alice-0000000000000000000001";
/// See [`ALICE_KEY`].
pub const BOB_KEY: &str = "key-bob-00000000000000000000000002";

/// A config with two accounts, `alice` and `bob`, and no built-in key.
pub fn two_accounts() -> Config {
    Config {
        keys: vec![
            KeySpec::parse(&format!("alice={ALICE_KEY}"), "default").unwrap(),
            KeySpec::parse(&format!("bob={BOB_KEY}"), "default").unwrap(),
        ],
        ..Config::default()
    }
}

/// The ids of a list of disks, in order.
pub fn disk_ids(disks: &[Value]) -> Vec<String> {
    disks
        .iter()
        .map(|d| d["id"].as_str().expect("every disk has an id").to_owned())
        .collect()
}

/// One valid mount of each type, with every required field.
pub fn full_mounts() -> Vec<Value> {
    vec![
        json!({"type": "s3", "bucketName": "b-s3"}),
        json!({"type": "gcs", "bucketName": "b-gcs", "accessKeyId": "GOOG1EXAMPLE", "secretAccessKey": "gcs-secret-value"}),
        json!({"type": "r2", "bucketName": "b-r2", "bucketEndpoint": "https://acct.r2.cloudflarestorage.com", "accessKeyId": "r2-key-id", "secretAccessKey": "r2-secret-value"}),
        json!({"type": "s3-compatible", "bucketName": "b-s3c", "bucketEndpoint": "https://minio.example:9000", "accessKeyId": "minio-key-id", "secretAccessKey": "minio-secret-value"}),
        json!({"type": "azure-blob", "containerName": "c-az", "tenantId": "tenant-1", "clientId": "client-1", "clientSecret": "azure-secret-value"}),
    ]
}

/// The disk `dsk-00000000000000a1` ("datasets") with users, allowed IPs,
/// root attributes, checkpoints `nightly` and `exp-done` (on branch
/// `experiment`), that branch, and a delegation.
pub fn seeded_disk_fixture() -> Value {
    json!({"accounts": [{"name": "default", "disks": [{
        "id": "dsk-00000000000000a1",
        "name": "datasets",
        "allowedIps": ["203.0.113.0/24"],
        "rootAttrs": {"uid": 1000, "gid": 1000, "mode": 493},
        "users": [
            {"type": "token", "nickname": "ci", "token": "dtk-seeded-ci-token-0000000000000000000001", "identifier": "ci-user"},
            {"type": "awssts", "principal": "arn:aws:iam::123456789012:role/loader"}
        ],
        "checkpoints": [{"name": "nightly"}, {"name": "exp-done", "branch": "experiment"}],
        "branches": [{"branch_name": "experiment", "from_checkpoint_name": "nightly", "filesystem_id": "fs-00000000000000e1"}],
        "delegations": [{"clientId": "42", "inodeId": 7, "path": "train/part-0001.parquet"}]
    }]}]})
}

// ---------------------------------------------------------------------------
// The object gateway

/// A gateway answer: status, headers and the raw body bytes.
#[derive(Debug)]
pub struct S3Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl S3Reply {
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `ETag` header; panics if there is none.
    pub fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag: {self:?}"))
            .to_owned()
    }

    /// Asserts the status, showing the body if it differs.
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(self.status, expected, "body: {}", self.text());
        self
    }

    /// Asserts an S3 XML error: the status, `application/xml`, an `<Error>`
    /// root with this `<Code>`, a non-empty `<Message>`, and a `<RequestId>`
    /// equal to the `x-request-id` header. Returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        let text = self.text();
        assert_eq!(self.status, status, "body: {text}");
        assert_eq!(
            self.header("content-type"),
            Some("application/xml"),
            "{text}"
        );
        let root = text
            .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            .trim_start();
        assert!(root.starts_with("<Error>"), "not an <Error> root: {text}");
        assert_eq!(xml_one(&text, "Code").as_deref(), Some(code), "{text}");
        let message = xml_one(&text, "Message").unwrap_or_default();
        assert!(!message.is_empty(), "no Message: {text}");
        let request_id = xml_one(&text, "RequestId").expect("a RequestId");
        assert_eq!(
            Some(request_id.as_str()),
            self.header("x-request-id"),
            "RequestId and x-request-id differ: {text}"
        );
        message
    }

    /// Asserts a bodiless error (HEAD): the status and an empty body.
    pub fn assert_head_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.body.is_empty(), "HEAD has a body: {}", self.text());
        assert!(self.header("x-request-id").is_some(), "{self:?}");
    }
}

/// The raw inner text of every `<tag>…</tag>` (not nested in itself);
/// `<tag/>` counts as empty.
pub fn xml_blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let empty = format!("<{tag}/>");
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let at_open = rest.find(&open);
        let at_empty = rest.find(&empty);
        match (at_open, at_empty) {
            (Some(o), e) if e.is_none_or(|e| o < e) => {
                let after = &rest[o + open.len()..];
                let end = after
                    .find(&close)
                    .unwrap_or_else(|| panic!("<{tag}> is not closed in {xml}"));
                out.push(&after[..end]);
                rest = &after[end + close.len()..];
            }
            (_, Some(e)) => {
                out.push("");
                rest = &rest[e + empty.len()..];
            }
            (None, None) => return out,
            (Some(_), None) => unreachable!(),
        }
    }
}

/// The inner text of every `<tag>…</tag>`, unescaped.
pub fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    xml_blocks(xml, tag).into_iter().map(xml_unescape).collect()
}

/// The inner text of the first `<tag>`, unescaped.
pub fn xml_one(xml: &str, tag: &str) -> Option<String> {
    xml_all(xml, tag).into_iter().next()
}

/// Undoes XML's five predefined entities and numeric references.
pub fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("an entity ends with ;") + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap())
                .expect("a valid reference"),
            e if e.starts_with('#') => {
                char::from_u32(e[1..].parse().unwrap()).expect("a valid reference")
            }
            e => panic!("unknown entity &{e};"),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for an XML request body.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The quoted MD5 of these bytes, as a single-part ETag.
pub fn md5_etag(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}

/// The multipart ETag of these parts: `"<md5 of the binary md5s>-N"`.
pub fn multipart_etag(parts: &[&[u8]]) -> String {
    use md5::Digest;
    let mut all = md5::Md5::new();
    for p in parts {
        all.update(md5::Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(all.finalize()), parts.len())
}

/// What the Python SDK leaves raw in a key segment (`quote(seg, safe="")`).
const PY_RAW: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// `/{disk}/{key}` with each key segment percent-encoded as the Python SDK does.
pub fn object_path(disk: &str, key: &str) -> String {
    let encoded: Vec<String> = key
        .split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, PY_RAW).to_string())
        .collect();
    format!("/{disk}/{}", encoded.join("/"))
}

/// A query value, percent-encoded.
pub fn query_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, PY_RAW).to_string()
}

/// One `ListObjectsV2` page.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// `Contents/Key`, in order.
    pub keys: Vec<String>,
    /// `CommonPrefixes/Prefix`, in order.
    pub prefixes: Vec<String>,
    /// `IsTruncated` is `true`.
    pub truncated: bool,
    /// `NextContinuationToken`, if the element is there.
    pub next_token: Option<String>,
    /// `KeyCount`.
    pub key_count: usize,
    /// The document.
    pub xml: String,
}

impl ListPage {
    /// Parses a `ListBucketResult` document.
    pub fn parse(xml: &str) -> ListPage {
        assert!(xml.contains("<ListBucketResult"), "{xml}");
        let keys = xml_blocks(xml, "Contents")
            .iter()
            .map(|c| xml_one(c, "Key").expect("Contents has a Key"))
            .collect();
        let prefixes = xml_blocks(xml, "CommonPrefixes")
            .iter()
            .map(|c| xml_one(c, "Prefix").expect("CommonPrefixes has a Prefix"))
            .collect();
        ListPage {
            keys,
            prefixes,
            truncated: match xml_one(xml, "IsTruncated").as_deref() {
                Some("true") => true,
                Some("false") => false,
                other => panic!("IsTruncated is {other:?}: {xml}"),
            },
            next_token: xml_one(xml, "NextContinuationToken"),
            key_count: xml_one(xml, "KeyCount").expect("KeyCount").parse().unwrap(),
            xml: xml.to_owned(),
        }
    }
}

impl TestServer {
    /// A gateway request with these headers and no key added.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> S3Reply {
        let mut req = client()
            .request(method.parse().unwrap(), self.url(path))
            .body(body.into());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        S3Reply {
            status,
            headers,
            body,
        }
    }

    /// A gateway request with the built-in key and these extra headers.
    pub async fn s3(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> S3Reply {
        let mut all = vec![("authorization", KEY)];
        all.extend_from_slice(headers);
        self.request(method, path, &all, body).await
    }

    /// A new disk of the built-in key's account, with a unique name.
    pub async fn new_disk(&self) -> String {
        let name = format!("d{}", uuid::Uuid::new_v4().simple());
        self.create_disk_named(KEY, &name[..30]).await
    }

    /// PUT an object with the built-in key, its key encoded as the Python
    /// SDK does; asserts 200 and returns its ETag.
    pub async fn s3_put(&self, disk: &str, key: &str, body: impl Into<Vec<u8>>) -> String {
        let reply = self.s3("PUT", &object_path(disk, key), &[], body).await;
        reply.assert_status(200);
        reply.etag()
    }

    /// GET an object (any status).
    pub async fn get_object(&self, disk: &str, key: &str) -> S3Reply {
        self.s3("GET", &object_path(disk, key), &[], Vec::new())
            .await
    }

    /// GET an object; asserts 200 and returns its bytes.
    pub async fn object_bytes(&self, disk: &str, key: &str) -> Vec<u8> {
        let reply = self.get_object(disk, key).await;
        reply.assert_status(200);
        reply.body
    }

    /// One `ListObjectsV2` page with this extra query (e.g. `prefix=a%2F&delimiter=%2F`).
    pub async fn list_page(&self, disk: &str, query: &str) -> ListPage {
        let path = if query.is_empty() {
            format!("/{disk}?list-type=2")
        } else {
            format!("/{disk}?list-type=2&{query}")
        };
        let reply = self.s3("GET", &path, &[], Vec::new()).await;
        reply.assert_status(200);
        ListPage::parse(&reply.text())
    }

    /// Every key and common prefix under `prefix`, following continuation
    /// tokens (re-sending `extra` on every page, as the SDKs do with
    /// `start-after`); asserts that tokens never repeat.
    pub async fn list_every(
        &self,
        disk: &str,
        prefix: &str,
        delimiter: Option<&str>,
        extra: &str,
    ) -> (Vec<String>, Vec<String>) {
        let mut keys = Vec::new();
        let mut prefixes = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut token: Option<String> = None;
        for _ in 0..100_000 {
            let mut query = format!("prefix={}", query_value(prefix));
            if let Some(d) = delimiter {
                query.push_str(&format!("&delimiter={}", query_value(d)));
            }
            if !extra.is_empty() {
                query.push('&');
                query.push_str(extra);
            }
            if let Some(t) = &token {
                query.push_str(&format!("&continuation-token={}", query_value(t)));
            }
            let page = self.list_page(disk, &query).await;
            assert_eq!(
                page.key_count,
                page.keys.len() + page.prefixes.len(),
                "{}",
                page.xml
            );
            keys.extend(page.keys);
            prefixes.extend(page.prefixes);
            match (page.truncated, page.next_token) {
                (true, Some(t)) => {
                    assert!(seen.insert(t.clone()), "token {t} repeats");
                    token = Some(t);
                }
                (false, None) => return (keys, prefixes),
                (truncated, next) => {
                    panic!("IsTruncated {truncated} with NextContinuationToken {next:?}")
                }
            }
        }
        panic!("the listing never ends");
    }
}

/// Sends `request` as it is over a new connection (it should say
/// `Connection: close`) and reads the whole answer: for paths a client
/// would normalise (`..`) and for chunked bodies.
pub async fn raw_http(addr: SocketAddr, request: &[u8]) -> S3Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&buf)));
    let head = std::str::from_utf8(&buf[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers.append(
            reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    let mut body = buf[end + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        body = unchunk(&body);
    }
    S3Reply {
        status,
        headers,
        body,
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..nl]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[nl + 2..nl + 2 + size]);
        data = &data[nl + 2 + size + 2..];
    }
}

/// A request with a chunked body (each chunk as given), for `raw_http`.
pub fn chunked_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    chunks: &[&[u8]],
) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ntransfer-encoding: chunked\r\n"
    )
    .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for c in chunks {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The `archil-mock` binary as a child process on `127.0.0.1:0`, for the
/// suites that kill, restart or measure the process: `--quiet`, no
/// `ARCHIL_MOCK_*` variable from the environment, then `args`. Killed on drop.
pub struct Binary {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, from the first stdout line.
    pub base: String,
    /// Held open: the binary prints a second line, and a closed pipe would kill it.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Binary {
    pub fn start<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Binary {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_archil-mock"));
        for (name, _) in std::env::vars() {
            if name.starts_with("ARCHIL_MOCK_") {
                cmd.env_remove(name);
            }
        }
        let mut child = cmd
            .args(["--port", "0", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let mut first = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        stdout.read_line(&mut first).expect("the first stdout line");
        let base = first
            .trim()
            .strip_prefix("archil-mock listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the server did not start (a state file or data directory unreadable?): {first:?}")
            })
            .to_owned();
        Binary {
            child,
            base,
            _stdout: stdout,
        }
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server process is alive");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// Resident memory now, in bytes.
    pub fn rss(&self) -> u64 {
        self.status_kib("VmRSS") * 1024
    }

    /// Peak resident memory, in bytes.
    pub fn peak_rss(&self) -> u64 {
        self.status_kib("VmHWM") * 1024
    }

    /// Creates a disk named `name` with the built-in key; asserts 201 and
    /// returns its id.
    pub async fn create_disk(&self, name: &str) -> String {
        let reply = reqwest::Client::new()
            .post(format!("{}/api/disks", self.base))
            .header("authorization", archil_mock::DEFAULT_KEY)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(reply.status(), 201, "creating disk {name}");
        let created: Value = reply.json().await.expect("a JSON answer");
        created["data"]["diskId"].as_str().unwrap().to_owned()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.base
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("the base is http://ADDR")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
