//! A minimal HTTP/1 client for the binary's own subcommands (`healthcheck`,
//! and scenario runs against `--target`). Plain HTTP only.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A response: status, headers and the whole body.
pub type Answer = (u16, HeaderMap, Bytes);

/// Sends one request and buffers the answer.
pub async fn request(
    method: Method,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Result<Answer, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("invalid request: {e}"))?;
    let response = client.request(request).await.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    })?;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| format!("reading the response: {e}"))?
        .to_bytes();
    Ok((status, parts.headers, bytes))
}

/// `GET url`, returning the status and body.
pub async fn get(url: &str) -> Result<(u16, Bytes), String> {
    request(Method::GET, url, &[], None)
        .await
        .map(|(status, _, body)| (status, body))
}
