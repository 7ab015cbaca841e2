//! Black-box tests of `grepDisk` (`POST /api/disks/{id}/grep`) over real
//! HTTP against a server on port 0, per shared/contracts/exec-grep.md A.0,
//! A.3, C.5 and C.6: every validation rule at its boundary; ids, accounts,
//! auth and methods; each `stoppedReason` reached natively (`completed`,
//! `incomplete`, `max_results`, `deadline`); 3000 seeded files compared with
//! an oracle written here; binary files, CRLF, Unicode, long lines and
//! newline-separated alternatives; the counters; and the journal.
//!
//! Disk contents come in through the S3 gateway (`PUT /{disk}/{key}`), a
//! fixture's `files`, or `App::write_object` for the bulk sets.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regex::bytes::Regex;
use serde_json::{json, Value};

/// `GrepStoppedReason` ([P] L1381).
const REASONS: [&str; 5] = [
    "completed",
    "incomplete",
    "max_results",
    "deadline",
    "list_failed",
];
/// Files per simulated container (C.5: "batches are a fixed B files").
const BATCH: u64 = 64;
/// `text` is cut at 512 KiB (A.3).
const TEXT_MAX: usize = 512 * 1024;

/// One match as `(file, line, text)`.
type Match = (String, u64, String);

fn grep_path(id: &str) -> String {
    format!("/api/disks/{id}/grep")
}

/// Posts a grep with the built-in key; returns status and body.
async fn grep_raw(server: &TestServer, id: &str, body: Value) -> (u16, Value) {
    server
        .call("POST", &grep_path(id), Some(KEY), Some(body))
        .await
}

/// Posts a grep; asserts 200, the envelope and the result's shape; returns `data`.
async fn grep(server: &TestServer, id: &str, body: Value) -> Value {
    let (status, reply) = grep_raw(server, id, body.clone()).await;
    assert_eq!(status, 200, "{body} gave {reply}");
    assert_eq!(reply["success"], true, "{reply}");
    let data = reply["data"].clone();
    assert_shape(&data);
    data
}

/// Asserts a 400 `validation_error` naming `needle`.
async fn assert_rejected(server: &TestServer, id: &str, body: Value, needle: &str) {
    let (status, reply) = grep_raw(server, id, body.clone()).await;
    assert_eq!(status, 400, "{body} gave {reply}");
    assert_error(status, &reply, 400, needle);
    assert_eq!(reply["code"], "validation_error", "{body} gave {reply}");
    assert!(reply.get("data").is_none(), "{reply}");
}

/// `GrepDiskResult` ([P] L1399): exactly these fields, all present, typed.
fn assert_shape(data: &Value) {
    let object = data
        .as_object()
        .unwrap_or_else(|| panic!("data is not an object: {data}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "computeSecondsUsed",
            "containersDispatched",
            "durationMs",
            "filesScanned",
            "grepMs",
            "listingMs",
            "matches",
            "stoppedReason",
        ],
        "{data}"
    );
    let matches = data["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("matches must be an array, never null: {data}"));
    for m in matches {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["file", "line", "text"], "{m}");
        let file = m["file"].as_str().expect("file is a string");
        assert!(
            !file.is_empty() && !file.starts_with('/') && !file.ends_with('/'),
            "file must be disk-root-relative with no leading '/': {m}"
        );
        assert!(m["line"].as_u64().is_some_and(|l| l >= 1), "1-based: {m}");
        assert!(m["text"].is_string(), "{m}");
    }
    let reason = data["stoppedReason"].as_str().expect("a string reason");
    assert!(REASONS.contains(&reason), "unknown stoppedReason {reason}");
    for field in [
        "filesScanned",
        "containersDispatched",
        "durationMs",
        "listingMs",
        "grepMs",
    ] {
        assert!(
            data[field].is_u64(),
            "{field} must be a non-negative integer: {data}"
        );
    }
    let seconds = &data["computeSecondsUsed"];
    assert!(
        seconds.is_f64(),
        "computeSecondsUsed must be a JSON float (C.5: serialize as a float, e.g. 0.0): {data}"
    );
    assert!(seconds.as_f64().unwrap() >= 0.0, "{data}");
    let duration = counter(data, "durationMs");
    assert!(counter(data, "listingMs") <= duration, "{data}");
    assert!(counter(data, "grepMs") <= duration, "{data}");
    assert!(
        counter(data, "containersDispatched") >= counter(data, "filesScanned").div_ceil(BATCH),
        "every scanned file went to a container: {data}"
    );
}

fn counter(data: &Value, field: &str) -> u64 {
    data[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field}: {data}"))
}

fn reason(data: &Value) -> &str {
    data["stoppedReason"].as_str().unwrap()
}

fn matches_of(data: &Value) -> Vec<Match> {
    data["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["file"].as_str().unwrap().to_owned(),
                m["line"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn m(file: &str, line: u64, text: &str) -> Match {
    (file.to_owned(), line, text.to_owned())
}

/// Asserts a search that found no files: `completed`, nothing dispatched.
fn assert_nothing_scanned(data: &Value, what: &str) {
    assert_eq!(reason(data), "completed", "{what}: {data}");
    assert_eq!(data["matches"], json!([]), "{what}: {data}");
    assert_eq!(counter(data, "filesScanned"), 0, "{what}: {data}");
    assert_eq!(counter(data, "containersDispatched"), 0, "{what}: {data}");
    assert_eq!(
        counter(data, "grepMs"),
        0,
        "{what}: 0 if no batches ran: {data}"
    );
    assert_eq!(
        data["computeSecondsUsed"].as_f64(),
        Some(0.0),
        "{what}: {data}"
    );
}

/// A server with the built-in key and one empty disk; returns both.
async fn server_with_disk(name: &str) -> (TestServer, String) {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, name).await;
    (server, id)
}

/// Writes each file through the gateway.
async fn put_all(server: &TestServer, id: &str, files: &[(&str, &[u8])]) {
    for (key, bytes) in files {
        server.put_object(KEY, id, key, bytes).await;
    }
}

/// A search body with everything but the two required fields left out.
fn body(directory: &str, pattern: &str) -> Value {
    json!({"directory": directory, "pattern": pattern})
}

// ---------------------------------------------------------------------------
// Validation (A.0, A.3)

#[tokio::test]
async fn directory_and_pattern_are_required_strings() {
    let (server, id) = server_with_disk("required").await;
    assert_rejected(&server, &id, json!({"pattern": "x"}), "directory").await;
    assert_rejected(&server, &id, json!({"directory": ""}), "pattern").await;
    assert_rejected(&server, &id, json!({}), "").await;
    for bad in [
        json!(null),
        json!(1),
        json!(true),
        json!([]),
        json!({}),
        json!(["a"]),
    ] {
        assert_rejected(
            &server,
            &id,
            json!({"directory": bad, "pattern": "x"}),
            "directory",
        )
        .await;
        assert_rejected(
            &server,
            &id,
            json!({"directory": "", "pattern": bad}),
            "pattern",
        )
        .await;
    }
    // The minimal valid body, and both empty strings (no minLength).
    let data = grep(&server, &id, body("", "x")).await;
    assert_nothing_scanned(&data, "an empty disk");
    grep(&server, &id, body("", "")).await;
}

#[tokio::test]
async fn recursive_must_be_a_boolean() {
    let (server, id) = server_with_disk("recursive").await;
    for ok in [true, false] {
        grep(
            &server,
            &id,
            json!({"directory": "", "pattern": "x", "recursive": ok}),
        )
        .await;
    }
    for bad in [
        json!(null),
        json!("true"),
        json!("false"),
        json!(1),
        json!(0),
        json!([]),
        json!({}),
    ] {
        assert_rejected(
            &server,
            &id,
            json!({"directory": "", "pattern": "x", "recursive": bad}),
            "recursive",
        )
        .await;
    }
}

#[tokio::test]
async fn integers_are_checked_at_their_bounds_as_json_schema_integers() {
    let (server, id) = server_with_disk("integers").await;
    for (field, min, max) in [
        ("maxDurationSeconds", 1i64, 30i64),
        ("concurrency", 1, 100),
        ("maxResults", 1, 10_000),
    ] {
        let with = |v: Value| {
            let mut b = body("", "x");
            b[field] = v;
            b
        };
        // Accepted: both bounds, as integers and as integral floats (30.0 is an integer).
        for ok in [
            json!(min),
            json!(max),
            json!(min as f64),
            json!(max as f64),
            json!((min + max) / 2),
        ] {
            grep(&server, &id, with(ok)).await;
        }
        // Rejected: one past each bound, fractions, other JSON types, null.
        for bad in [
            json!(min - 1),
            json!(max + 1),
            json!((max + 1) as f64),
            json!(-1),
            json!(min as f64 + 0.5),
            json!(1.5),
            json!(max as f64 - 0.25),
            json!(1e300),
            json!(-1e300),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(max.to_string()),
            json!("1"),
            json!(true),
            json!(false),
            json!(null),
            json!([min]),
            json!({"value": min}),
        ] {
            assert_rejected(&server, &id, with(bad), field).await;
        }
    }
    // Raw text the serializer would not write: 1e3 and 30.0 are integers, 1.5e0 is not.
    for (text, status) in [
        (r#"{"directory":"","pattern":"x","maxResults":1e3}"#, 200),
        (
            r#"{"directory":"","pattern":"x","maxDurationSeconds":30.0}"#,
            200,
        ),
        (r#"{"directory":"","pattern":"x","concurrency":1.0E2}"#, 200),
        (r#"{"directory":"","pattern":"x","concurrency":1.5e0}"#, 400),
        (r#"{"directory":"","pattern":"x","maxResults":1e4}"#, 200),
        (
            r#"{"directory":"","pattern":"x","maxResults":1.0001e4}"#,
            400,
        ),
        (
            r#"{"directory":"","pattern":"x","maxDurationSeconds":-0}"#,
            400,
        ),
    ] {
        let (got, _, reply) = server
            .raw(
                "POST",
                &grep_path(&id),
                &[("authorization", KEY), ("content-type", "application/json")],
                text.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(got, status, "{text} gave {reply}");
    }
}

#[tokio::test]
async fn directory_is_normalized_and_dot_segments_or_nul_are_rejected() {
    let (server, id) = server_with_disk("dirs").await;
    put_all(
        &server,
        &id,
        &[
            ("top.txt", b"hit top\n"),
            ("a/b/c.txt", b"hit abc\n"),
            ("a/b/d/e.txt", b"hit abde\n"),
            ("a/.../f.txt", b"hit dots\n"),
            ("a/.hidden/g.txt", b"hit hidden\n"),
        ],
    )
    .await;
    let files =
        |data: &Value| -> Vec<String> { matches_of(data).into_iter().map(|(f, _, _)| f).collect() };
    // "" and "/" (and any run of slashes) are the root.
    for root in ["", "/", "//", "///"] {
        let data = grep(
            &server,
            &id,
            json!({"directory": root, "pattern": "hit", "recursive": true}),
        )
        .await;
        assert_eq!(
            files(&data),
            [
                "a/.../f.txt",
                "a/.hidden/g.txt",
                "a/b/c.txt",
                "a/b/d/e.txt",
                "top.txt"
            ],
            "{root:?}: {data}"
        );
        let data = grep(&server, &id, body(root, "hit")).await;
        assert_eq!(files(&data), ["top.txt"], "{root:?}: {data}");
    }
    // Leading and trailing slashes are stripped.
    for dir in ["a/b", "/a/b", "a/b/", "/a/b/", "//a/b//"] {
        let data = grep(&server, &id, body(dir, "hit")).await;
        assert_eq!(files(&data), ["a/b/c.txt"], "{dir:?}: {data}");
        let data = grep(
            &server,
            &id,
            json!({"directory": dir, "pattern": "hit", "recursive": true}),
        )
        .await;
        assert_eq!(
            files(&data),
            ["a/b/c.txt", "a/b/d/e.txt"],
            "{dir:?}: {data}"
        );
    }
    // "..." and dot-files are names, not navigation.
    let data = grep(&server, &id, body("a/...", "hit")).await;
    assert_eq!(files(&data), ["a/.../f.txt"], "{data}");
    let data = grep(&server, &id, body(".hidden", "hit")).await;
    assert_nothing_scanned(&data, ".hidden is not under the root");
    let data = grep(&server, &id, body("a/.hidden", "hit")).await;
    assert_eq!(files(&data), ["a/.hidden/g.txt"], "{data}");
    // "." or ".." segments anywhere, or NUL: 400 (C.5 guards against traversal).
    for bad in [
        ".",
        "..",
        "./",
        "../",
        "/..",
        "/../",
        "./a",
        "../a",
        "a/.",
        "a/..",
        "a/./b",
        "a/../b",
        "a/b/..",
        "/a/../../etc",
        "..//a",
        "a\0b",
        "\0",
        "a/\0",
        "a/b\0/c",
    ] {
        assert_rejected(
            &server,
            &id,
            json!({"directory": bad, "pattern": "hit", "recursive": true}),
            "directory",
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_unknown_and_foreign_disk_ids() {
    let server = TestServer::with(two_accounts()).await;
    let alice = server.create_disk_named(ALICE_KEY, "alice-disk").await;
    server
        .put_object(ALICE_KEY, &alice, "notes.txt", b"secret line\n")
        .await;
    let (status, reply) = server
        .call(
            "POST",
            &grep_path(&alice),
            Some(ALICE_KEY),
            Some(body("", "secret")),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        matches_of(&reply["data"]),
        [m("notes.txt", 1, "secret line")]
    );

    // Another account's disk: 404, and nothing leaks.
    let (status, reply) = server
        .call(
            "POST",
            &grep_path(&alice),
            Some(BOB_KEY),
            Some(body("", "secret")),
        )
        .await;
    assert_error(status, &reply, 404, "not found");
    assert!(!reply.to_string().contains("secret line"), "{reply}");

    // Well-formed but unknown: 404.
    for unknown in ["dsk-0000000000000000", "dsk-ffffffffffffffff"] {
        let (status, reply) = server
            .call(
                "POST",
                &grep_path(unknown),
                Some(ALICE_KEY),
                Some(body("", "x")),
            )
            .await;
        assert_error(status, &reply, 404, "not found");
    }
    // Malformed ({id} pattern ^dsk-[0-9a-f]{16}$): 400.
    for malformed in [
        "dsk-0123456789ABCDEF",
        "dsk-0123456789abcde",
        "dsk-0123456789abcdef0",
        "dsk-0123456789abcdeg",
        "disk-0123456789abcdef",
        "DSK-0123456789abcdef",
        "0123456789abcdef",
        "dsk-",
        "x",
    ] {
        let (status, reply) = server
            .call(
                "POST",
                &grep_path(malformed),
                Some(ALICE_KEY),
                Some(body("", "x")),
            )
            .await;
        assert_error(status, &reply, 400, "malformed");
    }
}

#[tokio::test]
async fn auth_methods_and_bodies() {
    let (server, id) = server_with_disk("auth").await;
    let path = grep_path(&id);
    // No key, a wrong key: 401.
    let (status, reply) = server.call("POST", &path, None, Some(body("", "x"))).await;
    assert_error(status, &reply, 401, "");
    let (status, reply) = server
        .call(
            "POST",
            &path,
            Some("key-not-a-real-key-000000"),
            Some(body("", "x")),
        )
        .await;
    assert_error(status, &reply, 401, "");
    // The generated client's "Bearer <key>" form works.
    let (status, reply) = server
        .call(
            "POST",
            &path,
            Some(&format!("Bearer {KEY}")),
            Some(body("", "x")),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    // Only POST (405 is the project convention).
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let (status, reply) = server
            .call(method, &path, Some(KEY), Some(body("", "x")))
            .await;
        assert_error(status, &reply, 405, "");
    }
    // Bodies that are not one JSON object: 400.
    for (raw, needle) in [
        (&b""[..], "body"),
        (b"   ", "body"),
        (b"[]", "object"),
        (b"\"x\"", "object"),
        (b"null", "object"),
        (b"{", "JSON"),
        (b"{\"directory\":\"\",\"pattern\":\"x\"} {}", "JSON"),
        (b"\xff\xfe", "UTF-8"),
    ] {
        let (status, _, reply) = server
            .raw(
                "POST",
                &path,
                &[("authorization", KEY), ("content-type", "application/json")],
                raw.to_vec(),
            )
            .await;
        assert_error(status, &reply, 400, needle);
    }
    // A duplicate field is ambiguous: 400.
    let (status, _, reply) = server
        .raw(
            "POST",
            &path,
            &[("authorization", KEY)],
            br#"{"directory":"","pattern":"a","pattern":"b"}"#.to_vec(),
        )
        .await;
    assert_error(status, &reply, 400, "duplicate");
    // Unknown fields, and the newer backend's fields, are ignored (A.0, A.3).
    let data = grep(
        &server,
        &id,
        json!({
            "directory": "", "pattern": "x", "extra": {"nested": [1, 2]},
            "ignoreCase": true, "multiline": false, "globs": ["*.rs"], "types": ["rust"],
            "typesNot": ["md"], "contextBefore": 2, "contextAfter": 2
        }),
    )
    .await;
    assert_nothing_scanned(&data, "unknown fields");
    // Over 1 MiB: 413 (project convention), not a search.
    let huge = "a".repeat(1024 * 1024 + 1);
    let (status, reply) = grep_raw(&server, &id, body("", &huge)).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["success"], false, "{reply}");
}

// ---------------------------------------------------------------------------
// Selection (C.5)

#[tokio::test]
async fn a_missing_directory_or_a_file_scans_nothing_and_completes() {
    let (server, id) = server_with_disk("missing").await;
    put_all(
        &server,
        &id,
        &[("top.txt", b"needle\n"), ("a/b.txt", b"needle\n")],
    )
    .await;
    for dir in [
        "nope",
        "nope/deeper",
        "top.txt",
        "a/b.txt",
        "a/b",
        "A",
        "to",
    ] {
        for recursive in [false, true] {
            let data = grep(
                &server,
                &id,
                json!({"directory": dir, "pattern": "needle", "recursive": recursive}),
            )
            .await;
            assert_nothing_scanned(&data, &format!("{dir:?} recursive={recursive}"));
        }
    }
    // With no file to feed, even an invalid pattern completes (no batch errored).
    let data = grep(&server, &id, body("nope", "(a)\\1")).await;
    assert_nothing_scanned(&data, "an invalid pattern over no files");
}

#[tokio::test]
async fn recursive_false_is_one_level_and_true_the_whole_subtree() {
    let (server, id) = server_with_disk("levels").await;
    put_all(
        &server,
        &id,
        &[
            ("a.txt", b"x a.txt\n"),
            ("a/x.txt", b"x a/x\n"),
            ("a/.dot", b"x a/.dot\n"),
            ("a/sub/y.txt", b"x a/sub/y\n"),
            ("a/sub/deeper/z.txt", b"x a/sub/deeper/z\n"),
            ("ab/z.txt", b"x ab/z\n"),
            ("a-b/z.txt", b"x a-b/z\n"),
            (".hidden/h.txt", b"x .hidden/h\n"),
            ("a/emptydir/", b""),
        ],
    )
    .await;
    let files =
        |data: &Value| -> Vec<String> { matches_of(data).into_iter().map(|(f, _, _)| f).collect() };
    let run = |dir: &'static str, recursive: bool| {
        let server = &server;
        let id = &id;
        async move {
            grep(
                server,
                id,
                json!({"directory": dir, "pattern": "x", "recursive": recursive}),
            )
            .await
        }
    };

    let data = run("a", false).await;
    assert_eq!(files(&data), ["a/.dot", "a/x.txt"], "{data}");
    assert_eq!(counter(&data, "filesScanned"), 2, "{data}");
    assert_eq!(counter(&data, "containersDispatched"), 1, "{data}");

    let data = run("a", true).await;
    assert_eq!(
        files(&data),
        ["a/.dot", "a/sub/deeper/z.txt", "a/sub/y.txt", "a/x.txt"],
        "a prefix of a/, not of ab/, a-b/ or a.txt; the directory marker is no file: {data}"
    );
    assert_eq!(counter(&data, "filesScanned"), 4, "{data}");

    let data = run("", false).await;
    assert_eq!(files(&data), ["a.txt"], "{data}");
    assert_eq!(counter(&data, "filesScanned"), 1, "{data}");

    let data = run("", true).await;
    assert_eq!(
        files(&data),
        [
            ".hidden/h.txt",
            "a-b/z.txt",
            "a.txt",
            "a/.dot",
            "a/sub/deeper/z.txt",
            "a/sub/y.txt",
            "a/x.txt",
            "ab/z.txt",
        ],
        "hidden files are included, and order is by path bytes: {data}"
    );
    assert_eq!(counter(&data, "filesScanned"), 8, "{data}");

    let data = run("a/emptydir", true).await;
    assert_nothing_scanned(&data, "an empty directory");
}

#[tokio::test]
async fn matches_come_in_byte_order_of_path_then_line() {
    let (server, id) = server_with_disk("order").await;
    // Written out of order; byte order is "B" < "Z" < "a" < "z" < "~" < "é" < "日".
    for key in [
        "日.txt", "~.txt", "a.txt", "é.txt", "Z.txt", "z.txt", "B.txt",
    ] {
        server
            .put_object(KEY, &id, key, b"hit 1\nmiss\nhit 3\n")
            .await;
    }
    let data = grep(&server, &id, body("", "hit")).await;
    let mut want = Vec::new();
    for key in [
        "B.txt", "Z.txt", "a.txt", "z.txt", "~.txt", "é.txt", "日.txt",
    ] {
        want.push(m(key, 1, "hit 1"));
        want.push(m(key, 3, "hit 3"));
    }
    assert_eq!(matches_of(&data), want, "{data}");
    assert_eq!(counter(&data, "filesScanned"), 7, "{data}");
}

#[tokio::test]
async fn writes_and_deletes_through_the_gateway_are_seen_at_once() {
    let (server, id) = server_with_disk("fresh").await;
    let find = || async { matches_of(&grep(&server, &id, body("docs", "TODO")).await) };
    assert_eq!(find().await, []);
    server
        .put_object(KEY, &id, "docs/plan.md", b"# plan\nTODO: ship\n")
        .await;
    assert_eq!(find().await, [m("docs/plan.md", 2, "TODO: ship")]);
    server
        .put_object(KEY, &id, "docs/plan.md", b"TODO: first\n\nTODO: again\n")
        .await;
    assert_eq!(
        find().await,
        [
            m("docs/plan.md", 1, "TODO: first"),
            m("docs/plan.md", 3, "TODO: again")
        ],
        "an overwrite replaces the old content"
    );
    server.delete_object(KEY, &id, "docs/plan.md").await;
    assert_eq!(find().await, []);
}

#[tokio::test]
async fn fixture_files_are_searched() {
    let fixture = json!({"accounts": [{"name": "default", "disks": [{
        "id": "dsk-00000000000000f7",
        "name": "seeded",
        "files": [
            {"key": "README.md", "content": "# seeded\nsee logs/\n"},
            {"key": "logs/app.log", "content": "INFO up\nERROR disk full\r\nINFO down"},
            {"key": "logs/blob.bin", "contentBase64": "RVJST1IAYmluYXJ5Cg=="},
            {"key": "logs/old/app.log", "content": "ERROR old\n"},
            {"key": "scratch/"}
        ]
    }]}]});
    let server = TestServer::with_fixture("grep-fixture", &fixture).await;
    let id = "dsk-00000000000000f7";
    let data = grep(
        &server,
        id,
        json!({"directory": "logs", "pattern": "ERROR", "recursive": true}),
    )
    .await;
    assert_eq!(
        matches_of(&data),
        [
            m("logs/app.log", 2, "ERROR disk full\r"),
            m("logs/old/app.log", 1, "ERROR old")
        ],
        "the binary blob (ERROR\\0binary) gives nothing: {data}"
    );
    assert_eq!(counter(&data, "filesScanned"), 3, "{data}");
    let data = grep(
        &server,
        id,
        json!({"directory": "", "pattern": "", "recursive": true}),
    )
    .await;
    assert_eq!(
        counter(&data, "filesScanned"),
        4,
        "the directory marker scratch/ is no file: {data}"
    );
    assert_eq!(matches_of(&data).len(), 2 + 3 + 1, "{data}");
}

// ---------------------------------------------------------------------------
// Lines, binary files and the dialect (C.5, C.6)

#[tokio::test]
async fn lines_split_on_newline_keep_carriage_returns_and_count_from_one() {
    let (server, id) = server_with_disk("lines").await;
    put_all(
        &server,
        &id,
        &[
            ("crlf.txt", b"one\r\ntwo\r\nthree\r\n"),
            ("blank.txt", b"a\n\nb\n\n"),
            ("newline.txt", b"\n"),
            ("empty.txt", b""),
            ("nofinal.txt", b"first\nlast"),
            ("cr.txt", b"left\rright\n"),
            ("final.txt", b"only\n"),
        ],
    )
    .await;
    let find = |pattern: &'static str| {
        let server = &server;
        let id = &id;
        async move { matches_of(&grep(server, id, body("", pattern)).await) }
    };
    // CRLF: "\r" stays in text; "two$" does not match "two\r" (as in GNU grep and rg).
    assert_eq!(find("two").await, [m("crlf.txt", 2, "two\r")]);
    assert_eq!(find("two$").await, []);
    assert_eq!(find("two\\r$").await, [m("crlf.txt", 2, "two\r")]);
    assert_eq!(
        find("\\r$").await,
        [
            m("crlf.txt", 1, "one\r"),
            m("crlf.txt", 2, "two\r"),
            m("crlf.txt", 3, "three\r")
        ]
    );
    // A lone "\r" does not split lines.
    assert_eq!(
        find("^left\\rright$").await,
        [m("cr.txt", 1, "left\rright")]
    );
    assert_eq!(find("^right").await, []);
    // Empty lines are lines; an empty file has none; a final "\n" ends the
    // last line rather than starting another; a last line without one counts.
    assert_eq!(
        find("^$").await,
        [
            m("blank.txt", 2, ""),
            m("blank.txt", 4, ""),
            m("newline.txt", 1, "")
        ]
    );
    assert_eq!(find("last").await, [m("nofinal.txt", 2, "last")]);
    let every = find("").await;
    assert_eq!(
        every,
        [
            m("blank.txt", 1, "a"),
            m("blank.txt", 2, ""),
            m("blank.txt", 3, "b"),
            m("blank.txt", 4, ""),
            m("cr.txt", 1, "left\rright"),
            m("crlf.txt", 1, "one\r"),
            m("crlf.txt", 2, "two\r"),
            m("crlf.txt", 3, "three\r"),
            m("final.txt", 1, "only"),
            m("newline.txt", 1, ""),
            m("nofinal.txt", 1, "first"),
            m("nofinal.txt", 2, "last"),
        ],
        "the empty pattern matches every line"
    );
    let data = grep(&server, &id, body("", "")).await;
    assert_eq!(
        counter(&data, "filesScanned"),
        7,
        "the empty file is scanned too"
    );
}

#[tokio::test]
async fn a_file_with_a_nul_byte_is_binary_scanned_but_never_matches() {
    let (server, id) = server_with_disk("binary").await;
    put_all(
        &server,
        &id,
        &[
            ("bin/first.dat", b"\0ERROR at start\n"),
            ("bin/middle.dat", b"ERROR one\nERR\0OR\nERROR three\n"),
            ("bin/last.dat", b"ERROR at end\n\0"),
            ("bin/only.dat", b"\0"),
            ("bin/latin1.txt", b"caf\xe9 ERROR\n\xff\xfe ERROR\n"),
            ("bin/text.txt", b"ERROR plain\n"),
        ],
    )
    .await;
    let data = grep(&server, &id, body("bin", "ERROR|\\x00")).await;
    assert_eq!(
        matches_of(&data),
        [
            m("bin/latin1.txt", 1, "caf\u{FFFD} ERROR"),
            m("bin/latin1.txt", 2, "\u{FFFD}\u{FFFD} ERROR"),
            m("bin/text.txt", 1, "ERROR plain"),
        ],
        "NUL means binary (no matches); invalid UTF-8 without NUL is searched and decoded lossily: {data}"
    );
    assert_eq!(
        counter(&data, "filesScanned"),
        6,
        "binary files still count as scanned: {data}"
    );
    assert_eq!(reason(&data), "completed", "{data}");
    // The bytes API matches raw bytes: \xFF in a pattern is not a byte
    // escape in Unicode mode, but (?-u:\xFF) is.
    let data = grep(&server, &id, body("bin", "(?-u:\\xFF)")).await;
    assert_eq!(
        matches_of(&data),
        [m("bin/latin1.txt", 2, "\u{FFFD}\u{FFFD} ERROR")],
        "{data}"
    );
}

#[tokio::test]
async fn the_dialect_is_the_regex_crates_with_unicode_on() {
    let (server, id) = server_with_disk("dialect").await;
    let lines = [
        "abc",          // 1
        "café",         // 2
        "日本語",       // 3
        "ωmega",        // 4
        "é",            // 5
        "🦀",           // 6
        "tab\there",    // 7
        "A1",           // 8
        "cat",          // 9
        "dog",          // 10
        "concatenate",  // 11
        "ERROR: disk",  // 12
        "naïve résumé", // 13
        "x{1}",         // 14
        "Straße",       // 15
    ];
    let text = lines.join("\n") + "\n";
    server
        .put_object(KEY, &id, "u/ñ.txt", text.as_bytes())
        .await;
    let lines_of = |pattern: &'static str| {
        let server = &server;
        let id = &id;
        async move {
            let data = grep(server, id, body("u", pattern)).await;
            assert_eq!(reason(&data), "completed", "{pattern}: {data}");
            matches_of(&data)
                .into_iter()
                .map(|(file, line, text)| {
                    assert_eq!(file, "u/ñ.txt");
                    assert_eq!(text, lines[line as usize - 1], "text is the whole line");
                    line
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(lines_of("café").await, [2]);
    assert_eq!(
        lines_of("^\\w+$").await,
        [1, 2, 3, 4, 5, 8, 9, 10, 11, 15],
        "\\w is Unicode"
    );
    assert_eq!(
        lines_of("^[[:alpha:]]+$").await,
        [1, 9, 10, 11],
        "[[:alpha:]] is ASCII only"
    );
    assert_eq!(lines_of("^\\p{Han}+$").await, [3]);
    assert_eq!(
        lines_of("(?i)ΩMEGA").await,
        [4],
        "inline flags, Unicode case folding"
    );
    assert_eq!(
        lines_of("^.$").await,
        [5, 6],
        ". is one character, not one byte"
    );
    assert_eq!(lines_of("\\t").await, [7], "\\t is a tab");
    assert_eq!(lines_of("\\x41\\d").await, [8], "hex escapes and \\d");
    assert_eq!(lines_of("\\bcat\\b").await, [9]);
    assert_eq!(
        lines_of("\\<cat\\>").await,
        [9],
        "\\< \\> are supported (regex 1.10)"
    );
    assert_eq!(lines_of("cat").await, [9, 11]);
    assert_eq!(lines_of("^(cat|dog)$").await, [9, 10]);
    assert_eq!(lines_of("^ERROR|^FATAL").await, [12]);
    assert_eq!(lines_of("x\\{1\\}").await, [14]);
    assert_eq!(
        lines_of("(?i)STRASSE").await,
        [0u64; 0],
        "simple case folding only"
    );
    // A newline separates alternatives; an empty alternative matches everything.
    assert_eq!(lines_of("^cat$\n^dog$").await, [9, 10]);
    assert_eq!(lines_of("café\n日本").await, [2, 3]);
    assert_eq!(lines_of("zzz\n").await, (1..=15).collect::<Vec<_>>());
    assert_eq!(lines_of("zzz|").await, (1..=15).collect::<Vec<_>>());
    assert_eq!(lines_of("\n").await, (1..=15).collect::<Vec<_>>());
    assert_eq!(lines_of("zzz").await, [0u64; 0]);
    // GNU's [[=e=]] and [[.-.]] (C.6 lists them as errors) compile in this
    // dialect: a nested class, so [[=e=]] is any of '=', 'e'. As rg does.
    assert_eq!(lines_of("t[[=e=]]$").await, [11], "concatenate");
    assert_eq!(lines_of("[[.-.]]").await, [0u64; 0]);
    assert_eq!(lines_of("^ERROR[[.:.]]").await, [12]);
}

#[tokio::test]
async fn an_invalid_pattern_is_incomplete_with_no_matches_not_a_400() {
    let (server, id) = server_with_disk("invalid").await;
    let n = 130; // three batches of 64
    for i in 0..n {
        server
            .app
            .write_object(&id, &format!("src/f{i:03}.txt"), b"(a)a\nERROR\n")
            .unwrap();
    }
    // GNU-only or broken constructs (C.6): each is a compile error here.
    for pattern in [
        "(a)\\1",
        "a{1",
        "{,3}",
        "*a",
        "(unclosed",
        "unopened)",
        "[z-a]",
        "\\",
        "ERROR\n(a)\\1",
        "(?<n>a)(?<n>b)",
    ] {
        let data = grep(
            &server,
            &id,
            json!({"directory": "src", "pattern": pattern, "recursive": true}),
        )
        .await;
        assert_eq!(reason(&data), "incomplete", "{pattern:?}: {data}");
        assert_eq!(data["matches"], json!([]), "{pattern:?}: {data}");
        assert_eq!(
            counter(&data, "filesScanned"),
            n,
            "files are counted as fed: {data}"
        );
        assert_eq!(counter(&data, "containersDispatched"), 3, "{data}");
    }
    // A pattern too big to compile is incomplete too, at once, not a hang.
    let started = Instant::now();
    let data = grep(&server, &id, body("src", &"\\w{1000}".repeat(20))).await;
    assert_eq!(reason(&data), "incomplete", "{data}");
    assert!(started.elapsed() < Duration::from_secs(10), "{data}");
    // The same files with a valid pattern: all found.
    let data = grep(&server, &id, body("src", "^ERROR$")).await;
    assert_eq!(reason(&data), "completed", "{data}");
    assert_eq!(matches_of(&data).len(), n as usize, "{data}");
}

#[tokio::test]
async fn text_is_cut_at_512_kib_on_a_character_boundary() {
    let (server, id) = server_with_disk("long").await;
    let ascii = format!("{}needle", "a".repeat(600 * 1024));
    let euro = format!("needle{}", "€".repeat(200_000));
    let exact = format!("needle{}", "b".repeat(TEXT_MAX - 6));
    let file = format!("{ascii}\n{euro}\nshort needle\n{exact}\n");
    server
        .put_object(KEY, &id, "long.txt", file.as_bytes())
        .await;
    let data = grep(&server, &id, body("", "needle")).await;
    let found = matches_of(&data);
    assert_eq!(
        found.iter().map(|(_, l, _)| *l).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "a match after the cut still counts"
    );
    let (_, _, text) = &found[0];
    assert_eq!(text.len(), TEXT_MAX, "ASCII is cut at exactly 512 KiB");
    assert!(ascii.starts_with(text.as_str()));
    let (_, _, text) = &found[1];
    assert!(
        text.len() <= TEXT_MAX && text.len() > TEXT_MAX - 3,
        "{}",
        text.len()
    );
    assert!(
        euro.starts_with(text.as_str()),
        "cut on a character boundary, with no U+FFFD"
    );
    assert_eq!(found[2].2, "short needle");
    assert_eq!(found[3].2, exact, "a line of exactly 512 KiB is whole");
}

#[tokio::test]
async fn max_results_returns_exactly_n_and_says_so_only_when_more_existed() {
    let (server, id) = server_with_disk("cap").await;
    put_all(
        &server,
        &id,
        &[
            ("a.txt", b"hit\nhit\n"),
            ("b.txt", b"miss\nhit\n"),
            ("c/d.txt", b"hit\nhit\n"),
        ],
    )
    .await;
    let all = [
        m("a.txt", 1, "hit"),
        m("a.txt", 2, "hit"),
        m("b.txt", 2, "hit"),
        m("c/d.txt", 1, "hit"),
        m("c/d.txt", 2, "hit"),
    ];
    for n in 1..=7usize {
        let data = grep(
            &server,
            &id,
            json!({"directory": "", "pattern": "hit", "recursive": true, "maxResults": n}),
        )
        .await;
        let found = matches_of(&data);
        if n < all.len() {
            assert_eq!(reason(&data), "max_results", "n={n}: {data}");
            assert_eq!(found, all[..n], "n={n}: the first n in order: {data}");
        } else {
            assert_eq!(
                reason(&data),
                "completed",
                "n={n}: nothing was left out: {data}"
            );
            assert_eq!(found, all, "n={n}: {data}");
        }
    }
    // The default cap is 1000.
    let lines = "hit\n".repeat(1001);
    server
        .put_object(KEY, &id, "many.txt", lines.as_bytes())
        .await;
    let data = grep(&server, &id, body("", "hit")).await;
    assert_eq!(reason(&data), "max_results");
    assert_eq!(matches_of(&data).len(), 1000);
    // At the root, one level: 2 + 1 + 1001 = 1004 matches.
    for (n, why) in [
        (1003, "max_results"),
        (1004, "completed"),
        (1005, "completed"),
    ] {
        let data = grep(
            &server,
            &id,
            json!({"directory": "", "pattern": "hit", "maxResults": n}),
        )
        .await;
        assert_eq!(reason(&data), why, "maxResults={n}");
        assert_eq!(matches_of(&data).len(), n.min(1004), "maxResults={n}");
    }
}

// ---------------------------------------------------------------------------
// Against an oracle, over 3000 files

/// What C.5 and C.6 say a search returns, written plainly: the files under
/// the directory (one level, or the subtree) in byte order of path; a file
/// with a NUL contributes nothing; lines split on `\n` with `\r` kept, an
/// empty file having none; a line matches when any newline-separated part
/// of the pattern does.
struct Oracle {
    files: BTreeMap<String, Vec<u8>>,
}

struct Expected {
    matches: Vec<Match>,
    files: u64,
}

impl Oracle {
    fn grep(&self, directory: &str, pattern: &str, recursive: bool) -> Expected {
        let dir = directory.trim_matches('/');
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let parts: Vec<Regex> = pattern
            .split('\n')
            .map(|p| Regex::new(p).unwrap())
            .collect();
        let mut matches = Vec::new();
        let mut files = 0;
        // A BTreeMap<String, _> iterates in byte order of the key.
        for (key, bytes) in &self.files {
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            if !recursive && rest.contains('/') {
                continue;
            }
            files += 1;
            if bytes.contains(&0) || bytes.is_empty() {
                continue;
            }
            let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            if bytes.ends_with(b"\n") {
                lines.pop();
            }
            for (i, line) in lines.into_iter().enumerate() {
                if parts.iter().any(|re| re.is_match(line)) {
                    assert!(line.len() <= TEXT_MAX, "the random lines are short");
                    let text = String::from_utf8_lossy(line).into_owned();
                    matches.push((key.clone(), i as u64 + 1, text));
                }
            }
        }
        Expected { matches, files }
    }
}

const DIRS: &[&str] = &[
    "",
    "logs/",
    "logs/2026/",
    "logs/2026/05/",
    "src/",
    "src/deep/a/b/",
    ".hidden/",
    "données/",
    "a b/",
    "a/",
    "ab/",
];
const WORDS: &[&str] = &[
    "ERROR",
    "WARN",
    "info",
    "debug",
    "error",
    "Error",
    "foo",
    "foobar",
    "café",
    "naïve",
    "日本語",
    "Ωmega",
    "ωmega",
    "123",
    "4567",
    "TODO:",
    "x",
    "\t",
    "a",
    "ab",
    "🦀",
    "",
];

fn random_line(rng: &mut StdRng) -> Vec<u8> {
    let words = rng.random_range(0..8);
    let line: Vec<&str> = (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect();
    line.join(" ").into_bytes()
}

/// A file's bytes: plain, CRLF, binary, empty, invalid UTF-8 or without a final newline.
fn random_file(rng: &mut StdRng) -> Vec<u8> {
    let kind = rng.random_range(0..100);
    if kind < 3 {
        return Vec::new();
    }
    let lines: Vec<Vec<u8>> = (0..rng.random_range(1..=16))
        .map(|_| random_line(rng))
        .collect();
    let crlf = (3..15).contains(&kind);
    let mut out = Vec::new();
    for line in &lines {
        out.extend_from_slice(line);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    match kind {
        15..=20 => {
            // Binary: a NUL somewhere.
            let at = rng.random_range(0..=out.len());
            out.insert(at, 0);
        }
        21..=25 => {
            out.pop();
        }
        26..=29 => {
            // Invalid UTF-8, no NUL.
            let at = rng.random_range(0..=out.len());
            out.insert(at, if kind % 2 == 0 { 0xff } else { 0xc3 });
        }
        _ => {}
    }
    out
}

/// 3000 files from a fixed seed, spread over [`DIRS`].
fn random_tree() -> BTreeMap<String, Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(0x6772_6570);
    let mut files = BTreeMap::new();
    for i in 0..3000 {
        let dir = DIRS[rng.random_range(0..DIRS.len())];
        let dot = if rng.random_bool(0.05) { "." } else { "" };
        let ext = [".log", ".txt", ".md", "", ".λ"][rng.random_range(0..5)];
        files.insert(format!("{dir}{dot}f{i:04}{ext}"), random_file(&mut rng));
    }
    files
}

/// Compares a result with the oracle's answer capped at `max`.
fn assert_agrees(data: &Value, expected: &Expected, max: usize, what: &str) {
    let actual = matches_of(data);
    let (want, why) = if expected.matches.len() > max {
        (&expected.matches[..max], "max_results")
    } else {
        (&expected.matches[..], "completed")
    };
    assert_eq!(reason(data), why, "{what}");
    if let Some(i) = (0..actual.len().max(want.len())).find(|&i| actual.get(i) != want.get(i)) {
        panic!(
            "{what}: first difference at match {i}: got {:?}, want {:?} ({} matches, want {})",
            actual.get(i),
            want.get(i),
            actual.len(),
            want.len()
        );
    }
    let scanned = counter(data, "filesScanned");
    if why == "completed" {
        assert_eq!(scanned, expected.files, "{what}: filesScanned");
    } else {
        assert!(scanned <= expected.files, "{what}: filesScanned {scanned}");
    }
    assert_eq!(
        counter(data, "containersDispatched"),
        expected.files.div_ceil(BATCH),
        "{what}: containersDispatched = ceil(files / 64)"
    );
    if expected.files == 0 {
        assert_nothing_scanned(data, what);
    } else {
        assert!(
            data["computeSecondsUsed"].as_f64().unwrap() > 0.0,
            "{what}: matching took some time: {data}"
        );
    }
}

/// Seeds `files` on a new disk (the bulk through `App::write_object`, a
/// sample through the gateway).
async fn seeded(files: &BTreeMap<String, Vec<u8>>) -> (TestServer, String) {
    let (server, id) = server_with_disk("random").await;
    for (i, (key, bytes)) in files.iter().enumerate() {
        if i % 50 == 0 {
            server.put_object(KEY, &id, key, bytes).await;
        } else {
            server
                .app
                .write_object(&id, key, bytes)
                .unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }
    (server, id)
}

#[tokio::test]
async fn three_thousand_random_files_agree_with_the_oracle() {
    let files = random_tree();
    assert_eq!(files.len(), 3000);
    // The set exercises what it claims to.
    let binary_hits = files
        .values()
        .filter(|b| b.contains(&0) && b.windows(5).any(|w| w == b"ERROR"))
        .count();
    assert!(
        binary_hits > 20,
        "binary files that would match: {binary_hits}"
    );
    assert!(
        files
            .values()
            .filter(|b| b.windows(2).any(|w| w == b"\r\n"))
            .count()
            > 100
    );
    assert!(files.values().filter(|b| b.is_empty()).count() > 20);
    assert!(
        files
            .values()
            .filter(|b| !b.contains(&0) && std::str::from_utf8(b).is_err())
            .count()
            > 20
    );
    let oracle = Oracle { files };
    let (server, id) = seeded(&oracle.files).await;

    let cases: &[(&str, &str, bool, usize)] = &[
        ("", "ERROR", true, 10_000),
        ("", "ERROR", false, 10_000),
        ("/", "ERROR|WARN", true, 10_000),
        ("logs", "ERROR|WARN", true, 10_000),
        ("logs/", "ERROR\nWARN", false, 10_000),
        ("logs/2026/05", "(?i)error", false, 10_000),
        ("/logs/2026/", "(?i)error", true, 10_000),
        ("", "^\\d{3,}", true, 10_000),
        ("src/deep", "\\bfoo\\b", true, 10_000),
        ("src", "^foo|foobar$", true, 10_000),
        ("données", "café|日本語|Ωmega", true, 10_000),
        ("", "(?i)ωMEGA", true, 10_000),
        ("", "\\r$", true, 10_000),
        ("", "^$", true, 10_000),
        ("", "^\\s*$", true, 10_000),
        ("", "🦀.*🦀", true, 10_000),
        ("", "TODO:\\s+\\w+", true, 10_000),
        ("", "", false, 10_000),
        ("a", "ab|a", true, 10_000),
        ("ab", ".", true, 10_000),
        ("a b", "x\ninfo", true, 10_000),
        (".hidden", "\\t", true, 10_000),
        ("nonexistent", "ERROR", true, 10_000),
        ("logs/2026/05/f0001.log", "ERROR", true, 10_000),
        // The cap: far more lines than 10000, then small caps.
        ("", "", true, 10_000),
        ("", "", true, 1),
        ("", "ERROR", true, 777),
        ("logs", "info", true, 5),
    ];
    for &(dir, pattern, recursive, max) in cases {
        let data = grep(
            &server,
            &id,
            json!({"directory": dir, "pattern": pattern, "recursive": recursive,
                   "maxResults": max, "maxDurationSeconds": 30}),
        )
        .await;
        let expected = oracle.grep(dir, pattern, recursive);
        assert_agrees(
            &data,
            &expected,
            max,
            &format!("{dir:?} /{pattern}/ recursive={recursive} max={max}"),
        );
    }

    // A cap equal to the number of matches completes; one less does not.
    let expected = oracle.grep("logs", "WARN", true);
    let n = expected.matches.len();
    assert!(n > 10 && n < 10_000, "{n}");
    for max in [n - 1, n, n + 1] {
        let data = grep(
            &server,
            &id,
            json!({"directory": "logs", "pattern": "WARN", "recursive": true, "maxResults": max}),
        )
        .await;
        assert_agrees(&data, &expected, max, &format!("WARN under logs max={max}"));
    }

    // Every file with an invalid pattern: incomplete, nothing returned.
    let data = grep(
        &server,
        &id,
        json!({"directory": "", "pattern": "(ERROR)\\1", "recursive": true}),
    )
    .await;
    assert_eq!(reason(&data), "incomplete", "{data}");
    assert_eq!(data["matches"], json!([]));
    assert_eq!(counter(&data, "filesScanned"), 3000);
    assert_eq!(
        counter(&data, "containersDispatched"),
        3000u64.div_ceil(BATCH)
    );
}

#[tokio::test]
async fn concurrency_and_the_deadline_do_not_change_a_fast_search() {
    let oracle = Oracle {
        files: random_tree(),
    };
    let (server, id) = seeded(&oracle.files).await;
    let expected = oracle.grep("", "ERROR|日本語", true);
    // concurrency only sizes the work (C.5): 1 and 100 give the same answer.
    // maxDurationSeconds=1 is far more than a search of 3000 small files
    // needs, so "deadline" must not appear.
    for (concurrency, seconds) in [(1, 30), (2, 30), (50, 1), (100, 1), (1, 1)] {
        let data = grep(
            &server,
            &id,
            json!({"directory": "", "pattern": "ERROR|日本語", "recursive": true,
                   "concurrency": concurrency, "maxDurationSeconds": seconds, "maxResults": 10_000}),
        )
        .await;
        assert_agrees(
            &data,
            &expected,
            10_000,
            &format!("concurrency={concurrency} maxDurationSeconds={seconds}"),
        );
        assert!(counter(&data, "durationMs") < 1000, "{data}");
    }
}

// ---------------------------------------------------------------------------
// The deadline (C.5)

/// A pattern the lazy DFA gives up on (a Unicode word boundary over
/// non-ASCII text), so matching falls back to the slow engines: about
/// 0.5 MB/s here in a debug build.
const SLOW_PATTERN: &str = "\\w{30}\\b.{30}\\w{5}Q";

/// Writes `files` files `slow/fNNN.txt` of `lines` random 80-character
/// lines over an alphabet with non-ASCII letters (so [`SLOW_PATTERN`] is slow).
fn seed_slow_files(server: &TestServer, id: &str, files: u64, lines: usize) {
    let mut rng = StdRng::seed_from_u64(7);
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz éü0123".chars().collect();
    for i in 0..files {
        let mut text = String::new();
        for _ in 0..lines {
            for _ in 0..80 {
                text.push(alphabet[rng.random_range(0..alphabet.len())]);
            }
            text.push('\n');
        }
        server
            .app
            .write_object(id, &format!("slow/f{i:03}.txt"), text.as_bytes())
            .unwrap();
    }
}

#[tokio::test]
async fn a_slow_search_stops_at_the_deadline_with_partial_results_and_never_stalls_others() {
    let (server, id) = server_with_disk("slow").await;
    // About 64 KB per file, so about 0.1 s each and 30 s in all, serially.
    let total = 300u64;
    seed_slow_files(&server, &id, total, 800);
    server.put_object(KEY, &id, "fast.txt", b"quick\n").await;
    let slow_body = |seconds: u64| {
        json!({"directory": "slow", "pattern": SLOW_PATTERN, "maxDurationSeconds": seconds,
               "concurrency": 1})
    };
    let check = |data: &Value, seconds: u64, took: Duration| {
        assert_eq!(
            reason(data),
            "deadline",
            "a search of {total} files at ~0.1 s each with maxDurationSeconds={seconds} and one \
             worker must stop at the deadline (if this machine or the regex crate got 10x \
             faster, raise the workload): {data}"
        );
        let scanned = counter(data, "filesScanned");
        assert!(
            (1..total).contains(&scanned),
            "partial: {scanned} of {total}: {data}"
        );
        assert_eq!(
            counter(data, "containersDispatched"),
            total.div_ceil(BATCH),
            "{data}"
        );
        let duration = counter(data, "durationMs");
        let limit = seconds * 1000;
        assert!(
            (limit..limit + 5000).contains(&duration),
            "durationMs {duration}: the deadline is {seconds} s, checked between files"
        );
        assert!(
            took < Duration::from_secs(seconds + 7),
            "answered in {took:?}"
        );
        assert!(
            data["computeSecondsUsed"].as_f64().unwrap() > 0.5 * seconds as f64,
            "{data}"
        );
        assert!(
            matches_of(data)
                .iter()
                .all(|(f, _, _)| f.starts_with("slow/")),
            "{data}"
        );
    };

    // At the smallest deadline, alone.
    let started = Instant::now();
    let data = grep(&server, &id, slow_body(1)).await;
    check(&data, 1, started.elapsed());

    // At 3 s, while another client searches and reads: the scan runs outside
    // the lock, so the other requests are answered at once, not after it.
    let started = Instant::now();
    let slow = grep(&server, &id, slow_body(3));
    let other = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        let data = grep(&server, &id, body("", "quick")).await;
        let disk = server.disk(KEY, &id).await;
        (t.elapsed(), data, disk)
    };
    let (data, (other_took, other_data, disk)) = tokio::join!(slow, other);
    check(&data, 3, started.elapsed());
    assert_eq!(
        matches_of(&other_data),
        [m("fast.txt", 1, "quick")],
        "{other_data}"
    );
    assert_eq!(disk["id"], id.as_str());
    assert!(
        other_took < Duration::from_millis(1500),
        "another client waited {other_took:?} behind a running grep"
    );
}

// ---------------------------------------------------------------------------
// The journal

#[tokio::test]
async fn the_journal_shows_the_request_and_its_pattern() {
    let (server, id) = server_with_disk("journal").await;
    server.put_object(KEY, &id, "j.txt", b"needle-7f3a\n").await;
    let pattern = "needle-7f3a|(?i)ΩMEGA\nsecond";
    let sent = json!({"directory": "/", "pattern": pattern, "recursive": true, "maxResults": 5});
    let data = grep(&server, &id, sent.clone()).await;
    assert_eq!(matches_of(&data), [m("j.txt", 1, "needle-7f3a")]);
    let (status, _) = grep_raw(&server, &id, json!({"directory": "..", "pattern": "p-400"})).await;
    assert_eq!(status, 400);

    let journal = server.journal().await;
    let greps: Vec<&Value> = journal
        .iter()
        .filter(|e| e["path"] == grep_path(&id).as_str())
        .collect();
    assert_eq!(greps.len(), 2, "{journal:?}");
    let (ok, bad) = (greps[0], greps[1]);
    assert_eq!(ok["method"], "POST", "{ok}");
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["account"], "default", "{ok}");
    let logged: Value = serde_json::from_str(ok["body"].as_str().expect("the body is kept"))
        .unwrap_or_else(|e| panic!("{e}: {ok}"));
    assert_eq!(logged, sent, "the journal keeps the body, pattern and all");
    assert_eq!(logged["pattern"], pattern);
    assert_eq!(bad["status"], 400, "{bad}");
    assert!(bad["body"].as_str().unwrap().contains("p-400"), "{bad}");
    assert!(
        !ok["headers"]["authorization"]
            .as_str()
            .unwrap_or("")
            .contains(KEY),
        "the key is redacted: {ok}"
    );
}

/// C.5: "`maxResults`: stop when the N-th match is collected", and [P]:
/// `max_results` = "maxResults was reached before everything was scanned".
/// With one worker, the cap reached on line 1 of the first file, nothing
/// more needs feeding. The server currently keeps scanning every file until
/// the deadline and then reports `deadline` (reported as a server bug).
#[tokio::test]

async fn reaching_max_results_stops_the_scan() {
    let (server, id) = server_with_disk("slow-cap").await;
    // About 16 KB per file: about 0.03 s each, 200 files about 6 s serially,
    // one batch of 64 about 2 s.
    let total = 200u64;
    seed_slow_files(&server, &id, total, 200);
    let data = grep(
        &server,
        &id,
        json!({"directory": "slow", "pattern": format!("{SLOW_PATTERN}\n^[a-z]"),
               "maxResults": 1, "maxDurationSeconds": 5, "concurrency": 1}),
    )
    .await;
    assert_eq!(matches_of(&data).len(), 1, "{data}");
    assert_eq!(matches_of(&data)[0].1, 1, "{data}");
    assert_eq!(reason(&data), "max_results", "{data}");
    assert!(
        counter(&data, "filesScanned") < total,
        "the scan stopped once the cap was reached: {data}"
    );
    assert!(counter(&data, "durationMs") < 5000, "{data}");
}
