//! Shared helpers for the black-box tests: a real server on 127.0.0.1:0 served
//! by `archil_mock::run`, and a small JSON client over real HTTP.
#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;
use std::sync::Arc;

use archil_mock::{App, Config, DEFAULT_KEY};
use serde_json::Value;
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
