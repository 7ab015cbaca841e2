//! Black-box tests of the S3-compatible object gateway over real HTTP
//! against a server on port 0: objects, listing, directories, errors,
//! auth, ranges, faults, the journal, share URLs, disk figures, limits and
//! `--data-dir` restarts. Multipart uploads and DeleteObjects are in
//! `gateway_multipart.rs`; SIGKILL safety of `--data-dir` in
//! `crash_objects.rs`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use archil_mock::{Config, FaultRule};
use common::*;
use serde_json::{json, Value};

/// Bytes that are not UTF-8 and not all alike.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archil-mock-gw-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes a directory with a `dir/` key and an empty body; asserts 200.
async fn mkdir(server: &TestServer, disk: &str, key: &str) {
    assert!(key.ends_with('/'));
    server
        .s3("PUT", &object_path(disk, key), &[], Vec::new())
        .await
        .assert_status(200);
}

/// The keys and common prefixes one level under `prefix` (delimiter `/`).
async fn level(server: &TestServer, disk: &str, prefix: &str) -> (Vec<String>, Vec<String>) {
    server.list_every(disk, prefix, Some("/"), "").await
}

/// Every file under `prefix`, recursively.
async fn files(server: &TestServer, disk: &str, prefix: &str) -> Vec<String> {
    let (keys, prefixes) = server.list_every(disk, prefix, None, "").await;
    assert!(prefixes.is_empty(), "{prefixes:?}");
    keys
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Objects

#[tokio::test]
async fn put_then_get_returns_the_bytes_and_a_quoted_md5_etag() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let body = binary(70_000);
    let etag = server.s3_put(&disk, "data/blob.bin", body.clone()).await;
    assert_eq!(etag, md5_etag(&body));
    assert!(!etag.contains('-'), "a single-part ETag has no part count");
    let got = server.get_object(&disk, "data/blob.bin").await;
    got.assert_status(200);
    assert_eq!(got.body, body);
    assert_eq!(got.etag(), etag);
    assert_eq!(got.header("content-length"), Some("70000"));
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    assert!(got.header("content-encoding").is_none());
}

#[tokio::test]
async fn head_gives_size_etag_type_and_an_rfc_7231_last_modified_without_a_body() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let before = SystemTime::now() - Duration::from_secs(2);
    let put = server
        .s3(
            "PUT",
            &object_path(&disk, "notes.txt"),
            &[("content-type", "text/plain; charset=utf-8")],
            "hello, head",
        )
        .await;
    put.assert_status(200);
    let head = server
        .s3("HEAD", &object_path(&disk, "notes.txt"), &[], Vec::new())
        .await;
    head.assert_status(200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-length"), Some("11"), "the real size");
    assert_eq!(head.etag(), md5_etag(b"hello, head"));
    assert_eq!(head.etag(), put.etag());
    assert_eq!(
        head.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let modified = head.header("last-modified").expect("Last-Modified");
    assert!(modified.ends_with(" GMT"), "{modified}");
    let at = httpdate::parse_http_date(modified).expect("an RFC 7231 date");
    assert!(at >= before && at <= SystemTime::now() + Duration::from_secs(2));
}

#[tokio::test]
async fn put_without_a_content_type_stores_application_octet_stream() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "plain", "x").await;
    let head = server
        .s3("HEAD", &object_path(&disk, "plain"), &[], Vec::new())
        .await;
    assert_eq!(
        head.header("content-type"),
        Some("application/octet-stream")
    );
}

#[tokio::test]
async fn a_second_put_replaces_the_bytes_and_the_etag() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k", "first version").await;
    let etag = server.s3_put(&disk, "k", "second").await;
    assert_eq!(etag, md5_etag(b"second"));
    let got = server.get_object(&disk, "k").await;
    assert_eq!(got.body, b"second");
    assert_eq!(got.etag(), etag);
    assert_eq!(files(&server, &disk, "").await, ["k"]);
}

#[tokio::test]
async fn an_empty_object_is_a_file_of_zero_bytes() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let etag = server.s3_put(&disk, "empty", Vec::new()).await;
    assert_eq!(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    let head = server
        .s3("HEAD", &object_path(&disk, "empty"), &[], Vec::new())
        .await;
    head.assert_status(200);
    assert_eq!(head.header("content-length"), Some("0"));
    assert_eq!(files(&server, &disk, "").await, ["empty"]);
    let page = server.list_page(&disk, "").await;
    assert!(page.xml.contains("<Size>0</Size>"), "{}", page.xml);
}

#[tokio::test]
async fn keys_are_percent_decoded_exactly_once_and_a_plus_stays_a_plus() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let key = "a b/c+d?e#f%g!*'()~.txt";
    // As the Python SDK sends it, then read back as the TS SDK sends it.
    let py = format!("/{disk}/a%20b/c%2Bd%3Fe%23f%25g%21%2A%27%28%29~.txt");
    let ts = format!("/{disk}/a%20b/c%2Bd%3Fe%23f%25g!*'()~.txt");
    server.s3("PUT", &py, &[], "both").await.assert_status(200);
    let got = server.s3("GET", &ts, &[], Vec::new()).await;
    got.assert_status(200);
    assert_eq!(got.body, b"both");
    assert_eq!(files(&server, &disk, "").await, [key]);

    // A raw `+` is a plus, and `%2520` is the three characters `%20`.
    server
        .s3("PUT", &format!("/{disk}/x+y"), &[], "plus")
        .await
        .assert_status(200);
    server
        .s3("PUT", &format!("/{disk}/p%2520q"), &[], "pct")
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "x+y").await, b"plus");
    assert_eq!(server.object_bytes(&disk, "p%20q").await, b"pct");
    server
        .get_object(&disk, "x y")
        .await
        .assert_error(404, "NoSuchKey");
    server
        .get_object(&disk, "p q")
        .await
        .assert_error(404, "NoSuchKey");
    let mut expected = strings(&[key, "p%20q", "x+y"]);
    expected.sort();
    assert_eq!(files(&server, &disk, "").await, expected);
}

#[tokio::test]
async fn non_ascii_keys_round_trip_and_list_as_sent() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let key = "日本/données ü/😀.txt";
    server.s3_put(&disk, key, "unicode").await;
    assert_eq!(server.object_bytes(&disk, key).await, b"unicode");
    assert_eq!(files(&server, &disk, "").await, [key]);
    assert_eq!(
        level(&server, &disk, "日本/").await,
        (vec![], strings(&["日本/données ü/"]))
    );
}

#[tokio::test]
async fn get_of_a_missing_key_is_404_no_such_key_in_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let reply = server.get_object(&disk, "nope.txt").await;
    reply.assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn head_of_a_missing_key_is_404_without_a_body() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .s3("HEAD", &object_path(&disk, "nope"), &[], Vec::new())
        .await
        .assert_head_error(404);
}

#[tokio::test]
async fn delete_answers_204_whether_or_not_the_key_exists() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "gone", "x").await;
    for _ in 0..2 {
        let reply = server
            .s3("DELETE", &object_path(&disk, "gone"), &[], Vec::new())
            .await;
        reply.assert_status(204);
        assert!(reply.body.is_empty());
    }
    server
        .get_object(&disk, "gone")
        .await
        .assert_error(404, "NoSuchKey");
    server
        .s3("DELETE", &object_path(&disk, "never/was"), &[], Vec::new())
        .await
        .assert_status(204);
    assert!(files(&server, &disk, "").await.is_empty());
}

#[tokio::test]
async fn valid_posix_headers_are_accepted_on_every_write() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let posix = [
        ("x-archil-mode", "640"),
        ("x-archil-uid", "1000"),
        ("x-archil-gid", "4294967294"),
    ];
    server
        .s3("PUT", &object_path(&disk, "p/f"), &posix, "x")
        .await
        .assert_status(200);
    server
        .s3("PUT", &object_path(&disk, "q/"), &posix, Vec::new())
        .await
        .assert_status(200);
    server
        .s3("PUT", &append_path(&disk, "a"), &posix, "y")
        .await
        .assert_status(200);
    server
        .s3(
            "PUT",
            &object_path(&disk, "m"),
            &[("x-archil-mode", "7777"), ("x-archil-uid", "0")],
            "z",
        )
        .await
        .assert_status(200);
    assert_eq!(files(&server, &disk, "").await, ["a", "m", "p/f"]);
}

#[tokio::test]
async fn invalid_posix_headers_are_400_invalid_argument_and_store_nothing() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let bad: [(&str, &str); 11] = [
        ("x-archil-mode", "9"),
        ("x-archil-mode", "10000"),
        ("x-archil-mode", "100644"),
        ("x-archil-mode", "rwx"),
        ("x-archil-mode", "0o640"),
        ("x-archil-mode", ""),
        ("x-archil-uid", "-1"),
        ("x-archil-uid", "abc"),
        ("x-archil-uid", "4294967296"),
        ("x-archil-gid", "1.5"),
        ("x-archil-gid", "+5"),
    ];
    for header in bad {
        let put = server
            .s3("PUT", &object_path(&disk, "f"), &[header], "x")
            .await;
        put.assert_error(400, "InvalidArgument");
        let dir = server
            .s3("PUT", &object_path(&disk, "d/"), &[header], Vec::new())
            .await;
        dir.assert_error(400, "InvalidArgument");
        let append = server
            .s3(
                "PUT",
                &format!("{}?append=true", object_path(&disk, "a")),
                &[header],
                "x",
            )
            .await;
        append.assert_error(400, "InvalidArgument");
        let create = server
            .s3(
                "POST",
                &format!("{}?uploads=", object_path(&disk, "m")),
                &[header],
                Vec::new(),
            )
            .await;
        create.assert_error(400, "InvalidArgument");
    }
    assert_eq!(level(&server, &disk, "").await, (vec![], vec![]));
    let uploads = server
        .s3("GET", &format!("/{disk}?uploads="), &[], Vec::new())
        .await;
    uploads.assert_status(200);
    assert!(!uploads.text().contains("<Upload>"), "{}", uploads.text());
}

// ---------------------------------------------------------------------------
// Append

fn append_path(disk: &str, key: &str) -> String {
    format!("{}?append=true", object_path(disk, key))
}

#[tokio::test]
async fn append_creates_then_concatenates_and_answers_the_whole_objects_etag() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let first = server
        .s3("PUT", &append_path(&disk, "log/app.log"), &[], "line 1\n")
        .await;
    first.assert_status(200);
    assert_eq!(first.etag(), md5_etag(b"line 1\n"));
    let second = server
        .s3("PUT", &append_path(&disk, "log/app.log"), &[], "line 2\n")
        .await;
    second.assert_status(200);
    assert_eq!(second.etag(), md5_etag(b"line 1\nline 2\n"));
    let got = server.get_object(&disk, "log/app.log").await;
    assert_eq!(got.body, b"line 1\nline 2\n");
    assert_eq!(got.etag(), second.etag(), "HEAD/GET give the stored ETag");
    // An append onto an object made by a put.
    server.s3_put(&disk, "p", "abc").await;
    let third = server.s3("PUT", &append_path(&disk, "p"), &[], "def").await;
    assert_eq!(third.etag(), md5_etag(b"abcdef"));
    assert_eq!(server.object_bytes(&disk, "p").await, b"abcdef");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_one_key_all_land_whole() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..8 {
        let url = server.url(&append_path(&disk, "shared.log"));
        set.spawn(async move {
            let http = client();
            let mut refused = Vec::new();
            for i in 0..25 {
                let line = format!("<w{w}-{i:02}{}>", "x".repeat(1000 * (i % 3)));
                let r = http
                    .put(&url)
                    .header("authorization", KEY)
                    .body(line.clone())
                    .send()
                    .await
                    .unwrap();
                if r.status() != 200 {
                    refused.push(format!(
                        "{line:.8}: {} {}",
                        r.status(),
                        r.text().await.unwrap()
                    ));
                }
            }
            refused
        });
    }
    let mut refused = Vec::new();
    while let Some(r) = set.join_next().await {
        refused.extend(r.unwrap());
    }
    assert!(refused.is_empty(), "appends refused: {refused:?}");
    let text = String::from_utf8(server.object_bytes(&disk, "shared.log").await).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive('>').collect();
    assert_eq!(lines.len(), 200, "every append is there once");
    // Each writer's appends are in its own order, and each is whole.
    for w in 0..8 {
        let mine: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("<w{w}-")))
            .collect();
        for (i, line) in mine.iter().enumerate() {
            let expected = format!("<w{w}-{i:02}{}>", "x".repeat(1000 * (i % 3)));
            assert_eq!(*line, expected);
        }
    }
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 200);
}

#[tokio::test]
async fn append_sets_the_content_type_only_when_it_creates_the_object() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .s3(
            "PUT",
            &append_path(&disk, "t"),
            &[("content-type", "text/csv")],
            "a,b\n",
        )
        .await
        .assert_status(200);
    server
        .s3(
            "PUT",
            &append_path(&disk, "t"),
            &[("content-type", "application/json")],
            "1,2\n",
        )
        .await
        .assert_status(200);
    let head = server
        .s3("HEAD", &object_path(&disk, "t"), &[], Vec::new())
        .await;
    assert_eq!(head.header("content-type"), Some("text/csv"));
    assert_eq!(head.header("content-length"), Some("8"));
}

#[tokio::test]
async fn an_append_of_exactly_1_mib_is_accepted_and_one_byte_more_is_400_entity_too_large() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let mib = binary(1 << 20);
    let ok = server
        .s3("PUT", &append_path(&disk, "big"), &[], mib.clone())
        .await;
    ok.assert_status(200);
    let too_big = server
        .s3(
            "PUT",
            &append_path(&disk, "big"),
            &[],
            binary((1 << 20) + 1),
        )
        .await;
    too_big.assert_error(400, "EntityTooLarge");
    let got = server.get_object(&disk, "big").await;
    assert_eq!(got.body.len(), 1 << 20, "the refused append added nothing");
    assert_eq!(got.etag(), md5_etag(&mib));
    // Two appends of 1 MiB each make a 2 MiB object: the cap is per call.
    server
        .s3("PUT", &append_path(&disk, "big"), &[], mib.clone())
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "big").await.len(), 2 << 20);
}

#[tokio::test]
async fn append_on_a_directory_is_409_is_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "d/").await;
    server.s3_put(&disk, "e/file", "x").await;
    for key in ["d", "e"] {
        server
            .s3("PUT", &append_path(&disk, key), &[], "more")
            .await
            .assert_error(409, "IsADirectory");
    }
    // Naming the directory with its slash is no way around it.
    server
        .s3("PUT", &append_path(&disk, "d/"), &[], "more")
        .await
        .assert_error(409, "IsADirectory");
    assert_eq!(
        level(&server, &disk, "").await,
        (vec![], strings(&["d/", "e/"]))
    );
    assert_eq!(level(&server, &disk, "d/").await, (vec![], vec![]));
    assert_eq!(files(&server, &disk, "").await, ["e/file"]);
}

#[tokio::test]
async fn append_under_a_file_is_409_not_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "f", "x").await;
    server
        .s3("PUT", &append_path(&disk, "f/g"), &[], "more")
        .await
        .assert_error(409, "NotADirectory");
    assert_eq!(files(&server, &disk, "").await, ["f"]);
}

#[tokio::test]
async fn append_to_a_slash_key_never_makes_a_file_named_like_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let reply = server
        .s3("PUT", &append_path(&disk, "newdir/"), &[], "bytes")
        .await;
    assert!(
        reply.status == 400 || reply.status == 409,
        "an append to newdir/ answered {}: {}",
        reply.status,
        reply.text()
    );
    assert!(files(&server, &disk, "").await.is_empty());
    server
        .get_object(&disk, "newdir/")
        .await
        .assert_error(404, "NoSuchKey");
}

// ---------------------------------------------------------------------------
// Directories

#[tokio::test]
async fn a_slash_key_with_an_empty_body_makes_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let reply = server
        .s3("PUT", &object_path(&disk, "dir/"), &[], Vec::new())
        .await;
    reply.assert_status(200);
    assert_eq!(reply.etag(), md5_etag(b""));
    assert_eq!(
        level(&server, &disk, "").await,
        (vec![], strings(&["dir/"]))
    );
    assert!(files(&server, &disk, "").await.is_empty(), "never a file");
    assert_eq!(level(&server, &disk, "dir/").await, (vec![], vec![]));
    // Again: an existing directory is left as it is.
    mkdir(&server, &disk, "dir/").await;
    assert_eq!(
        level(&server, &disk, "").await,
        (vec![], strings(&["dir/"]))
    );
    // Nested: the missing parents are made too.
    mkdir(&server, &disk, "a/b/c/").await;
    assert_eq!(
        level(&server, &disk, "").await,
        (vec![], strings(&["a/", "dir/"]))
    );
    assert_eq!(
        level(&server, &disk, "a/b/").await,
        (vec![], strings(&["a/b/c/"]))
    );
}

#[tokio::test]
async fn a_slash_key_with_a_body_is_400_invalid_request_and_makes_nothing() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .s3("PUT", &object_path(&disk, "dir/"), &[], "not empty")
        .await
        .assert_error(400, "InvalidRequest");
    assert_eq!(level(&server, &disk, "").await, (vec![], vec![]));
}

#[tokio::test]
async fn directories_never_appear_as_contents() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "d/").await;
    mkdir(&server, &disk, "d/sub/").await;
    server.s3_put(&disk, "d/f1", "1").await;
    server.s3_put(&disk, "d/sub/f2", "2").await;
    let (keys, prefixes) = level(&server, &disk, "d/").await;
    assert_eq!(keys, ["d/f1"], "d/ itself is never listed");
    assert_eq!(prefixes, ["d/sub/"]);
    assert_eq!(files(&server, &disk, "").await, ["d/f1", "d/sub/f2"]);
    assert_eq!(files(&server, &disk, "d/").await, ["d/f1", "d/sub/f2"]);
    let page = server.list_page(&disk, "prefix=d%2F").await;
    assert!(!page.keys.iter().any(|k| k.ends_with('/')), "{}", page.xml);
}

#[tokio::test]
async fn with_the_slash_delimiter_every_directory_one_level_down_is_a_common_prefix() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "top/empty/").await; // explicit, empty
    mkdir(&server, &disk, "top/full/").await; // explicit, not empty
    server.s3_put(&disk, "top/full/x", "x").await;
    server.s3_put(&disk, "top/implicit/deep/y", "y").await; // implicit parents
    server.s3_put(&disk, "top/file", "f").await;
    server.s3_put(&disk, "top.txt", "t").await;
    assert_eq!(
        level(&server, &disk, "top/").await,
        (
            strings(&["top/file"]),
            strings(&["top/empty/", "top/full/", "top/implicit/"])
        )
    );
    assert_eq!(
        level(&server, &disk, "").await,
        (strings(&["top.txt"]), strings(&["top/"]))
    );
    // A prefix that is not a directory groups by what follows it.
    assert_eq!(
        level(&server, &disk, "top/i").await,
        (vec![], strings(&["top/implicit/"]))
    );
    assert_eq!(
        level(&server, &disk, "to").await,
        (strings(&["top.txt"]), strings(&["top/"]))
    );
}

#[tokio::test]
async fn empty_directories_persist_after_their_last_file_is_deleted() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "p/q/f", "x").await;
    server
        .s3("DELETE", &object_path(&disk, "p/q/f"), &[], Vec::new())
        .await
        .assert_status(204);
    assert!(files(&server, &disk, "").await.is_empty());
    assert_eq!(level(&server, &disk, "").await, (vec![], strings(&["p/"])));
    assert_eq!(
        level(&server, &disk, "p/").await,
        (vec![], strings(&["p/q/"]))
    );
    // Now empty, they can go: with the slash, or without it.
    server
        .s3("DELETE", &object_path(&disk, "p/q/"), &[], Vec::new())
        .await
        .assert_status(204);
    assert_eq!(level(&server, &disk, "p/").await, (vec![], vec![]));
    server
        .s3("DELETE", &object_path(&disk, "p"), &[], Vec::new())
        .await
        .assert_status(204);
    assert_eq!(level(&server, &disk, "").await, (vec![], vec![]));
}

#[tokio::test]
async fn put_under_a_file_is_409_not_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a", "file a").await;
    for key in ["a/b", "a/b/c"] {
        server
            .s3("PUT", &object_path(&disk, key), &[], "x")
            .await
            .assert_error(409, "NotADirectory");
    }
    server
        .s3("PUT", &object_path(&disk, "a/"), &[], Vec::new())
        .await
        .assert_error(409, "NotADirectory");
    server
        .s3("PUT", &object_path(&disk, "a/x/"), &[], Vec::new())
        .await
        .assert_error(409, "NotADirectory");
    assert_eq!(server.object_bytes(&disk, "a").await, b"file a");
    assert_eq!(level(&server, &disk, "").await, (strings(&["a"]), vec![]));
}

#[tokio::test]
async fn put_where_a_directory_is_is_409_is_a_directory() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "d/inside", "x").await;
    mkdir(&server, &disk, "e/").await;
    for key in ["d", "e"] {
        server
            .s3("PUT", &object_path(&disk, key), &[], "x")
            .await
            .assert_error(409, "IsADirectory");
    }
    assert_eq!(
        level(&server, &disk, "").await,
        (vec![], strings(&["d/", "e/"]))
    );
    assert_eq!(files(&server, &disk, "").await, ["d/inside"]);
}

#[tokio::test]
async fn get_and_head_on_a_directory_are_404_no_such_key() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "d/").await;
    server.s3_put(&disk, "i/f", "x").await;
    for key in ["d", "d/", "i", "i/"] {
        server
            .get_object(&disk, key)
            .await
            .assert_error(404, "NoSuchKey");
        server
            .s3("HEAD", &object_path(&disk, key), &[], Vec::new())
            .await
            .assert_head_error(404);
    }
}

#[tokio::test]
async fn deleting_a_non_empty_directory_is_409_directory_not_empty() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "d/f", "x").await;
    mkdir(&server, &disk, "e/sub/").await;
    for key in ["d", "d/", "e", "e/"] {
        server
            .s3("DELETE", &object_path(&disk, key), &[], Vec::new())
            .await
            .assert_error(409, "DirectoryNotEmpty");
    }
    assert_eq!(files(&server, &disk, "").await, ["d/f"]);
    assert_eq!(
        level(&server, &disk, "e/").await,
        (vec![], strings(&["e/sub/"]))
    );
}

#[tokio::test]
async fn deleting_an_empty_directory_is_204_with_or_without_the_slash() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "x/").await;
    mkdir(&server, &disk, "y/").await;
    for key in ["x/", "y"] {
        server
            .s3("DELETE", &object_path(&disk, key), &[], Vec::new())
            .await
            .assert_status(204);
    }
    assert_eq!(level(&server, &disk, "").await, (vec![], vec![]));
    // The names are free for files now.
    server.s3_put(&disk, "x", "file").await;
    assert_eq!(server.object_bytes(&disk, "x").await, b"file");
}

// ---------------------------------------------------------------------------
// Listing

#[tokio::test]
async fn get_on_the_disk_without_list_type_2_is_400_invalid_request() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for path in [
        format!("/{disk}"),
        format!("/{disk}/"),
        format!("/{disk}?list-type=1"),
        format!("/{disk}?prefix=a"),
    ] {
        server
            .s3("GET", &path, &[], Vec::new())
            .await
            .assert_error(400, "InvalidRequest");
    }
}

#[tokio::test]
async fn put_on_the_disk_is_400_invalid_request() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for path in [format!("/{disk}"), format!("/{disk}/")] {
        server
            .s3("PUT", &path, &[], Vec::new())
            .await
            .assert_error(400, "InvalidRequest");
    }
}

#[tokio::test]
async fn listing_pages_by_1000_in_utf8_byte_order() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    // UTF-16 order would put the emoji (a surrogate pair) before U+FF61.
    let mut keys: Vec<String> = (0..1000).map(|i| format!("k/{i:04}")).collect();
    keys.extend(strings(&["B", "a", "k/\u{FF61}", "k/😀", "k/é", "k/Z"]));
    let mut set = tokio::task::JoinSet::new();
    let base = server.base.clone();
    for chunk in keys.chunks(126) {
        let chunk = chunk.to_vec();
        let (base, disk) = (base.clone(), disk.clone());
        set.spawn(async move {
            let http = client();
            for key in chunk {
                let r = http
                    .put(format!("{base}{}", object_path(&disk, &key)))
                    .header("authorization", KEY)
                    .body(key.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{key}");
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let mut expected = keys.clone();
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(expected[0], "B");
    assert!(expected.ends_with(&strings(&["k/é", "k/\u{FF61}", "k/😀"])));

    let first = server.list_page(&disk, "").await;
    assert_eq!(first.keys.len(), 1000);
    assert_eq!(first.key_count, 1000);
    assert!(first.truncated);
    assert!(
        first.xml.contains("<MaxKeys>1000</MaxKeys>"),
        "{}",
        first.xml
    );
    let token = first.next_token.clone().expect("a token when truncated");
    let second = server
        .list_page(
            &disk,
            &format!("continuation-token={}", query_value(&token)),
        )
        .await;
    assert_eq!(second.keys.len(), 6);
    assert!(!second.truncated);
    assert!(
        !second.xml.contains("NextContinuationToken"),
        "no token on the last page: {}",
        second.xml
    );
    let all: Vec<String> = first.keys.into_iter().chain(second.keys).collect();
    assert_eq!(all, expected);
    assert_eq!(files(&server, &disk, "").await, expected);
}

#[tokio::test]
async fn max_keys_is_clamped_into_1_to_1000() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for k in ["a", "b", "c"] {
        server.s3_put(&disk, k, k).await;
    }
    for (asked, shown, len) in [("0", 1, 1), ("-5", 1, 1), ("2", 2, 2), ("5000", 1000, 3)] {
        let page = server.list_page(&disk, &format!("max-keys={asked}")).await;
        assert_eq!(page.keys.len(), len, "{asked}: {}", page.xml);
        assert!(
            page.xml.contains(&format!("<MaxKeys>{shown}</MaxKeys>")),
            "{asked}: {}",
            page.xml
        );
        assert_eq!(page.truncated, len < 3, "{asked}");
    }
    server
        .s3(
            "GET",
            &format!("/{disk}?list-type=2&max-keys=abc"),
            &[],
            Vec::new(),
        )
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn continuation_tokens_walk_files_and_prefixes_without_repeats_or_gaps() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for k in ["a.txt", "b/1", "b/2", "b/c/3", "b.txt", "c/x", "d", "e/"] {
        if k.ends_with('/') {
            mkdir(&server, &disk, k).await;
        } else {
            server.s3_put(&disk, k, k).await;
        }
    }
    for max in 1..=4 {
        let (keys, prefixes) = server
            .list_every(&disk, "", Some("/"), &format!("max-keys={max}"))
            .await;
        assert_eq!(keys, ["a.txt", "b.txt", "d"], "max-keys {max}");
        assert_eq!(prefixes, ["b/", "c/", "e/"], "max-keys {max}");
        let (keys, _) = server
            .list_every(&disk, "", None, &format!("max-keys={max}"))
            .await;
        assert_eq!(
            keys,
            ["a.txt", "b.txt", "b/1", "b/2", "b/c/3", "c/x", "d"],
            "max-keys {max}"
        );
    }
}

#[tokio::test]
async fn key_count_counts_contents_and_common_prefixes() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "f1", "x").await;
    server.s3_put(&disk, "f2", "x").await;
    server.s3_put(&disk, "dir/f3", "x").await;
    let page = server.list_page(&disk, "delimiter=%2F").await;
    assert_eq!((page.keys.len(), page.prefixes.len()), (2, 1));
    assert_eq!(page.key_count, 3);
    let page = server.list_page(&disk, "delimiter=%2F&max-keys=2").await;
    assert_eq!(page.key_count, 2);
    assert!(page.truncated);
    let empty = server.list_page(&disk, "prefix=zzz").await;
    assert_eq!(empty.key_count, 0);
    assert!(!empty.truncated);
    assert!(!empty.xml.contains("NextContinuationToken"));
}

#[tokio::test]
async fn start_after_skips_keys_and_agrees_with_a_continuation_token() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for k in ["a", "b", "c", "d", "e"] {
        server.s3_put(&disk, k, k).await;
    }
    let page = server.list_page(&disk, "start-after=b").await;
    assert_eq!(page.keys, ["c", "d", "e"]);
    let page = server.list_page(&disk, "start-after=bb").await;
    assert_eq!(page.keys, ["c", "d", "e"]);
    // The SDKs re-send start-after with every page's token.
    let (keys, _) = server
        .list_every(&disk, "", None, "start-after=a&max-keys=1")
        .await;
    assert_eq!(keys, ["b", "c", "d", "e"]);
    let page = server.list_page(&disk, "start-after=e").await;
    assert!(page.keys.is_empty());
}

#[tokio::test]
async fn the_prefix_is_form_decoded_and_echoed() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "p q/+x1", "1").await;
    server.s3_put(&disk, "p q/x2", "2").await;
    server.s3_put(&disk, "p+q/+x3", "3").await;
    // Python sends a space as `+`, TS as `%20`; both mean a space.
    for query in ["prefix=p+q%2F%2Bx", "prefix=p%20q%2F%2Bx"] {
        let page = server.list_page(&disk, query).await;
        assert_eq!(page.keys, ["p q/+x1"], "{query}");
        assert_eq!(
            xml_one(&page.xml, "Prefix").as_deref(),
            Some("p q/+x"),
            "{}",
            page.xml
        );
    }
    let page = server.list_page(&disk, "prefix=p%2Bq%2F").await;
    assert_eq!(page.keys, ["p+q/+x3"]);
}

#[tokio::test]
async fn a_listing_escapes_keys_in_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let key = "a&b/<c>\"'.txt";
    server.s3_put(&disk, key, "x").await;
    assert_eq!(files(&server, &disk, "").await, [key]);
    let page = server.list_page(&disk, "").await;
    assert!(page.xml.contains("a&amp;b/&lt;c&gt;"), "{}", page.xml);
    let etag = md5_etag(b"x");
    let listed = xml_one(&page.xml, "ETag").unwrap();
    assert_eq!(listed, etag);
    let modified = xml_one(&page.xml, "LastModified").unwrap();
    assert!(
        modified.len() == 24 && modified.ends_with('Z') && modified.as_bytes()[19] == b'.',
        "{modified}"
    );
}

// ---------------------------------------------------------------------------
// Errors and keys

#[tokio::test]
async fn every_error_is_xml_with_a_request_id_equal_to_x_request_id() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .get_object(&disk, "missing")
        .await
        .assert_error(404, "NoSuchKey");
    server
        .s3("GET", &format!("/{disk}"), &[], Vec::new())
        .await
        .assert_error(400, "InvalidRequest");
    server
        .request("GET", &object_path(&disk, "k"), &[], Vec::new())
        .await
        .assert_error(403, "AccessDenied");
    server
        .s3("GET", "/dsk-00000000000000ff/k", &[], Vec::new())
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .s3("PATCH", &object_path(&disk, "k"), &[], Vec::new())
        .await
        .assert_error(405, "MethodNotAllowed");
    server
        .s3(
            "GET",
            &format!("/{disk}?list-type=2&prefix=a&prefix=b"),
            &[],
            Vec::new(),
        )
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn every_answer_carries_an_x_request_id() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let mut ids = Vec::new();
    for reply in [
        server.s3("PUT", &object_path(&disk, "k"), &[], "x").await,
        server.get_object(&disk, "k").await,
        server
            .s3("HEAD", &object_path(&disk, "k"), &[], Vec::new())
            .await,
        server
            .s3("GET", &format!("/{disk}?list-type=2"), &[], Vec::new())
            .await,
        server
            .s3("DELETE", &object_path(&disk, "k"), &[], Vec::new())
            .await,
    ] {
        assert!(reply.status < 300, "{reply:?}");
        let id: u64 = reply
            .header("x-request-id")
            .expect("x-request-id")
            .parse()
            .unwrap();
        ids.push(id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn keys_with_dot_empty_or_nul_segments_are_400_invalid_argument() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    // Sent raw: an HTTP client would resolve the dot segments itself.
    for key in [
        "a/./b",
        "a/../b",
        "..",
        ".",
        "a/..",
        "%2e%2e/x",
        "a/%2E/b",
        "a%2F..%2Fb",
        "a//b",
        "a%2F%2Fb",
        "/a",
        "a%00b",
    ] {
        let request = format!(
            "PUT /{disk}/{key} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {KEY}\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx"
        );
        let reply = raw_http(server.addr, request.as_bytes()).await;
        reply.assert_error(400, "InvalidArgument");
    }
    assert_eq!(level(&server, &disk, "").await, (vec![], vec![]));
    // Bytes that are not UTF-8 once decoded are not a key at all.
    server
        .s3("PUT", &format!("/{disk}/a%FFb"), &[], "x")
        .await
        .assert_error(400, "InvalidURI");
}

#[tokio::test]
async fn a_key_of_1024_bytes_is_accepted_and_1025_is_400_key_too_long_error() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    // 500 + 1 + 261 × 2 bytes, and one more: 1024 bytes, 763 characters.
    let ok = format!("{}/{}", "d".repeat(500), "é".repeat(261));
    let ok = format!("{ok}x");
    assert_eq!(ok.len(), 1024);
    server.s3_put(&disk, &ok, "x").await;
    assert_eq!(server.object_bytes(&disk, &ok).await, b"x");
    let long = format!("{ok}y");
    server
        .s3("PUT", &object_path(&disk, &long), &[], "x")
        .await
        .assert_error(400, "KeyTooLongError");
    server
        .get_object(&disk, &long)
        .await
        .assert_error(400, "KeyTooLongError");
    assert_eq!(files(&server, &disk, "").await, [ok]);
}

#[tokio::test]
async fn a_repeated_query_parameter_is_refused() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .s3(
            "PUT",
            &format!(
                "{}?uploadId=a&uploadId=b&partNumber=1",
                object_path(&disk, "k")
            ),
            &[],
            "x",
        )
        .await
        .assert_error(400, "InvalidArgument");
}

// ---------------------------------------------------------------------------
// Auth

#[tokio::test]
async fn a_missing_or_invalid_key_is_403_access_denied_in_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "secret", "s").await;
    let path = object_path(&disk, "secret");
    server
        .request("GET", &path, &[], Vec::new())
        .await
        .assert_error(403, "AccessDenied");
    for auth in [
        "key-wrong-key-000000000000",
        "Bearer key-wrong-key-000000000000",
        "",
        "Basic abc",
    ] {
        server
            .request("GET", &path, &[("authorization", auth)], Vec::new())
            .await
            .assert_error(403, "AccessDenied");
        server
            .request("PUT", &path, &[("authorization", auth)], "overwritten")
            .await
            .assert_error(403, "AccessDenied");
    }
    server
        .request("HEAD", &path, &[], Vec::new())
        .await
        .assert_head_error(403);
    server
        .request("GET", &format!("/{disk}?list-type=2"), &[], Vec::new())
        .await
        .assert_error(403, "AccessDenied");
    assert_eq!(server.object_bytes(&disk, "secret").await, b"s");
}

#[tokio::test]
async fn the_raw_key_and_a_bearer_key_both_work() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let path = object_path(&disk, "k");
    server
        .request("PUT", &path, &[("authorization", KEY)], "raw")
        .await
        .assert_status(200);
    let bearer = format!("Bearer {KEY}");
    let got = server
        .request("GET", &path, &[("authorization", &bearer)], Vec::new())
        .await;
    got.assert_status(200);
    assert_eq!(got.body, b"raw");
}

#[tokio::test]
async fn an_unknown_or_malformed_disk_is_404_no_such_bucket() {
    let server = TestServer::start().await;
    for path in [
        "/dsk-0000000000000000/k",
        "/dsk-0000000000000000?list-type=2",
        "/dsk-xyz/k",
        "/dsk-/k",
    ] {
        server
            .s3("GET", path, &[], Vec::new())
            .await
            .assert_error(404, "NoSuchBucket");
    }
    server
        .s3("PUT", "/dsk-0000000000000000/k", &[], "x")
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .s3("HEAD", "/dsk-0000000000000000/k", &[], Vec::new())
        .await
        .assert_head_error(404);
}

#[tokio::test]
async fn another_accounts_disk_is_404_no_such_bucket_and_is_left_alone() {
    let server = TestServer::with(two_accounts()).await;
    let alice = server.create_disk_named(ALICE_KEY, "alices").await;
    let path = object_path(&alice, "private.txt");
    server
        .request("PUT", &path, &[("authorization", ALICE_KEY)], "alice's")
        .await
        .assert_status(200);
    let bob = [("authorization", BOB_KEY)];
    server
        .request("GET", &path, &bob, Vec::new())
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .request("PUT", &path, &bob, "bob's")
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .request("DELETE", &path, &bob, Vec::new())
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .request("GET", &format!("/{alice}?list-type=2"), &bob, Vec::new())
        .await
        .assert_error(404, "NoSuchBucket");
    server
        .request(
            "POST",
            &format!("/{alice}?delete="),
            &bob,
            "<Delete><Object><Key>private.txt</Key></Object></Delete>",
        )
        .await
        .assert_error(404, "NoSuchBucket");
    let got = server
        .request("GET", &path, &[("authorization", ALICE_KEY)], Vec::new())
        .await;
    got.assert_status(200);
    assert_eq!(got.body, b"alice's");
}

#[tokio::test]
async fn dot_dot_in_a_key_cannot_reach_another_accounts_disk() {
    let server = TestServer::with(two_accounts()).await;
    let alice = server.create_disk_named(ALICE_KEY, "alices").await;
    let bob = server.create_disk_named(BOB_KEY, "bobs").await;
    server
        .request(
            "PUT",
            &object_path(&alice, "x"),
            &[("authorization", ALICE_KEY)],
            "alice's",
        )
        .await
        .assert_status(200);
    // What a client sends for `a/../../{alice}/x` on bob's disk: resolved.
    let resolved = server
        .request(
            "PUT",
            &format!("/{bob}/a/../../{alice}/x"),
            &[("authorization", BOB_KEY)],
            "bob's",
        )
        .await;
    resolved.assert_error(404, "NoSuchBucket");
    // And sent raw, unresolved, or percent-encoded.
    for path in [
        format!("/{bob}/a/../../{alice}/x"),
        format!("/{bob}/a/%2e%2e/%2e%2e/{alice}/x"),
        format!("/{bob}/a%2F..%2F..%2F{alice}%2Fx"),
    ] {
        let request = format!(
            "PUT {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {BOB_KEY}\r\ncontent-length: 5\r\nconnection: close\r\n\r\nbob's"
        );
        raw_http(server.addr, request.as_bytes())
            .await
            .assert_error(400, "InvalidArgument");
    }
    let got = server
        .request(
            "GET",
            &object_path(&alice, "x"),
            &[("authorization", ALICE_KEY)],
            Vec::new(),
        )
        .await;
    assert_eq!(got.body, b"alice's");
    let listing = server
        .request(
            "GET",
            &format!("/{bob}?list-type=2"),
            &[("authorization", BOB_KEY)],
            Vec::new(),
        )
        .await;
    listing.assert_status(200);
    let keys = ListPage::parse(&listing.text()).keys;
    assert!(keys.is_empty(), "{keys:?}");
}

// ---------------------------------------------------------------------------
// Ranges

#[tokio::test]
async fn a_single_range_is_206_with_content_range() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "r", "0123456789").await;
    for (range, body, content_range) in [
        ("bytes=2-5", "2345", "bytes 2-5/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=0-0", "0", "bytes 0-0/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
        ("bytes=-100", "0123456789", "bytes 0-9/10"),
    ] {
        let reply = server
            .s3(
                "GET",
                &object_path(&disk, "r"),
                &[("range", range)],
                Vec::new(),
            )
            .await;
        reply.assert_status(206);
        assert_eq!(reply.text(), body, "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(content_range),
            "{range}"
        );
        assert_eq!(
            reply.header("content-length"),
            Some(body.len().to_string().as_str()),
            "{range}"
        );
        assert_eq!(reply.etag(), md5_etag(b"0123456789"), "the whole object's");
    }
}

#[tokio::test]
async fn an_unsatisfiable_range_is_416_invalid_range() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "r", "0123456789").await;
    server.s3_put(&disk, "empty", Vec::new()).await;
    for (key, range) in [
        ("r", "bytes=10-"),
        ("r", "bytes=100-200"),
        ("r", "bytes=-0"),
        ("empty", "bytes=0-0"),
        ("empty", "bytes=-1"),
    ] {
        server
            .s3(
                "GET",
                &object_path(&disk, key),
                &[("range", range)],
                Vec::new(),
            )
            .await
            .assert_error(416, "InvalidRange");
    }
}

#[tokio::test]
async fn several_ranges_get_the_whole_object_with_200() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "r", "0123456789").await;
    let reply = server
        .s3(
            "GET",
            &object_path(&disk, "r"),
            &[("range", "bytes=0-1,4-5")],
            Vec::new(),
        )
        .await;
    reply.assert_status(200);
    assert_eq!(reply.text(), "0123456789");
    assert!(reply.header("content-range").is_none());
}

// ---------------------------------------------------------------------------
// Faults and the journal

#[tokio::test]
async fn a_fault_on_gateway_paths_answers_503_in_xml_and_writes_nothing() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .app
        .add_faults(vec![FaultRule::status(503).path("/dsk-*/**").times(1)])
        .unwrap();
    let reply = server
        .s3("PUT", &object_path(&disk, "dir/k"), &[], "x")
        .await;
    reply.assert_error(503, "ServiceUnavailable");
    assert!(files(&server, &disk, "").await.is_empty());
    server.s3_put(&disk, "dir/k", "x").await;
    // The control plane is not a gateway path.
    server
        .app
        .add_faults(vec![FaultRule::status(503).path("/dsk-*/**")])
        .unwrap();
    assert_eq!(server.disk(KEY, &disk).await["id"], disk.as_str());
}

#[tokio::test]
async fn an_after_phase_fault_loses_the_response_but_the_write_happened() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .app
        .add_faults(vec![FaultRule::status(503)
            .path("/dsk-*/**")
            .after()
            .times(1)])
        .unwrap();
    server
        .s3("PUT", &append_path(&disk, "log"), &[], "once")
        .await
        .assert_error(503, "ServiceUnavailable");
    assert_eq!(server.object_bytes(&disk, "log").await, b"once");
}

#[tokio::test]
async fn the_fault_header_answers_a_gateway_request_in_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server
        .s3(
            "GET",
            &object_path(&disk, "k"),
            &[("x-archil-mock-fault", "503")],
            Vec::new(),
        )
        .await
        .assert_error(503, "ServiceUnavailable");
    server
        .s3(
            "GET",
            &object_path(&disk, "k"),
            &[("x-archil-mock-fault", "bogus")],
            Vec::new(),
        )
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn the_journal_summarises_object_bodies_and_never_keeps_a_large_one() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let mut body = b"HEADER-TEXT ".to_vec();
    body.extend(std::iter::repeat_n(b'z', 2 << 20));
    server
        .s3(
            "PUT",
            &object_path(&disk, "big.txt"),
            &[("content-type", "text/plain")],
            body.clone(),
        )
        .await
        .assert_status(200);
    server
        .s3("PUT", &append_path(&disk, "big.txt"), &[], "tail")
        .await
        .assert_status(200);
    let journal = server.journal().await;
    let put = journal
        .iter()
        .find(|e| e["method"] == "PUT" && e.get("query").is_none())
        .and_then(|e| e["body"].as_str())
        .unwrap_or_else(|| panic!("no PUT body in {journal:?}"))
        .to_owned();
    let md5 = md5_etag(&body).trim_matches('"').to_owned();
    assert!(put.contains(&format!("{} bytes", body.len())), "{put}");
    assert!(put.contains("text/plain"), "{put}");
    assert!(put.contains(&md5), "{put}");
    assert!(
        put.contains("preview") && put.contains("HEADER-TEXT"),
        "{put}"
    );
    assert!(put.len() < 1000, "{} characters kept", put.len());
    let text = serde_json::to_string(&journal).unwrap();
    assert!(
        text.len() < 100_000,
        "the journal holds {} bytes",
        text.len()
    );
    assert!(text.contains("4 bytes"), "the append is summarised too");
}

// ---------------------------------------------------------------------------
// Share URLs

async fn share(server: &TestServer, disk: &str, body: Value) -> (u16, Value) {
    server
        .call(
            "POST",
            &format!("/api/disks/{disk}/share"),
            Some(KEY),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn a_share_url_serves_the_object_without_a_key() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let body = binary(5000);
    server.s3_put(&disk, "shared/file.bin", body.clone()).await;
    let (status, reply) = share(&server, &disk, json!({"key": "shared/file.bin"})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["expiresIn"], 86400);
    let url = reply["data"]["url"].as_str().unwrap().to_owned();
    let path = url
        .strip_prefix(&server.base)
        .unwrap_or_else(|| panic!("{url} is not on {}", server.base))
        .to_owned();
    let got = server.request("GET", &path, &[], Vec::new()).await;
    got.assert_status(200);
    assert_eq!(got.body, body);
    assert_eq!(got.etag(), md5_etag(&body));
    let ranged = server
        .request("GET", &path, &[("range", "bytes=10-19")], Vec::new())
        .await;
    ranged.assert_status(206);
    assert_eq!(ranged.body, &body[10..20]);
    assert_eq!(ranged.header("content-range"), Some("bytes 10-19/5000"));
    let head = server.request("HEAD", &path, &[], Vec::new()).await;
    head.assert_status(200);
    assert_eq!(head.header("content-length"), Some("5000"));
    server
        .request("PUT", &path, &[], "x")
        .await
        .assert_error(405, "MethodNotAllowed");
}

#[tokio::test]
async fn a_share_url_follows_the_object_it_names() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k", "v1").await;
    let (_, reply) = share(&server, &disk, json!({"key": "k", "expiresIn": 60})).await;
    let path = reply["data"]["url"].as_str().unwrap()[server.base.len()..].to_owned();
    server.s3_put(&disk, "k", "v2").await;
    assert_eq!(
        server.request("GET", &path, &[], Vec::new()).await.body,
        b"v2"
    );
    server
        .s3("DELETE", &object_path(&disk, "k"), &[], Vec::new())
        .await
        .assert_status(204);
    server
        .request("GET", &path, &[], Vec::new())
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn sharing_a_missing_object_or_a_directory_is_404() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    mkdir(&server, &disk, "d/").await;
    for key in ["missing", "d", "d/"] {
        let (status, body) = share(&server, &disk, json!({ "key": key })).await;
        assert_error(status, &body, 404, "no object");
    }
    let (status, body) = share(&server, "dsk-0000000000000000", json!({"key": "k"})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn sharing_accepts_expires_in_from_1_to_604800_and_refuses_the_rest() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k", "v").await;
    for ok in [1, 604_800] {
        let (status, body) = share(&server, &disk, json!({"key": "k", "expiresIn": ok})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["expiresIn"], ok);
    }
    for bad in [
        json!(0),
        json!(-1),
        json!(604_801),
        json!("60"),
        json!(1.5),
        json!(null),
    ] {
        let (status, body) = share(&server, &disk, json!({"key": "k", "expiresIn": bad})).await;
        assert_eq!(status, 400, "expiresIn {bad}: {body}");
        assert_eq!(body["success"], false);
    }
    let (status, body) = share(&server, &disk, json!({})).await;
    assert_error(status, &body, 400, "key");
}

#[tokio::test]
async fn a_tampered_share_url_is_403_access_denied() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a", "A").await;
    server.s3_put(&disk, "b", "B").await;
    let (_, reply) = share(&server, &disk, json!({"key": "a"})).await;
    let url = reply["data"]["url"].as_str().unwrap();
    let path = url[server.base.len()..].to_owned();
    let token = path.rsplit('/').next().unwrap().to_owned();
    let fields: Vec<&str> = token.split('.').collect();
    assert_eq!(fields.len(), 4, "{token}");
    let mut tampered = Vec::new();
    // Another key (b), a later expiry, a flipped signature digit, garbage.
    tampered.push(format!(
        "{}.{}.{}.{}",
        fields[0],
        fields[1],
        hex::encode("b"),
        fields[3]
    ));
    tampered.push(format!(
        "{}.{}.{}.{}",
        fields[0],
        fields[1].parse::<i64>().unwrap() + 1000,
        fields[2],
        fields[3]
    ));
    let mut sig = fields[3].to_owned();
    let last = if sig.ends_with('0') { "1" } else { "0" };
    sig.replace_range(sig.len() - 1.., last);
    tampered.push(format!("{}.{}.{}.{sig}", fields[0], fields[1], fields[2]));
    tampered.push("garbage".to_owned());
    tampered.push(String::new());
    for t in tampered {
        server
            .request("GET", &format!("/api/shared/{t}"), &[], Vec::new())
            .await
            .assert_error(403, "AccessDenied");
    }
    assert_eq!(
        server.request("GET", &path, &[], Vec::new()).await.body,
        b"A"
    );
}

#[tokio::test]
async fn an_expired_share_url_is_403_access_denied() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k", "v").await;
    let (_, reply) = share(&server, &disk, json!({"key": "k", "expiresIn": 1})).await;
    let path = reply["data"]["url"].as_str().unwrap()[server.base.len()..].to_owned();
    assert_eq!(
        server.request("GET", &path, &[], Vec::new()).await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let message = server
        .request("GET", &path, &[], Vec::new())
        .await
        .assert_error(403, "AccessDenied");
    assert!(message.contains("expired"), "{message}");
}

// ---------------------------------------------------------------------------
// Disk figures and disk deletion

#[tokio::test]
async fn disk_figures_follow_what_is_stored() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let figures = |d: &Value| {
        (
            d["dataSize"].as_u64().unwrap(),
            d["activeDataBytes"].as_u64().unwrap(),
            d["totalDataBytes"].as_u64().unwrap(),
        )
    };
    let fresh = server.disk(KEY, &disk).await;
    assert_eq!(figures(&fresh), (0, 0, 0));
    assert!(fresh.get("lastAccessed").is_none(), "{fresh}");

    server.s3_put(&disk, "a", vec![1u8; 100]).await;
    let d = server.disk(KEY, &disk).await;
    assert_eq!(figures(&d), (100, 100, 100));
    let accessed = d["lastAccessed"].as_str().expect("lastAccessed").to_owned();

    server.s3_put(&disk, "a", vec![2u8; 40]).await;
    assert_eq!(figures(&server.disk(KEY, &disk).await), (40, 40, 140));

    server.s3_put(&disk, "dir/b", vec![3u8; 60]).await;
    mkdir(&server, &disk, "empty/").await;
    assert_eq!(figures(&server.disk(KEY, &disk).await), (100, 100, 200));

    server
        .s3("PUT", &append_path(&disk, "a"), &[], vec![4u8; 10])
        .await
        .assert_status(200);
    let (data, active, total) = figures(&server.disk(KEY, &disk).await);
    assert_eq!((data, active), (110, 110));
    assert!(total >= 210, "an append writes: {total}");

    server
        .s3("DELETE", &object_path(&disk, "a"), &[], Vec::new())
        .await
        .assert_status(204);
    let after = server.disk(KEY, &disk).await;
    assert_eq!(figures(&after).0, 60);
    assert_eq!(figures(&after).1, 60);
    assert_eq!(figures(&after).2, total, "deleting writes nothing");

    tokio::time::sleep(Duration::from_millis(20)).await;
    server.object_bytes(&disk, "dir/b").await;
    let later = server.disk(KEY, &disk).await["lastAccessed"]
        .as_str()
        .unwrap()
        .to_owned();
    let ms = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp_nanos()
    };
    assert!(ms(&later) > ms(&accessed), "{accessed} then {later}");
}

#[tokio::test]
async fn deleting_a_disk_deletes_its_contents() {
    let server = TestServer::with(Config {
        max_memory_bytes: 1000,
        ..Config::default()
    })
    .await;
    let (status, created) = server
        .call(
            "POST",
            "/api/disks",
            Some(KEY),
            Some(json!({"name": "reused"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let disk = created["data"]["diskId"].as_str().unwrap().to_owned();
    server.s3_put(&disk, "f", vec![0u8; 900]).await;
    mkdir(&server, &disk, "d/").await;
    let (status, body) = server
        .call("DELETE", &format!("/api/disks/{disk}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    server
        .get_object(&disk, "f")
        .await
        .assert_error(404, "NoSuchBucket");
    let again = server.create_disk_named(KEY, "reused").await;
    assert_ne!(again, disk);
    assert_eq!(level(&server, &again, "").await, (vec![], vec![]));
    server
        .get_object(&again, "f")
        .await
        .assert_error(404, "NoSuchKey");
    // The old disk's bytes no longer count against the memory limit.
    server.s3_put(&again, "g", vec![1u8; 900]).await;
}

// ---------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn a_full_memory_store_is_507_insufficient_storage_until_a_delete() {
    let server = TestServer::with(Config {
        max_memory_bytes: 1000,
        ..Config::default()
    })
    .await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a", vec![1u8; 600]).await;
    server
        .s3("PUT", &object_path(&disk, "b"), &[], vec![2u8; 600])
        .await
        .assert_error(507, "InsufficientStorage");
    server
        .get_object(&disk, "b")
        .await
        .assert_error(404, "NoSuchKey");
    server
        .s3("PUT", &append_path(&disk, "a"), &[], vec![3u8; 500])
        .await
        .assert_error(507, "InsufficientStorage");
    assert_eq!(server.object_bytes(&disk, "a").await, vec![1u8; 600]);
    server
        .s3("DELETE", &object_path(&disk, "a"), &[], Vec::new())
        .await
        .assert_status(204);
    server.s3_put(&disk, "b", vec![2u8; 600]).await;
    server.s3_put(&disk, "c", vec![3u8; 400]).await;
    assert_eq!(server.object_bytes(&disk, "b").await, vec![2u8; 600]);
}

#[tokio::test]
async fn max_object_bytes_refuses_a_larger_content_length_with_400_entity_too_large() {
    let server = TestServer::with(Config {
        max_object_bytes: 100,
        ..Config::default()
    })
    .await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "ok", vec![7u8; 100]).await;
    server
        .s3("PUT", &object_path(&disk, "big"), &[], vec![7u8; 101])
        .await
        .assert_error(400, "EntityTooLarge");
    assert_eq!(files(&server, &disk, "").await, ["ok"]);
}

#[tokio::test]
async fn max_object_bytes_counts_a_chunked_body() {
    let server = TestServer::with(Config {
        max_object_bytes: 100,
        ..Config::default()
    })
    .await;
    let disk = server.new_disk().await;
    let auth = [("authorization", KEY)];
    let big = chunked_request(
        "PUT",
        &object_path(&disk, "big"),
        &auth,
        &[&[1u8; 60], &[2u8; 60]],
    );
    raw_http(server.addr, &big)
        .await
        .assert_error(400, "EntityTooLarge");
    let small = chunked_request(
        "PUT",
        &object_path(&disk, "small"),
        &auth,
        &[&[1u8; 50], &[2u8; 50]],
    );
    let reply = raw_http(server.addr, &small).await;
    reply.assert_status(200);
    let mut expected = vec![1u8; 50];
    expected.extend([2u8; 50]);
    assert_eq!(reply.etag(), md5_etag(&expected));
    assert_eq!(server.object_bytes(&disk, "small").await, expected);
    assert_eq!(files(&server, &disk, "").await, ["small"]);
}

// ---------------------------------------------------------------------------
// --data-dir

fn data_dir_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: Some(dir.to_owned()),
        ..Config::default()
    }
}

#[tokio::test]
async fn objects_survive_a_restart_byte_exact() {
    let dir = temp_dir("restart");
    let big = binary(300_000);
    let (disk, etags, modified) = {
        let server = TestServer::with(data_dir_config(&dir)).await;
        let disk = server.new_disk().await;
        let mut etags = Vec::new();
        etags.push(server.s3_put(&disk, "big.bin", big.clone()).await);
        etags.push(server.s3_put(&disk, "empty", Vec::new()).await);
        server
            .s3(
                "PUT",
                &object_path(&disk, "docs/a b/readme.md"),
                &[("content-type", "text/markdown")],
                "# hi",
            )
            .await
            .assert_status(200);
        mkdir(&server, &disk, "docs/empty/").await;
        server
            .s3("PUT", &append_path(&disk, "log"), &[], "one\n")
            .await
            .assert_status(200);
        server
            .s3("PUT", &append_path(&disk, "log"), &[], "two\n")
            .await
            .assert_status(200);
        server.s3_put(&disk, "replaced", "old").await;
        server.s3_put(&disk, "replaced", "new").await;
        server.s3_put(&disk, "deleted", "x").await;
        server
            .s3("DELETE", &object_path(&disk, "deleted"), &[], Vec::new())
            .await
            .assert_status(204);
        let head = server
            .s3(
                "HEAD",
                &object_path(&disk, "docs/a b/readme.md"),
                &[],
                Vec::new(),
            )
            .await;
        let modified = head.header("last-modified").unwrap().to_owned();
        server.stop().await;
        (disk, etags, modified)
    };
    let server = TestServer::with(data_dir_config(&dir)).await;
    let got = server.get_object(&disk, "big.bin").await;
    got.assert_status(200);
    assert!(got.body == big, "big.bin is not byte-exact");
    assert_eq!(got.etag(), etags[0]);
    assert_eq!(server.get_object(&disk, "empty").await.etag(), etags[1]);
    let head = server
        .s3(
            "HEAD",
            &object_path(&disk, "docs/a b/readme.md"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(head.header("content-type"), Some("text/markdown"));
    assert_eq!(head.header("last-modified"), Some(modified.as_str()));
    assert_eq!(server.object_bytes(&disk, "log").await, b"one\ntwo\n");
    assert_eq!(server.object_bytes(&disk, "replaced").await, b"new");
    server
        .get_object(&disk, "deleted")
        .await
        .assert_error(404, "NoSuchKey");
    assert_eq!(
        level(&server, &disk, "docs/").await,
        (vec![], strings(&["docs/a b/", "docs/empty/"]))
    );
    assert_eq!(
        files(&server, &disk, "").await,
        ["big.bin", "docs/a b/readme.md", "empty", "log", "replaced"]
    );
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "tmp/ is empty after startup"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_reset_with_a_data_dir_keeps_deletes_durable_and_a_restart_agrees() {
    let dir = temp_dir("reset");
    let a = binary(10_000);
    let b = b"original b".to_vec();
    let disk = {
        let server = TestServer::with(data_dir_config(&dir)).await;
        let disk = server.new_disk().await;
        server.s3_put(&disk, "a", a.clone()).await;
        server.s3_put(&disk, "dir/b", b.clone()).await;
        server.stop().await;
        disk
    };
    {
        // Reset returns to the state loaded at startup, except that a delete
        // is durable: a deleted object's bytes are gone, so it stays deleted,
        // and an overwritten one keeps its current version.
        let server = TestServer::with(data_dir_config(&dir)).await;
        server
            .s3("DELETE", &object_path(&disk, "a"), &[], Vec::new())
            .await
            .assert_status(204);
        server.s3_put(&disk, "dir/b", "overwritten").await;
        server.s3_put(&disk, "c", "made after startup").await;
        let (status, body) = server.call("POST", "/_mock/reset", None, None).await;
        assert_eq!(status, 200, "{body}");
        server
            .get_object(&disk, "a")
            .await
            .assert_error(404, "NoSuchKey");
        assert_eq!(server.object_bytes(&disk, "dir/b").await, b"overwritten");
        server
            .get_object(&disk, "c")
            .await
            .assert_error(404, "NoSuchKey");
        server.stop().await;
    }
    let server = TestServer::with(data_dir_config(&dir)).await;
    assert_eq!(server.object_bytes(&disk, "dir/b").await, b"overwritten");
    assert_eq!(files(&server, &disk, "").await, ["dir/b"]);
    assert!(a.len() == 10_000 && b == b"original b");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_deleted_disks_objects_do_not_come_back_after_a_restart() {
    let dir = temp_dir("disk-delete");
    let old = {
        let server = TestServer::with(data_dir_config(&dir)).await;
        let disk = server.create_disk_named(KEY, "again").await;
        server.s3_put(&disk, "f", "x").await;
        let (status, body) = server
            .call("DELETE", &format!("/api/disks/{disk}"), Some(KEY), None)
            .await;
        assert_eq!(status, 200, "{body}");
        server.stop().await;
        disk
    };
    let server = TestServer::with(data_dir_config(&dir)).await;
    server
        .get_object(&old, "f")
        .await
        .assert_error(404, "NoSuchBucket");
    let new = server.create_disk_named(KEY, "again").await;
    assert_eq!(level(&server, &new, "").await, (vec![], vec![]));
    let blobs = std::fs::read_dir(dir.join("blobs")).unwrap().count();
    assert_eq!(blobs, 0, "the deleted disk's blob files are gone");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
