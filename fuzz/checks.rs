//! What the fuzz targets check, shared with `tests/fuzz_seeds.rs` (which
//! replays `fuzz/seeds/` through these same functions on every `cargo test`),
//! so the harness itself is built and run by the main crate's tests.
//!
//! Each entry point takes the raw fuzz input, runs the server's own decoding
//! code on it, and asserts more than "no panic": what is accepted satisfies
//! the documented rules (checked here by plain oracles written from the
//! README and the spec, not by calling the code under test again), and what
//! is refused is refused as a client error whose message a client can read.
//!
//! Included with `#[path]` by every fuzz target and by the test, so each user
//! sees only part of it used.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use archil_mock::api::disks::{
    self, MountSpec, NewDisk, RootAttrs, MOUNT_SECRETS, NAME_MAX as DISK_NAME_MAX, ROOT_ID_MAX,
    ROOT_MODE_MAX,
};
use archil_mock::api::tokens::{ListQuery, NewToken, DESCRIPTION_MAX, MAX_LIMIT, NAME_MAX};
use archil_mock::api::{json_object, Ctx, Input};
use archil_mock::error::ApiError;
use archil_mock::fuzzing;
use archil_mock::gateway::error::S3Error;
use archil_mock::gateway::objects::decode_token;
use archil_mock::gateway::route::{self, S3Op, KEY_MAX, PAGE_MAX, PART_MAX};
use archil_mock::gateway::{xml, DELETE_MAX};
use archil_mock::State;
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::{Map, Value};

/// The longest error message a client may get back: error messages echo at
/// most 80 characters of client input (`api::shorten`), quoted and escaped,
/// around a fixed sentence.
pub const MESSAGE_MAX: usize = 1024;

// ---------------------------------------------------------------- tokens

/// `decode_create`: the input as a `POST /api/tokens` body, and as a
/// `GET /api/tokens` query string.
pub fn decode_create(data: &[u8]) {
    // The whole input as a body (read as JSON whatever its Content-Type).
    let input = Input {
        body: data,
        ..Input::default()
    };
    if let Ok(token) = json_object(input).and_then(NewToken::parse) {
        check_token(&token, data);
    }
    // The input as a query string.
    let query = String::from_utf8_lossy(data);
    if let Ok(q) = ListQuery::parse(Some(&query)) {
        assert!((1..=MAX_LIMIT).contains(&q.limit));
    }
}

fn check_token(token: &NewToken, body: &[u8]) {
    assert!((1..=NAME_MAX).contains(&token.name.chars().count()));
    if let Some(d) = &token.description {
        assert!(d.chars().count() <= DESCRIPTION_MAX);
    }
    // A body the server accepts is one object that plain serde_json reads
    // the same way (it keeps the last of duplicate keys; the server refuses them).
    let plain: Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
    assert_eq!(plain["name"].as_str(), Some(token.name.as_str()));
    assert_eq!(
        plain.get("description").and_then(Value::as_str),
        token.description.as_deref()
    );
}

// ---------------------------------------------------------------- gateway

/// The methods the first input byte picks from: the five S3 uses and a few
/// it does not.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "COPY",
];

/// Builds a `gateway_decode` input: the method's index, then
/// `path \n query \n body` (no query line: no query at all).
pub fn gateway_input(method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Vec<u8> {
    let index = METHODS
        .iter()
        .position(|m| *m == method)
        .expect("a listed method");
    let mut out = vec![index as u8];
    out.extend_from_slice(path.as_bytes());
    if query.is_some() || !body.is_empty() {
        out.push(b'\n');
        out.extend_from_slice(query.unwrap_or("").as_bytes());
    }
    if !body.is_empty() {
        out.push(b'\n');
        out.extend_from_slice(body);
    }
    out
}

/// `gateway_decode`: the first byte picks the method; the rest is
/// `path \n query \n body`. The path and query go through `route::decode`
/// (and the key part through `route::decode_key`), the body through both
/// XML request documents as the gateway reads them.
pub fn gateway_decode(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let method = Method::from_bytes(METHODS[first as usize % METHODS.len()].as_bytes())
        .expect("listed methods are tokens");
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let query = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    check_route(&method, &path, query.as_deref());
    check_complete_body(body);
    check_delete_body(body);
}

/// A key is what a POSIX filesystem can hold (README, "Keys"): 1..=1024
/// bytes, no NUL, and, after one trailing `/` is set aside, no empty, `.`
/// or `..` segment.
pub fn key_is_valid(key: &str) -> bool {
    let body = key.strip_suffix('/').unwrap_or(key);
    !key.is_empty()
        && key.len() <= KEY_MAX
        && !key.contains('\0')
        && body.split('/').all(|s| !matches!(s, "" | "." | ".."))
}

/// Percent-decoding, once: `%XX` with two hex digits is that byte, anything
/// else (a lone `%`, `+`) stays as it is. `None` when the bytes are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap() * 16 + hex(l).unwrap()) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn percent_encode_path(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string as `application/x-www-form-urlencoded`: `&`-separated
/// pairs (empty ones skipped), split at the first `=`, `+` as a space, then
/// percent-decoded and read as UTF-8 with replacement.
pub fn form_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        let bytes = spaced.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
                (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    out.push((hex(h).unwrap() * 16 + hex(l).unwrap()) as u8);
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The operation the README's gateway table assigns to a method, whether
/// the path has a key, and which query flags are present (by presence, as
/// `route`'s contract says); `None` where the table has no row.
pub fn expected_op(
    method: &Method,
    has_key: bool,
    has: impl Fn(&str) -> bool,
) -> Option<&'static str> {
    let m = method.as_str();
    Some(match (has_key, m) {
        (false, "POST") if has("delete") => "DeleteObjects",
        (false, "GET") if has("uploads") => "ListUploads",
        (false, "GET") => "ListObjects",
        (false, "HEAD") => "HeadBucket",
        (true, "PUT") if has("uploadId") && has("partNumber") => "UploadPart",
        (true, "PUT") if has("append") => "AppendObject",
        (true, "PUT") => "PutObject",
        (true, "POST") if has("uploads") => "CreateUpload",
        (true, "POST") if has("uploadId") => "CompleteUpload",
        (true, "DELETE") if has("uploadId") => "AbortUpload",
        (true, "DELETE") => "DeleteObject",
        (true, "GET") if has("uploadId") => "ListParts",
        (true, "GET") => "GetObject",
        (true, "HEAD") => "HeadObject",
        _ => return None,
    })
}

fn op_name(op: &S3Op) -> &'static str {
    match op {
        S3Op::ListObjects(_) => "ListObjects",
        S3Op::ListUploads(_) => "ListUploads",
        S3Op::DeleteObjects => "DeleteObjects",
        S3Op::HeadBucket => "HeadBucket",
        S3Op::GetObject { .. } => "GetObject",
        S3Op::HeadObject { .. } => "HeadObject",
        S3Op::PutObject { .. } => "PutObject",
        S3Op::AppendObject { .. } => "AppendObject",
        S3Op::DeleteObject { .. } => "DeleteObject",
        S3Op::CreateUpload { .. } => "CreateUpload",
        S3Op::UploadPart { .. } => "UploadPart",
        S3Op::CompleteUpload { .. } => "CompleteUpload",
        S3Op::AbortUpload { .. } => "AbortUpload",
        S3Op::ListParts { .. } => "ListParts",
    }
}

fn op_key(op: &S3Op) -> Option<&str> {
    match op {
        S3Op::GetObject { key }
        | S3Op::HeadObject { key }
        | S3Op::PutObject { key }
        | S3Op::AppendObject { key }
        | S3Op::DeleteObject { key }
        | S3Op::CreateUpload { key }
        | S3Op::UploadPart { key, .. }
        | S3Op::CompleteUpload { key, .. }
        | S3Op::AbortUpload { key, .. }
        | S3Op::ListParts { key, .. } => Some(key),
        _ => None,
    }
}

/// A page size as the README gives it: absent is 1000, an integer is
/// clamped into 1..=1000.
fn expected_page(text: Option<&str>) -> Option<usize> {
    match text {
        None => Some(PAGE_MAX),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .map(|n| n.clamp(1, PAGE_MAX as i64) as usize),
    }
}

/// `route::decode` and `route::decode_key` against the README's rules.
pub fn check_route(method: &Method, path: &str, query: Option<&str>) {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (disk, raw_key) = match rest.split_once('/') {
        None => (rest, None),
        Some((disk, "")) => (disk, None),
        Some((disk, raw)) => (disk, Some(raw)),
    };
    // The key alone: accepted exactly when its one percent-decoding is UTF-8
    // and a valid key, and then it is that decoding.
    if let Some(raw) = raw_key {
        let oracle = percent_decode(raw).filter(|k| key_is_valid(k));
        match route::decode_key(raw) {
            Ok(key) => {
                assert_eq!(Some(&key), oracle.as_ref(), "decode_key({raw:?})");
                assert!(route::check_key(&key).is_ok());
                // Encoding the key again gives it back: decoding happens once.
                assert_eq!(
                    route::decode_key(&percent_encode_path(&key)).as_ref(),
                    Ok(&key)
                );
            }
            Err(e) => {
                assert_eq!(oracle, None, "decode_key({raw:?}) refused a valid key: {e}");
                assert!(
                    matches!(e.code, "InvalidArgument" | "KeyTooLongError" | "InvalidURI"),
                    "{e}"
                );
                check_s3_error(&e);
            }
        }
    }

    let pairs = form_pairs(query.unwrap_or(""));
    let mut params: HashMap<&str, &str> = HashMap::new();
    let mut repeated = false;
    for (k, v) in &pairs {
        repeated |= params.insert(k, v).is_some();
    }
    let param = |name: &str| params.get(name).copied();

    let request = match route::decode(method, path, query) {
        Ok(request) => request,
        Err(e) => {
            assert!(matches!(e.status, 400 | 405), "{e}");
            check_s3_error(&e);
            return;
        }
    };
    assert!(!repeated, "a repeated parameter in {query:?} was accepted");
    assert_eq!(request.disk, disk);
    let expected = expected_op(method, raw_key.is_some(), |n| params.contains_key(n));
    assert_eq!(
        Some(op_name(&request.op)),
        expected,
        "{method} {path} ?{query:?}"
    );
    if let Some(key) = op_key(&request.op) {
        assert!(key_is_valid(key), "{key:?}");
        assert_eq!(Some(key), percent_decode(raw_key.unwrap()).as_deref());
    }
    let upload_id = |id: &str| {
        assert!(!id.is_empty());
        assert_eq!(Some(id), param("uploadId"));
    };
    match &request.op {
        S3Op::ListObjects(l) => {
            assert_eq!(param("list-type"), Some("2"));
            assert_eq!(l.prefix, param("prefix").unwrap_or(""));
            assert_eq!(
                l.delimiter.as_deref(),
                param("delimiter").filter(|d| !d.is_empty())
            );
            assert_eq!(
                l.start_after.as_deref(),
                param("start-after").filter(|d| !d.is_empty())
            );
            assert_eq!(
                l.continuation_token.as_deref(),
                param("continuation-token").filter(|d| !d.is_empty())
            );
            if let Some(t) = &l.continuation_token {
                assert!(decode_token(t).is_some(), "{t:?}");
            }
            assert_eq!(Some(l.max_keys), expected_page(param("max-keys")));
        }
        S3Op::ListUploads(u) => {
            assert_eq!(u.prefix, param("prefix").unwrap_or(""));
            assert_eq!(u.key_marker, param("key-marker").unwrap_or(""));
            assert_eq!(u.upload_id_marker, param("upload-id-marker").unwrap_or(""));
            assert_eq!(Some(u.max_uploads), expected_page(param("max-uploads")));
        }
        S3Op::UploadPart {
            upload_id: id,
            part_number,
            ..
        } => {
            upload_id(id);
            assert!((1..=PART_MAX).contains(part_number));
            assert_eq!(
                param("partNumber").and_then(|t| t.parse().ok()),
                Some(*part_number)
            );
        }
        S3Op::CompleteUpload { upload_id: id, .. } | S3Op::AbortUpload { upload_id: id, .. } => {
            upload_id(id)
        }
        S3Op::ListParts {
            upload_id: id,
            marker,
            max_parts,
            ..
        } => {
            upload_id(id);
            assert!(*marker <= PART_MAX);
            match param("part-number-marker") {
                None | Some("") => assert_eq!(*marker, 0),
                Some(t) => assert_eq!(t.parse::<u32>().ok(), Some(*marker)),
            }
            assert_eq!(Some(*max_parts), expected_page(param("max-parts")));
        }
        _ => {}
    }
}

/// XML-escapes text for an element's content, `\r` included (a parser
/// would turn a raw one into `\n`).
fn xml_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A `CompleteMultipartUpload` body through the gateway's reading of it.
pub fn check_complete_body(body: &[u8]) {
    match fuzzing::complete_parts(body) {
        Ok(parts) => {
            let text = std::str::from_utf8(body).expect("accepted bodies are UTF-8");
            assert!(!text.contains("<!DOCTYPE") && !text.contains("<!ENTITY"));
            for (n, etag) in &parts {
                assert!((1..=PART_MAX).contains(n), "part {n}");
                assert!(etag.chars().all(xml_content_char), "{etag:?}");
            }
            // The same parts written plainly read back the same.
            let mut plain = String::from("<CompleteMultipartUpload>");
            for (n, etag) in &parts {
                plain.push_str(&format!(
                    "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                    xml_text(etag)
                ));
            }
            plain.push_str("</CompleteMultipartUpload>");
            assert_eq!(
                fuzzing::complete_parts(plain.as_bytes()).as_ref(),
                Ok(&parts),
                "{plain}"
            );
        }
        Err(e) => {
            assert!(matches!(e.code, "MalformedXML" | "InvalidPart"), "{e}");
            assert_eq!(e.status, 400);
            check_s3_error(&e);
        }
    }
}

/// A `Delete` body through the gateway's reading of it, and each key
/// through the check DeleteObjects applies.
pub fn check_delete_body(body: &[u8]) {
    match fuzzing::delete_request(body) {
        Ok(request) => {
            let text = std::str::from_utf8(body).expect("accepted bodies are UTF-8");
            assert!(!text.contains("<!DOCTYPE") && !text.contains("<!ENTITY"));
            assert!(request.objects.len() <= DELETE_MAX);
            let mut plain = String::from("<Delete>");
            for text in request.objects.iter().map(|o| &o.key).chain(&request.quiet) {
                assert!(text.chars().all(xml_content_char), "{text:?}");
            }
            for object in &request.objects {
                match route::check_key(&object.key) {
                    Ok(()) => assert!(key_is_valid(&object.key), "{:?}", object.key),
                    Err(e) => {
                        assert!(!key_is_valid(&object.key), "{:?}: {e}", object.key);
                        check_s3_error(&e);
                    }
                }
                plain.push_str(&format!(
                    "<Object><Key>{}</Key></Object>",
                    xml_text(&object.key)
                ));
            }
            if let Some(q) = &request.quiet {
                plain.push_str(&format!("<Quiet>{}</Quiet>", xml_text(q)));
            }
            plain.push_str("</Delete>");
            let again = fuzzing::delete_request(plain.as_bytes()).expect(&plain);
            let keys =
                |d: &xml::Delete| d.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
            assert_eq!(keys(&again), keys(&request), "{plain}");
            assert_eq!(again.quiet, request.quiet, "{plain}");
        }
        Err(e) => {
            assert_eq!(e.code, "MalformedXML", "{e}");
            assert_eq!(e.status, 400);
            check_s3_error(&e);
        }
    }
}

/// A character XML 1.0 allows in a document (a request body's text holds
/// only these, however it was written: raw or as `&#…;`).
fn xml_content_char(c: char) -> bool {
    c == '\r' || xml_char(c)
}

/// A character XML 1.0 allows in a document, other than `\r` (which a
/// parser turns into `\n`).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An S3 error as a client gets it: a short message of characters XML can
/// carry, rendered as an `<Error>` document that reads back as the same
/// code and message.
pub fn check_s3_error(e: &S3Error) {
    assert!((400..=599).contains(&e.status), "{e}");
    assert!(!e.message.is_empty());
    assert!(
        e.message.chars().count() <= MESSAGE_MAX,
        "a {}-character message echoes too much: {:?}",
        e.message.chars().count(),
        e.message
    );
    assert!(
        e.message.chars().all(xml_char),
        "the message has a character an XML parser refuses: {:?}",
        e.message
    );
    let response = e.clone().into_response(7, false);
    assert_eq!(response.status().as_u16(), e.status);
    let body = ready(response.into_body().collect())
        .expect("a full body")
        .to_bytes();
    let text = std::str::from_utf8(&body).expect("error documents are UTF-8");
    let fields: HashMap<String, String> = xml::from_xml(text).expect(text);
    assert_eq!(
        fields.get("Code").map(String::as_str),
        Some(e.code),
        "{text}"
    );
    assert_eq!(fields.get("Message"), Some(&e.message), "{text}");
    assert_eq!(
        fields.get("RequestId").map(String::as_str),
        Some("7"),
        "{text}"
    );
}

/// The output of a future that is ready at once (a `Full` body is).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a full body is ready at once"),
    }
}

// ---------------------------------------------------------------- disks

/// One mount type's fields as the spec (`MountConfig`) and the README's
/// `createDisk` paragraph list them: (required, optional). `bucketRegion`
/// is the mock's addition for the bucket types (the README lists it on s3).
pub fn mount_fields(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        "s3" => (
            &["bucketName"],
            &[
                "accessKeyId",
                "secretAccessKey",
                "sessionToken",
                "bucketPrefix",
                "bucketRegion",
            ],
        ),
        "gcs" => (
            &["bucketName", "accessKeyId", "secretAccessKey"],
            &["bucketPrefix", "bucketRegion"],
        ),
        "r2" | "s3-compatible" => (
            &[
                "bucketName",
                "bucketEndpoint",
                "accessKeyId",
                "secretAccessKey",
            ],
            &["bucketPrefix", "bucketRegion"],
        ),
        "azure-blob" => (
            &["containerName", "tenantId", "clientId", "clientSecret"],
            &["endpoint", "storageAccountName", "bucketPrefix"],
        ),
        _ => return None,
    })
}

/// The credential fields, which are checked and never stored (README, "Credentials").
pub const SECRETS: [&str; 4] = [
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "clientSecret",
];

/// A disk name by the spec: `^[a-zA-Z0-9_-]+$`, 1..=100 characters.
pub fn disk_name_is_valid(name: &str) -> bool {
    (1..=100).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// An allowed-IP entry: an IP address, or one with a `/prefix` of decimal
/// digits no larger than the address's bits.
fn ip_is_valid(entry: &str) -> bool {
    match entry.split_once('/') {
        None => entry.parse::<IpAddr>().is_ok(),
        Some((addr, bits)) => match addr.parse::<IpAddr>() {
            Ok(ip) => {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                !bits.is_empty()
                    && bits.len() <= 3
                    && bits.bytes().all(|b| b.is_ascii_digit())
                    && bits.parse::<u32>().is_ok_and(|n| n <= max)
            }
            Err(_) => false,
        },
    }
}

/// `create_disk_body`: the input as a `POST /api/disks` body; the body
/// (and its first mount) as a `MountConfig`, as a request and as a fixture
/// reads it; then an accepted disk created twice in a fresh state.
pub fn create_disk_body(data: &[u8]) {
    let input = Input {
        body: data,
        ..Input::default()
    };
    let body = match json_object(input) {
        Ok(body) => body,
        Err(e) => return check_api_error(&e),
    };
    let now_ms = 1_800_000_000_000;
    match NewDisk::parse(&body, now_ms) {
        Ok(new) => {
            check_new_disk(&new, &body, data);
            check_create(new);
        }
        Err(e) => check_api_error(&e),
    }
    let whole = Value::Object(body.clone());
    let first = match body.get("mounts") {
        Some(Value::Array(items)) => items.first(),
        _ => None,
    };
    for value in std::iter::once(&whole).chain(first) {
        for fixture in [false, true] {
            match disks::parse_mount(value, fixture) {
                Ok(spec) => check_mount(&spec, value, fixture),
                Err(e) => check_api_error(&e),
            }
        }
    }
}

fn check_api_error(e: &ApiError) {
    let ApiError::Validation(message) = e else {
        panic!("a body is refused with a validation error, not {e:?}");
    };
    assert!(!message.is_empty());
    assert!(
        message.chars().count() <= MESSAGE_MAX,
        "a {}-character message echoes too much: {message:?}",
        message.chars().count()
    );
}

fn check_new_disk(new: &NewDisk, body: &Map<String, Value>, raw: &[u8]) {
    assert!(disk_name_is_valid(&new.name), "{:?}", new.name);
    assert!(new.name.len() <= DISK_NAME_MAX);
    assert_eq!(
        body.get("name").and_then(Value::as_str),
        Some(new.name.as_str())
    );
    // Plain serde_json reads an accepted body the same way.
    let plain: Value = serde_json::from_slice(raw).expect("accepted bodies are JSON");
    assert_eq!(plain["name"].as_str(), Some(new.name.as_str()));

    match body.get("mounts") {
        None => assert!(new.mounts.is_empty()),
        Some(Value::Array(items)) => {
            assert!(items.len() <= 1, "at most one mount");
            assert_eq!(items.len(), new.mounts.len());
            for (spec, value) in new.mounts.iter().zip(items) {
                check_mount(spec, value, false);
            }
        }
        Some(other) => panic!("mounts {other} accepted"),
    }
    match (body.get("authMethods"), &new.auth_methods) {
        (None, None) => {}
        (Some(Value::Array(items)), Some(users)) => assert_eq!(items.len(), users.len()),
        (given, parsed) => panic!("authMethods {given:?} read as {parsed:?}"),
    }
    match (body.get("allowedIps"), &new.allowed_ips) {
        (None, None) => {}
        (Some(Value::Array(items)), Some(ips)) => {
            let given: Vec<_> = items.iter().map(Value::as_str).collect();
            let kept: Vec<_> = ips.iter().map(|s| Some(s.as_str())).collect();
            assert_eq!(given, kept);
            for ip in ips {
                assert!(ip_is_valid(ip), "{ip:?}");
            }
        }
        (given, parsed) => panic!("allowedIps {given:?} read as {parsed:?}"),
    }
    match (body.get("rootAttrs"), new.root_attrs) {
        (None, None) => {}
        (Some(Value::Object(attrs)), Some(RootAttrs { uid, gid, mode })) => {
            let given = |name: &str, default: u32| {
                attrs.get(name).map_or(Some(default as u64), Value::as_u64)
            };
            assert_eq!(given("uid", 0), Some(uid as u64));
            assert_eq!(given("gid", 0), Some(gid as u64));
            assert_eq!(given("mode", 0o755), Some(mode as u64));
            assert!(uid as i64 <= ROOT_ID_MAX && gid as i64 <= ROOT_ID_MAX);
            assert!(uid < u32::MAX && gid < u32::MAX);
            assert!(mode as i64 <= ROOT_MODE_MAX && mode <= 0o777);
        }
        (given, parsed) => panic!("rootAttrs {given:?} read as {parsed:?}"),
    }
    match (body.get("minClientVersion"), &new.min_client_version) {
        (None, None) => {}
        (Some(Value::String(given)), Some(kept)) => {
            assert_eq!(given, kept);
            assert!(kept.chars().count() <= 100);
        }
        (given, parsed) => panic!("minClientVersion {given:?} read as {parsed:?}"),
    }
}

/// An accepted mount against the spec's variant for its type.
fn check_mount(spec: &MountSpec, value: &Value, fixture: bool) {
    let Value::Object(m) = value else {
        panic!("a non-object mount accepted: {value}");
    };
    let kind = m
        .get("type")
        .and_then(Value::as_str)
        .expect("type is a string");
    assert_eq!(spec.kind.as_str(), kind);
    let (required, optional) = mount_fields(kind).expect("one of the five types");
    let string = |name: &str| m.get(name).and_then(Value::as_str);
    for name in required {
        if fixture && SECRETS.contains(name) {
            // A snapshot drops credentials: a fixture need not give them.
            continue;
        }
        let given = string(name).unwrap_or_else(|| panic!("{name} missing, yet accepted"));
        assert!(!given.is_empty(), "{name} empty, yet accepted");
    }
    let known: Vec<&str> = required.iter().chain(optional).copied().collect();
    for name in &known {
        match m.get(*name) {
            None => {}
            Some(Value::String(s)) => {
                assert!(
                    s.chars().count() <= 2048,
                    "{name} of {} characters",
                    s.chars().count()
                );
                if SECRETS.contains(name) {
                    assert!(!spec.fields.contains_key(*name), "{name} was kept");
                } else {
                    assert_eq!(spec.fields.get(*name), Some(s), "{name}");
                }
            }
            Some(other) => panic!("{name} {other} accepted"),
        }
    }
    for name in spec.fields.keys() {
        assert!(
            known.contains(&name.as_str()),
            "{name} is not a {kind} field"
        );
        assert!(!MOUNT_SECRETS.contains(&name.as_str()), "{name} was kept");
    }
    let has_keys = SECRETS
        .iter()
        .any(|s| known.contains(s) && m.contains_key(*s));
    let implied = match kind {
        "azure-blob" => "oauth",
        "s3" if !has_keys => "iam",
        _ => "accessKeys",
    };
    match (fixture, m.get("authorizationType")) {
        (true, Some(Value::String(given))) => assert_eq!(spec.authorization, given),
        _ => assert_eq!(spec.authorization, implied),
    }
}

/// Creates an accepted disk in a fresh state: it is there as parsed, its
/// view carries no credential, and creating it again is the idempotent 200.
fn check_create(new: NewDisk) {
    let mut state = State::new();
    let ctx = Ctx {
        account: state.account("fuzz"),
        now_ms: 1_800_000_000_000,
    };
    let created = match disks::create(&mut state, ctx, new.clone()) {
        Ok(outcome) => outcome,
        Err(e) => {
            // Only the deprecated authMethods can fail here (e.g. two users
            // with one principal), and then nothing is created.
            assert!(new.auth_methods.is_some(), "{e:?}");
            check_api_error(&e);
            assert_eq!(disks::all(&state).count(), 0);
            return;
        }
    };
    assert!(created.created);
    let view = disks::get(&state, ctx, &created.data.disk_id).expect("the new disk");
    assert_eq!(view.name, new.name);
    assert_eq!(view.mounts.len(), new.mounts.len());
    assert_eq!(view.root_attrs, new.root_attrs.unwrap_or_default());
    let shown = serde_json::to_value(&view).expect("views serialise");
    let mut keys = BTreeMap::new();
    object_keys(&shown, &mut keys);
    for secret in MOUNT_SECRETS {
        assert!(!keys.contains_key(secret), "{secret} in {shown}");
    }
    let users = match &new.auth_methods {
        Some(users) => users.len(),
        None => 1,
    };
    assert_eq!(created.data.authorized_users.len(), users);
    let again = disks::create(&mut state, ctx, new).expect("the same create again");
    assert!(!again.created);
    assert_eq!(again.data.disk_id, created.data.disk_id);
    assert_eq!(disks::all(&state).count(), 1);
}

fn object_keys(value: &Value, out: &mut BTreeMap<String, ()>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone(), ());
                object_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| object_keys(v, out)),
        _ => {}
    }
}
