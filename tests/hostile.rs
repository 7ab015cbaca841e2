//! Hostile input: malformed and adversarial requests sent over raw TCP, so
//! that nothing is tidied up by a client library on the way.
//!
//! Every request the service itself sees must get a 4xx with the JSON error
//! envelope, on a connection that stays usable (a health check follows on
//! the same socket), and must leave the stored state exactly as it was. The
//! cases sit in tables, one per kind of abuse; `the_tables_hold_at_least_60_cases`
//! keeps the count honest.
//!
//! Where closing the connection is what HTTP/1.1 itself calls for, a case
//! says `Closes` and why: an HTTP/1.0 request without keep-alive, a body the
//! server refused without reading (the rest of it would otherwise be parsed
//! as the next request), a client that stopped sending in time. Requests so
//! malformed that hyper rejects them before they become a request (a broken
//! request line, framing that cannot be trusted) get hyper's own bare 4xx
//! status line and a close; `hyper_rejects_unparseable_requests_with_a_bare_4xx_and_a_close`
//! pins those down separately, since no envelope can be built for a request
//! that does not exist.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use archil_mock::{Config, JournalFilter};
use common::raw::*;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

const AUTH: (&str, &[u8]) = ("authorization", KEY.as_bytes());
const JSON: (&str, &[u8]) = ("content-type", b"application/json");

/// `POST /api/tokens` with the built-in key, as JSON.
fn post(body: &[u8]) -> Vec<u8> {
    http("POST", "/api/tokens", &[AUTH, JSON], body)
}

/// `GET` with the built-in key.
fn get(target: &str) -> Vec<u8> {
    http("GET", target, &[AUTH], b"")
}

/// `POST /api/tokens` with the built-in key and a hand-chunked body.
fn chunked(chunks: &[u8]) -> Vec<u8> {
    let mut out = http(
        "POST",
        "/api/tokens",
        &[AUTH, JSON, ("transfer-encoding", b"chunked")],
        b"",
    );
    out.extend_from_slice(chunks);
    out
}

/// `data` as one chunk plus the last chunk.
fn one_chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
    out
}

/// A JSON value nested `depth` arrays deep, closed or not.
fn nested(depth: usize, closed: bool) -> String {
    let close = if closed {
        "]".repeat(depth)
    } else {
        String::new()
    };
    format!("{}1{close}", "[".repeat(depth))
}

// ---------------------------------------------------------------------------
// The tables.

struct Case {
    name: String,
    request: Vec<u8>,
    status: u16,
    /// Part of the envelope's `error` message.
    needle: &'static str,
    after: After,
}

fn case(name: impl Into<String>, request: Vec<u8>, status: u16, needle: &'static str) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        needle,
        after: After::KeepAlive,
    }
}

fn closing(name: impl Into<String>, request: Vec<u8>, status: u16, needle: &'static str) -> Case {
    Case {
        after: After::Closes,
        ..case(name, request, status, needle)
    }
}

const BAD_JSON: &str = "not valid JSON";
const NOT_OBJECT: &str = "must be a JSON object";
const NOT_UTF8: &str = "not valid UTF-8";
const NOT_STRING: &str = "name must be a string";
const NO_ROUTE: &str = "no route for path";
const LIMIT_INT: &str = "limit must be an integer";
const LIMIT_RANGE: &str = "limit must be between 1 and 100";
const BAD_CURSOR: &str = "cursor is not a cursor this server issued";

/// Bodies of `POST /api/tokens` that are not a valid create request.
fn json_body_cases() -> Vec<Case> {
    let mut many_keys = String::from("{");
    for i in 0..50_000 {
        many_keys.push_str(&format!("\"k{i}\":0,"));
    }
    many_keys.push_str("\"z\":0}");
    let table: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated after the colon",
            br#"{"name":"#.to_vec(),
            BAD_JSON,
        ),
        (
            "truncated inside a string",
            br#"{"name":"abc"#.to_vec(),
            BAD_JSON,
        ),
        ("a lone opening brace", b"{".to_vec(), BAD_JSON),
        ("a trailing comma", br#"{"name":"a",}"#.to_vec(), BAD_JSON),
        ("single-quoted strings", b"{'name':'a'}".to_vec(), BAD_JSON),
        ("an unquoted key", br#"{name:"a"}"#.to_vec(), BAD_JSON),
        ("a comment", br#"{"name":"a" /* hi */}"#.to_vec(), BAD_JSON),
        ("trailing garbage", br#"{"name":"a"}x"#.to_vec(), BAD_JSON),
        (
            "two objects",
            br#"{"name":"a"} {"name":"b"}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "a 100k-deep unclosed array as name",
            format!("{{\"name\":{}", nested(100_000, false)).into_bytes(),
            BAD_JSON,
        ),
        (
            "a 100k-deep closed array as name",
            format!("{{\"name\":{}}}", nested(100_000, true)).into_bytes(),
            BAD_JSON,
        ),
        (
            "a 100k-deep array as the whole body",
            nested(100_000, true).into_bytes(),
            NOT_OBJECT,
        ),
        (
            "100k-deep nested objects",
            format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)).into_bytes(),
            BAD_JSON,
        ),
        (
            "a duplicate name",
            br#"{"name":"a","name":"b"}"#.to_vec(),
            "duplicate field `name`",
        ),
        (
            "a duplicate name spelled with an escape",
            br#"{"name":"a","na\u006de":"b"}"#.to_vec(),
            "duplicate field `name`",
        ),
        (
            "a duplicate description",
            br#"{"name":"a","description":"x","description":"y"}"#.to_vec(),
            "duplicate field `description`",
        ),
        ("name 1e999", br#"{"name":1e999}"#.to_vec(), BAD_JSON),
        ("name -1e999", br#"{"name":-1e999}"#.to_vec(), BAD_JSON),
        ("name 1e-999", br#"{"name":1e-999}"#.to_vec(), NOT_STRING),
        (
            "name a 30-digit integer",
            br#"{"name":123456789012345678901234567890}"#.to_vec(),
            NOT_STRING,
        ),
        (
            "name a 400-digit integer",
            format!("{{\"name\":1{}}}", "0".repeat(400)).into_bytes(),
            BAD_JSON,
        ),
        ("name -0", br#"{"name":-0}"#.to_vec(), NOT_STRING),
        ("name NaN", br#"{"name":NaN}"#.to_vec(), BAD_JSON),
        ("name Infinity", br#"{"name":Infinity}"#.to_vec(), BAD_JSON),
        (
            "name -Infinity",
            br#"{"name":-Infinity}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "name undefined",
            br#"{"name":undefined}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "a UTF-8 BOM before a valid body",
            b"\xEF\xBB\xBF{\"name\":\"bom\"}".to_vec(),
            BAD_JSON,
        ),
        ("a UTF-8 BOM alone", b"\xEF\xBB\xBF".to_vec(), BAD_JSON),
        (
            "a UTF-16LE body",
            "{\"name\":\"u16\"}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
            BAD_JSON,
        ),
        (
            "a 0xFF byte in name",
            b"{\"name\":\"\xff\"}".to_vec(),
            NOT_UTF8,
        ),
        (
            "an overlong encoding in name",
            b"{\"name\":\"\xc0\xaf\"}".to_vec(),
            NOT_UTF8,
        ),
        (
            "a UTF-8-encoded surrogate in name",
            b"{\"name\":\"\xed\xa0\x80\"}".to_vec(),
            NOT_UTF8,
        ),
        (
            "a truncated multi-byte sequence in name",
            b"{\"name\":\"\xe2\x82\"}".to_vec(),
            NOT_UTF8,
        ),
        (
            "a lone leading surrogate escape",
            br#"{"name":"\ud800"}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "a lone trailing surrogate escape",
            br#"{"name":"\udc00"}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "a raw NUL in name",
            b"{\"name\":\"a\0b\"}".to_vec(),
            BAD_JSON,
        ),
        (
            "a raw newline in name",
            b"{\"name\":\"a\nb\"}".to_vec(),
            BAD_JSON,
        ),
        ("a bad escape", br#"{"name":"\x41"}"#.to_vec(), BAD_JSON),
        ("name null", br#"{"name":null}"#.to_vec(), NOT_STRING),
        ("name an array", br#"{"name":["a"]}"#.to_vec(), NOT_STRING),
        (
            "name an object",
            br#"{"name":{"a":1}}"#.to_vec(),
            NOT_STRING,
        ),
        (
            "name empty",
            br#"{"name":""}"#.to_vec(),
            "between 1 and 100",
        ),
        (
            "name of 101 emoji",
            format!("{{\"name\":\"{}\"}}", "😀".repeat(101)).into_bytes(),
            "between 1 and 100",
        ),
        (
            "name of 500k characters",
            format!("{{\"name\":\"{}\"}}", "a".repeat(500_000)).into_bytes(),
            "between 1 and 100",
        ),
        (
            "description of 501 characters",
            format!("{{\"name\":\"a\",\"description\":\"{}\"}}", "d".repeat(501)).into_bytes(),
            "description must be at most 500",
        ),
        (
            "description a number",
            br#"{"name":"a","description":1e999}"#.to_vec(),
            BAD_JSON,
        ),
        (
            "no name at all",
            br#"{"Name":"a"}"#.to_vec(),
            "name is required",
        ),
        (
            "50k keys and no name",
            many_keys.into_bytes(),
            "name is required",
        ),
        ("null", b"null".to_vec(), NOT_OBJECT),
        ("an array", br#"[{"name":"a"}]"#.to_vec(), NOT_OBJECT),
        ("a string", br#""{\"name\":\"a\"}""#.to_vec(), NOT_OBJECT),
        ("a number", b"42".to_vec(), NOT_OBJECT),
        ("whitespace only", b" \t\r\n ".to_vec(), "body is required"),
    ];
    let mut cases: Vec<Case> = table
        .into_iter()
        .map(|(name, body, needle)| case(name, post(&body), 400, needle))
        .collect();
    cases.push(case(
        "an empty body",
        http("POST", "/api/tokens", &[AUTH, JSON], b""),
        400,
        "body is required",
    ));
    cases
}

/// Content types other than JSON (the body is read as JSON whatever it
/// declares, as the real backend does, so a bad body is still a 400), and
/// bodies framed oddly but legally.
fn content_type_and_framing_cases() -> Vec<Case> {
    let form = b"name=should-not-exist";
    let with_ct = |ct: &[u8]| http("POST", "/api/tokens", &[AUTH, ("content-type", ct)], form);
    let mut tiny_chunks = Vec::new();
    for b in b"{\"name\":\"\xff\"}" {
        tiny_chunks.extend_from_slice(b"1\r\n");
        tiny_chunks.push(*b);
        tiny_chunks.extend_from_slice(b"\r\n");
    }
    tiny_chunks.extend_from_slice(b"0\r\n\r\n");
    vec![
        case("text/plain", with_ct(b"text/plain"), 400, BAD_JSON),
        case(
            "a form",
            http(
                "POST",
                "/api/tokens",
                &[AUTH, ("content-type", b"application/x-www-form-urlencoded")],
                b"name=a",
            ),
            400,
            BAD_JSON,
        ),
        case(
            "multipart",
            with_ct(b"multipart/form-data; boundary=x"),
            400,
            BAD_JSON,
        ),
        case(
            "application/jsonp",
            with_ct(b"application/jsonp"),
            400,
            BAD_JSON,
        ),
        case("an empty content type", with_ct(b""), 400, BAD_JSON),
        case(
            "a content type with non-ASCII bytes",
            with_ct(b"application/json\xff"),
            400,
            BAD_JSON,
        ),
        case(
            "a content type of 8 KB",
            with_ct(format!("text/{}", "x".repeat(8192)).as_bytes()),
            400,
            BAD_JSON,
        ),
        case(
            "text/plain before application/json",
            http(
                "POST",
                "/api/tokens",
                &[
                    AUTH,
                    ("content-type", b"text/plain"),
                    ("content-type", b"application/json"),
                ],
                form,
            ),
            400,
            BAD_JSON,
        ),
        case(
            "no content type and invalid JSON",
            http("POST", "/api/tokens", &[AUTH], b"{\"name\":"),
            400,
            BAD_JSON,
        ),
        case(
            "a chunked truncated body",
            chunked(&one_chunk(br#"{"name":"#)),
            400,
            BAD_JSON,
        ),
        case(
            "a chunked body in 1-byte chunks with invalid UTF-8",
            chunked(&tiny_chunks),
            400,
            NOT_UTF8,
        ),
        case(
            "a chunked body with chunk extensions",
            chunked(b"2;ext=\"v\"\r\n[]\r\n0\r\n\r\n"),
            400,
            NOT_OBJECT,
        ),
        case(
            "a chunked body with trailers",
            chunked(b"2\r\n[]\r\n0\r\nx-trailer: 1\r\n\r\n"),
            400,
            NOT_OBJECT,
        ),
        // The chunked framing is broken, so the connection cannot go on.
        closing(
            "a chunk size that is not hex",
            chunked(b"zz\r\n{}\r\n0\r\n\r\n"),
            400,
            "chunk",
        ),
        closing(
            "a chunk longer than its declared size",
            chunked(b"1\r\n{}\r\n0\r\n\r\n"),
            400,
            "chunk",
        ),
        closing(
            "a chunk size beyond u64",
            chunked(b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
            400,
            "chunk",
        ),
        case(
            "an empty chunked body",
            chunked(b"0\r\n\r\n"),
            400,
            "body is required",
        ),
        // The body was refused unread, so its bytes cannot be told from the
        // next request: closing is the only safe way on.
        closing(
            "a declared content-length of 2 MiB",
            {
                let mut r = http("POST", "/api/tokens", &[AUTH, JSON], b"");
                r.splice(
                    r.len() - 2..r.len() - 2,
                    format!("content-length: {}\r\n", 2 * MIB).into_bytes(),
                );
                r
            },
            413,
            "larger than the limit",
        ),
        closing(
            "a 2 MiB body behind expect: 100-continue",
            {
                let mut r = http(
                    "POST",
                    "/api/tokens",
                    &[AUTH, JSON, ("expect", b"100-continue")],
                    b"",
                );
                r.splice(
                    r.len() - 2..r.len() - 2,
                    format!("content-length: {}\r\n", 2 * MIB).into_bytes(),
                );
                r
            },
            413,
            "larger than the limit",
        ),
    ]
}

/// Paths and query strings that must not reach an operation they name.
fn path_and_query_cases(kept_id: &str) -> Vec<Case> {
    let valid = br#"{"name":"should-not-exist"}"#;
    let post_to = |target: &str| http("POST", target, &[AUTH, JSON], valid);
    let delete = |target: &str| http("DELETE", target, &[AUTH], b"");
    vec![
        case(
            "/api/../api/tokens",
            post_to("/api/../api/tokens"),
            404,
            NO_ROUTE,
        ),
        case(
            "a traversal from tokens to reset",
            post_to("/api/tokens/../../_mock/reset"),
            404,
            NO_ROUTE,
        ),
        case(
            "a traversal from admin to tokens",
            post_to("/_mock/../api/tokens"),
            404,
            NO_ROUTE,
        ),
        case(
            "percent-encoded dots",
            post_to("/api/tokens/%2e%2e/%2e%2e/_mock/reset"),
            404,
            NO_ROUTE,
        ),
        case(
            "DELETE /api/tokens/..",
            delete("/api/tokens/.."),
            404,
            "not found",
        ),
        case("/api/tokens%00", post_to("/api/tokens%00"), 404, NO_ROUTE),
        case(
            "DELETE /api/tokens/%00",
            delete("/api/tokens/%00"),
            404,
            "not found",
        ),
        case("//api/tokens", post_to("//api/tokens"), 404, NO_ROUTE),
        case("/api//tokens", post_to("/api//tokens"), 404, NO_ROUTE),
        case("/api/tokens/", post_to("/api/tokens/"), 404, NO_ROUTE),
        case("/API/TOKENS", post_to("/API/TOKENS"), 404, NO_ROUTE),
        case("/%61pi/tokens", post_to("/%61pi/tokens"), 404, NO_ROUTE),
        case("an asterisk target", post_to("*"), 404, NO_ROUTE),
        case(
            "a path of 8 KB",
            post_to(&format!("/{}", "a/".repeat(4096))),
            404,
            NO_ROUTE,
        ),
        case(
            "a path of 60 KB",
            post_to(&format!("/api/{}", "x".repeat(60_000))),
            404,
            NO_ROUTE,
        ),
        case(
            "an id of 60 KB",
            delete(&format!("/api/tokens/{}", "f".repeat(60_000))),
            404,
            "not found",
        ),
        case(
            "the kept token's id in upper case",
            delete(&format!("/api/tokens/{}", kept_id.to_ascii_uppercase())),
            404,
            "not found",
        ),
        case(
            "the kept token's id with a trailing %20",
            delete(&format!("/api/tokens/{kept_id}%20")),
            404,
            "not found",
        ),
        case(
            "the kept token's id with a query and a suffix path",
            delete(&format!("/api/tokens/{kept_id}/x?force=1")),
            404,
            NO_ROUTE,
        ),
        case(
            "limit=1&limit=2",
            get("/api/tokens?limit=1&limit=2"),
            400,
            "at most once",
        ),
        case("limit=%00", get("/api/tokens?limit=%00"), 400, LIMIT_INT),
        case("limit=", get("/api/tokens?limit="), 400, LIMIT_INT),
        case("limit=1e2", get("/api/tokens?limit=1e2"), 400, LIMIT_INT),
        case("limit=0x10", get("/api/tokens?limit=0x10"), 400, LIMIT_INT),
        case("limit=%201", get("/api/tokens?limit=%201"), 400, LIMIT_INT),
        case("limit=%FF", get("/api/tokens?limit=%FF"), 400, LIMIT_INT),
        case(
            "limit with a zero-width space",
            get("/api/tokens?limit=%E2%80%8B5"),
            400,
            LIMIT_INT,
        ),
        case("limit=-0", get("/api/tokens?limit=-0"), 400, LIMIT_RANGE),
        case(
            "limit beyond u64",
            get("/api/tokens?limit=99999999999999999999999"),
            400,
            LIMIT_RANGE,
        ),
        case(
            "cursor=garbage",
            get("/api/tokens?cursor=garbage"),
            400,
            BAD_CURSOR,
        ),
        case("cursor=t", get("/api/tokens?cursor=t"), 400, BAD_CURSOR),
        case(
            "cursor=t%00",
            get("/api/tokens?cursor=t%00"),
            400,
            BAD_CURSOR,
        ),
        case(
            "a 17-digit hex cursor",
            get("/api/tokens?cursor=t10000000000000000"),
            400,
            BAD_CURSOR,
        ),
        case(
            "a cursor of invalid UTF-8",
            get("/api/tokens?cursor=%FF%FE"),
            400,
            BAD_CURSOR,
        ),
        case(
            "cursor given twice",
            get("/api/tokens?cursor=t1&cursor=t2"),
            400,
            "at most once",
        ),
        case(
            "an 8 KB query of junk before a bad limit",
            get(&format!("/api/tokens?{}=&limit=0", "x=1&&=".repeat(1400))),
            400,
            LIMIT_RANGE,
        ),
    ]
}

/// Headers and methods.
fn header_and_method_cases() -> Vec<Case> {
    let valid = br#"{"name":"should-not-exist"}"#;
    let post_with = |headers: &[(&str, &[u8])]| {
        let mut all = vec![JSON];
        all.extend_from_slice(headers);
        http("POST", "/api/tokens", &all, valid)
    };
    let big_key = format!("key-{}", "a".repeat(16 * 1024));
    let junk_headers: Vec<(String, Vec<u8>)> = (0..90)
        .map(|i| (format!("x-junk-{i}"), vec![b'j'; 100]))
        .collect();
    let mut junk: Vec<(&str, &[u8])> = junk_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    junk.push(AUTH);
    junk.push(JSON);
    let token_id = hex_sha256(KEY);
    vec![
        case(
            "a 16 KB Authorization header",
            post_with(&[("authorization", big_key.as_bytes())]),
            401,
            "invalid or revoked",
        ),
        case(
            "an Authorization header of invalid UTF-8",
            post_with(&[("authorization", b"key-archil-mock\xff")]),
            401,
            "Authorization",
        ),
        case(
            "an empty Authorization header",
            post_with(&[("authorization", b"")]),
            401,
            "missing Authorization",
        ),
        case(
            "a Bearer-prefixed unknown key",
            post_with(&[("authorization", b"Bearer key-archil-mock-x")]),
            401,
            "invalid or revoked",
        ),
        case(
            "Bearer twice",
            post_with(&[("authorization", b"Bearer Bearer key-archil-mock")]),
            401,
            "invalid or revoked",
        ),
        case(
            "a Bearer scheme with no key",
            post_with(&[("authorization", b"Bearer ")]),
            401,
            "invalid or revoked",
        ),
        case(
            "the key's id instead of the key",
            post_with(&[("authorization", token_id.as_bytes())]),
            401,
            "invalid or revoked",
        ),
        case(
            "a wrong key before the right one",
            post_with(&[("authorization", b"key-wrong"), AUTH]),
            401,
            "invalid or revoked",
        ),
        case(
            "90 junk headers and a truncated body",
            http("POST", "/api/tokens", &junk, b"{\"name\""),
            400,
            BAD_JSON,
        ),
        case(
            "a 16 KB junk header and a truncated body",
            http(
                "POST",
                "/api/tokens",
                &[AUTH, JSON, ("x-junk", &[b'j'; 16 * 1024])],
                &valid[..valid.len() - 1],
            ),
            400,
            BAD_JSON,
        ),
        case(
            "a fault header that is not a status",
            post_with(&[AUTH, ("x-archil-mock-fault", b"explode")]),
            400,
            "x-archil-mock-fault must be",
        ),
        case(
            "a fault header with a 2xx status",
            post_with(&[AUTH, ("x-archil-mock-fault", b"200")]),
            400,
            "x-archil-mock-fault must be",
        ),
        case(
            "a fault header beyond u16",
            post_with(&[AUTH, ("x-archil-mock-fault", b"99999999")]),
            400,
            "x-archil-mock-fault must be",
        ),
        case(
            "a negative delay header",
            post_with(&[AUTH, ("x-archil-mock-delay-ms", b"-1")]),
            400,
            "x-archil-mock-delay-ms must be",
        ),
        case(
            "a huge delay header",
            post_with(&[AUTH, ("x-archil-mock-delay-ms", b"99999999999999999999")]),
            400,
            "x-archil-mock-delay-ms must be",
        ),
        case(
            "a fault phase that is neither",
            post_with(&[
                AUTH,
                ("x-archil-mock-fault", b"503"),
                ("x-archil-mock-fault-phase", b"during"),
            ]),
            400,
            "must be `before` or `after`",
        ),
        case(
            "a non-ASCII fault header",
            post_with(&[AUTH, ("x-archil-mock-fault", b"50\xff")]),
            400,
            "must be ASCII",
        ),
        case(
            "PUT /api/tokens with a valid body",
            http("PUT", "/api/tokens", &[AUTH, JSON], valid),
            405,
            "method not allowed",
        ),
        case(
            "PATCH /api/tokens",
            http("PATCH", "/api/tokens", &[AUTH, JSON], valid),
            405,
            "method not allowed",
        ),
        case(
            "TRACE /api/tokens",
            http("TRACE", "/api/tokens", &[AUTH], b""),
            405,
            "method not allowed",
        ),
        case(
            "an invented method",
            http("FROBNICATE", "/api/tokens", &[AUTH, JSON], valid),
            405,
            "method not allowed",
        ),
        case(
            "a lower-case post",
            http("post", "/api/tokens", &[AUTH, JSON], valid),
            405,
            "method not allowed",
        ),
        case(
            "DELETE /api/tokens without an id",
            http("DELETE", "/api/tokens", &[AUTH], b""),
            405,
            "method not allowed",
        ),
        case(
            "no Host header",
            b"POST /api/tokens HTTP/1.1\r\nauthorization: key-archil-mock\r\ncontent-length: 1\r\n\r\n{"
                .to_vec(),
            400,
            BAD_JSON,
        ),
        // HTTP/1.0 closes after each response unless the client asks otherwise.
        closing(
            "HTTP/1.0 POST with a truncated body",
            http_v("HTTP/1.0", "POST", "/api/tokens", &[AUTH, JSON], b"{\"na"),
            400,
            BAD_JSON,
        ),
        closing(
            "HTTP/1.0 GET without a key",
            http_v("HTTP/1.0", "GET", "/api/tokens", &[], b""),
            401,
            "missing Authorization",
        ),
        case(
            "HTTP/1.0 keep-alive with a bad limit",
            http_v(
                "HTTP/1.0",
                "GET",
                "/api/tokens?limit=0",
                &[AUTH, ("connection", b"keep-alive")],
                b"",
            ),
            400,
            LIMIT_RANGE,
        ),
        closing(
            "HTTP/1.1 with connection: close and a valid body but no key",
            http(
                "POST",
                "/api/tokens",
                &[JSON, ("connection", b"close")],
                valid,
            ),
            401,
            "missing Authorization",
        ),
    ]
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

// ---------------------------------------------------------------------------
// Running a table.

/// The stored state, without `lastUsedAt` (every authenticated request marks
/// the key it used).
fn state(server: &TestServer) -> Value {
    let mut snapshot = serde_json::to_value(server.app.snapshot()).unwrap();
    for account in snapshot["accounts"].as_array_mut().unwrap() {
        for token in account["tokens"].as_array_mut().unwrap() {
            token.as_object_mut().unwrap().remove("lastUsedAt");
        }
    }
    snapshot
}

/// A server holding one token besides the bootstrap key, and that token's id.
async fn server_with_a_token(config: Config) -> (TestServer, String) {
    let server = TestServer::with(config).await;
    let kept = server.create(KEY, "keep-me").await;
    let id = kept["id"].as_str().unwrap().to_owned();
    (server, id)
}

/// Runs every case on a fresh connection; returns one line per failure.
async fn run_table(server: &TestServer, cases: Vec<Case>) {
    let mut failures = Vec::new();
    let total = cases.len();
    for case in cases {
        if let Err(why) = run_case(server, &case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn run_case(server: &TestServer, case: &Case) -> Result<(), String> {
    let before = state(server);
    let mut conn = Conn::open(server.addr).await;
    // A refused write shows up as a missing response below.
    let _ = conn.send(&case.request).await;
    let response = conn
        .response(false)
        .await
        .ok_or("connection closed without a response")?;
    check_envelope(&response, case.status, case.needle)?;
    check_after(&mut conn, case.after, server.addr).await?;
    if state(server) != before {
        return Err(format!(
            "state changed:\nbefore {before}\nafter  {}",
            state(server)
        ));
    }
    Ok(())
}

/// A 4xx of the expected status with `{success: false, error: …needle…}` as
/// application/json.
fn check_envelope(r: &Raw, status: u16, needle: &str) -> Result<(), String> {
    let body = String::from_utf8_lossy(&r.body);
    if r.status != status {
        return Err(format!("status {} (wanted {status}): {body}", r.status));
    }
    if !(400..500).contains(&r.status) {
        return Err(format!("status {} is not a 4xx", r.status));
    }
    if r.header("content-type") != Some("application/json") {
        return Err(format!("content-type {:?}", r.header("content-type")));
    }
    let json = r
        .json()
        .ok_or_else(|| format!("body is not JSON: {body}"))?;
    if json["success"] != false {
        return Err(format!("no success: false in {json}"));
    }
    let message = json["error"]
        .as_str()
        .ok_or_else(|| format!("no error message in {json}"))?;
    if !message.contains(needle) {
        return Err(format!("error {message:?} lacks {needle:?}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The table tests.

#[test]
fn the_tables_hold_at_least_60_cases() {
    let counts = [
        json_body_cases().len(),
        content_type_and_framing_cases().len(),
        path_and_query_cases(&"0".repeat(64)).len(),
        header_and_method_cases().len(),
    ];
    let total: usize = counts.iter().sum();
    eprintln!("{total} enveloped cases: {counts:?}");
    assert!(total >= 60, "only {total} cases: {counts:?}");
}

#[tokio::test]
async fn malformed_json_bodies_get_400_and_change_nothing() {
    let (server, _) = server_with_a_token(Config::default()).await;
    run_table(&server, json_body_cases()).await;
}

#[tokio::test]
async fn wrong_content_types_and_odd_framing_get_4xx_and_change_nothing() {
    let (server, _) = server_with_a_token(Config::default()).await;
    run_table(&server, content_type_and_framing_cases()).await;
}

#[tokio::test]
async fn path_and_query_oddities_get_4xx_and_change_nothing() {
    let (server, kept_id) = server_with_a_token(Config::default()).await;
    run_table(&server, path_and_query_cases(&kept_id)).await;
    // The traversal to reset did not reset: the kept token is still there.
    let names: Vec<Value> = server
        .list_all(KEY, 100)
        .await
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, ["bootstrap", "keep-me"]);
}

#[tokio::test]
async fn header_and_method_oddities_get_4xx_and_change_nothing() {
    let (server, _) = server_with_a_token(Config::default()).await;
    run_table(&server, header_and_method_cases()).await;
}

// ---------------------------------------------------------------------------
// What is accepted by design, so the tables above do not pass by accident.

#[tokio::test]
async fn a_valid_body_without_content_type_or_chunked_is_accepted_by_design() {
    let server = TestServer::start().await;
    let body = br#"{"name":"no-content-type"}"#;
    for (name, request) in [
        (
            "no content type",
            http("POST", "/api/tokens", &[AUTH], body),
        ),
        ("chunked", chunked(&one_chunk(body))),
    ] {
        let mut conn = Conn::open(server.addr).await;
        conn.send(&request).await.unwrap();
        let r = conn.response(false).await.expect("a response");
        assert_eq!(r.status, 201, "{name}: {:?}", r.json());
    }
    assert_eq!(server.list_all(KEY, 100).await.len(), 3);
}

// ---------------------------------------------------------------------------
// Protocol abuse.

#[tokio::test]
async fn hyper_rejects_unparseable_requests_with_a_bare_4xx_and_a_close() {
    // These never become a request: the head cannot be parsed or the body's
    // framing cannot be trusted (the classic request-smuggling shapes). hyper
    // answers with a status line of its own and closes; the service, and so
    // the envelope, is never reached. What matters: a 4xx, no 5xx, the
    // server keeps serving, nothing changes.
    let (server, _) = server_with_a_token(Config::default()).await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a garbage request line", b"HELLO\r\n\r\n".to_vec(), 400),
        (
            "a space inside the target",
            b"GET /api/to kens HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a raw non-ASCII byte in the target",
            b"GET /api/tokens?limit=\xff HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a header line without a colon",
            b"GET /api/tokens HTTP/1.1\r\nhost: x\r\nno-colon\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two different content-lengths",
            b"POST /api/tokens HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}"
                .to_vec(),
            400,
        ),
        (
            "a negative content-length",
            b"POST /api/tokens HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a content-length beyond u64",
            b"POST /api/tokens HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999999\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "a transfer-encoding that does not end in chunked",
            b"POST /api/tokens HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, gzip\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "chunked over HTTP/1.0",
            b"POST /api/tokens HTTP/1.0\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "a control character in a header value",
            b"GET /api/tokens HTTP/1.1\r\nhost: x\r\nauthorization: key-archil-mock\x01\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "101 headers",
            {
                let mut r = b"GET /api/tokens HTTP/1.1\r\nhost: x\r\n".to_vec();
                for i in 0..101 {
                    r.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
                }
                r.extend_from_slice(b"\r\n");
                r
            },
            431,
        ),
        (
            "a target of 70 KB",
            format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
        ),
    ];
    let total = cases.len();
    let mut failures = Vec::new();
    for (name, request, status) in cases {
        let before = state(&server);
        let mut conn = Conn::open(server.addr).await;
        let _ = conn.send(&request).await;
        match conn.response(false).await {
            Some(r) if r.status == status => {}
            Some(r) => failures.push(format!("{name}: status {} (wanted {status})", r.status)),
            None => failures.push(format!("{name}: closed without a status line")),
        }
        if !conn.closes().await {
            failures.push(format!("{name}: connection stayed open"));
        }
        if state(&server) != before {
            failures.push(format!("{name}: state changed"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let (status, _) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_endless_chunked_body_gets_413_without_being_buffered() {
    // If the server buffered the whole body before answering it would never
    // answer: the body below does not end (up to a 256 MiB safety stop).
    let (server, _) = server_with_a_token(Config::default()).await;
    let before = state(&server);
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (sent, stop) = (sent.clone(), stop.clone());
        tokio::spawn(async move {
            let head = http(
                "POST",
                "/api/tokens",
                &[AUTH, JSON, ("transfer-encoding", b"chunked")],
                b"",
            );
            write.write_all(&head).await?;
            let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
            chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
            chunk.extend_from_slice(b"\r\n");
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 256 * MIB as u64 {
                write.write_all(&chunk).await?;
                sent.fetch_add(64 * 1024, Ordering::Relaxed);
            }
            Ok::<_, std::io::Error>(())
        })
    };
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    while find(&response, b"\r\n\r\n").is_none() || !response.ends_with(b"}") {
        let n = tokio::time::timeout(WAIT, read.read(&mut buf))
            .await
            .expect("a response while the body is still streaming")
            .unwrap();
        assert!(n > 0, "closed without a response");
        response.extend_from_slice(&buf[..n]);
    }
    let sent_at_answer = sent.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let text = String::from_utf8_lossy(&response).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    assert!(text.contains(r#""success":false"#), "{text}");
    assert!(
        sent_at_answer < 256 * MIB as u64,
        "answered only after the whole body"
    );
    // The rest of the body is not read: closing is how hyper ends the exchange.
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open");
    let _ = writer.await;
    eprintln!(
        "413 after {} KiB sent, in {:?}",
        sent_at_answer / 1024,
        started.elapsed()
    );
    assert_eq!(state(&server), before);
    let (status, _) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn pipelined_requests_are_all_answered_in_order() {
    let (server, _) = server_with_a_token(Config::default()).await;
    let before = state(&server);
    let requests: Vec<(Vec<u8>, u16)> = vec![
        (get("/api/tokens?limit=0"), 400),
        (post(b"{\"name\":"), 400),
        (http("DELETE", "/api/tokens/zz", &[AUTH], b""), 404),
        (get("/nope"), 404),
        (http("GET", "/api/tokens", &[], b""), 401),
        (http("PUT", "/api/tokens", &[AUTH], b""), 405),
        (
            http(
                "POST",
                "/api/tokens",
                &[AUTH, ("content-type", b"text/plain")],
                b"{}",
            ),
            400,
        ),
        (chunked(&one_chunk(b"[]")), 400),
        (get("/api/tokens?cursor=zzz"), 400),
        (HEALTH.to_vec(), 200),
        (get("/api/tokens?limit=1"), 200),
    ];
    let mut conn = Conn::open(server.addr).await;
    let all: Vec<u8> = requests.iter().flat_map(|(r, _)| r.clone()).collect();
    conn.send(&all).await.unwrap();
    let mut last_id = 0u64;
    for (i, (_, status)) in requests.iter().enumerate() {
        let r = conn
            .response(false)
            .await
            .unwrap_or_else(|| panic!("closed before response {i}"));
        assert_eq!(r.status, *status, "response {i}: {:?}", r.json());
        assert_eq!(r.header("content-type"), Some("application/json"));
        // The journal numbers API requests as they arrive: in order here.
        if let Some(id) = r.header("x-request-id") {
            let id: u64 = id.parse().unwrap();
            assert!(
                id > last_id,
                "response {i} out of order: {id} after {last_id}"
            );
            last_id = id;
        }
    }
    assert!(last_id > 0, "no x-request-id seen");
    assert_eq!(state(&server), before);
}

#[tokio::test]
async fn a_slowloris_client_is_timed_out_while_others_are_served() {
    let config = Config {
        request_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let (server, _) = server_with_a_token(config).await;
    let before = state(&server);
    // 20 clients trickle a header byte every 200 ms and never finish the head.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let addr = server.addr;
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let started = Instant::now();
            stream
                .write_all(b"POST /api/tokens HTTP/1.1\r\nhost: x\r\nx-slow: ")
                .await
                .unwrap();
            let mut byte = [0u8; 1];
            loop {
                tokio::select! {
                    read = stream.read(&mut byte) => {
                        // The server gave up on us: a bare 408 status or a close.
                        let _ = read;
                        return started.elapsed();
                    }
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        if stream.write_all(b"a").await.is_err() {
                            return started.elapsed();
                        }
                    }
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "a slowloris client was kept for 10 s"
                );
            }
        }));
    }
    // Meanwhile, an honest client is served promptly, several times over.
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _) = server
            .call("GET", "/api/tokens?limit=1", Some(KEY), None)
            .await;
        assert_eq!(status, 200);
        // Well inside the 1 s timeout: the slow clients hold nothing up.
        assert!(started.elapsed() < Duration::from_millis(900));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in slow {
        let held = task.await.unwrap();
        assert!(
            held < Duration::from_secs(4),
            "a slowloris client was held for {held:?} with a 1 s timeout"
        );
    }
    assert_eq!(state(&server), before);
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_with_the_envelope() {
    let config = Config {
        request_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let (server, _) = server_with_a_token(config).await;
    let before = state(&server);
    let mut conn = Conn::open(server.addr).await;
    let mut request = http("POST", "/api/tokens", &[AUTH, JSON], b"");
    request.splice(
        request.len() - 2..request.len() - 2,
        b"content-length: 100\r\n".to_vec(),
    );
    request.extend_from_slice(br#"{"name":"slow"#);
    conn.send(&request).await.unwrap();
    let started = Instant::now();
    let r = conn.response(false).await.expect("a 408");
    check_envelope(&r, 408, "did not arrive in time").unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    // The body is still owed, so nothing on this socket can be trusted: close.
    assert!(conn.closes().await, "the connection stayed open");
    assert_eq!(state(&server), before);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_body_changes_nothing() {
    let (server, _) = server_with_a_token(Config::default()).await;
    let before = state(&server);
    server.app.clear_requests();
    let valid = br#"{"name":"half-sent"}"#;
    // A complete valid object, but fewer bytes than declared; then a body cut
    // inside a chunk; then headers only.
    let mut short = http("POST", "/api/tokens", &[AUTH, JSON], b"");
    short.splice(
        short.len() - 2..short.len() - 2,
        format!("content-length: {}\r\n", valid.len() + 10).into_bytes(),
    );
    short.extend_from_slice(valid);
    let mut cut_chunk = chunked(format!("{:x}\r\n", valid.len() + 10).as_bytes());
    cut_chunk.extend_from_slice(valid);
    let mut headers_only = http("POST", "/api/tokens", &[AUTH, JSON], b"");
    headers_only.splice(
        headers_only.len() - 2..headers_only.len() - 2,
        b"content-length: 1000\r\n".to_vec(),
    );
    for request in [short, cut_chunk, headers_only] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(stream);
    }
    // The server saw all three and journaled each as dropped (no status).
    let journaled = async {
        loop {
            let posts = server.app.requests(&JournalFilter {
                method: Some("POST".into()),
                path: None,
            });
            if posts.len() == 3 {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let posts = tokio::time::timeout(WAIT, journaled)
        .await
        .expect("the three requests are journaled");
    assert!(posts.iter().all(|p| p.status.is_none()), "{posts:?}");
    for _ in 0..3 {
        let (status, _) = server.call("GET", "/api/tokens", Some(KEY), None).await;
        assert_eq!(status, 200);
    }
    assert_eq!(state(&server), before);
}
