//! Fidelity rules that hold across the whole API, each with the evidence in
//! `shared/contracts/disks.md` §1: the body is JSON whatever its declared
//! `Content-Type` (as the real Go backend reads it), `Bearer key-…` is a key
//! (the generated client's default), and unknown query parameters are ignored.

mod common;

use common::{assert_error, TestServer, KEY};
use serde_json::{json, Value};

const AUTH: (&str, &str) = ("authorization", KEY);

#[tokio::test]
async fn a_body_is_read_as_json_whatever_content_type_it_declares() {
    let server = TestServer::start().await;
    for (i, ct) in [
        "application/x-www-form-urlencoded", // what `curl -d` sends
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("ct-{i}");
        let body = json!({ "name": name }).to_string().into_bytes();
        let (status, _, created) = server
            .raw("POST", "/api/tokens", &[AUTH, ("content-type", ct)], body)
            .await;
        assert_eq!(status, 201, "{ct:?}: {created}");
        assert_eq!(created["data"]["name"], name.as_str());
    }
}

#[tokio::test]
async fn a_form_encoded_body_is_a_json_error_and_creates_nothing() {
    let server = TestServer::start().await;
    let (status, _, body) = server
        .raw(
            "POST",
            "/api/tokens",
            &[AUTH, ("content-type", "application/x-www-form-urlencoded")],
            b"name=ci".to_vec(),
        )
        .await;
    assert_error(status, &body, 400, "not valid JSON");
    assert_eq!(
        server.list_all(KEY, 100).await.len(),
        1,
        "only the bootstrap key"
    );
}

#[tokio::test]
async fn a_bearer_prefixed_key_authenticates_like_the_raw_key() {
    let server = TestServer::start().await;
    for header in [
        format!("Bearer {KEY}"),
        format!("bearer {KEY}"),
        format!("BEARER   {KEY}"),
    ] {
        let (status, body) = server.call("GET", "/api/tokens", Some(&header), None).await;
        assert_eq!(status, 200, "{header:?}: {body}");
    }
    for header in ["Bearer", "Bearer key-unknown-0000", "Basic key-archil-mock"] {
        let (status, body) = server.call("GET", "/api/tokens", Some(header), None).await;
        assert_error(status, &body, 401, "API key");
    }
}

#[tokio::test]
async fn a_token_created_with_bearer_belongs_to_the_keys_account() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            "POST",
            "/api/tokens",
            Some(&format!("Bearer {KEY}")),
            Some(json!({"name": "via-bearer"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["data"]["token"].as_str().unwrap();
    let names: Vec<Value> = server
        .list_all(&format!("Bearer {secret}"), 100)
        .await
        .into_iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("bootstrap"), json!("via-bearer")]);
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored_on_every_token_endpoint() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call("GET", "/api/tokens?short=false&q=x&foo", Some(KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, created) = server
        .call(
            "POST",
            "/api/tokens?dryRun=true",
            Some(KEY),
            Some(json!({"name": "q"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap();
    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{id}?force=1"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
