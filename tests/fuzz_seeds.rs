//! Replays every seed in `fuzz/seeds/<target>/` through the same checks the
//! cargo-fuzz targets run (`fuzz/checks.rs`, included here), so the fuzz
//! harness is built and exercised by every `cargo test` on stable, and a
//! seed that stops passing fails here first. Also a few hand-made inputs
//! at the edges the checks care about.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{} holds too few seeds", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Runs `check` on each seed, naming the seed that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in seeds(target) {
        if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
            eprintln!("seed {} failed", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn decode_create_seeds_pass_the_fuzz_checks() {
    replay("decode_create", checks::decode_create);
}

#[test]
fn gateway_decode_seeds_pass_the_fuzz_checks() {
    replay("gateway_decode", checks::gateway_decode);
}

#[test]
fn create_disk_body_seeds_pass_the_fuzz_checks() {
    replay("create_disk_body", checks::create_disk_body);
}

/// The seeds reach what they are meant to: each operation of the gateway
/// table at least once, and disks of every mount type accepted.
#[test]
fn the_seeds_cover_every_operation_and_mount_type() {
    use archil_mock::api::disks::NewDisk;
    use archil_mock::api::{json_object, Input};
    use archil_mock::gateway::route;
    use hyper::Method;

    let mut ops = std::collections::BTreeSet::new();
    for (_, bytes) in seeds("gateway_decode") {
        let method = checks::METHODS[bytes[0] as usize % checks::METHODS.len()];
        let text = String::from_utf8_lossy(&bytes[1..]).into_owned();
        let mut lines = text.splitn(3, '\n');
        let path = lines.next().unwrap();
        let query = lines.next();
        if let Ok(r) = route::decode(&Method::from_bytes(method.as_bytes()).unwrap(), path, query) {
            ops.insert(
                format!("{:?}", r.op)
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert_eq!(ops.len(), 14, "{ops:?}");

    let mut kinds = std::collections::BTreeSet::new();
    for (_, bytes) in seeds("create_disk_body") {
        let input = Input {
            body: &bytes,
            ..Input::default()
        };
        if let Ok(new) = json_object(input).and_then(|b| NewDisk::parse(&b, 0)) {
            kinds.extend(new.mounts.iter().map(|m| m.kind.as_str()));
        }
    }
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}

/// Inputs at the edges: long keys, odd query strings, bodies that are
/// almost XML, bodies that are almost a disk.
#[test]
fn edge_inputs_pass_the_fuzz_checks() {
    let d = "/dsk-0123456789abcdef";
    let long = "k".repeat(1024);
    for (method, path, query, body) in [
        ("PUT", format!("{d}/{long}"), None, &b""[..]),
        ("PUT", format!("{d}/{long}k"), None, b""),
        ("GET", format!("{d}/a%00b"), None, b""),
        ("GET", format!("{d}/%FF"), None, b""),
        ("GET", format!("{d}/a%2Fb/%2e"), None, b""),
        ("GET", format!("{d}//"), None, b""),
        ("GET", d.to_owned(), Some("list-type=2&max-keys=-99999999999999999999"), b""),
        ("GET", d.to_owned(), Some("list-type=2&max-keys=99999"), b""),
        ("GET", d.to_owned(), Some("list-type=2&continuation-token=zz"), b""),
        ("PUT", format!("{d}/k"), Some("uploadId=&partNumber=1"), b""),
        ("PUT", format!("{d}/k"), Some("uploadId=u&partNumber=10001"), b""),
        ("GET", format!("{d}/k"), Some("uploadId=u&part-number-marker="), b""),
        ("GET", d.to_owned(), Some("%01=&%01="), b""),
        ("GET", d.to_owned(), Some(&*format!("{}=&{}=", "x".repeat(3000), "x".repeat(3000))), b""),
        (
            "POST",
            format!("{d}/k"),
            Some("uploadId=u"),
            b"<CompleteMultipartUpload><Part><PartNumber> 10000 </PartNumber><ETag>&#13;e</ETag></Part></CompleteMultipartUpload>",
        ),
        (
            "POST",
            format!("{d}/k"),
            Some("uploadId=u"),
            b"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
        ),
        ("POST", d.to_owned(), Some("delete"), b"<!DOCTYPE x [<!ENTITY a \"b\">]><Delete/>"),
        ("POST", d.to_owned(), Some("delete"), b"<Delete><Object><Key>a\x01b</Key></Object>"),
        ("POST", d.to_owned(), Some("delete"), b"\xff<Delete/>"),
    ] {
        checks::gateway_decode(&checks::gateway_input(method, &path, query, body));
    }
    for body in [
        &b""[..],
        b"[]",
        br#"{"name":""}"#,
        br#"{"name":"a b"}"#,
        br#"{"name":"\u00e9"}"#,
        br#"{"name":"x","mounts":[{"type":"s3","bucketName":""}]}"#,
        br#"{"name":"x","mounts":[{"type":"s3","bucketName":"b"},{"type":"s3","bucketName":"c"}]}"#,
        br#"{"name":"x","mounts":[{"type":"S3","bucketName":"b"}]}"#,
        br#"{"name":"x","mounts":[{"type":"gcs","bucketName":"b","accessKeyId":"","secretAccessKey":"s"}]}"#,
        br#"{"name":"x","rootAttrs":{"uid":4294967295}}"#,
        br#"{"name":"x","rootAttrs":{"mode":512}}"#,
        br#"{"name":"x","allowedIps":["10.0.0.0/33"]}"#,
        br#"{"name":"x","authMethods":[{"type":"awssts","principal":"arn:a"},{"type":"awssts","principal":"arn:a"}]}"#,
    ] {
        checks::create_disk_body(body);
    }
}
