//! Black-box tests of the gateway's multipart uploads (create, upload part,
//! complete, abort, list parts, list uploads) and of DeleteObjects, over
//! real HTTP against a server on port 0.

mod common;

use archil_mock::{Config, FaultRule};
use common::*;

const MIB: usize = 1 << 20;

/// `(part number, ETag)` pairs, as a Complete request lists them.
type Parts<'a> = Vec<(u32, &'a str)>;

/// A server whose Complete accepts parts of any size.
async fn relaxed() -> TestServer {
    TestServer::with(Config {
        min_part_size: 0,
        ..Config::default()
    })
    .await
}

/// Bytes that differ from part to part.
fn part_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add((i % 253) as u8))
        .collect()
}

fn uploads_path(disk: &str, key: &str) -> String {
    format!("{}?uploads=", object_path(disk, key))
}

fn upload_path(disk: &str, key: &str, id: &str) -> String {
    format!("{}?uploadId={id}", object_path(disk, key))
}

fn part_path(disk: &str, key: &str, id: &str, n: &str) -> String {
    format!("{}?uploadId={id}&partNumber={n}", object_path(disk, key))
}

/// CreateMultipartUpload with these headers; asserts the reply and returns the upload id.
async fn create(server: &TestServer, disk: &str, key: &str, headers: &[(&str, &str)]) -> String {
    let reply = server
        .s3("POST", &uploads_path(disk, key), headers, Vec::new())
        .await;
    reply.assert_status(200);
    let text = reply.text();
    assert!(
        text.contains(
            "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        ),
        "{text}"
    );
    assert_eq!(xml_one(&text, "Bucket").as_deref(), Some(disk), "{text}");
    assert_eq!(xml_one(&text, "Key").as_deref(), Some(key), "{text}");
    let id = xml_one(&text, "UploadId").expect("an UploadId");
    assert!(!id.is_empty(), "{text}");
    id
}

/// UploadPart; asserts 200 and an ETag that is the part's quoted MD5.
async fn upload(
    server: &TestServer,
    disk: &str,
    key: &str,
    id: &str,
    n: u32,
    body: &[u8],
) -> String {
    let reply = server
        .s3(
            "PUT",
            &part_path(disk, key, id, &n.to_string()),
            &[],
            body.to_vec(),
        )
        .await;
    reply.assert_status(200);
    assert_eq!(reply.etag(), md5_etag(body));
    reply.etag()
}

/// A `CompleteMultipartUpload` body, as the SDKs send it.
fn complete_xml(parts: &[(u32, &str)]) -> String {
    let mut xml =
        String::from(r#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>"#);
    for (n, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            xml_escape(etag)
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

async fn complete(
    server: &TestServer,
    disk: &str,
    key: &str,
    id: &str,
    parts: &[(u32, &str)],
) -> S3Reply {
    server
        .s3(
            "POST",
            &upload_path(disk, key, id),
            &[("content-type", "application/xml")],
            complete_xml(parts),
        )
        .await
}

async fn list_parts(server: &TestServer, disk: &str, key: &str, id: &str, query: &str) -> String {
    let mut path = upload_path(disk, key, id);
    if !query.is_empty() {
        path.push('&');
        path.push_str(query);
    }
    let reply = server.s3("GET", &path, &[], Vec::new()).await;
    reply.assert_status(200);
    let text = reply.text();
    assert!(text.contains("<ListPartsResult"), "{text}");
    text
}

fn part_numbers(list_parts_xml: &str) -> Vec<u32> {
    xml_blocks(list_parts_xml, "Part")
        .iter()
        .map(|p| xml_one(p, "PartNumber").unwrap().parse().unwrap())
        .collect()
}

async fn list_uploads(server: &TestServer, disk: &str, query: &str) -> String {
    let reply = server
        .s3("GET", &format!("/{disk}?uploads={query}"), &[], Vec::new())
        .await;
    reply.assert_status(200);
    let text = reply.text();
    assert!(text.contains("<ListMultipartUploadsResult"), "{text}");
    text
}

fn upload_keys(list_uploads_xml: &str) -> Vec<String> {
    xml_blocks(list_uploads_xml, "Upload")
        .iter()
        .map(|u| xml_one(u, "Key").unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// The happy path

#[tokio::test]
async fn a_multipart_upload_completes_with_the_etag_of_the_part_md5s() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let key = "videos/big clip.bin";
    let id = create(&server, &disk, key, &[("content-type", "video/mp4")]).await;
    let p1 = part_bytes(1, 5 * MIB);
    let p2 = part_bytes(2, 5 * MIB);
    let p3 = part_bytes(3, 1234);
    let e1 = upload(&server, &disk, key, &id, 1, &p1).await;
    let e2 = upload(&server, &disk, key, &id, 2, &p2).await;
    let e3 = upload(&server, &disk, key, &id, 3, &p3).await;
    server
        .get_object(&disk, key)
        .await
        .assert_error(404, "NoSuchKey");
    let reply = complete(&server, &disk, key, &id, &[(1, &e1), (2, &e2), (3, &e3)]).await;
    reply.assert_status(200);
    let text = reply.text();
    let expected = multipart_etag(&[&p1, &p2, &p3]);
    assert!(expected.ends_with("-3\""));
    assert!(text.contains("<CompleteMultipartUploadResult"), "{text}");
    assert_eq!(xml_one(&text, "ETag"), Some(expected.clone()), "{text}");
    assert_eq!(xml_one(&text, "Bucket").as_deref(), Some(disk.as_str()));
    assert_eq!(xml_one(&text, "Key").as_deref(), Some(key));
    assert_eq!(
        xml_one(&text, "Location"),
        Some(format!("/{disk}/{key}")),
        "{text}"
    );

    let got = server.get_object(&disk, key).await;
    got.assert_status(200);
    assert_eq!(got.body.len(), p1.len() + p2.len() + p3.len());
    assert!(
        got.body == [p1, p2, p3].concat(),
        "the parts joined in order"
    );
    assert_eq!(got.etag(), expected);
    assert_eq!(got.header("content-type"), Some("video/mp4"));
    let page = server.list_page(&disk, "prefix=videos%2F").await;
    assert_eq!(page.keys, [key]);
    assert_eq!(xml_one(&page.xml, "ETag"), Some(expected));
    assert!(!list_uploads(&server, &disk, "").await.contains("<Upload>"));
}

#[tokio::test]
async fn the_ts_sdks_json_content_type_on_upload_part_is_ignored() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(
        &server,
        &disk,
        "k",
        &[
            ("content-type", "application/octet-stream"),
            ("x-archil-mode", "600"),
        ],
    )
    .await;
    let reply = server
        .s3(
            "PUT",
            &part_path(&disk, "k", &id, "1"),
            &[("content-type", "application/json"), ("x-unknown", "1")],
            "not json at all",
        )
        .await;
    reply.assert_status(200);
    let etag = reply.etag();
    complete(&server, &disk, "k", &id, &[(1, &etag)])
        .await
        .assert_status(200);
    let head = server
        .s3("HEAD", &object_path(&disk, "k"), &[], Vec::new())
        .await;
    assert_eq!(
        head.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(head.etag(), multipart_etag(&[b"not json at all"]));
}

#[tokio::test]
async fn etags_are_matched_quoted_or_bare() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e1 = upload(&server, &disk, "k", &id, 1, b"one").await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"two").await;
    let bare = e2.trim_matches('"').to_owned();
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &bare)])
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "k").await, b"onetwo");
}

#[tokio::test]
async fn complete_may_skip_part_numbers() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"two").await;
    upload(&server, &disk, "k", &id, 5, b"five").await;
    let e9 = upload(&server, &disk, "k", &id, 9, b"nine").await;
    let reply = complete(&server, &disk, "k", &id, &[(2, &e2), (9, &e9)]).await;
    reply.assert_status(200);
    assert_eq!(server.object_bytes(&disk, "k").await, b"twonine");
    assert_eq!(
        xml_one(&reply.text(), "ETag"),
        Some(multipart_etag(&[b"two", b"nine"]))
    );
}

#[tokio::test]
async fn a_part_sent_again_replaces_the_first() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let old = upload(&server, &disk, "k", &id, 1, b"first try").await;
    let new = upload(&server, &disk, "k", &id, 1, b"second").await;
    let parts = list_parts(&server, &disk, "k", &id, "").await;
    assert_eq!(part_numbers(&parts), [1]);
    assert!(parts.contains("<Size>6</Size>"), "{parts}");
    complete(&server, &disk, "k", &id, &[(1, &old)])
        .await
        .assert_error(400, "InvalidPart");
    complete(&server, &disk, "k", &id, &[(1, &new)])
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "k").await, b"second");
}

#[tokio::test]
async fn completing_replaces_an_existing_object_and_makes_its_parents() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a/b/k", "old").await;
    let id = create(&server, &disk, "a/b/k", &[]).await;
    let e = upload(&server, &disk, "a/b/k", &id, 1, b"new").await;
    complete(&server, &disk, "a/b/k", &id, &[(1, &e)])
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "a/b/k").await, b"new");
    let id = create(&server, &disk, "x/y/z", &[]).await;
    let e = upload(&server, &disk, "x/y/z", &id, 1, b"deep").await;
    complete(&server, &disk, "x/y/z", &id, &[(1, &e)])
        .await
        .assert_status(200);
    let (keys, prefixes) = server.list_every(&disk, "x/", Some("/"), "").await;
    assert!(keys.is_empty());
    assert_eq!(prefixes, ["x/y/"]);
}

// ---------------------------------------------------------------------------
// Part numbers and Complete's checks

#[tokio::test]
async fn part_numbers_outside_1_to_10000_are_400_invalid_argument() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    for n in ["0", "10001", "abc", "-1", "", "1.5", "99999999999"] {
        server
            .s3("PUT", &part_path(&disk, "k", &id, n), &[], "x")
            .await
            .assert_error(400, "InvalidArgument");
    }
    upload(&server, &disk, "k", &id, 1, b"first").await;
    upload(&server, &disk, "k", &id, 10_000, b"last").await;
    let parts = list_parts(&server, &disk, "k", &id, "").await;
    assert_eq!(part_numbers(&parts), [1, 10_000]);
}

#[tokio::test]
async fn complete_refuses_parts_out_of_order_with_invalid_part_order() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e1 = upload(&server, &disk, "k", &id, 1, b"a").await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"b").await;
    complete(&server, &disk, "k", &id, &[(2, &e2), (1, &e1)])
        .await
        .assert_error(400, "InvalidPartOrder");
    complete(&server, &disk, "k", &id, &[(1, &e1), (1, &e1)])
        .await
        .assert_error(400, "InvalidPartOrder");
    server
        .get_object(&disk, "k")
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn complete_refuses_a_wrong_etag_or_a_missing_part_with_invalid_part() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e1 = upload(&server, &disk, "k", &id, 1, b"a").await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"b").await;
    complete(&server, &disk, "k", &id, &[(1, &e2)])
        .await
        .assert_error(400, "InvalidPart");
    complete(&server, &disk, "k", &id, &[(1, &e1), (3, &e2)])
        .await
        .assert_error(400, "InvalidPart");
    complete(&server, &disk, "k", &id, &[(1, "\"not-an-etag\"")])
        .await
        .assert_error(400, "InvalidPart");
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &e1)])
        .await
        .assert_error(400, "InvalidPart");
}

#[tokio::test]
async fn complete_refuses_a_small_part_but_the_last_with_entity_too_small() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let small = part_bytes(1, 5 * MIB - 1);
    let e1 = upload(&server, &disk, "k", &id, 1, &small).await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"tail").await;
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &e2)])
        .await
        .assert_error(400, "EntityTooSmall");
    // One small part alone is the last part, so it is fine.
    let id2 = create(&server, &disk, "single", &[]).await;
    let e = upload(&server, &disk, "single", &id2, 1, b"tiny").await;
    complete(&server, &disk, "single", &id2, &[(1, &e)])
        .await
        .assert_status(200);
    // Exactly 5 MiB is enough.
    let five = part_bytes(2, 5 * MIB);
    let e1 = upload(&server, &disk, "k", &id, 1, &five).await;
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &e2)])
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "k").await.len(), 5 * MIB + 4);
}

#[tokio::test]
async fn min_part_size_0_lets_small_parts_complete() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e1 = upload(&server, &disk, "k", &id, 1, b"16 bytes of data").await;
    let e2 = upload(&server, &disk, "k", &id, 2, b"8 bytes!").await;
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &e2)])
        .await
        .assert_status(200);
    assert_eq!(
        server.object_bytes(&disk, "k").await,
        b"16 bytes of data8 bytes!"
    );
}

#[tokio::test]
async fn a_failed_complete_changes_nothing_and_the_upload_still_completes() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k", "before").await;
    let id = create(&server, &disk, "k", &[]).await;
    let p1 = part_bytes(7, 5 * MIB);
    let e1 = upload(&server, &disk, "k", &id, 1, &p1).await;
    let small = upload(&server, &disk, "k", &id, 2, b"small").await;
    let e3 = upload(&server, &disk, "k", &id, 3, b"last").await;
    let failures: Vec<(Parts, u16, &str)> = vec![
        (vec![(1, &e1), (1, &e1)], 400, "InvalidPartOrder"),
        (vec![(2, &small), (1, &e1)], 400, "InvalidPartOrder"),
        (vec![(1, &e1), (2, &e3)], 400, "InvalidPart"),
        (vec![(1, &e1), (4, &e3)], 400, "InvalidPart"),
        (vec![(1, &e1), (2, &small), (3, &e3)], 400, "EntityTooSmall"),
        (vec![], 400, "MalformedXML"),
    ];
    for (parts, status, code) in failures {
        complete(&server, &disk, "k", &id, &parts)
            .await
            .assert_error(status, code);
        assert_eq!(server.object_bytes(&disk, "k").await, b"before", "{code}");
        assert_eq!(
            part_numbers(&list_parts(&server, &disk, "k", &id, "").await),
            [1, 2, 3],
            "{code}"
        );
        assert_eq!(upload_keys(&list_uploads(&server, &disk, "").await), ["k"]);
    }
    server
        .s3(
            "POST",
            &upload_path(&disk, "k", &id),
            &[],
            "<CompleteMultipartUpload><Part>",
        )
        .await
        .assert_error(400, "MalformedXML");
    let reply = complete(&server, &disk, "k", &id, &[(1, &e1), (3, &e3)]).await;
    reply.assert_status(200);
    assert!(server.object_bytes(&disk, "k").await == [p1, b"last".to_vec()].concat());
}

#[tokio::test]
async fn a_second_complete_is_404_no_such_upload() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e = upload(&server, &disk, "k", &id, 1, b"once").await;
    complete(&server, &disk, "k", &id, &[(1, &e)])
        .await
        .assert_status(200);
    complete(&server, &disk, "k", &id, &[(1, &e)])
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("PUT", &part_path(&disk, "k", &id, "2"), &[], "late")
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("GET", &upload_path(&disk, "k", &id), &[], Vec::new())
        .await
        .assert_error(404, "NoSuchUpload");
    assert_eq!(server.object_bytes(&disk, "k").await, b"once");
}

#[tokio::test]
async fn abort_discards_the_upload_and_later_parts_are_404_no_such_upload() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e = upload(&server, &disk, "k", &id, 1, b"part").await;
    let reply = server
        .s3("DELETE", &upload_path(&disk, "k", &id), &[], Vec::new())
        .await;
    reply.assert_status(204);
    assert!(reply.body.is_empty());
    // Parts still in flight when the SDK aborts arrive afterwards.
    server
        .s3("PUT", &part_path(&disk, "k", &id, "2"), &[], "late")
        .await
        .assert_error(404, "NoSuchUpload");
    complete(&server, &disk, "k", &id, &[(1, &e)])
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("DELETE", &upload_path(&disk, "k", &id), &[], Vec::new())
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .get_object(&disk, "k")
        .await
        .assert_error(404, "NoSuchKey");
    assert!(upload_keys(&list_uploads(&server, &disk, "").await).is_empty());
}

#[tokio::test]
async fn an_unknown_upload_id_is_404_no_such_upload_everywhere() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let unknown = "00000000000000000000000000000000";
    server
        .s3("DELETE", &upload_path(&disk, "k", unknown), &[], Vec::new())
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("PUT", &part_path(&disk, "k", unknown, "1"), &[], "x")
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("GET", &upload_path(&disk, "k", unknown), &[], Vec::new())
        .await
        .assert_error(404, "NoSuchUpload");
    complete(&server, &disk, "k", unknown, &[(1, "\"00\"")])
        .await
        .assert_error(404, "NoSuchUpload");
    // An upload id is bound to its key.
    let id = create(&server, &disk, "a", &[]).await;
    let e = upload(&server, &disk, "a", &id, 1, b"x").await;
    complete(&server, &disk, "b", &id, &[(1, &e)])
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("PUT", &part_path(&disk, "b", &id, "2"), &[], "x")
        .await
        .assert_error(404, "NoSuchUpload");
    server
        .s3("PUT", &part_path(&disk, "k", "", "1"), &[], "x")
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn uploads_to_directories_are_refused() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    server
        .s3("POST", &uploads_path(&disk, "dir/"), &[], Vec::new())
        .await
        .assert_error(400, "InvalidArgument");
    server.s3_put(&disk, "d/inside", "x").await;
    server
        .s3("POST", &uploads_path(&disk, "d"), &[], Vec::new())
        .await
        .assert_error(409, "IsADirectory");
    server.s3_put(&disk, "f", "x").await;
    server
        .s3("POST", &uploads_path(&disk, "f/g"), &[], Vec::new())
        .await
        .assert_error(409, "NotADirectory");
    // A directory made after the upload started stops the Complete, which
    // changes nothing: the upload is still there.
    let id = create(&server, &disk, "later", &[]).await;
    let e = upload(&server, &disk, "later", &id, 1, b"x").await;
    server.s3_put(&disk, "later/child", "c").await;
    complete(&server, &disk, "later", &id, &[(1, &e)])
        .await
        .assert_error(409, "IsADirectory");
    assert_eq!(
        part_numbers(&list_parts(&server, &disk, "later", &id, "").await),
        [1]
    );
}

#[tokio::test]
async fn complete_refuses_an_object_over_max_object_bytes_and_keeps_the_upload() {
    let server = TestServer::with(Config {
        min_part_size: 0,
        max_object_bytes: 10,
        ..Config::default()
    })
    .await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    server
        .s3("PUT", &part_path(&disk, "k", &id, "1"), &[], vec![1u8; 11])
        .await
        .assert_error(400, "EntityTooLarge");
    let e1 = upload(&server, &disk, "k", &id, 1, &[1u8; 6]).await;
    let e2 = upload(&server, &disk, "k", &id, 2, &[2u8; 6]).await;
    complete(&server, &disk, "k", &id, &[(1, &e1), (2, &e2)])
        .await
        .assert_error(400, "EntityTooLarge");
    complete(&server, &disk, "k", &id, &[(1, &e1)])
        .await
        .assert_status(200);
    assert_eq!(server.object_bytes(&disk, "k").await, [1u8; 6]);
}

#[tokio::test]
async fn complete_with_a_doctype_is_400_malformed_xml() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e = upload(&server, &disk, "k", &id, 1, b"x").await;
    let body = format!(
        r#"<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e "{}">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>"#,
        xml_escape(&e)
    );
    server
        .s3("POST", &upload_path(&disk, "k", &id), &[], body)
        .await
        .assert_error(400, "MalformedXML");
    server
        .get_object(&disk, "k")
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn a_complete_whose_answer_is_lost_still_completes_and_a_retry_is_404() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let e = upload(&server, &disk, "k", &id, 1, b"done").await;
    server
        .app
        .add_faults(vec![FaultRule::status(503)
            .method("POST")
            .path("/dsk-*/**")
            .after()
            .times(1)])
        .unwrap();
    complete(&server, &disk, "k", &id, &[(1, &e)])
        .await
        .assert_error(503, "ServiceUnavailable");
    assert_eq!(server.object_bytes(&disk, "k").await, b"done");
    complete(&server, &disk, "k", &id, &[(1, &e)])
        .await
        .assert_error(404, "NoSuchUpload");
}

#[tokio::test]
async fn parts_count_against_the_memory_limit_until_the_upload_is_aborted() {
    let server = TestServer::with(Config {
        min_part_size: 0,
        max_memory_bytes: 1000,
        ..Config::default()
    })
    .await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    upload(&server, &disk, "k", &id, 1, &[1u8; 700]).await;
    server
        .s3("PUT", &part_path(&disk, "k", &id, "2"), &[], vec![2u8; 700])
        .await
        .assert_error(507, "InsufficientStorage");
    server
        .s3("PUT", &object_path(&disk, "other"), &[], vec![3u8; 700])
        .await
        .assert_error(507, "InsufficientStorage");
    server
        .s3("DELETE", &upload_path(&disk, "k", &id), &[], Vec::new())
        .await
        .assert_status(204);
    server.s3_put(&disk, "other", vec![3u8; 700]).await;
}

// ---------------------------------------------------------------------------
// ListParts and ListMultipartUploads

#[tokio::test]
async fn list_parts_pages_with_max_parts_and_part_number_marker() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    for n in 1..=5 {
        upload(&server, &disk, "k", &id, n, &vec![n as u8; n as usize]).await;
    }
    let first = list_parts(&server, &disk, "k", &id, "max-parts=2").await;
    assert_eq!(part_numbers(&first), [1, 2]);
    assert_eq!(xml_one(&first, "IsTruncated").as_deref(), Some("true"));
    assert_eq!(
        xml_one(&first, "NextPartNumberMarker").as_deref(),
        Some("2")
    );
    assert_eq!(xml_one(&first, "MaxParts").as_deref(), Some("2"));
    assert_eq!(xml_one(&first, "UploadId"), Some(id.clone()));
    let second = list_parts(&server, &disk, "k", &id, "max-parts=2&part-number-marker=2").await;
    assert_eq!(part_numbers(&second), [3, 4]);
    assert_eq!(xml_one(&second, "PartNumberMarker").as_deref(), Some("2"));
    let last = list_parts(&server, &disk, "k", &id, "max-parts=2&part-number-marker=4").await;
    assert_eq!(part_numbers(&last), [5]);
    assert_eq!(xml_one(&last, "IsTruncated").as_deref(), Some("false"));
    let part = xml_blocks(&last, "Part")[0].to_owned();
    assert_eq!(xml_one(&part, "Size").as_deref(), Some("5"));
    assert_eq!(xml_one(&part, "ETag"), Some(md5_etag(&[5u8; 5])));
    assert!(xml_one(&part, "LastModified").unwrap().ends_with('Z'));

    let all = list_parts(&server, &disk, "k", &id, "").await;
    assert_eq!(part_numbers(&all), [1, 2, 3, 4, 5]);
    assert_eq!(xml_one(&all, "MaxParts").as_deref(), Some("1000"));
    let clamped = list_parts(&server, &disk, "k", &id, "max-parts=5000").await;
    assert_eq!(xml_one(&clamped, "MaxParts").as_deref(), Some("1000"));
    let one = list_parts(&server, &disk, "k", &id, "max-parts=0").await;
    assert_eq!(part_numbers(&one), [1]);
    server
        .s3(
            "GET",
            &format!("{}&part-number-marker=x", upload_path(&disk, "k", &id)),
            &[],
            Vec::new(),
        )
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test]
async fn list_parts_of_more_than_1000_parts_pages_by_1000() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let id = create(&server, &disk, "k", &[]).await;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..6u32 {
        let (base, disk, id) = (server.base.clone(), disk.clone(), id.clone());
        set.spawn(async move {
            let http = client();
            let mut n = w + 1;
            while n <= 1003 {
                let r = http
                    .put(format!(
                        "{base}{}",
                        part_path(&disk, "k", &id, &n.to_string())
                    ))
                    .header("authorization", KEY)
                    .body(vec![1u8])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                n += 6;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let first = list_parts(&server, &disk, "k", &id, "").await;
    assert_eq!(part_numbers(&first), (1..=1000).collect::<Vec<_>>());
    assert_eq!(xml_one(&first, "IsTruncated").as_deref(), Some("true"));
    let next = xml_one(&first, "NextPartNumberMarker").unwrap();
    let rest = list_parts(
        &server,
        &disk,
        "k",
        &id,
        &format!("part-number-marker={next}"),
    )
    .await;
    assert_eq!(part_numbers(&rest), [1001, 1002, 1003]);
}

#[tokio::test]
async fn list_multipart_uploads_shows_uploads_in_progress() {
    let server = relaxed().await;
    let disk = server.new_disk().await;
    let a = create(&server, &disk, "a", &[]).await;
    let bc = create(&server, &disk, "b/c", &[]).await;
    let bd = create(&server, &disk, "b/d", &[]).await;
    let gone = create(&server, &disk, "gone", &[]).await;
    server
        .s3(
            "DELETE",
            &upload_path(&disk, "gone", &gone),
            &[],
            Vec::new(),
        )
        .await
        .assert_status(204);
    let all = list_uploads(&server, &disk, "").await;
    assert_eq!(upload_keys(&all), ["a", "b/c", "b/d"]);
    let ids: Vec<String> = xml_blocks(&all, "Upload")
        .iter()
        .map(|u| xml_one(u, "UploadId").unwrap())
        .collect();
    assert_eq!(ids, [a.clone(), bc, bd]);
    assert!(xml_one(&all, "Initiated").unwrap().ends_with('Z'));
    assert_eq!(xml_one(&all, "IsTruncated").as_deref(), Some("false"));
    assert_eq!(xml_one(&all, "Bucket"), Some(disk.clone()));

    let under_b = list_uploads(&server, &disk, "&prefix=b%2F").await;
    assert_eq!(upload_keys(&under_b), ["b/c", "b/d"]);
    let grouped = list_uploads(&server, &disk, "&delimiter=%2F").await;
    assert_eq!(upload_keys(&grouped), ["a"]);
    let prefixes: Vec<String> = xml_blocks(&grouped, "CommonPrefixes")
        .iter()
        .map(|p| xml_one(p, "Prefix").unwrap())
        .collect();
    assert_eq!(prefixes, ["b/"]);

    let page = list_uploads(&server, &disk, "&max-uploads=1").await;
    assert_eq!(upload_keys(&page), ["a"]);
    assert_eq!(xml_one(&page, "IsTruncated").as_deref(), Some("true"));
    assert_eq!(xml_one(&page, "NextKeyMarker").as_deref(), Some("a"));
    assert_eq!(xml_one(&page, "NextUploadIdMarker"), Some(a.clone()));
    let next = list_uploads(
        &server,
        &disk,
        &format!("&max-uploads=1&key-marker=a&upload-id-marker={a}"),
    )
    .await;
    assert_eq!(upload_keys(&next), ["b/c"]);
    let clamped = list_uploads(&server, &disk, "&max-uploads=99999").await;
    assert_eq!(xml_one(&clamped, "MaxUploads").as_deref(), Some("1000"));

    // A completed upload leaves the list.
    let e = upload(&server, &disk, "a", &a, 1, b"x").await;
    complete(&server, &disk, "a", &a, &[(1, &e)])
        .await
        .assert_status(200);
    assert_eq!(
        upload_keys(&list_uploads(&server, &disk, "").await),
        ["b/c", "b/d"]
    );
}

// ---------------------------------------------------------------------------
// DeleteObjects

fn delete_xml(keys: &[&str], quiet: bool) -> String {
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Delete>"#);
    for k in keys {
        xml.push_str(&format!("<Object><Key>{}</Key></Object>", xml_escape(k)));
    }
    if quiet {
        xml.push_str("<Quiet>true</Quiet>");
    }
    xml.push_str("</Delete>");
    xml
}

async fn delete_objects(server: &TestServer, disk: &str, body: String) -> S3Reply {
    server
        .s3(
            "POST",
            &format!("/{disk}?delete="),
            &[("content-type", "application/xml")],
            body,
        )
        .await
}

fn deleted_keys(xml: &str) -> Vec<String> {
    xml_blocks(xml, "Deleted")
        .iter()
        .map(|d| xml_one(d, "Key").unwrap())
        .collect()
}

/// `(key, code)` of each `<Error>`.
fn errors(xml: &str) -> Vec<(String, String)> {
    xml_blocks(xml, "Error")
        .iter()
        .map(|e| {
            let message = xml_one(e, "Message").unwrap_or_default();
            assert!(!message.is_empty(), "{xml}");
            (xml_one(e, "Key").unwrap(), xml_one(e, "Code").unwrap())
        })
        .collect()
}

#[tokio::test]
async fn delete_objects_deletes_each_key_and_counts_absent_ones_as_deleted() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    for k in ["a", "b & c", "dir/d"] {
        server.s3_put(&disk, k, "x").await;
    }
    let reply = delete_objects(
        &server,
        &disk,
        delete_xml(&["a", "b & c", "dir/d", "never"], false),
    )
    .await;
    reply.assert_status(200);
    let text = reply.text();
    assert!(
        text.contains("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"),
        "{text}"
    );
    assert_eq!(deleted_keys(&text), ["a", "b & c", "dir/d", "never"]);
    assert!(errors(&text).is_empty(), "{text}");
    for k in ["a", "b & c", "dir/d"] {
        server
            .get_object(&disk, k)
            .await
            .assert_error(404, "NoSuchKey");
    }
    // The emptied directory stays.
    let (keys, prefixes) = server.list_every(&disk, "", Some("/"), "").await;
    assert!(keys.is_empty());
    assert_eq!(prefixes, ["dir/"]);
}

#[tokio::test]
async fn quiet_delete_objects_lists_only_errors() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a", "x").await;
    server.s3_put(&disk, "full/f", "x").await;
    let reply = delete_objects(&server, &disk, delete_xml(&["a", "missing"], true)).await;
    reply.assert_status(200);
    assert!(deleted_keys(&reply.text()).is_empty(), "{}", reply.text());
    assert!(errors(&reply.text()).is_empty());
    let reply = delete_objects(&server, &disk, delete_xml(&["full/"], true)).await;
    reply.assert_status(200);
    assert_eq!(
        errors(&reply.text()),
        [("full/".to_owned(), "DirectoryNotEmpty".to_owned())]
    );
    server
        .get_object(&disk, "a")
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn a_key_that_cannot_be_deleted_gets_its_own_error_and_the_rest_go() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "full/f", "x").await;
    server.s3_put(&disk, "a", "x").await;
    server
        .s3("PUT", &object_path(&disk, "empty/"), &[], Vec::new())
        .await
        .assert_status(200);
    let keys = ["full", "a", "full/", "x/../y", "empty/", "a//b"];
    let reply = delete_objects(&server, &disk, delete_xml(&keys, false)).await;
    reply.assert_status(200);
    let text = reply.text();
    assert_eq!(deleted_keys(&text), ["a", "empty/"]);
    assert_eq!(
        errors(&text),
        [
            ("full".to_owned(), "DirectoryNotEmpty".to_owned()),
            ("full/".to_owned(), "DirectoryNotEmpty".to_owned()),
            ("x/../y".to_owned(), "InvalidArgument".to_owned()),
            ("a//b".to_owned(), "InvalidArgument".to_owned()),
        ]
    );
    assert_eq!(server.object_bytes(&disk, "full/f").await, b"x");
    let (keys, prefixes) = server.list_every(&disk, "", Some("/"), "").await;
    assert!(keys.is_empty());
    assert_eq!(prefixes, ["full/"]);
}

#[tokio::test]
async fn delete_objects_takes_1000_keys_and_refuses_1001_with_malformed_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "k0", "x").await;
    let many: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    delete_objects(&server, &disk, delete_xml(&refs, false))
        .await
        .assert_error(400, "MalformedXML");
    assert_eq!(
        server.object_bytes(&disk, "k0").await,
        b"x",
        "nothing deleted"
    );
    let reply = delete_objects(&server, &disk, delete_xml(&refs[..1000], false)).await;
    reply.assert_status(200);
    assert_eq!(deleted_keys(&reply.text()).len(), 1000);
    server
        .get_object(&disk, "k0")
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn delete_objects_with_a_doctype_or_entities_is_400_malformed_xml() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "victim", "x").await;
    for body in [
        r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "victim">]><Delete><Object><Key>&k;</Key></Object></Delete>"#.to_owned(),
        r#"<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete><Object><Key>victim</Key></Object></Delete>"#.to_owned(),
        r#"<Delete><Object><Key>&undefined;</Key></Object></Delete>"#.to_owned(),
        "<Delete><Object><Key>victim</Key></Object>".to_owned(),
        "not xml at all".to_owned(),
        String::new(),
    ] {
        delete_objects(&server, &disk, body.clone())
            .await
            .assert_error(400, "MalformedXML");
        assert_eq!(server.object_bytes(&disk, "victim").await, b"x", "{body}");
    }
}

#[tokio::test]
async fn delete_objects_needs_no_content_md5_and_accepts_a_namespace() {
    let server = TestServer::start().await;
    let disk = server.new_disk().await;
    server.s3_put(&disk, "a", "x").await;
    let body = r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object></Delete>"#;
    let reply = delete_objects(&server, &disk, body.to_owned()).await;
    reply.assert_status(200);
    assert_eq!(deleted_keys(&reply.text()), ["a"]);
}
