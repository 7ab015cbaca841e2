//! Shared helpers for the black-box tests: a real server on 127.0.0.1:0 served
//! by `archil_mock::run`, and a small JSON client over real HTTP.
#![allow(dead_code)] // each test binary uses its own subset

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
