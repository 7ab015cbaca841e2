//! Black-box tests of the API Tokens operations (`createApiToken`,
//! `listApiTokens`, `deleteApiToken`) and of authentication by tokens, over
//! real HTTP against a server on port 0. Admin routes, faults and the journal
//! are tested elsewhere.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use archil_mock::{Config, KeySpec};
use common::*;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const AUTH: (&str, &str) = ("authorization", KEY);
const JSON: (&str, &str) = ("content-type", "application/json");
const MIB: usize = 1024 * 1024;
const ALICE_KEY: &str = "key-alice-0000000000000000000001";
const BOB_KEY: &str = "key-bob-00000000000000000000000002";

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn ids(tokens: &[Value]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| t["id"].as_str().expect("every token has an id").to_owned())
        .collect()
}

fn assert_json_content_type(headers: &HeaderMap) {
    assert_eq!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
        "application/json",
        "{headers:?}"
    );
}

/// Every token `key` can see, without `lastUsedAt` (listing marks the
/// listing key as used, so that field changes under the observer).
async fn visible(server: &TestServer, key: &str) -> Vec<Value> {
    let mut all = server.list_all(key, 100).await;
    for token in &mut all {
        token.as_object_mut().unwrap().remove("lastUsedAt");
    }
    all
}

/// Posts raw bytes as JSON with the built-in key.
async fn post_bytes(server: &TestServer, body: &[u8]) -> (u16, HeaderMap, Value) {
    server
        .raw("POST", "/api/tokens", &[AUTH, JSON], body.to_vec())
        .await
}

/// Posts `body`; asserts a 400 JSON envelope whose message contains `needle`,
/// and that the token list is exactly what it was before.
async fn assert_create_rejected(server: &TestServer, body: &[u8], needle: &str) {
    let before = visible(server, KEY).await;
    let (status, headers, json) = post_bytes(server, body).await;
    assert_error(status, &json, 400, needle);
    assert_eq!(json["code"], "validation_error", "{json}");
    assert!(json.get("data").is_none(), "{json}");
    assert_json_content_type(&headers);
    assert_eq!(
        visible(server, KEY).await,
        before,
        "a rejected create for {:?} changed the token list",
        String::from_utf8_lossy(body)
    );
}

/// Creates with a JSON body and the built-in key; asserts 201 and returns `data`.
async fn create_with(server: &TestServer, body: Value) -> Value {
    let (status, json) = server
        .call("POST", "/api/tokens", Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{body} gave {json}");
    assert_eq!(json["success"], true, "{json}");
    json["data"].clone()
}

/// Asserts a create was accepted and the listing shows the token as created.
async fn assert_create_accepted(server: &TestServer, body: Value) -> Value {
    let created = create_with(server, body.clone()).await;
    assert_eq!(created["name"], body["name"], "{created}");
    let listed = visible(server, KEY).await;
    let found = listed
        .iter()
        .find(|t| t["id"] == created["id"])
        .unwrap_or_else(|| panic!("{} not listed", created["id"]));
    assert_eq!(found["name"], body["name"]);
    assert_eq!(found.get("description"), body.get("description"), "{found}");
    created
}

async fn create_many(server: &TestServer, key: &str, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let created = server.create(key, &format!("{prefix}{i}")).await;
        out.push(created["id"].as_str().unwrap().to_owned());
    }
    out
}

/// One request over a raw socket with `Connection: close`; returns the status
/// and the JSON body. For what reqwest cannot send: a hand-chunked body.
async fn raw_http(addr: SocketAddr, request: Vec<u8>) -> (u16, String, Value) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("the server answers and closes within 20 s");
    let text = String::from_utf8(response).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let json = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, head.to_ascii_lowercase(), json)
}

fn chunked_post(data: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /api/tokens HTTP/1.1\r\nhost: localhost\r\nauthorization: {KEY}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {:x}\r\n",
        data.len()
    )
    .into_bytes();
    request.extend_from_slice(data);
    request
}

// ---------------------------------------------------------------------------
// Validation: name

#[tokio::test]
async fn create_rejects_an_empty_name() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        br#"{"name":""}"#,
        "name must be between 1 and 100 characters",
    )
    .await;
}

#[tokio::test]
async fn create_accepts_a_name_of_1_code_point() {
    let server = TestServer::start().await;
    assert_create_accepted(&server, json!({"name": "x"})).await;
}

#[tokio::test]
async fn create_accepts_a_name_of_100_code_points() {
    let server = TestServer::start().await;
    assert_create_accepted(&server, json!({"name": "n".repeat(100)})).await;
}

#[tokio::test]
async fn create_rejects_a_name_of_101_code_points() {
    let server = TestServer::start().await;
    let body = json!({"name": "n".repeat(101)}).to_string();
    assert_create_rejected(
        &server,
        body.as_bytes(),
        "name must be between 1 and 100 characters",
    )
    .await;
}

#[tokio::test]
async fn create_counts_name_length_in_code_points_not_bytes() {
    let server = TestServer::start().await;
    for unit in ["é", "😀"] {
        let created = assert_create_accepted(&server, json!({"name": unit.repeat(100)})).await;
        assert_eq!(created["name"].as_str().unwrap().chars().count(), 100);
        let body = json!({"name": unit.repeat(101)}).to_string();
        assert_create_rejected(
            &server,
            body.as_bytes(),
            "name must be between 1 and 100 characters",
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_a_name_of_the_wrong_json_type() {
    let server = TestServer::start().await;
    for (value, kind) in [
        ("42", "number"),
        ("1.5", "number"),
        ("true", "boolean"),
        ("false", "boolean"),
        (r#"["ci"]"#, "array"),
        (r#"{"name":"ci"}"#, "object"),
    ] {
        let body = format!(r#"{{"name":{value}}}"#);
        assert_create_rejected(
            &server,
            body.as_bytes(),
            &format!("name must be a string, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_an_explicit_null_name() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        br#"{"name":null}"#,
        "name must be a string, not null",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_missing_name() {
    let server = TestServer::start().await;
    assert_create_rejected(&server, b"{}", "name is required").await;
    assert_create_rejected(&server, br#"{"description":"d"}"#, "name is required").await;
}

// ---------------------------------------------------------------------------
// Validation: description

#[tokio::test]
async fn create_accepts_a_description_of_500_code_points() {
    let server = TestServer::start().await;
    let created = assert_create_accepted(
        &server,
        json!({"name": "d", "description": "d".repeat(500)}),
    )
    .await;
    assert_eq!(created["description"], "d".repeat(500));
}

#[tokio::test]
async fn create_rejects_a_description_of_501_code_points() {
    let server = TestServer::start().await;
    let body = json!({"name": "d", "description": "d".repeat(501)}).to_string();
    assert_create_rejected(
        &server,
        body.as_bytes(),
        "description must be at most 500 characters",
    )
    .await;
}

#[tokio::test]
async fn create_counts_description_length_in_code_points_not_bytes() {
    let server = TestServer::start().await;
    for unit in ["é", "😀"] {
        assert_create_accepted(
            &server,
            json!({"name": "d", "description": unit.repeat(500)}),
        )
        .await;
        let body = json!({"name": "d", "description": unit.repeat(501)}).to_string();
        assert_create_rejected(
            &server,
            body.as_bytes(),
            "description must be at most 500 characters",
        )
        .await;
    }
}

#[tokio::test]
async fn create_accepts_an_empty_description_and_returns_it() {
    let server = TestServer::start().await;
    let created = assert_create_accepted(&server, json!({"name": "d", "description": ""})).await;
    assert_eq!(created["description"], "");
}

#[tokio::test]
async fn create_rejects_a_description_of_the_wrong_json_type() {
    let server = TestServer::start().await;
    for (value, kind) in [
        ("7", "number"),
        ("true", "boolean"),
        (r#"["d"]"#, "array"),
        (r#"{"text":"d"}"#, "object"),
    ] {
        let body = format!(r#"{{"name":"ok","description":{value}}}"#);
        assert_create_rejected(
            &server,
            body.as_bytes(),
            &format!("description must be a string, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_an_explicit_null_description() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        br#"{"name":"ok","description":null}"#,
        "description must be a string, not null",
    )
    .await;
}

// ---------------------------------------------------------------------------
// Validation: the body as a whole

#[tokio::test]
async fn create_rejects_a_body_that_is_not_json() {
    let server = TestServer::start().await;
    for body in [&b"name=ci"[..], b"{\"name\":", b"{'name':'ci'}", b"{} {}"] {
        assert_create_rejected(&server, body, "request body is not valid JSON").await;
    }
}

#[tokio::test]
async fn create_rejects_a_body_that_is_not_a_json_object() {
    let server = TestServer::start().await;
    for body in [
        &br#"[{"name":"ci"}]"#[..],
        br#""ci""#,
        b"42",
        b"null",
        b"true",
    ] {
        assert_create_rejected(&server, body, "request body must be a JSON object").await;
    }
}

#[tokio::test]
async fn create_rejects_an_empty_body() {
    let server = TestServer::start().await;
    assert_create_rejected(&server, b"", "request body is required").await;
    assert_create_rejected(&server, b" \r\n\t", "request body is required").await;
}

#[tokio::test]
async fn create_rejects_a_body_that_is_not_valid_utf8() {
    let server = TestServer::start().await;
    assert_create_rejected(&server, b"{\"name\":\"ci\xff\xfe\"}", "UTF-8").await;
}

#[tokio::test]
async fn create_rejects_a_body_without_any_json_content_type_the_same_way() {
    // No Content-Type at all is allowed (curl -d sends one, some clients do not);
    // the body rules still apply.
    let server = TestServer::start().await;
    let (status, headers, json) = server
        .raw("POST", "/api/tokens", &[AUTH], br#"{"name":""}"#.to_vec())
        .await;
    assert_error(
        status,
        &json,
        400,
        "name must be between 1 and 100 characters",
    );
    assert_json_content_type(&headers);
    let (status, _, json) = server
        .raw("POST", "/api/tokens", &[AUTH], br#"{"name":"ok"}"#.to_vec())
        .await;
    assert_eq!(status, 201, "{json}");
}

#[tokio::test]
async fn create_accepts_and_ignores_unknown_fields() {
    let server = TestServer::start().await;
    let created = assert_create_accepted(
        &server,
        json!({"name": "extra", "colour": "blue", "id": "mine", "token": "key-chosen-by-me", "nested": {"a": [1]}}),
    )
    .await;
    assert_eq!(created.get("colour"), None, "{created}");
    assert_eq!(created.get("nested"), None, "{created}");
    assert_ne!(created["id"], "mine");
    assert_ne!(created["token"], "key-chosen-by-me");
    let listed = server.list_all(KEY, 100).await;
    assert_eq!(listed[1]["id"], created["id"]);
    assert_eq!(listed[1].get("colour"), None, "{}", listed[1]);
}

// ---------------------------------------------------------------------------
// Create: the response

#[tokio::test]
async fn create_returns_201_with_the_full_token_shape() {
    let server = TestServer::start().await;
    let before = OffsetDateTime::now_utc();
    let (status, headers, json) = server
        .raw(
            "POST",
            "/api/tokens",
            &[AUTH, JSON],
            br#"{"name":"ci","description":"for CI"}"#.to_vec(),
        )
        .await;
    let after = OffsetDateTime::now_utc();
    assert_eq!(status, 201, "{json}");
    assert_json_content_type(&headers);
    assert_eq!(json["success"], true);
    assert_eq!(json.get("nextCursor"), None, "{json}");
    let data = json["data"].as_object().expect("data is an object");
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "description",
            "id",
            "name",
            "token",
            "tokenSuffix"
        ],
        "no lastUsedAt before the token is used"
    );
    assert_eq!(data["name"], "ci");
    assert_eq!(data["description"], "for CI");

    let token = data["token"].as_str().unwrap();
    let random = token.strip_prefix("key-").expect("token starts with key-");
    assert!(random.chars().count() >= 32, "{token}");
    assert!(random.bytes().all(|b| b.is_ascii_graphic()), "{token}");
    assert_eq!(data["tokenSuffix"], token[token.len() - 4..]);

    let created_at = data["createdAt"].as_str().unwrap();
    let parsed = OffsetDateTime::parse(created_at, &Rfc3339).expect("createdAt is RFC 3339");
    assert!(parsed.offset().is_utc(), "{created_at}");
    assert!(created_at.ends_with('Z'), "{created_at}");
    let slack = time::Duration::seconds(1);
    assert!(
        before - slack <= parsed && parsed <= after + slack,
        "{created_at} is not now"
    );
}

#[tokio::test]
async fn create_omits_description_when_none_is_given() {
    let server = TestServer::start().await;
    let created = create_with(&server, json!({"name": "bare"})).await;
    assert_eq!(created.get("description"), None, "{created}");
    let listed = server.list_all(KEY, 100).await;
    assert_eq!(listed[1].get("description"), None, "{}", listed[1]);
}

#[tokio::test]
async fn create_id_is_the_sha256_hex_of_the_secret_and_never_the_secret() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "hashed").await;
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(id, sha256_hex(token));
    assert_ne!(id, token);
    assert!(!id.contains(&token[4..]), "the id leaks the secret");
    let listed = server.list_all(KEY, 100).await;
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains(token), "the listing leaks the secret");
}

#[tokio::test]
async fn create_gives_every_token_a_different_secret_and_id() {
    let server = TestServer::start().await;
    let a = server.create(KEY, "same").await;
    let b = server.create(KEY, "same").await;
    assert_ne!(a["token"], b["token"]);
    assert_ne!(a["id"], b["id"]);
    assert_eq!(server.list_all(KEY, 100).await.len(), 3);
}

// ---------------------------------------------------------------------------
// List

#[tokio::test]
async fn list_returns_tokens_in_creation_order_without_secrets() {
    let server = TestServer::start().await;
    let mut expected = vec![sha256_hex(KEY)];
    for name in ["zeta", "alpha", "mu", "beta", "alpha"] {
        expected.push(
            server.create(KEY, name).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let tokens = body["data"]["tokens"].as_array().unwrap();
    assert_eq!(ids(tokens), expected);
    let names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bootstrap", "zeta", "alpha", "mu", "beta", "alpha"]);
    for t in tokens {
        assert_eq!(t.get("token"), None, "{t}");
        assert_eq!(t["tokenSuffix"].as_str().unwrap().len(), 4, "{t}");
        OffsetDateTime::parse(t["createdAt"].as_str().unwrap(), &Rfc3339).unwrap();
    }
    assert_eq!(body.get("nextCursor"), None, "{body}");
}

#[tokio::test]
async fn list_shows_last_used_at_only_after_the_token_authenticates_a_request() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "later").await;
    let token = created["token"].as_str().unwrap();
    let find = |tokens: Vec<Value>| {
        tokens
            .into_iter()
            .find(|t| t["id"] == created["id"])
            .unwrap()
    };

    let unused = find(server.list_all(KEY, 100).await);
    assert_eq!(unused.get("lastUsedAt"), None, "{unused}");

    // A request with a different key does not mark it, a rejected one with an
    // unknown key neither.
    let (status, _) = server
        .call("GET", "/api/tokens", Some("key-not-a-real-key-0000"), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        find(server.list_all(KEY, 100).await).get("lastUsedAt"),
        None
    );

    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let (status, body) = server.call("GET", "/api/tokens", Some(token), None).await;
    assert_eq!(status, 200, "{body}");
    let used = find(server.list_all(KEY, 100).await);
    let last_used = used["lastUsedAt"].as_str().expect("lastUsedAt after use");
    let last_used = OffsetDateTime::parse(last_used, &Rfc3339).unwrap();
    assert!(last_used.offset().is_utc());
    assert!(last_used >= before, "{used}");
    let created_at = OffsetDateTime::parse(used["createdAt"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(last_used >= created_at, "{used}");
}

#[tokio::test]
async fn list_pages_by_50_by_default_and_allows_up_to_100() {
    let server = TestServer::start().await;
    let mut all = vec![sha256_hex(KEY)];
    all.extend(create_many(&server, KEY, "t", 100).await); // 101 in all

    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_eq!(status, 200, "{body}");
    let page = body["data"]["tokens"].as_array().unwrap();
    assert_eq!(ids(page), all[..50]);
    assert!(body["nextCursor"].is_string(), "{body}");
    assert_eq!(
        body["data"].get("nextCursor"),
        None,
        "cursor is top-level only"
    );

    let (status, body) = server
        .call("GET", "/api/tokens?limit=100", Some(KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(body["data"]["tokens"].as_array().unwrap()), all[..100]);
    let cursor = body["nextCursor"].as_str().expect("one more remains");

    let (status, body) = server
        .call(
            "GET",
            &format!("/api/tokens?limit=100&cursor={cursor}"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(body["data"]["tokens"].as_array().unwrap()), all[100..]);
    assert_eq!(body.get("nextCursor"), None, "{body}");
}

#[tokio::test]
async fn list_gives_a_next_cursor_only_when_more_remain() {
    let server = TestServer::start().await;
    create_many(&server, KEY, "t", 2).await; // 3 in all

    let (_, body) = server
        .call("GET", "/api/tokens?limit=3", Some(KEY), None)
        .await;
    assert_eq!(body["data"]["tokens"].as_array().unwrap().len(), 3);
    assert_eq!(body.get("nextCursor"), None, "exactly full page: {body}");

    let (_, body) = server
        .call("GET", "/api/tokens?limit=2", Some(KEY), None)
        .await;
    assert_eq!(body["data"]["tokens"].as_array().unwrap().len(), 2);
    let cursor = body["nextCursor"].as_str().expect("one more remains");

    let (status, body) = server
        .call(
            "GET",
            &format!("/api/tokens?limit=2&cursor={cursor}"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tokens = body["data"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"], "t1");
    assert_eq!(body.get("nextCursor"), None, "{body}");
}

#[tokio::test]
async fn list_rejects_a_limit_that_is_out_of_range_or_not_an_integer() {
    let server = TestServer::start().await;
    for (query, needle) in [
        ("limit=101", "limit must be between 1 and 100"),
        ("limit=0", "limit must be between 1 and 100"),
        ("limit=-1", "limit must be between 1 and 100"),
        ("limit=abc", "limit must be an integer"),
        ("limit=1.5", "limit must be an integer"),
        ("limit=", "limit must be an integer"),
        ("limit=99999999999999999999999", "limit must be"),
    ] {
        let (status, headers, body) = server
            .raw("GET", &format!("/api/tokens?{query}"), &[AUTH], Vec::new())
            .await;
        assert_error(status, &body, 400, needle);
        assert_json_content_type(&headers);
    }
}

#[tokio::test]
async fn list_rejects_a_cursor_it_did_not_issue() {
    let server = TestServer::start().await;
    for cursor in ["garbage", "t", "tzz", "t11111111111111111", "%FF"] {
        let (status, headers, body) = server
            .raw(
                "GET",
                &format!("/api/tokens?cursor={cursor}"),
                &[AUTH],
                Vec::new(),
            )
            .await;
        assert_error(status, &body, 400, "cursor");
        assert_json_content_type(&headers);
    }
}

#[tokio::test]
async fn a_paginated_walk_over_250_tokens_sees_each_survivor_exactly_once_despite_changes() {
    let server = TestServer::start().await;
    let bootstrap = sha256_hex(KEY);
    let mut initial = vec![bootstrap.clone()];
    initial.extend(create_many(&server, KEY, "walk", 250).await);

    let mut seen: Vec<String> = Vec::new();
    let mut seen_set: HashSet<String> = HashSet::new();
    let mut deleted_unseen: HashSet<String> = HashSet::new();
    let mut deleted_seen: HashSet<String> = HashSet::new();
    let mut created_during: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/tokens?limit=20&cursor={c}"),
            None => "/api/tokens?limit=20".to_owned(),
        };
        let (status, body) = server.call("GET", &path, Some(KEY), None).await;
        assert_eq!(status, 200, "{body}");
        let page = ids(body["data"]["tokens"].as_array().unwrap());
        assert!(page.len() <= 20);
        seen_set.extend(page.iter().cloned());
        seen.extend(page.iter().cloned());
        pages += 1;
        assert!(pages < 100, "the walk does not end");

        let next = body
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if next.is_none() {
            break;
        }
        // Between pages: delete the token the cursor points after, delete one
        // not yet seen (a few ahead), and create two.
        let anchor = page.last().unwrap().clone();
        if anchor != bootstrap {
            let (status, body) = server
                .call("DELETE", &format!("/api/tokens/{anchor}"), Some(KEY), None)
                .await;
            assert_eq!(status, 200, "{body}");
            deleted_seen.insert(anchor);
        }
        let ahead = initial
            .iter()
            .filter(|id| !seen_set.contains(*id) && !deleted_unseen.contains(*id))
            .nth(3)
            .cloned();
        if let Some(victim) = ahead {
            let (status, body) = server
                .call("DELETE", &format!("/api/tokens/{victim}"), Some(KEY), None)
                .await;
            assert_eq!(status, 200, "{body}");
            deleted_unseen.insert(victim);
        }
        for _ in 0..2 {
            let created = server.create(KEY, &format!("during{pages}")).await;
            created_during.push(created["id"].as_str().unwrap().to_owned());
        }
        cursor = next;
    }

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &seen {
        *counts.entry(id).or_default() += 1;
    }
    let duplicates: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(duplicates.is_empty(), "seen twice: {duplicates:?}");
    assert!(!deleted_unseen.is_empty() && !deleted_seen.is_empty());
    for id in &initial {
        let expected = usize::from(!deleted_unseen.contains(id));
        assert_eq!(
            counts.get(id.as_str()).copied().unwrap_or(0),
            expected,
            "{id}"
        );
    }
    for id in &created_during {
        assert_eq!(counts.get(id.as_str()), Some(&1), "created mid-walk: {id}");
    }
    let known: HashSet<&String> = initial.iter().chain(&created_during).collect();
    assert!(seen.iter().all(|id| known.contains(id)));
    assert_eq!(
        seen.len(),
        initial.len() - deleted_unseen.len() + created_during.len()
    );

    // And what is left is exactly what was not deleted, in creation order.
    let survivors: Vec<String> = initial
        .iter()
        .chain(&created_during)
        .filter(|id| !deleted_seen.contains(*id) && !deleted_unseen.contains(*id))
        .cloned()
        .collect();
    assert_eq!(ids(&server.list_all(KEY, 100).await), survivors);
}

// ---------------------------------------------------------------------------
// Auth

#[tokio::test]
async fn every_token_operation_requires_an_authorization_header() {
    let server = TestServer::start().await;
    let id = sha256_hex(KEY);
    for (method, path, body) in [
        ("GET", "/api/tokens".to_owned(), None),
        ("POST", "/api/tokens".to_owned(), Some(json!({"name": "x"}))),
        ("DELETE", format!("/api/tokens/{id}"), None),
    ] {
        let (status, body) = server.call(method, &path, None, body).await;
        assert_error(status, &body, 401, "Authorization");
        assert_eq!(body["code"], "unauthorized");
    }
    let (status, headers, body) = server
        .raw("GET", "/api/tokens", &[("authorization", "")], Vec::new())
        .await;
    assert_error(status, &body, 401, "Authorization");
    assert_json_content_type(&headers);
    // Nothing was created or deleted.
    assert_eq!(ids(&server.list_all(KEY, 100).await), [id]);
}

#[tokio::test]
async fn an_unknown_key_gets_401_and_changes_nothing() {
    let server = TestServer::start().await;
    for key in [
        "key-archil-mocK",
        "key-archil-moc",
        "key-archil-mock0",
        "Bearer key-archil-mock-x",
        "nonsense",
    ] {
        let (status, body) = server
            .call("POST", "/api/tokens", Some(key), Some(json!({"name": "x"})))
            .await;
        assert_error(status, &body, 401, "API key");
        let (status, body) = server.call("GET", "/api/tokens", Some(key), None).await;
        assert_error(status, &body, 401, "API key");
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn the_id_of_a_token_is_not_a_credential() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "id").await;
    let (status, body) = server
        .call("GET", "/api/tokens", created["id"].as_str(), None)
        .await;
    assert_error(status, &body, 401, "API key");
}

#[tokio::test]
async fn a_created_token_works_as_a_credential_in_the_same_account() {
    let server = TestServer::start().await;
    let first = server.create(KEY, "first").await;
    let token = first["token"].as_str().unwrap();
    let second = server.create(token, "made-by-first").await;
    let (status, body) = server.call("GET", "/api/tokens", Some(token), None).await;
    assert_eq!(status, 200, "{body}");
    let tokens = body["data"]["tokens"].as_array().unwrap();
    assert_eq!(
        ids(tokens),
        [
            sha256_hex(KEY),
            first["id"].as_str().unwrap().to_owned(),
            second["id"].as_str().unwrap().to_owned()
        ]
    );
    assert_eq!(ids(&server.list_all(KEY, 100).await), ids(tokens));
}

#[tokio::test]
async fn a_revoked_token_gets_401_from_then_on() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "short-lived").await;
    let token = created["token"].as_str().unwrap();
    let (status, _) = server.call("GET", "/api/tokens", Some(token), None).await;
    assert_eq!(status, 200);

    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", created["id"].as_str().unwrap()),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (method, body) in [("GET", None), ("POST", Some(json!({"name": "x"})))] {
        let (status, body) = server.call(method, "/api/tokens", Some(token), body).await;
        assert_error(status, &body, 401, "API key");
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn the_bootstrap_key_is_listed_as_an_ordinary_token() {
    let server = TestServer::start().await;
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_eq!(status, 200, "{body}");
    let tokens = body["data"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{body}");
    let bootstrap = &tokens[0];
    assert_eq!(bootstrap["id"], sha256_hex(KEY));
    assert_eq!(bootstrap["tokenSuffix"], KEY[KEY.len() - 4..]);
    assert_eq!(bootstrap.get("token"), None);
    // It just authenticated the listing.
    assert!(bootstrap["lastUsedAt"].is_string(), "{bootstrap}");
}

#[tokio::test]
async fn the_bootstrap_key_can_be_revoked_by_another_token() {
    let server = TestServer::start().await;
    let other = server.create(KEY, "successor").await;
    let other_key = other["token"].as_str().unwrap();
    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", sha256_hex(KEY)),
            Some(other_key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_error(status, &body, 401, "API key");
    assert_eq!(
        ids(&server.list_all(other_key, 100).await),
        [other["id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn the_bootstrap_key_can_revoke_itself() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", sha256_hex(KEY)),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_error(status, &body, 401, "API key");
}

fn two_accounts() -> Config {
    Config {
        keys: vec![
            KeySpec::parse(&format!("alice={ALICE_KEY}"), "default").unwrap(),
            KeySpec::parse(&format!("bob={BOB_KEY}"), "default").unwrap(),
        ],
        ..Config::default()
    }
}

#[tokio::test]
async fn configured_keys_replace_the_built_in_key() {
    let server = TestServer::with(two_accounts()).await;
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_error(status, &body, 401, "API key");
    let (status, _) = server
        .call("GET", "/api/tokens", Some(ALICE_KEY), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn each_account_lists_only_its_own_tokens() {
    let server = TestServer::with(two_accounts()).await;
    let alice_token = server.create(ALICE_KEY, "alice-ci").await;
    let alice_child = server
        .create(alice_token["token"].as_str().unwrap(), "alice-child")
        .await;
    let bob_token = server.create(BOB_KEY, "bob-ci").await;

    let alice = ids(&server.list_all(ALICE_KEY, 100).await);
    assert_eq!(
        alice,
        [
            sha256_hex(ALICE_KEY),
            alice_token["id"].as_str().unwrap().to_owned(),
            alice_child["id"].as_str().unwrap().to_owned(),
        ]
    );
    let bob = ids(&server.list_all(BOB_KEY, 100).await);
    assert_eq!(
        bob,
        [
            sha256_hex(BOB_KEY),
            bob_token["id"].as_str().unwrap().to_owned()
        ]
    );
}

#[tokio::test]
async fn deleting_another_accounts_token_is_404_and_leaves_it_working() {
    let server = TestServer::with(two_accounts()).await;
    let alice_token = server.create(ALICE_KEY, "alice-ci").await;
    for id in [
        alice_token["id"].as_str().unwrap().to_owned(),
        sha256_hex(ALICE_KEY),
    ] {
        let (status, body) = server
            .call("DELETE", &format!("/api/tokens/{id}"), Some(BOB_KEY), None)
            .await;
        assert_error(status, &body, 404, "not found");
    }
    let (status, _) = server
        .call("GET", "/api/tokens", alice_token["token"].as_str(), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.list_all(ALICE_KEY, 100).await.len(), 2);
    // Alice can still delete it herself.
    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", alice_token["id"].as_str().unwrap()),
            Some(ALICE_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn delete_answers_200_with_a_message_and_removes_the_token() {
    let server = TestServer::start().await;
    let keep = server.create(KEY, "keep").await;
    let gone = server.create(KEY, "gone").await;
    let (status, headers, body) = server
        .raw(
            "DELETE",
            &format!("/api/tokens/{}", gone["id"].as_str().unwrap()),
            &[AUTH],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_json_content_type(&headers);
    assert_eq!(body["success"], true);
    let message = body["data"]["message"].as_str().expect("data.message");
    assert!(!message.is_empty());
    assert_eq!(
        ids(&server.list_all(KEY, 100).await),
        [sha256_hex(KEY), keep["id"].as_str().unwrap().to_owned()]
    );
}

#[tokio::test]
async fn delete_of_an_unknown_or_already_deleted_id_is_404() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "once").await;
    let id = created["id"].as_str().unwrap();
    let (status, _) = server
        .call("DELETE", &format!("/api/tokens/{id}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    for id in [id.to_owned(), sha256_hex("key-never-issued")] {
        let (status, headers, body) = server
            .raw("DELETE", &format!("/api/tokens/{id}"), &[AUTH], Vec::new())
            .await;
        assert_error(status, &body, 404, "not found");
        assert_eq!(body["code"], "not_found");
        assert_json_content_type(&headers);
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn delete_of_a_malformed_id_is_404() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "target").await;
    let id = created["id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    for bad in [
        "abc".to_owned(),
        id.to_uppercase(),
        id[..63].to_owned(),
        format!("{id}0"),
        token.to_owned(),
        "g".repeat(64),
        "%00".to_owned(),
        "x".repeat(5000),
    ] {
        let (status, body) = server
            .call("DELETE", &format!("/api/tokens/{bad}"), Some(KEY), None)
            .await;
        assert_error(status, &body, 404, "not found");
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 2);
}

// ---------------------------------------------------------------------------
// Routing and limits

#[tokio::test]
async fn unknown_paths_are_404_with_the_error_envelope() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/api"),
        ("GET", "/api/token"),
        ("GET", "/api/tokens/"),
        ("POST", "/api/tokens/"),
        ("DELETE", "/api/tokens/"),
        ("GET", "//api/tokens"),
        ("POST", "//api/tokens"),
        ("DELETE", "/api/tokens/a/b"),
        ("GET", "/API/tokens"),
        ("GET", "/api/tokens.json"),
    ] {
        let (status, headers, body) = server
            .raw(method, path, &[AUTH, JSON], br#"{"name":"x"}"#.to_vec())
            .await;
        assert_error(status, &body, 404, "no route");
        assert_json_content_type(&headers);
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_an_allow_header() {
    let server = TestServer::start().await;
    let id = sha256_hex(KEY);
    let item = format!("/api/tokens/{id}");
    for (method, path, allow) in [
        ("PUT", "/api/tokens", "GET, POST"),
        ("PATCH", "/api/tokens", "GET, POST"),
        ("DELETE", "/api/tokens", "GET, POST"),
        ("GET", item.as_str(), "DELETE"),
        ("POST", item.as_str(), "DELETE"),
        ("PUT", item.as_str(), "DELETE"),
    ] {
        let (status, headers, body) = server
            .raw(method, path, &[AUTH, JSON], br#"{"name":"x"}"#.to_vec())
            .await;
        assert_error(status, &body, 405, "method not allowed");
        assert_json_content_type(&headers);
        assert_eq!(
            headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    // The bootstrap key survived the DELETE-shaped 405s, nothing was created.
    assert_eq!(ids(&server.list_all(KEY, 100).await), [id]);
}

#[tokio::test]
async fn a_body_of_exactly_1_mib_is_accepted() {
    let server = TestServer::start().await;
    let head = r#"{"name":"big","pad":""#;
    let tail = r#""}"#;
    let mut body = head.as_bytes().to_vec();
    body.resize(MIB - tail.len(), b'a');
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), MIB);
    let (status, _, json) = post_bytes(&server, &body).await;
    assert_eq!(status, 201, "{json}");
    assert_eq!(json["data"]["name"], "big");
}

#[tokio::test]
async fn a_body_over_1_mib_with_content_length_is_413() {
    let server = TestServer::start().await;
    let body = format!(r#"{{"name":"big","pad":"{}"}}"#, "a".repeat(MIB));
    let (status, headers, json) = post_bytes(&server, body.as_bytes()).await;
    assert_error(status, &json, 413, "larger than the limit");
    assert_eq!(json["code"], "payload_too_large");
    assert_json_content_type(&headers);
    assert_eq!(server.list_all(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn a_declared_content_length_over_1_mib_is_413_before_the_body_arrives() {
    let server = TestServer::start().await;
    let request = format!(
        "POST /api/tokens HTTP/1.1\r\nhost: localhost\r\nauthorization: {KEY}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        MIB + 1
    );
    let (status, head, json) = raw_http(server.addr, request.into_bytes()).await;
    assert_error(status, &json, 413, "larger than the limit");
    assert!(head.contains("content-type: application/json"), "{head}");
}

#[tokio::test]
async fn a_chunked_body_is_read_and_one_over_1_mib_is_413() {
    let server = TestServer::start().await;
    let mut request = chunked_post(br#"{"name":"chunked"}"#);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, _, json) = raw_http(server.addr, request).await;
    assert_eq!(status, 201, "{json}");
    assert_eq!(json["data"]["name"], "chunked");

    // One byte over the limit, in one chunk with no Content-Length: the server
    // has to count as it reads. The terminating chunk is never needed.
    let mut data = br#"{"name":"big","pad":""#.to_vec();
    data.resize(MIB + 1, b'a');
    let (status, head, json) = raw_http(server.addr, chunked_post(&data)).await;
    assert_error(status, &json, 413, "larger than the limit");
    assert!(head.contains("content-type: application/json"), "{head}");
    let names: Vec<Value> = server
        .list_all(KEY, 100)
        .await
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("bootstrap"), json!("chunked")]);
}

// ---------------------------------------------------------------------------
// Concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_all_succeed_with_unique_ids_and_secrets() {
    let server = TestServer::start().await;
    let client = client();
    let mut tasks = JoinSet::new();
    for i in 0..200 {
        let request = client
            .post(server.url("/api/tokens"))
            .header("authorization", KEY)
            .json(&json!({ "name": format!("c{i}") }));
        tasks.spawn(async move {
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        });
    }
    let mut secrets = HashSet::new();
    let mut created_ids = HashSet::new();
    let mut names = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (status, body) = joined.unwrap();
        assert_eq!(status, 201, "{body}");
        let data = &body["data"];
        let token = data["token"].as_str().unwrap().to_owned();
        assert_eq!(data["id"].as_str().unwrap(), sha256_hex(&token));
        assert!(secrets.insert(token), "duplicate secret");
        assert!(created_ids.insert(data["id"].as_str().unwrap().to_owned()));
        names.insert(data["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        (secrets.len(), created_ids.len(), names.len()),
        (200, 200, 200)
    );

    let listed = server.list_all(KEY, 100).await;
    assert_eq!(listed.len(), 201);
    let listed_ids: HashSet<String> = ids(&listed).into_iter().collect();
    assert_eq!(listed_ids.len(), 201, "no duplicates in the listing");
    assert!(created_ids.is_subset(&listed_ids));
    assert!(listed_ids.contains(&sha256_hex(KEY)));
}
