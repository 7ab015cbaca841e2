//! Hostile input for the object gateway (`/{diskId}/{key}`, share URLs) and
//! for the JSON endpoints that came with it (disks, disk users, disk
//! settings, branches, share, grep, exec), sent over raw TCP so that no
//! client library tidies anything up on the way.
//!
//! Every case must be answered with a 4xx in the format of the door it came
//! through — S3 XML (`<Error><Code/><Message/><RequestId/></Error>`,
//! bodiless on HEAD) on gateway paths, the `{"success": false, "error": …}`
//! envelope under `/api/` — and must leave the state exactly as it was: the
//! control-plane snapshot, every disk's files and directories, every
//! object's bytes (byte for byte) and every multipart upload with its parts
//! are compared before and after each case. The connection must stay usable
//! (a health check follows on the same socket) unless the case says
//! `Closes` and why. The cases sit in tables, one per kind of abuse;
//! `the_tables_hold_at_least_80_cases` keeps the count honest.
//!
//! Answers that are *not* 4xx by design (a Range the server ignores is a
//! 200 with the whole body, as RFC 9110 allows; an invalid grep pattern is
//! a 200 `incomplete`, as the README documents) are pinned down by separate
//! tests and not counted.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use archil_mock::Config;
use common::raw::*;
use common::*;
use serde_json::{json, Value};

const MIB: usize = 1 << 20;

/// The seeded disk of the default account (with users, checkpoints, a
/// branch and a delegation, from [`seeded_disk_fixture`]).
const A: &str = "dsk-00000000000000a1";
/// A disk of the account `bob`.
const B: &str = "dsk-00000000000000b0";
/// Bob's key.
const BOB: &str = "key-bob-hostile-objects-000000000002";
/// A well-formed disk id nobody has.
const NOBODY: &str = "dsk-ffffffffffffffff";

/// `a.txt`'s bytes; ranges are checked against them.
const A_TXT: &[u8] = b"0123456789";

const AUTH: (&str, &[u8]) = ("authorization", KEY.as_bytes());
const JSON_CT: (&str, &[u8]) = ("content-type", b"application/json");
const XML_CT: (&str, &[u8]) = ("content-type", b"application/xml");

// ---------------------------------------------------------------------------
// Cases.

/// What the error must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// S3 XML `<Error>` with this `<Code>`.
    S3(&'static str),
    /// A HEAD's error: no body, an `x-request-id`.
    Bodiless,
    /// The JSON envelope, its `error` containing this.
    Json(&'static str),
}

struct Case {
    name: String,
    request: Vec<u8>,
    head: bool,
    status: u16,
    want: Want,
    after: After,
}

impl Case {
    /// The same case, which closes the connection (the reason is the caller's).
    fn closes(self) -> Case {
        Case {
            after: After::Closes,
            ..self
        }
    }
}

/// A gateway request with the built-in key and these extra headers.
fn s3(
    name: impl Into<String>,
    method: &str,
    target: &str,
    extra: &[(&str, &[u8])],
    body: &[u8],
    status: u16,
    code: &'static str,
) -> Case {
    let mut headers = vec![AUTH];
    headers.extend_from_slice(extra);
    Case {
        name: name.into(),
        request: http(method, target, &headers, body),
        head: method == "HEAD",
        status,
        want: if method == "HEAD" {
            Want::Bodiless
        } else {
            Want::S3(code)
        },
        after: After::KeepAlive,
    }
}

/// A gateway request exactly as given (no key added).
fn s3_raw(
    name: impl Into<String>,
    request: Vec<u8>,
    head: bool,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name: name.into(),
        request,
        head,
        status,
        want: if head { Want::Bodiless } else { Want::S3(code) },
        after: After::KeepAlive,
    }
}

/// An `/api/` request with the built-in key and a JSON body.
fn api(
    name: impl Into<String>,
    method: &str,
    target: &str,
    body: &[u8],
    status: u16,
    needle: &'static str,
) -> Case {
    api_as(name, KEY, method, target, body, status, needle)
}

/// An `/api/` request with this key and a JSON body.
fn api_as(
    name: impl Into<String>,
    key: &str,
    method: &str,
    target: &str,
    body: &[u8],
    status: u16,
    needle: &'static str,
) -> Case {
    Case {
        name: name.into(),
        request: http(
            method,
            target,
            &[("authorization", key.as_bytes()), JSON_CT],
            body,
        ),
        head: false,
        status,
        want: Want::Json(needle),
        after: After::KeepAlive,
    }
}

/// A gateway table's row: name, method, target, body, status, S3 code.
type GatewayRow<'a> = (&'a str, &'a str, String, &'a [u8], u16, &'static str);
/// An API table's row: name, method, target, body, status, message fragment.
type ApiRow<'a> = (&'a str, &'a str, String, Vec<u8>, u16, &'static str);

/// What the tables need to know about the server they run against.
struct Ctx {
    /// A multipart upload of `mp/big` on disk A, with parts 1 (`aaaa`) and 2 (`bb`).
    upload: String,
    /// Part 1's and part 2's ETags, quoted.
    etag1: String,
    etag2: String,
}

impl Ctx {
    /// For counting cases only.
    fn dummy() -> Ctx {
        Ctx {
            upload: "0".repeat(32),
            etag1: md5_etag(b"aaaa"),
            etag2: md5_etag(b"bb"),
        }
    }

    fn complete_target(&self) -> String {
        format!("/{A}/mp/big?uploadId={}", self.upload)
    }
}

/// A `Delete` body naming these keys (escaped).
fn delete_xml<S: AsRef<str>>(keys: &[S]) -> String {
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Delete>"#);
    for k in keys {
        xml.push_str(&format!(
            "<Object><Key>{}</Key></Object>",
            xml_escape(k.as_ref())
        ));
    }
    xml.push_str("</Delete>");
    xml
}

/// A `CompleteMultipartUpload` body listing these (number, ETag) pairs as text.
fn complete_xml(parts: &[(&str, &str)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            xml_escape(etag)
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

/// The classic billion-laughs prologue: `&lol9;` expands to 10^9 `lol`s.
fn billion_laughs() -> String {
    let mut dtd = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    dtd
}

// ---------------------------------------------------------------------------
// The gateway tables.

/// DeleteObjects and CompleteMultipartUpload bodies that are not the
/// document they should be: DTDs and entities of every kind, deep nesting,
/// broken XML, the wrong root, too much of it. All `400 MalformedXML`.
fn xml_body_cases(ctx: &Ctx) -> Vec<Case> {
    let del = format!("/{A}?delete");
    let done = ctx.complete_target();
    let deep = |n: usize| format!("{}x{}", "<a>".repeat(n), "</a>".repeat(n));
    let good_parts = complete_xml(&[("1", &ctx.etag1), ("2", &ctx.etag2)]);
    let good_inner = good_parts
        .trim_start_matches("<CompleteMultipartUpload>")
        .trim_end_matches("</CompleteMultipartUpload>")
        .to_owned();
    let over = |open: &str, close: &str| {
        let mut body = String::from(open);
        body.push_str(&"<!-- padding -->".repeat((4 * MIB) / 16 + 1));
        body.push_str(close);
        body
    };
    let mut table: Vec<(String, &str, String)> = vec![
        (
            "an internal entity naming a key".into(),
            &del,
            r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "a.txt">]><Delete><Object><Key>&k;</Key></Object></Delete>"#.into(),
        ),
        (
            "billion laughs in a key".into(),
            &del,
            format!("{}<Delete><Object><Key>&lol9;</Key></Object></Delete>", billion_laughs()),
        ),
        (
            "an external entity SYSTEM file:///etc/passwd".into(),
            &del,
            r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&xxe;</Key></Object></Delete>"#.into(),
        ),
        (
            "a DOCTYPE with an external DTD".into(),
            &del,
            r#"<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete><Object><Key>a.txt</Key></Object></Delete>"#.into(),
        ),
        (
            "an external parameter entity".into(),
            &del,
            r#"<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><Delete><Object><Key>a.txt</Key></Object></Delete>"#.into(),
        ),
        (
            "a lowercase doctype".into(),
            &del,
            r#"<!doctype Delete SYSTEM "file:///etc/passwd"><Delete><Object><Key>a.txt</Key></Object></Delete>"#.into(),
        ),
        (
            "a DOCTYPE after a comment".into(),
            &del,
            "<?xml version=\"1.0\"?>\n<!-- hi -->\n<!DOCTYPE Delete [<!ENTITY k \"a.txt\">]>\n<Delete><Object><Key>&k;</Key></Object></Delete>".into(),
        ),
        (
            "a character reference to NUL".into(),
            &del,
            "<Delete><Object><Key>a.txt&#0;</Key></Object></Delete>".into(),
        ),
        (
            "an undeclared entity".into(),
            &del,
            "<Delete><Object><Key>&xxe;</Key></Object></Delete>".into(),
        ),
        (
            "100k nested elements in a key".into(),
            &del,
            format!("<Delete><Object><Key>{}</Key></Object></Delete>", deep(100_000)),
        ),
        (
            "100k unclosed nested elements".into(),
            &del,
            format!("<Delete><Object><Key>a.txt</Key></Object>{}", "<a>".repeat(100_000)),
        ),
        (
            "an unclosed root".into(),
            &del,
            "<Delete><Object><Key>a.txt</Key></Object>".into(),
        ),
        (
            "mismatched end tags".into(),
            &del,
            "<Delete><Object><Key>a.txt</Object></Key></Delete>".into(),
        ),
        (
            "an unquoted attribute".into(),
            &del,
            "<Delete x=1><Object><Key>a.txt</Key></Object></Delete>".into(),
        ),
        (
            "an unterminated CDATA section".into(),
            &del,
            "<Delete><Object><Key><![CDATA[a.txt</Key></Object></Delete>".into(),
        ),
        (
            "two Keys in one Object".into(),
            &del,
            "<Delete><Object><Key>a.txt</Key><Key>dir/b.bin</Key></Object></Delete>".into(),
        ),
        (
            "an Object without a Key".into(),
            &del,
            "<Delete><Object><VersionId>1</VersionId></Object></Delete>".into(),
        ),
        (
            "a Key holding an element".into(),
            &del,
            "<Delete><Object><Key><b>a.txt</b></Key></Object></Delete>".into(),
        ),
        (
            "the wrong root element".into(),
            &del,
            "<Remove><Object><Key>a.txt</Key></Object></Remove>".into(),
        ),
        (
            "Complete's root on a Delete".into(),
            &del,
            "<CompleteMultipartUpload><Object><Key>a.txt</Key></Object></CompleteMultipartUpload>".into(),
        ),
        (
            "a second root after the Delete".into(),
            &del,
            "<Delete><Object><Key>nothing-here</Key></Object></Delete><Delete><Object><Key>a.txt</Key></Object></Delete>".into(),
        ),
        (
            "text after the root".into(),
            &del,
            "<Delete><Object><Key>a.txt</Key></Object></Delete>trailing".into(),
        ),
        (
            "a JSON body".into(),
            &del,
            r#"{"Objects":[{"Key":"a.txt"}]}"#.into(),
        ),
        ("an empty body".into(), &del, String::new()),
        (
            "a body over 4 MiB".into(),
            &del,
            over("<Delete><Object><Key>a.txt</Key></Object>", "</Delete>"),
        ),
        (
            "Complete with an entity for an ETag".into(),
            &done,
            format!(
                "<!DOCTYPE c [<!ENTITY e '{}'>]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>",
                ctx.etag1
            ),
        ),
        (
            "Complete with billion laughs".into(),
            &done,
            format!(
                "{}<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol9;</ETag></Part></CompleteMultipartUpload>",
                billion_laughs()
            ),
        ),
        (
            "Complete with an external entity".into(),
            &done,
            r#"<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part></CompleteMultipartUpload>"#.into(),
        ),
        (
            "Complete with 100k nested elements".into(),
            &done,
            format!(
                "<CompleteMultipartUpload><Part><PartNumber>{}</PartNumber></Part></CompleteMultipartUpload>",
                deep(100_000)
            ),
        ),
        (
            "Complete, unclosed".into(),
            &done,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>".into(),
        ),
        ("Complete, empty".into(), &done, String::new()),
        (
            "Complete naming no parts".into(),
            &done,
            "<CompleteMultipartUpload/>".into(),
        ),
        (
            "Complete, a Part without an ETag".into(),
            &done,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>".into(),
        ),
        (
            "Complete under the wrong root".into(),
            &done,
            format!("<Delete>{good_inner}</Delete>"),
        ),
        (
            "Complete, a second root".into(),
            &done,
            format!("{good_parts}{good_parts}"),
        ),
        (
            "Complete over 4 MiB".into(),
            &done,
            over(&good_parts.replace("</CompleteMultipartUpload>", ""), "</CompleteMultipartUpload>"),
        ),
    ];
    let mut cases: Vec<Case> = table
        .drain(..)
        .map(|(name, target, body)| {
            s3(
                format!("XML: {name}"),
                "POST",
                target,
                &[XML_CT],
                body.as_bytes(),
                400,
                "MalformedXML",
            )
        })
        .collect();
    // Characters XML 1.0 does not allow, which the answer would echo.
    for (name, key) in [
        ("a raw NUL in a key", "a.txt\0"),
        ("a raw escape in a key", "\u{1b}[2J"),
    ] {
        cases.push(s3(
            format!("XML: {name}"),
            "POST",
            &del,
            &[XML_CT],
            delete_xml(&[key]).as_bytes(),
            400,
            "MalformedXML",
        ));
    }
    // Not UTF-8, in two spellings.
    cases.push(s3(
        "XML: a 0xFF byte in a key",
        "POST",
        &del,
        &[XML_CT],
        b"<Delete><Object><Key>\xff</Key></Object></Delete>",
        400,
        "MalformedXML",
    ));
    let utf16: Vec<u8> = "\u{feff}<Delete><Object><Key>a.txt</Key></Object></Delete>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    cases.push(s3(
        "XML: a UTF-16 body",
        "POST",
        &del,
        &[XML_CT],
        &utf16,
        400,
        "MalformedXML",
    ));
    // Over the limit without a Content-Length: refused once 4 MiB have
    // been read; the rest is still in flight, so the connection closes.
    let chunk = vec![b' '; 256 * 1024];
    let chunks: Vec<&[u8]> = std::iter::once(&b"<Delete>"[..])
        .chain(std::iter::repeat_n(&chunk[..], 20))
        .collect();
    cases.push(
        s3_raw(
            "XML: a chunked body over 4 MiB (closes: the rest is unread)",
            http_chunked("POST", &del, &[AUTH, XML_CT], &chunks),
            false,
            400,
            "MalformedXML",
        )
        .closes(),
    );
    cases
}

/// DeleteObjects over the 1000-key cap (S3's, and the README's): the
/// whole request is `400 MalformedXML` and nothing is deleted, however
/// many of the keys are real, repeated or empty.
fn delete_objects_cases(_ctx: &Ctx) -> Vec<Case> {
    let del = format!("/{A}?delete");
    let mut real = vec!["a.txt".to_owned(); 1];
    real.extend((0..10_000).map(|i| format!("k{i}")));
    let table: Vec<(&str, String)> = vec![
        ("10k keys, one of them real", delete_xml(&real)),
        (
            "1001 keys",
            delete_xml(&(0..1001).map(|i| format!("k{i}")).collect::<Vec<_>>()),
        ),
        (
            "10k copies of a real key",
            delete_xml(&vec!["a.txt"; 10_000]),
        ),
        (
            "1001 copies of a real key",
            delete_xml(&vec!["dir/b.bin"; 1001]),
        ),
        ("10k empty keys", delete_xml(&vec![""; 10_000])),
        (
            "10k keys, quiet",
            delete_xml(&real).replace("</Delete>", "<Quiet>true</Quiet></Delete>"),
        ),
    ];
    let mut cases: Vec<Case> = table
        .into_iter()
        .map(|(name, body)| {
            s3(
                format!("DeleteObjects: {name}"),
                "POST",
                &del,
                &[XML_CT],
                body.as_bytes(),
                400,
                "MalformedXML",
            )
        })
        .collect();
    cases.push(s3(
        "DeleteObjects: on another account's disk",
        "POST",
        &format!("/{B}?delete"),
        &[XML_CT],
        delete_xml(&["secret.txt"]).as_bytes(),
        404,
        "NoSuchBucket",
    ));
    cases.push(s3(
        "DeleteObjects: ?delete on an object's path",
        "POST",
        &format!("/{A}/a.txt?delete"),
        &[XML_CT],
        delete_xml(&["a.txt"]).as_bytes(),
        405,
        "MethodNotAllowed",
    ));
    cases
}

/// Multipart abuse: part numbers out of range or not numbers, unknown
/// uploads, Complete lists out of order, repeated, with wrong ETags or too
/// small parts.
fn multipart_cases(ctx: &Ctx) -> Vec<Case> {
    let u = &ctx.upload;
    let part = |n: &str| format!("/{A}/mp/big?uploadId={u}&partNumber={n}");
    let mut cases = Vec::new();
    for n in [
        "0",
        "10001",
        "-1",
        "abc",
        "99999999999999999999",
        "4294967297",
        "",
        "1.0",
        "0x1",
        "1%00",
    ] {
        cases.push(s3(
            format!("UploadPart: partNumber={n:?}"),
            "PUT",
            &part(n),
            &[],
            b"x",
            400,
            "InvalidArgument",
        ));
    }
    cases.push(s3(
        "UploadPart: partNumber given twice",
        "PUT",
        &format!("{}&partNumber=2", part("1")),
        &[],
        b"x",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "UploadPart: an empty uploadId",
        "PUT",
        &format!("/{A}/mp/big?uploadId=&partNumber=1"),
        &[],
        b"x",
        400,
        "InvalidArgument",
    ));
    for (what, target) in [
        (
            "an unknown uploadId",
            format!("/{A}/mp/big?uploadId={}&partNumber=1", "f".repeat(32)),
        ),
        (
            "the upload's id on another key",
            format!("/{A}/mp/other?uploadId={u}&partNumber=1"),
        ),
        (
            "an uploadId with ../ and NUL",
            format!("/{A}/mp/big?uploadId=..%2F..%2F{u}%00&partNumber=1"),
        ),
        (
            "the upload's id on another account's disk",
            format!("/{B}/mp/big?uploadId={u}&partNumber=1"),
        ),
    ] {
        let code = if target.starts_with(&format!("/{B}")) {
            (404, "NoSuchBucket")
        } else {
            (404, "NoSuchUpload")
        };
        cases.push(s3(
            format!("UploadPart: {what}"),
            "PUT",
            &target,
            &[],
            b"x",
            code.0,
            code.1,
        ));
    }
    let complete = |name: &str, parts: &[(&str, &str)], status: u16, code: &'static str| {
        s3(
            format!("Complete: {name}"),
            "POST",
            &ctx.complete_target(),
            &[XML_CT],
            complete_xml(parts).as_bytes(),
            status,
            code,
        )
    };
    let (e1, e2) = (ctx.etag1.as_str(), ctx.etag2.as_str());
    cases.extend([
        complete(
            "a duplicate part",
            &[("1", e1), ("1", e1)],
            400,
            "InvalidPartOrder",
        ),
        complete(
            "parts out of order",
            &[("2", e2), ("1", e1)],
            400,
            "InvalidPartOrder",
        ),
        complete(
            "a duplicate after the last",
            &[("1", e1), ("2", e2), ("2", e2)],
            400,
            "InvalidPartOrder",
        ),
        complete("a wrong ETag", &[("1", e2)], 400, "InvalidPart"),
        complete(
            "an ETag that is not one",
            &[("1", "\"not-an-etag\"")],
            400,
            "InvalidPart",
        ),
        complete("an empty ETag", &[("1", "")], 400, "InvalidPart"),
        complete(
            "a multipart-style ETag",
            &[("2", "\"00000000000000000000000000000000-2\"")],
            400,
            "InvalidPart",
        ),
        complete("a part never uploaded", &[("3", e2)], 400, "InvalidPart"),
        complete("part number 0", &[("0", e1)], 400, "InvalidPart"),
        complete("part number 10001", &[("10001", e1)], 400, "InvalidPart"),
        complete("part number -1", &[("-1", e1)], 400, "InvalidPart"),
        complete("part number abc", &[("abc", e1)], 400, "InvalidPart"),
        complete(
            "a 30-digit part number",
            &[("123456789012345678901234567890", e1)],
            400,
            "InvalidPart",
        ),
        complete(
            "a 4-byte part before the last (parts too small)",
            &[("1", e1), ("2", e2)],
            400,
            "EntityTooSmall",
        ),
    ]);
    cases.push(s3(
        "Complete: an unknown uploadId",
        "POST",
        &format!("/{A}/mp/big?uploadId={}", "e".repeat(32)),
        &[XML_CT],
        complete_xml(&[("1", e1), ("2", e2)]).as_bytes(),
        404,
        "NoSuchUpload",
    ));
    cases.push(s3(
        "Complete: the upload's id on another key",
        "POST",
        &format!("/{A}/a.txt?uploadId={u}"),
        &[XML_CT],
        complete_xml(&[("1", e1), ("2", e2)]).as_bytes(),
        404,
        "NoSuchUpload",
    ));
    cases.push(s3(
        "Abort: an unknown uploadId",
        "DELETE",
        &format!("/{A}/mp/big?uploadId={}", "d".repeat(32)),
        &[],
        b"",
        404,
        "NoSuchUpload",
    ));
    cases.push(s3(
        "Abort: the upload's id on another key",
        "DELETE",
        &format!("/{A}/mp/big2?uploadId={u}"),
        &[],
        b"",
        404,
        "NoSuchUpload",
    ));
    cases.push(s3(
        "ListParts: an unknown uploadId",
        "GET",
        &format!("/{A}/mp/big?uploadId={}", "c".repeat(32)),
        &[],
        b"",
        404,
        "NoSuchUpload",
    ));
    cases.push(s3(
        "ListParts: part-number-marker=abc",
        "GET",
        &format!("/{A}/mp/big?uploadId={u}&part-number-marker=abc"),
        &[],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "ListParts: max-parts=1e3",
        "GET",
        &format!("/{A}/mp/big?uploadId={u}&max-parts=1e3"),
        &[],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "ListUploads: max-uploads=-",
        "GET",
        &format!("/{A}?uploads&max-uploads=-"),
        &[],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "Create: on a directory key",
        "POST",
        &format!("/{A}/dir/?uploads"),
        &[],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "Create: under a file",
        "POST",
        &format!("/{A}/a.txt/x?uploads"),
        &[],
        b"",
        409,
        "NotADirectory",
    ));
    cases.push(s3(
        "Create: over a directory",
        "POST",
        &format!("/{A}/dir?uploads"),
        &[],
        b"",
        409,
        "IsADirectory",
    ));
    cases
}

/// Keys a filesystem cannot hold, or that name nothing: NUL, `.`, `..`,
/// empty segments, too long, file/directory conflicts, control characters.
fn key_cases(_ctx: &Ctx) -> Vec<Case> {
    let long = "k".repeat(1025);
    let long_multibyte = "€".repeat(342); // 1026 bytes, 342 characters
    let long_encoded = "%6B".repeat(1025); // 1025 bytes once decoded
    let overlong_segment = "s".repeat(300); // > NAME_MAX, < 1024: a 404, not a 400
    let table: Vec<GatewayRow> = vec![
        (
            "GET a NUL",
            "GET",
            format!("/{A}/a%00b"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "PUT a NUL",
            "PUT",
            format!("/{A}/a.txt%00"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "DELETE a NUL",
            "DELETE",
            format!("/{A}/a.txt%00.bak"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET ..",
            "GET",
            format!("/{A}/.."),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET ../ to another disk",
            "GET",
            format!("/{A}/../{B}/secret.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET ../ to the API",
            "GET",
            format!("/{A}/../api/tokens"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "PUT a/../a.txt",
            "PUT",
            format!("/{A}/dir/../a.txt"),
            b"overwritten",
            400,
            "InvalidArgument",
        ),
        (
            "DELETE ..",
            "DELETE",
            format!("/{A}/dir/.."),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET ./a.txt",
            "GET",
            format!("/{A}/./a.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "PUT dir/./x",
            "PUT",
            format!("/{A}/dir/./x"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "PUT a trailing /.",
            "PUT",
            format!("/{A}/dir/."),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET //a.txt",
            "GET",
            format!("/{A}//a.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "PUT dir//x",
            "PUT",
            format!("/{A}/dir//x"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "PUT a//",
            "PUT",
            format!("/{A}/newdir//"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "DELETE ///",
            "DELETE",
            format!("/{A}///"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "GET 1025 bytes",
            "GET",
            format!("/{A}/{long}"),
            b"",
            400,
            "KeyTooLongError",
        ),
        (
            "PUT 1025 bytes",
            "PUT",
            format!("/{A}/{long}"),
            b"x",
            400,
            "KeyTooLongError",
        ),
        (
            "PUT 1026 bytes in 342 characters",
            "PUT",
            format!(
                "/{A}/{}",
                percent_encoding::utf8_percent_encode(
                    &long_multibyte,
                    percent_encoding::NON_ALPHANUMERIC
                )
            ),
            b"x",
            400,
            "KeyTooLongError",
        ),
        (
            "DELETE 1025 percent-encoded bytes",
            "DELETE",
            format!("/{A}/{long_encoded}"),
            b"",
            400,
            "KeyTooLongError",
        ),
        (
            "Create upload of 1025 bytes",
            "POST",
            format!("/{A}/{long}?uploads"),
            b"",
            400,
            "KeyTooLongError",
        ),
        (
            "GET a 300-byte segment that is not there",
            "GET",
            format!("/{A}/{overlong_segment}"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "PUT under a file",
            "PUT",
            format!("/{A}/a.txt/x"),
            b"x",
            409,
            "NotADirectory",
        ),
        (
            "PUT a directory under a file",
            "PUT",
            format!("/{A}/a.txt/"),
            b"",
            409,
            "NotADirectory",
        ),
        (
            "PUT over a directory",
            "PUT",
            format!("/{A}/dir"),
            b"x",
            409,
            "IsADirectory",
        ),
        (
            "PUT a trailing / with a body",
            "PUT",
            format!("/{A}/newdir/"),
            b"not empty",
            400,
            "InvalidRequest",
        ),
        (
            "append to a directory",
            "PUT",
            format!("/{A}/dir/?append=true"),
            b"x",
            409,
            "IsADirectory",
        ),
        (
            "append to a trailing / key",
            "PUT",
            format!("/{A}/nodir/?append=true"),
            b"x",
            400,
            "InvalidRequest",
        ),
        (
            "GET a directory",
            "GET",
            format!("/{A}/dir/"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET a directory without its /",
            "GET",
            format!("/{A}/dir"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET a file with a trailing /",
            "GET",
            format!("/{A}/a.txt/"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "DELETE a non-empty directory",
            "DELETE",
            format!("/{A}/dir/"),
            b"",
            409,
            "DirectoryNotEmpty",
        ),
        (
            "DELETE a non-empty directory without its /",
            "DELETE",
            format!("/{A}/dir"),
            b"",
            409,
            "DirectoryNotEmpty",
        ),
        (
            "GET a newline",
            "GET",
            format!("/{A}/a%0Ab"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET CR LF and a header",
            "GET",
            format!("/{A}/a%0D%0Aset-cookie:%20x"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET an escape and DEL",
            "GET",
            format!("/{A}/%1B%5B2J%7F"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET U+FFFE",
            "GET",
            format!("/{A}/%EF%BF%BE"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "GET a tab and a bell",
            "GET",
            format!("/{A}/%09%07"),
            b"",
            404,
            "NoSuchKey",
        ),
    ];
    let mut cases: Vec<Case> = table
        .into_iter()
        .map(|(name, method, target, body, status, code)| {
            s3(
                format!("key: {name}"),
                method,
                &target,
                &[],
                body,
                status,
                code,
            )
        })
        .collect();
    cases.push(s3(
        "key: HEAD ..",
        "HEAD",
        &format!("/{A}/dir/../a.txt"),
        &[],
        b"",
        400,
        "",
    ));
    cases.push(s3(
        "key: HEAD 1025 bytes",
        "HEAD",
        &format!("/{A}/{long}"),
        &[],
        b"",
        400,
        "",
    ));
    cases.push(s3(
        "key: HEAD a control character",
        "HEAD",
        &format!("/{A}/%01"),
        &[],
        b"",
        404,
        "",
    ));
    cases.push(s3(
        "key: append over 1 MiB",
        "PUT",
        &format!("/{A}/a.txt?append=true"),
        &[],
        &vec![b'z'; MIB + 1],
        400,
        "EntityTooLarge",
    ));
    cases.push(s3(
        "key: PUT over --max-object-bytes",
        "PUT",
        &format!("/{A}/big.bin"),
        &[],
        &vec![b'z'; MIB + 1],
        400,
        "EntityTooLarge",
    ));
    cases
}

/// Percent-encoding tricks: an encoded `/` or `.` that would make a bad
/// key, double encoding (decoded once), invalid escapes (kept literally),
/// bytes that are not UTF-8 once decoded.
fn percent_cases(_ctx: &Ctx) -> Vec<Case> {
    let table: Vec<GatewayRow> = vec![
        (
            "%2e%2e",
            "GET",
            format!("/{A}/%2e%2e/a.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "%2E%2E to another disk",
            "GET",
            format!("/{A}/%2E%2E/{B}/secret.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "%2e alone",
            "PUT",
            format!("/{A}/dir/%2e"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            ".%2e",
            "DELETE",
            format!("/{A}/dir/.%2e"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "%2F%2F",
            "PUT",
            format!("/{A}/x%2F%2Fy"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "a leading %2F",
            "GET",
            format!("/{A}/%2Fa.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "..%2F in a segment",
            "PUT",
            format!("/{A}/dir%2F..%2Fa.txt"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "%2F%2e%2e%2F",
            "DELETE",
            format!("/{A}/dir%2F%2e%2e%2Fa.txt"),
            b"",
            400,
            "InvalidArgument",
        ),
        (
            "%00",
            "PUT",
            format!("/{A}/x%00"),
            b"x",
            400,
            "InvalidArgument",
        ),
        (
            "%252e%252e is decoded once",
            "GET",
            format!("/{A}/%252e%252e/a.txt"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "%2500 is decoded once",
            "GET",
            format!("/{A}/a%2500"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "%zz is kept literally",
            "GET",
            format!("/{A}/a%zz"),
            b"",
            404,
            "NoSuchKey",
        ),
        (
            "a trailing % is kept literally",
            "GET",
            format!("/{A}/a.txt%"),
            b"",
            404,
            "NoSuchKey",
        ),
        ("%FF", "GET", format!("/{A}/%FF"), b"", 400, "InvalidURI"),
        (
            "overlong / as %C0%AF",
            "GET",
            format!("/{A}/..%C0%AFa.txt"),
            b"",
            400,
            "InvalidURI",
        ),
        (
            "overlong . as %C0%AE%C0%AE",
            "PUT",
            format!("/{A}/%C0%AE%C0%AE/x"),
            b"x",
            400,
            "InvalidURI",
        ),
        (
            "overlong NUL as %C0%80",
            "PUT",
            format!("/{A}/a%C0%80"),
            b"x",
            400,
            "InvalidURI",
        ),
        (
            "a UTF-8 surrogate",
            "GET",
            format!("/{A}/%ED%A0%80"),
            b"",
            400,
            "InvalidURI",
        ),
        (
            "a truncated sequence",
            "PUT",
            format!("/{A}/%E2%82"),
            b"x",
            400,
            "InvalidURI",
        ),
        (
            "above U+10FFFF",
            "GET",
            format!("/{A}/%F4%90%80%80"),
            b"",
            400,
            "InvalidURI",
        ),
        (
            "a lone continuation byte",
            "DELETE",
            format!("/{A}/%80"),
            b"",
            400,
            "InvalidURI",
        ),
        (
            "invalid UTF-8 in a directory segment",
            "PUT",
            format!("/{A}/%FE/x"),
            b"x",
            400,
            "InvalidURI",
        ),
    ];
    table
        .into_iter()
        .map(|(name, method, target, body, status, code)| {
            s3(
                format!("percent: {name}"),
                method,
                &target,
                &[],
                body,
                status,
                code,
            )
        })
        .collect()
}

/// `x-archil-mode` (octal ≤ 7777), `x-archil-uid` and `x-archil-gid`
/// (decimal ≤ 4294967294), each malformed, on every write that takes them.
/// All `400 InvalidArgument`, before anything is read or written.
fn posix_header_cases(_ctx: &Ctx) -> Vec<Case> {
    let mut cases = Vec::new();
    let bad_modes: &[&[u8]] = &[
        b"9",
        b"10000",
        b"rwxr-xr-x",
        b"",
        b"-1",
        b"+7",
        b"0o644",
        b"0x1ff",
        b"77777777777777777777",
        b"6 44",
        b"\xff\xfe",
    ];
    for mode in bad_modes {
        cases.push(s3(
            format!("PUT x-archil-mode {:?}", String::from_utf8_lossy(mode)),
            "PUT",
            &format!("/{A}/new.txt"),
            &[("x-archil-mode", mode)],
            b"x",
            400,
            "InvalidArgument",
        ));
    }
    let bad_ids: &[&[u8]] = &[
        b"-1",
        b"abc",
        b"4294967295",
        b"4294967296",
        b"18446744073709551616",
        b"1e3",
        b"+5",
        b"0x10",
        b"1.0",
        b"",
    ];
    for (i, id) in bad_ids.iter().enumerate() {
        let header = if i % 2 == 0 {
            "x-archil-uid"
        } else {
            "x-archil-gid"
        };
        cases.push(s3(
            format!("PUT {header} {:?}", String::from_utf8_lossy(id)),
            "PUT",
            &format!("/{A}/new.txt"),
            &[(header, id)],
            b"x",
            400,
            "InvalidArgument",
        ));
    }
    cases.push(s3(
        "Create upload with x-archil-mode 8",
        "POST",
        &format!("/{A}/new.bin?uploads"),
        &[("x-archil-mode", b"8")],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "Create upload with x-archil-gid -0x1",
        "POST",
        &format!("/{A}/new.bin?uploads"),
        &[("x-archil-gid", b"-0x1")],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "append with x-archil-uid 99999999999",
        "PUT",
        &format!("/{A}/log.txt?append=true"),
        &[("x-archil-uid", b"99999999999")],
        b"line",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "PUT dir/ with x-archil-mode 1777x",
        "PUT",
        &format!("/{A}/newdir/"),
        &[("x-archil-mode", b"1777x")],
        b"",
        400,
        "InvalidArgument",
    ));
    cases.push(s3(
        "PUT over an existing file with x-archil-mode 12345",
        "PUT",
        &format!("/{A}/a.txt"),
        &[("x-archil-mode", b"12345")],
        b"replaced",
        400,
        "InvalidArgument",
    ));
    cases
}

/// Ranges the server refuses with `416 InvalidRange` (unsatisfiable, or
/// malformed, which RFC 9110 §14.2 lets a server reject). The forms it
/// ignores (a 200 with the whole body) are in
/// `range_forms_that_are_ignored_or_satisfiable_answer_with_bytes`.
fn range_cases(_ctx: &Ctx) -> Vec<Case> {
    let get = format!("/{A}/a.txt");
    let ranges: &[&str] = &[
        "bytes=-0",
        "bytes=5-2",
        "bytes=999999999-",
        "bytes=10-",
        "bytes=10-20",
        "bytes=99999999999999999999999-",
        "bytes=x-2",
        "bytes=-",
        "bytes=1-2-3",
        "bytes=--1",
        "bytes=0x1-2",
        "bytes=1",
        "bytes=",
        "bytes=-1-",
        "bytes=+1-2",
        "bytes=\t-\t",
    ];
    let mut cases: Vec<Case> = ranges
        .iter()
        .map(|r| {
            s3(
                format!("Range {r:?}"),
                "GET",
                &get,
                &[("range", r.as_bytes())],
                b"",
                416,
                "InvalidRange",
            )
        })
        .collect();
    cases.push(s3(
        "HEAD Range bytes=5-2",
        "HEAD",
        &get,
        &[("range", b"bytes=5-2")],
        b"",
        416,
        "",
    ));
    cases.push(s3(
        "Range bytes=0-0 of a missing object",
        "GET",
        &format!("/{A}/missing"),
        &[("range", b"bytes=0-0")],
        b"",
        404,
        "NoSuchKey",
    ));
    cases
}

/// Disk ids, auth, methods, queries and share URLs at the gateway's door.
fn bucket_and_auth_cases(_ctx: &Ctx) -> Vec<Case> {
    let mut cases = vec![
        s3("GET an unknown disk", "GET", &format!("/{NOBODY}/a.txt"), &[], b"", 404, "NoSuchBucket"),
        s3("PUT to an unknown disk", "PUT", &format!("/{NOBODY}/a.txt"), &[], b"x", 404, "NoSuchBucket"),
        s3("GET another account's file", "GET", &format!("/{B}/secret.txt"), &[], b"", 404, "NoSuchBucket"),
        s3("PUT over another account's file", "PUT", &format!("/{B}/secret.txt"), &[], b"mine", 404, "NoSuchBucket"),
        s3("DELETE another account's file", "DELETE", &format!("/{B}/secret.txt"), &[], b"", 404, "NoSuchBucket"),
        s3("list another account's disk", "GET", &format!("/{B}?list-type=2"), &[], b"", 404, "NoSuchBucket"),
        s3("an uppercase disk id", "GET", "/dsk-00000000000000A1/a.txt", &[], b"", 404, "NoSuchBucket"),
        s3("a short disk id", "PUT", "/dsk-a1/a.txt", &[], b"x", 404, "NoSuchBucket"),
        s3("a disk id with a NUL", "GET", &format!("/{A}%00/a.txt"), &[], b"", 404, "NoSuchBucket"),
        s3("a percent-encoded disk id", "GET", "/dsk-%30000000000000a1/a.txt", &[], b"", 404, "NoSuchBucket"),
        s3("PUT on a disk's path", "PUT", &format!("/{A}"), &[], b"x", 400, "InvalidRequest"),
        s3("ListObjects v1", "GET", &format!("/{A}"), &[], b"", 400, "InvalidRequest"),
        s3("list-type=3", "GET", &format!("/{A}?list-type=3"), &[], b"", 400, "InvalidRequest"),
        s3("PATCH an object", "PATCH", &format!("/{A}/a.txt"), &[], b"x", 405, "MethodNotAllowed"),
        s3("DELETE a disk's path", "DELETE", &format!("/{A}"), &[], b"", 405, "MethodNotAllowed"),
        s3("a forged continuation-token", "GET", &format!("/{A}?list-type=2&continuation-token=..%2F..%2Fetc"), &[], b"", 400, "InvalidArgument"),
        s3("max-keys=1e9", "GET", &format!("/{A}?list-type=2&max-keys=1e9"), &[], b"", 400, "InvalidArgument"),
        s3("max-keys 30 digits", "GET", &format!("/{A}?list-type=2&max-keys=123456789012345678901234567890"), &[], b"", 400, "InvalidArgument"),
        s3("prefix given twice", "GET", &format!("/{A}?list-type=2&prefix=a&prefix=b"), &[], b"", 400, "InvalidArgument"),
        s3("a malformed fault header", "DELETE", &format!("/{A}/a.txt"), &[("x-archil-mock-fault", b"teapot")], b"", 400, "InvalidArgument"),
        s3_raw("no key on a DELETE", http("DELETE", &format!("/{A}/a.txt"), &[], b""), false, 403, "AccessDenied"),
        s3_raw("no key on a PUT", http("PUT", &format!("/{A}/a.txt"), &[], b"stolen"), false, 403, "AccessDenied"),
        s3_raw("a wrong key", http("DELETE", &format!("/{A}/a.txt"), &[("authorization", b"key-wrong")], b""), false, 403, "AccessDenied"),
        s3_raw("bob's key on our disk", http("GET", &format!("/{A}/a.txt"), &[("authorization", BOB.as_bytes())], b""), false, 404, "NoSuchBucket"),
        s3_raw("a Bearer with nothing after it", http("GET", &format!("/{A}/a.txt"), &[("authorization", b"Bearer ")], b""), false, 403, "AccessDenied"),
        s3_raw("a SigV4 header", http("GET", &format!("/{A}/a.txt"), &[("authorization", b"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")], b""), false, 403, "AccessDenied"),
        s3_raw("HEAD without a key", http("HEAD", &format!("/{A}/a.txt"), &[], b""), true, 403, ""),
        s3_raw("a garbage share token", http("GET", "/api/shared/garbage", &[], b""), false, 403, "AccessDenied"),
        s3_raw("an empty share token", http("GET", "/api/shared/", &[], b""), false, 403, "AccessDenied"),
        s3_raw("a share token of dots", http("GET", "/api/shared/...", &[], b""), false, 403, "AccessDenied"),
        s3_raw("a share token with ../", http("GET", "/api/shared/../tokens", &[], b""), false, 403, "AccessDenied"),
        s3_raw("an 8 KiB share token", http("GET", &format!("/api/shared/{}", "a.".repeat(4 * 1024)), &[], b""), false, 403, "AccessDenied"),
        s3_raw("PUT on a share URL", http("PUT", "/api/shared/x.y", &[AUTH], b"x"), false, 405, "MethodNotAllowed"),
        s3_raw("HEAD a garbage share token", http("HEAD", "/api/shared/x", &[], b""), true, 403, ""),
    ];
    // A share URL for a.txt, re-signed by nobody: the signature is checked.
    let forged = format!(
        "/api/shared/{:016x}.{}.{}.{}",
        0xa1,
        i64::MAX,
        hex::encode("a.txt"),
        "0".repeat(64)
    );
    cases.push(s3_raw(
        "a forged share signature",
        http("GET", &forged, &[], b""),
        false,
        403,
        "AccessDenied",
    ));
    cases
}

// ---------------------------------------------------------------------------
// The JSON tables.

/// `POST /api/disks`, `GET`/`DELETE /api/disks/{id}` and the listing.
fn disk_json_cases(_ctx: &Ctx) -> Vec<Case> {
    let deep = format!(
        "{{\"name\":\"deep\",\"x\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let big = format!("{{\"name\":\"big\",\"pad\":\"{}\"}}", "x".repeat(MIB));
    let many_ips: Vec<String> = (0..20_000)
        .map(|i| format!("10.{}.{}.0/24", i / 256 % 256, i % 256))
        .collect();
    let mut bad_many_ips = many_ips.clone();
    bad_many_ips.push("10.0.0.0/33".into());
    let table: Vec<ApiRow> = vec![
        ("name a number", "POST", "/api/disks".into(), br#"{"name":123}"#.to_vec(), 400, "name must be a string"),
        ("name null", "POST", "/api/disks".into(), br#"{"name":null}"#.to_vec(), 400, "name must be a string"),
        ("name an array", "POST", "/api/disks".into(), br#"{"name":["a"]}"#.to_vec(), 400, "name must be a string"),
        ("name an object", "POST", "/api/disks".into(), br#"{"name":{"a":1}}"#.to_vec(), 400, "name must be a string"),
        ("name missing", "POST", "/api/disks".into(), br#"{"mounts":[]}"#.to_vec(), 400, "name is required"),
        ("name empty", "POST", "/api/disks".into(), br#"{"name":""}"#.to_vec(), 400, "between 1 and 100"),
        ("name 101 characters", "POST", "/api/disks".into(), format!("{{\"name\":\"{}\"}}", "n".repeat(101)).into_bytes(), 400, "between 1 and 100"),
        ("name 100k characters", "POST", "/api/disks".into(), format!("{{\"name\":\"{}\"}}", "n".repeat(100_000)).into_bytes(), 400, "between 1 and 100"),
        ("name with a space", "POST", "/api/disks".into(), br#"{"name":"a b"}"#.to_vec(), 400, "may contain only"),
        ("name with a slash", "POST", "/api/disks".into(), br#"{"name":"../etc"}"#.to_vec(), 400, "may contain only"),
        ("name with a NUL", "POST", "/api/disks".into(), br#"{"name":"a\u0000b"}"#.to_vec(), 400, "may contain only"),
        ("name in emoji", "POST", "/api/disks".into(), r#"{"name":"😀"}"#.as_bytes().to_vec(), 400, "may contain only"),
        ("name a disk id", "POST", "/api/disks".into(), br#"{"name":"dsk-00000000000000a1/x"}"#.to_vec(), 400, "may contain only"),
        ("a duplicate name", "POST", "/api/disks".into(), br#"{"name":"a","name":"b"}"#.to_vec(), 400, "duplicate field `name`"),
        ("a duplicate key deep inside", "POST", "/api/disks".into(), br#"{"name":"dup","rootAttrs":{"mode":448,"mode":511}}"#.to_vec(), 400, "duplicate field `mode`"),
        ("a 100k-deep array", "POST", "/api/disks".into(), deep.into_bytes(), 400, "not valid JSON"),
        ("a body over 1 MiB", "POST", "/api/disks".into(), big.into_bytes(), 413, "larger than the limit"),
        ("the body an array", "POST", "/api/disks".into(), br#"[{"name":"arr"}]"#.to_vec(), 400, "must be a JSON object"),
        ("mounts an object", "POST", "/api/disks".into(), br#"{"name":"m","mounts":{"type":"s3"}}"#.to_vec(), 400, "mounts must be an array"),
        ("two mounts", "POST", "/api/disks".into(), br#"{"name":"m","mounts":[{"type":"s3","bucketName":"a"},{"type":"s3","bucketName":"b"}]}"#.to_vec(), 400, "at most 1"),
        ("a mount of type ftp", "POST", "/api/disks".into(), br#"{"name":"m","mounts":[{"type":"ftp","bucketName":"a"}]}"#.to_vec(), 400, "type must be one of"),
        ("an s3 mount without a bucket", "POST", "/api/disks".into(), br#"{"name":"m","mounts":[{"type":"s3"}]}"#.to_vec(), 400, "bucketName is required"),
        ("an empty bucket name", "POST", "/api/disks".into(), br#"{"name":"m","mounts":[{"type":"s3","bucketName":""}]}"#.to_vec(), 400, "must not be empty"),
        ("a 2049-character bucket name", "POST", "/api/disks".into(), format!("{{\"name\":\"m\",\"mounts\":[{{\"type\":\"s3\",\"bucketName\":\"{}\"}}]}}", "b".repeat(2049)).into_bytes(), 400, "at most 2048"),
        ("a secret that is a number", "POST", "/api/disks".into(), br#"{"name":"m","mounts":[{"type":"gcs","bucketName":"b","accessKeyId":"k","secretAccessKey":7}]}"#.to_vec(), 400, "secretAccessKey must be a string"),
        ("rootAttrs mode 512", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":{"mode":512}}"#.to_vec(), 400, "between 0 and 511"),
        ("rootAttrs mode -1", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":{"mode":-1}}"#.to_vec(), 400, "between 0 and 511"),
        ("rootAttrs uid 4294967295", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":{"uid":4294967295}}"#.to_vec(), 400, "uid must be between"),
        ("rootAttrs gid 1e3", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":{"gid":1e3}}"#.to_vec(), 400, "gid must be an integer"),
        ("rootAttrs uid \"0\"", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":{"uid":"0"}}"#.to_vec(), 400, "uid must be an integer"),
        ("rootAttrs an array", "POST", "/api/disks".into(), br#"{"name":"r","rootAttrs":[493]}"#.to_vec(), 400, "rootAttrs must be an object"),
        ("allowedIps a string", "POST", "/api/disks".into(), br#"{"name":"i","allowedIps":"10.0.0.0/8"}"#.to_vec(), 400, "allowedIps must be an array"),
        ("allowedIps 999.0.0.1", "POST", "/api/disks".into(), br#"{"name":"i","allowedIps":["999.0.0.1"]}"#.to_vec(), 400, "allowedIps[0]"),
        ("allowedIps ::1/129", "POST", "/api/disks".into(), br#"{"name":"i","allowedIps":["::1/129"]}"#.to_vec(), 400, "allowedIps[0]"),
        ("20k allowedIps and one bad", "POST", "/api/disks".into(), serde_json::to_vec(&json!({"name": "i", "allowedIps": bad_many_ips})).unwrap(), 400, "allowedIps[20000]"),
        ("authMethods a string", "POST", "/api/disks".into(), br#"{"name":"u","authMethods":"token"}"#.to_vec(), 400, "authMethods must be an array"),
        ("authMethods of type root", "POST", "/api/disks".into(), br#"{"name":"u","authMethods":[{"type":"root"}]}"#.to_vec(), 400, "authMethods[0].type must be"),
        ("minClientVersion a number", "POST", "/api/disks".into(), br#"{"name":"v","minClientVersion":5}"#.to_vec(), 400, "minClientVersion must be a string"),
        ("an existing name, another config", "POST", "/api/disks".into(), br#"{"name":"datasets","rootAttrs":{"mode":448}}"#.to_vec(), 409, "different configuration"),
        ("GET a malformed id", "GET", "/api/disks/dsk-XYZ".into(), vec![], 400, "malformed"),
        ("GET an uppercase id", "GET", "/api/disks/dsk-00000000000000A1".into(), vec![], 400, "malformed"),
        ("GET an id with %00", "GET", "/api/disks/dsk-00000000000000a1%00".into(), vec![], 400, "malformed"),
        ("GET %2e%2e", "GET", "/api/disks/%2e%2e".into(), vec![], 400, "malformed"),
        ("GET an unknown id", "GET", format!("/api/disks/{NOBODY}"), vec![], 404, "not found"),
        ("GET another account's disk", "GET", format!("/api/disks/{B}"), vec![], 404, "not found"),
        ("DELETE a malformed id", "DELETE", "/api/disks/dsk-00000000000000a1x".into(), vec![], 400, "malformed"),
        ("DELETE another account's disk", "DELETE", format!("/api/disks/{B}"), vec![], 404, "not found"),
        ("list limit=abc", "GET", "/api/disks?limit=abc".into(), vec![], 400, "limit must be an integer"),
        ("list a forged cursor", "GET", "/api/disks?cursor=..%2F..".into(), vec![], 400, "cursor"),
        ("list short=maybe", "GET", "/api/disks?short=maybe".into(), vec![], 400, "short must be"),
        ("list limit twice", "GET", "/api/disks?limit=1&limit=2".into(), vec![], 400, "at most once"),
    ];
    table
        .into_iter()
        .map(|(name, method, target, body, status, needle)| {
            let case = api(
                format!("disks: {name}"),
                method,
                &target,
                &body,
                status,
                needle,
            );
            if status == 413 {
                // Refused on Content-Length without reading: the unread
                // body would otherwise be parsed as the next request.
                case.closes()
            } else {
                case
            }
        })
        .collect()
}

/// Disk users, allowed IPs, delegations, branches and share URLs.
fn user_and_settings_cases(_ctx: &Ctx) -> Vec<Case> {
    let users = format!("/api/disks/{A}/users");
    let ips = format!("/api/disks/{A}/allowed-ips");
    let revoke = format!("/api/disks/{A}/revoke-delegation");
    let branches = format!("/api/disks/{A}/branches");
    let share = format!("/api/disks/{A}/share");
    let table: Vec<ApiRow> = vec![
        ("user without a type", "POST", users.clone(), br#"{"nickname":"x"}"#.to_vec(), 400, "type is required"),
        ("user of type admin", "POST", users.clone(), br#"{"type":"admin","nickname":"x"}"#.to_vec(), 400, "type must be token or awssts"),
        ("user type a number", "POST", users.clone(), br#"{"type":1,"nickname":"x"}"#.to_vec(), 400, "type must be a string"),
        ("a duplicate type", "POST", users.clone(), br#"{"type":"token","type":"awssts","nickname":"x"}"#.to_vec(), 400, "duplicate field `type`"),
        ("a token user without a nickname", "POST", users.clone(), br#"{"type":"token"}"#.to_vec(), 400, "nickname is required"),
        ("a 256-character nickname", "POST", users.clone(), format!("{{\"type\":\"token\",\"nickname\":\"{}\"}}", "n".repeat(256)).into_bytes(), 400, "at most 255"),
        ("a nickname array", "POST", users.clone(), br#"{"type":"token","nickname":["x"]}"#.to_vec(), 400, "nickname must be a string"),
        ("awssts without a principal", "POST", users.clone(), br#"{"type":"awssts"}"#.to_vec(), 400, "principal is required"),
        ("awssts not an ARN", "POST", users.clone(), br#"{"type":"awssts","principal":"root"}"#.to_vec(), 400, "IAM ARN"),
        ("a 2049-character principal", "POST", users.clone(), format!("{{\"type\":\"awssts\",\"principal\":\"arn:{}\"}}", "p".repeat(2045)).into_bytes(), 400, "at most 2048"),
        ("an ARN the disk has", "POST", users.clone(), br#"{"type":"awssts","principal":"arn:aws:iam::123456789012:role/loader"}"#.to_vec(), 400, "already a user"),
        ("a token the disk has", "POST", users.clone(), br#"{"type":"token","nickname":"again","principal":"dtk-seeded-ci-token-0000000000000000000001","tokenSuffix":"0001"}"#.to_vec(), 400, "already a user"),
        ("a tokenSuffix that is not the end", "POST", users.clone(), br#"{"type":"token","nickname":"s","principal":"secret-abcd","tokenSuffix":"wxyz"}"#.to_vec(), 400, "last 4 characters"),
        ("ttl 1d", "POST", users.clone(), br#"{"type":"token","nickname":"t","ttl":"1d"}"#.to_vec(), 400, "ttl must be a duration"),
        ("ttl -1h", "POST", users.clone(), br#"{"type":"token","nickname":"t","ttl":"-1h"}"#.to_vec(), 400, "ttl must be a duration"),
        ("ttl 8761h", "POST", users.clone(), br#"{"type":"token","nickname":"t","ttl":"8761h"}"#.to_vec(), 400, "at most 8760h"),
        ("ttl 400 digits of hours", "POST", users.clone(), format!("{{\"type\":\"token\",\"nickname\":\"t\",\"ttl\":\"{}h\"}}", "9".repeat(400)).into_bytes(), 400, "ttl must be"),
        ("ttl a number", "POST", users.clone(), br#"{"type":"token","nickname":"t","ttl":3600}"#.to_vec(), 400, "ttl must be a string"),
        ("expiresAt in the past", "POST", users.clone(), br#"{"type":"token","nickname":"t","expiresAt":"2001-01-01T00:00:00Z"}"#.to_vec(), 400, "in the future"),
        ("expiresAt garbage", "POST", users.clone(), br#"{"type":"token","nickname":"t","expiresAt":"tomorrow"}"#.to_vec(), 400, "RFC 3339"),
        ("ttl and expiresAt", "POST", users.clone(), br#"{"type":"token","nickname":"t","ttl":"1h","expiresAt":"2999-01-01T00:00:00Z"}"#.to_vec(), 400, "mutually exclusive"),
        ("oneUse \"yes\"", "POST", users.clone(), br#"{"type":"token","nickname":"t","oneUse":"yes"}"#.to_vec(), 400, "oneUse must be a boolean"),
        ("readOnly 1", "POST", users.clone(), br#"{"type":"token","nickname":"t","readOnly":1}"#.to_vec(), 400, "readOnly must be a boolean"),
        ("a user on an unknown disk", "POST", format!("/api/disks/{NOBODY}/users"), br#"{"type":"token","nickname":"t"}"#.to_vec(), 404, "not found"),
        ("a user on another account's disk", "POST", format!("/api/disks/{B}/users"), br#"{"type":"token","nickname":"t"}"#.to_vec(), 404, "not found"),
        ("a user on a malformed disk id", "POST", "/api/disks/dsk-../users".into(), br#"{"type":"token","nickname":"t"}"#.to_vec(), 400, "malformed"),
        ("remove userType admin", "DELETE", format!("{users}/admin?identifier=x"), vec![], 400, "userType must be"),
        ("remove without an identifier", "DELETE", format!("{users}/token"), vec![], 400, "identifier is required"),
        ("remove an unknown identifier", "DELETE", format!("{users}/token?identifier=..%2F..%2Fci-user"), vec![], 404, "no token user"),
        ("remove with the identifier twice", "DELETE", format!("{users}/token?identifier=ci-user&identifier=ci-user"), vec![], 400, "at most once"),
        ("remove by an unknown token", "DELETE", format!("{users}/token?principal=dtk-nope"), vec![], 404, "no token user"),
        ("allowedIps missing", "PUT", ips.clone(), br#"{}"#.to_vec(), 400, "allowedIps is required"),
        ("allowedIps null", "PUT", ips.clone(), br#"{"allowedIps":null}"#.to_vec(), 400, "allowedIps must be an array"),
        ("allowedIps of numbers", "PUT", ips.clone(), br#"{"allowedIps":[10]}"#.to_vec(), 400, "allowedIps[0] must be a string"),
        ("allowedIps a CIDR /", "PUT", ips.clone(), br#"{"allowedIps":["10.0.0.0/"]}"#.to_vec(), 400, "allowedIps[0]"),
        ("allowedIps a hostname", "PUT", ips.clone(), br#"{"allowedIps":["localhost"]}"#.to_vec(), 400, "allowedIps[0]"),
        ("allowedIps with a NUL", "PUT", ips.clone(), br#"{"allowedIps":["10.0.0.1\u0000"]}"#.to_vec(), 400, "allowedIps[0]"),
        ("allowedIps on a malformed id", "PUT", "/api/disks/x/allowed-ips".into(), br#"{"allowedIps":[]}"#.to_vec(), 400, "malformed"),
        ("GET allowedIps of a malformed id", "GET", "/api/disks/x/allowed-ips".into(), vec![], 404, "not found"),
        ("revoke without clientId", "POST", revoke.clone(), br#"{"inodeId":7}"#.to_vec(), 400, "clientId is required"),
        ("revoke clientId a number", "POST", revoke.clone(), br#"{"clientId":42,"inodeId":7}"#.to_vec(), 400, "clientId must be a string"),
        ("revoke inodeId \"7\"", "POST", revoke.clone(), br#"{"clientId":"42","inodeId":"7"}"#.to_vec(), 400, "inodeId must be an integer"),
        ("revoke inodeId -1", "POST", revoke.clone(), br#"{"clientId":"42","inodeId":-1}"#.to_vec(), 400, "inodeId must be between"),
        ("revoke inodeId 7.5", "POST", revoke.clone(), br#"{"clientId":"42","inodeId":7.5}"#.to_vec(), 400, "inodeId must be an integer"),
        ("revoke an unknown pair", "POST", revoke.clone(), br#"{"clientId":"42","inodeId":8}"#.to_vec(), 404, "no delegation"),
        ("branch name with a slash", "POST", branches.clone(), br#"{"branch_name":"a/b","from_checkpoint_name":"nightly"}"#.to_vec(), 400, "branch_name may contain only"),
        ("branch name 101 characters", "POST", branches.clone(), format!("{{\"branch_name\":\"{}\",\"from_checkpoint_name\":\"nightly\"}}", "b".repeat(101)).into_bytes(), 400, "branch_name must be between"),
        ("branch without a checkpoint", "POST", branches.clone(), br#"{"branch_name":"b"}"#.to_vec(), 400, "from_checkpoint_name is required"),
        ("branch from an empty checkpoint", "POST", branches.clone(), br#"{"branch_name":"b","from_checkpoint_name":""}"#.to_vec(), 400, "must not be empty"),
        ("branch from an unknown checkpoint", "POST", branches.clone(), br#"{"branch_name":"b","from_checkpoint_name":"../nightly"}"#.to_vec(), 404, "checkpoint"),
        ("branch from an unknown branch", "POST", branches.clone(), br#"{"branch_name":"b","from_checkpoint_name":"nightly","from_branch":"nope"}"#.to_vec(), 404, "branch nope not found"),
        ("a branch name taken", "POST", branches.clone(), br#"{"branch_name":"experiment","from_checkpoint_name":"nightly"}"#.to_vec(), 409, "already exists"),
        ("GET branch ..", "GET", format!("{branches}/.."), vec![], 400, "branch name may contain only"),
        ("GET branch %2e%2e%2f", "GET", format!("{branches}/%2e%2e%2fx"), vec![], 400, "branch name may contain only"),
        ("GET branch %FF", "GET", format!("{branches}/%FF"), vec![], 400, "branch name may contain only"),
        ("GET an unknown branch", "GET", format!("{branches}/nope"), vec![], 404, "branch nope not found"),
        ("share without a key", "POST", share.clone(), br#"{"expiresIn":60}"#.to_vec(), 400, "key is required"),
        ("share an empty key", "POST", share.clone(), br#"{"key":""}"#.to_vec(), 400, "key:"),
        ("share ../", "POST", share.clone(), br#"{"key":"dir/../a.txt"}"#.to_vec(), 400, "key:"),
        ("share a NUL", "POST", share.clone(), br#"{"key":"a.txt\u0000"}"#.to_vec(), 400, "key:"),
        ("share 1025 bytes", "POST", share.clone(), format!("{{\"key\":\"{}\"}}", "k".repeat(1025)).into_bytes(), 400, "key:"),
        ("share a key that is a number", "POST", share.clone(), br#"{"key":7}"#.to_vec(), 400, "key must be a string"),
        ("share expiresIn 0", "POST", share.clone(), br#"{"key":"a.txt","expiresIn":0}"#.to_vec(), 400, "expiresIn must be between"),
        ("share expiresIn 604801", "POST", share.clone(), br#"{"key":"a.txt","expiresIn":604801}"#.to_vec(), 400, "expiresIn must be between"),
        ("share expiresIn \"60\"", "POST", share.clone(), br#"{"key":"a.txt","expiresIn":"60"}"#.to_vec(), 400, "expiresIn must be an integer"),
        ("share expiresIn 1e999", "POST", share.clone(), br#"{"key":"a.txt","expiresIn":1e999}"#.to_vec(), 400, "not valid JSON"),
        ("share a directory", "POST", share.clone(), br#"{"key":"dir/"}"#.to_vec(), 404, "no object"),
        ("share a missing object", "POST", share.clone(), br#"{"key":"missing"}"#.to_vec(), 404, "no object"),
        ("share another account's object", "POST", format!("/api/disks/{B}/share"), br#"{"key":"secret.txt"}"#.to_vec(), 404, "not found"),
    ];
    table
        .into_iter()
        .map(|(name, method, target, body, status, needle)| {
            api(
                format!("settings: {name}"),
                method,
                &target,
                &body,
                status,
                needle,
            )
        })
        .collect()
}

/// Grep requests that fail validation (400) or name no disk of the caller's
/// (404). Patterns are never a 400: see
/// `slow_or_huge_grep_patterns_answer_quickly_and_as_documented`.
fn grep_cases(_ctx: &Ctx) -> Vec<Case> {
    let grep = format!("/api/disks/{A}/grep");
    let table: Vec<(&str, String, Vec<u8>, u16, &'static str)> = vec![
        (
            "no directory",
            grep.clone(),
            br#"{"pattern":"a"}"#.to_vec(),
            400,
            "directory is required",
        ),
        (
            "no pattern",
            grep.clone(),
            br#"{"directory":""}"#.to_vec(),
            400,
            "pattern is required",
        ),
        (
            "pattern a number",
            grep.clone(),
            br#"{"directory":"","pattern":5}"#.to_vec(),
            400,
            "pattern must be a string",
        ),
        (
            "pattern an array of 100k",
            grep.clone(),
            format!(
                "{{\"directory\":\"\",\"pattern\":[{}\"a\"]}}",
                "\"a\",".repeat(100_000)
            )
            .into_bytes(),
            400,
            "pattern must be a string",
        ),
        (
            "directory ..",
            grep.clone(),
            br#"{"directory":"..","pattern":"a"}"#.to_vec(),
            400,
            "'..' segments",
        ),
        (
            "directory dir/../..",
            grep.clone(),
            br#"{"directory":"dir/../..","pattern":"a"}"#.to_vec(),
            400,
            "'..' segments",
        ),
        (
            "directory /./",
            grep.clone(),
            br#"{"directory":"/./","pattern":"a"}"#.to_vec(),
            400,
            "'..' segments",
        ),
        (
            "directory with a NUL",
            grep.clone(),
            br#"{"directory":"dir\u0000","pattern":"a"}"#.to_vec(),
            400,
            "NUL",
        ),
        (
            "directory an object",
            grep.clone(),
            br#"{"directory":{"path":"/"},"pattern":"a"}"#.to_vec(),
            400,
            "directory must be a string",
        ),
        (
            "recursive \"yes\"",
            grep.clone(),
            br#"{"directory":"","pattern":"a","recursive":"yes"}"#.to_vec(),
            400,
            "recursive must be a boolean",
        ),
        (
            "maxResults 0",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxResults":0}"#.to_vec(),
            400,
            "maxResults must be between",
        ),
        (
            "maxResults 10001",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxResults":10001}"#.to_vec(),
            400,
            "maxResults must be between",
        ),
        (
            "maxResults 1e300",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxResults":1e300}"#.to_vec(),
            400,
            "maxResults must be between",
        ),
        (
            "maxDurationSeconds 31",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxDurationSeconds":31}"#.to_vec(),
            400,
            "maxDurationSeconds must be between",
        ),
        (
            "maxDurationSeconds \"30\"",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxDurationSeconds":"30"}"#.to_vec(),
            400,
            "maxDurationSeconds must be an integer",
        ),
        (
            "maxDurationSeconds 1.5",
            grep.clone(),
            br#"{"directory":"","pattern":"a","maxDurationSeconds":1.5}"#.to_vec(),
            400,
            "maxDurationSeconds must be an integer",
        ),
        (
            "concurrency 0",
            grep.clone(),
            br#"{"directory":"","pattern":"a","concurrency":0}"#.to_vec(),
            400,
            "concurrency must be between",
        ),
        (
            "concurrency -9e18",
            grep.clone(),
            br#"{"directory":"","pattern":"a","concurrency":-9000000000000000000}"#.to_vec(),
            400,
            "concurrency must be between",
        ),
        (
            "a duplicate pattern",
            grep.clone(),
            br#"{"directory":"","pattern":"a","pattern":"b"}"#.to_vec(),
            400,
            "duplicate field `pattern`",
        ),
        (
            "a pattern over 1 MiB",
            grep.clone(),
            format!(
                "{{\"directory\":\"\",\"pattern\":\"{}\"}}",
                "a|".repeat(MIB / 2)
            )
            .into_bytes(),
            413,
            "larger than the limit",
        ),
        (
            "an unknown disk",
            format!("/api/disks/{NOBODY}/grep"),
            br#"{"directory":"","pattern":"a"}"#.to_vec(),
            404,
            "not found",
        ),
        (
            "another account's disk",
            format!("/api/disks/{B}/grep"),
            br#"{"directory":"","pattern":"bob"}"#.to_vec(),
            404,
            "not found",
        ),
        (
            "a malformed disk id",
            "/api/disks/dsk-%2e%2e/grep".into(),
            br#"{"directory":"","pattern":"a"}"#.to_vec(),
            400,
            "malformed",
        ),
    ];
    table
        .into_iter()
        .map(|(name, target, body, status, needle)| {
            let case = api(
                format!("grep: {name}"),
                "POST",
                &target,
                &body,
                status,
                needle,
            );
            if status == 413 {
                // Refused on Content-Length without reading the body.
                case.closes()
            } else {
                case
            }
        })
        .collect()
}

/// Exec bodies that are not an exec, and mounts that try to leave the
/// sandbox's `/mnt/archil` or the disk: `..`, absolute host paths, NUL,
/// backslashes, empty segments, subdirectories outside the disk.
fn exec_cases(_ctx: &Ctx) -> Vec<Case> {
    let one = format!("/api/disks/{A}/exec");
    let mount = |path: &str| {
        serde_json::to_vec(&json!({"command": "cat /etc/passwd", "disks": {path: A}})).unwrap()
    };
    let spec = |spec: Value| {
        serde_json::to_vec(&json!({"command": "ls", "disks": {"data": spec}})).unwrap()
    };
    let table: Vec<(&str, String, Vec<u8>, u16, &'static str)> = vec![
        (
            "execDisk without a command",
            one.clone(),
            br#"{}"#.to_vec(),
            400,
            "command is required",
        ),
        (
            "execDisk command a number",
            one.clone(),
            br#"{"command":1}"#.to_vec(),
            400,
            "command must be a string",
        ),
        (
            "execDisk command an argv array",
            one.clone(),
            br#"{"command":["sh","-c","id"]}"#.to_vec(),
            400,
            "command must be a string",
        ),
        (
            "execDisk body an array",
            one.clone(),
            br#"["ls"]"#.to_vec(),
            400,
            "must be a JSON object",
        ),
        (
            "execDisk an empty body",
            one.clone(),
            vec![],
            400,
            "request body is required",
        ),
        (
            "execDisk a duplicate command",
            one.clone(),
            br#"{"command":"ls","command":"rm -rf /mnt"}"#.to_vec(),
            400,
            "duplicate field `command`",
        ),
        (
            "execDisk a malformed id",
            "/api/disks/..%2F..%2Fetc/exec".into(),
            br#"{"command":"ls"}"#.to_vec(),
            400,
            "malformed",
        ),
        (
            "execDisk an unknown disk",
            format!("/api/disks/{NOBODY}/exec"),
            br#"{"command":"ls"}"#.to_vec(),
            404,
            "not found",
        ),
        (
            "execDisk another account's disk",
            format!("/api/disks/{B}/exec"),
            br#"{"command":"cat /mnt/secret.txt"}"#.to_vec(),
            404,
            "not found",
        ),
        (
            "exec without disks",
            "/api/exec".into(),
            br#"{"command":"ls"}"#.to_vec(),
            400,
            "disks is required",
        ),
        (
            "exec disks an array",
            "/api/exec".into(),
            serde_json::to_vec(&json!({"command": "ls", "disks": [A]})).unwrap(),
            400,
            "disks must be an object",
        ),
        (
            "exec disks empty",
            "/api/exec".into(),
            br#"{"command":"ls","disks":{}}"#.to_vec(),
            400,
            "at least one disk",
        ),
        (
            "mount ../etc",
            "/api/exec".into(),
            mount("../etc"),
            400,
            "'..' segment",
        ),
        (
            "mount /etc",
            "/api/exec".into(),
            mount("/etc"),
            400,
            "must be relative",
        ),
        (
            "mount /",
            "/api/exec".into(),
            mount("/"),
            400,
            "must be relative",
        ),
        (
            "mount /mnt/archil/../../etc",
            "/api/exec".into(),
            mount("/mnt/archil/../../etc"),
            400,
            "must be relative",
        ),
        (
            "mount mnt/archil/../../etc",
            "/api/exec".into(),
            mount("mnt/archil/../../etc"),
            400,
            "'..' segment",
        ),
        (
            "mount a/../../..",
            "/api/exec".into(),
            mount("a/../../.."),
            400,
            "'..' segment",
        ),
        (
            "mount .",
            "/api/exec".into(),
            mount("."),
            400,
            "'..' segment",
        ),
        (
            "mount with a NUL",
            "/api/exec".into(),
            mount("data\u{0}/../../etc"),
            400,
            "NUL",
        ),
        (
            "mount with a backslash",
            "/api/exec".into(),
            mount("..\\..\\etc"),
            400,
            "NUL or \\",
        ),
        (
            "mount empty",
            "/api/exec".into(),
            mount(""),
            400,
            "must not be empty",
        ),
        (
            "mount a//b",
            "/api/exec".into(),
            mount("a//b"),
            400,
            "empty segment",
        ),
        (
            "mount data/",
            "/api/exec".into(),
            mount("data/"),
            400,
            "empty segment",
        ),
        (
            "two mounts at one path",
            "/api/exec".into(),
            format!("{{\"command\":\"ls\",\"disks\":{{\"d\":\"{A}\",\"d\":\"{A}\"}}}}")
                .into_bytes(),
            400,
            "duplicate field `d`",
        ),
        (
            "a mount a number",
            "/api/exec".into(),
            spec(json!(7)),
            400,
            "must be a disk id or a mount object",
        ),
        (
            "a mount without a disk",
            "/api/exec".into(),
            spec(json!({"readOnly": true})),
            400,
            "disk is required",
        ),
        (
            "subdirectory ../",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "../"})),
            400,
            "'..' segment",
        ),
        (
            "subdirectory /etc",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "/etc"})),
            400,
            "must be relative",
        ),
        (
            "subdirectory dir/../..",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "dir/../.."})),
            400,
            "'..' segment",
        ),
        (
            "subdirectory with a NUL",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "dir\u{0}"})),
            400,
            "NUL",
        ),
        (
            "subdirectory a file",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "a.txt"})),
            400,
            "is not a directory",
        ),
        (
            "subdirectory missing",
            "/api/exec".into(),
            spec(json!({"disk": A, "subdirectory": "nope"})),
            400,
            "is not a directory",
        ),
        (
            "readOnly \"true\"",
            "/api/exec".into(),
            spec(json!({"disk": A, "readOnly": "true"})),
            400,
            "readOnly must be a boolean",
        ),
        (
            "readOnly with queueMs",
            "/api/exec".into(),
            spec(json!({"disk": A, "readOnly": true, "queueMs": 10})),
            400,
            "cannot go with readOnly",
        ),
        (
            "queueMs -1",
            "/api/exec".into(),
            spec(json!({"disk": A, "queueMs": -1})),
            400,
            "queueMs must be between",
        ),
        (
            "checkoutPaths a string",
            "/api/exec".into(),
            spec(json!({"disk": A, "checkoutPaths": "/etc"})),
            400,
            "checkoutPaths must be an array",
        ),
        (
            "a malformed disk id",
            "/api/exec".into(),
            spec(json!("dsk-../../etc")),
            400,
            "malformed",
        ),
        (
            "an unknown disk",
            "/api/exec".into(),
            spec(json!(NOBODY)),
            404,
            "not found",
        ),
        (
            "another account's disk",
            "/api/exec".into(),
            spec(json!({"disk": B})),
            404,
            "not found",
        ),
        (
            "one good mount, one foreign",
            "/api/exec".into(),
            serde_json::to_vec(&json!({"command": "ls", "disks": {"a": A, "b": B}})).unwrap(),
            404,
            "not found",
        ),
    ];
    table
        .into_iter()
        .map(|(name, target, body, status, needle)| {
            api(
                format!("exec: {name}"),
                "POST",
                &target,
                &body,
                status,
                needle,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The server, its state, and running a table.

/// Disk A (the seeded disk) with files, a directory and a multipart upload
/// in progress; bob's disk B with one file.
async fn hostile_server(name: &str) -> (TestServer, Ctx) {
    let mut fixture = seeded_disk_fixture();
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    {
        use base64::Engine;
        let disk = &mut fixture["accounts"][0]["disks"][0];
        disk["files"] = json!([
            {"key": "a.txt", "content": std::str::from_utf8(A_TXT).unwrap(), "contentType": "text/plain"},
            {"key": "dir/b.bin", "contentBase64": base64::engine::general_purpose::STANDARD.encode(&all_bytes), "mode": "600", "uid": 1000, "gid": 1000},
            {"key": "dir/sub/c.txt", "content": "c\n"},
            {"key": "empty/"},
        ]);
    }
    fixture["accounts"].as_array_mut().unwrap().push(json!({
        "name": "bob",
        "tokens": [{"token": BOB, "name": "bob"}],
        "disks": [{"id": B, "name": "bobs", "files": [{"key": "secret.txt", "content": "bob's"}]}],
    }));
    let server = TestServer::with(Config {
        fixtures: vec![write_fixture(name, &fixture)],
        max_object_bytes: MIB as u64,
        request_timeout: Duration::from_secs(5),
        ..Config::default()
    })
    .await;
    // A multipart upload of mp/big with two small parts.
    let reply = server
        .s3("POST", &format!("/{A}/mp/big?uploads"), &[], Vec::new())
        .await;
    reply.assert_status(200);
    let upload = xml_one(&reply.text(), "UploadId").expect("an UploadId");
    let mut etags = Vec::new();
    for (n, bytes) in [(1, &b"aaaa"[..]), (2, &b"bb"[..])] {
        let reply = server
            .s3(
                "PUT",
                &format!("/{A}/mp/big?uploadId={upload}&partNumber={n}"),
                &[],
                bytes.to_vec(),
            )
            .await;
        reply.assert_status(200);
        etags.push(reply.etag());
    }
    assert_eq!(
        server.app.read_object(A, "dir/b.bin").as_deref(),
        Some(&all_bytes[..])
    );
    let ctx = Ctx {
        upload,
        etag1: etags[0].clone(),
        etag2: etags[1].clone(),
    };
    (server, ctx)
}

/// Everything a request could change: the control-plane snapshot (without
/// `lastUsedAt` and `lastAccessed`, which every authenticated request and
/// every gateway access move by design), each disk's files and directories,
/// each file's bytes, and each multipart upload with its parts.
#[derive(Debug, PartialEq)]
struct World {
    snapshot: Value,
    bytes: BTreeMap<(String, String), Vec<u8>>,
    directories: BTreeMap<String, Vec<String>>,
    uploads: BTreeMap<String, Vec<String>>,
}

async fn world(server: &TestServer) -> World {
    let mut snapshot = serde_json::to_value(server.app.snapshot()).unwrap();
    let mut bytes = BTreeMap::new();
    let mut directories = BTreeMap::new();
    let mut uploads = BTreeMap::new();
    let http = reqwest::Client::new();
    for account in snapshot["accounts"].as_array_mut().unwrap() {
        let key = if account["name"] == "bob" { BOB } else { KEY };
        for token in account["tokens"].as_array_mut().unwrap() {
            token.as_object_mut().unwrap().remove("lastUsedAt");
        }
        let Some(disks) = account.get_mut("disks").and_then(Value::as_array_mut) else {
            continue;
        };
        for disk in disks {
            disk.as_object_mut().unwrap().remove("lastAccessed");
            let id = disk["id"].as_str().unwrap().to_owned();
            for object in disk["objects"].as_array().cloned().unwrap_or_default() {
                let k = object["key"].as_str().unwrap().to_owned();
                let b = server
                    .app
                    .read_object(&id, &k)
                    .expect("a listed object reads");
                bytes.insert((id.clone(), k), b.to_vec());
            }
            let get = |path: String| {
                let req = http.get(server.url(&path)).header("authorization", key);
                async move {
                    let resp = req.send().await.expect("the server answers");
                    assert_eq!(resp.status().as_u16(), 200, "{path}");
                    resp.text().await.unwrap()
                }
            };
            // Directories (with the files' keys), level by level.
            let mut dirs = Vec::new();
            let mut todo = vec![String::new()];
            while let Some(prefix) = todo.pop() {
                let page = ListPage::parse(
                    &get(format!(
                        "/{id}?list-type=2&delimiter=%2F&prefix={}",
                        query_value(&prefix)
                    ))
                    .await,
                );
                assert!(!page.truncated, "a small tree");
                dirs.extend(page.keys.iter().cloned());
                for p in page.prefixes {
                    dirs.push(p.clone());
                    todo.push(p);
                }
            }
            dirs.sort();
            directories.insert(id.clone(), dirs);
            // Uploads in progress and their parts.
            let listed = get(format!("/{id}?uploads")).await;
            let mut seen = vec![listed.clone()];
            for upload in xml_blocks(&listed, "Upload") {
                let k = xml_one(upload, "Key").unwrap();
                let u = xml_one(upload, "UploadId").unwrap();
                seen.push(get(format!("{}?uploadId={u}", object_path(&id, &k))).await);
            }
            uploads.insert(id, seen);
        }
    }
    World {
        snapshot,
        bytes,
        directories,
        uploads,
    }
}

/// Runs every case on a fresh connection; fails with one line per failure.
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
    let before = world(server).await;
    let mut conn = Conn::open(server.addr).await;
    // A refused write shows up as a missing response below.
    let _ = conn.send(&case.request).await;
    let response = conn
        .response(case.head)
        .await
        .ok_or("connection closed without a response")?;
    check(&response, case)?;
    check_after(&mut conn, case.after, server.addr).await?;
    let after = world(server).await;
    if after != before {
        return Err(format!(
            "state changed:\nbefore {before:?}\nafter  {after:?}"
        ));
    }
    Ok(())
}

/// Whether `c` may appear in an XML 1.0 document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The status, then the format of the door: S3 XML, bodiless, or the envelope.
fn check(r: &Raw, case: &Case) -> Result<(), String> {
    let body = r.text();
    if r.status != case.status {
        return Err(format!(
            "status {} (wanted {}): {body}",
            r.status, case.status
        ));
    }
    if !(400..500).contains(&r.status) {
        return Err(format!("status {} is not a 4xx", r.status));
    }
    let request_id = r
        .header("x-request-id")
        .ok_or("no x-request-id")?
        .to_owned();
    match case.want {
        Want::Bodiless => {
            if !r.body.is_empty() {
                return Err(format!("HEAD has a body: {body}"));
            }
        }
        Want::S3(code) => {
            if r.header("content-type") != Some("application/xml") {
                return Err(format!(
                    "content-type {:?}: {body}",
                    r.header("content-type")
                ));
            }
            let text = std::str::from_utf8(&r.body).map_err(|_| "the XML is not UTF-8")?;
            if let Some(bad) = text.chars().find(|c| !xml_char(*c)) {
                return Err(format!("{bad:?} cannot appear in XML 1.0: {text:?}"));
            }
            let root = text
                .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
                .ok_or_else(|| format!("no XML declaration: {text}"))?;
            if !root.starts_with("<Error><Code>") || !root.ends_with("</Error>") {
                return Err(format!("not an <Error> document: {text}"));
            }
            let got = xml_one(text, "Code");
            if got.as_deref() != Some(code) {
                return Err(format!("Code {got:?} (wanted {code}): {text}"));
            }
            if xml_one(text, "Message").unwrap_or_default().is_empty() {
                return Err(format!("no Message: {text}"));
            }
            if xml_one(text, "RequestId").as_deref() != Some(request_id.as_str()) {
                return Err(format!(
                    "RequestId is not x-request-id {request_id}: {text}"
                ));
            }
        }
        Want::Json(needle) => {
            if r.header("content-type") != Some("application/json") {
                return Err(format!(
                    "content-type {:?}: {body}",
                    r.header("content-type")
                ));
            }
            let json: Value =
                serde_json::from_slice(&r.body).map_err(|_| format!("not JSON: {body}"))?;
            if json["success"] != false {
                return Err(format!("no success: false in {json}"));
            }
            let message = json["error"]
                .as_str()
                .ok_or_else(|| format!("no error message in {json}"))?;
            if !message.contains(needle) {
                return Err(format!("error {message:?} lacks {needle:?}"));
            }
            if !json["code"].is_string() {
                return Err(format!("no code in {json}"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The table tests.

/// Each table, by name, for counting.
fn tables(ctx: &Ctx) -> Vec<(&'static str, Vec<Case>)> {
    vec![
        ("xml bodies", xml_body_cases(ctx)),
        ("DeleteObjects", delete_objects_cases(ctx)),
        ("multipart", multipart_cases(ctx)),
        ("keys", key_cases(ctx)),
        ("percent-encoding", percent_cases(ctx)),
        ("POSIX headers", posix_header_cases(ctx)),
        ("ranges", range_cases(ctx)),
        ("disks, auth, share URLs", bucket_and_auth_cases(ctx)),
        ("disks JSON", disk_json_cases(ctx)),
        (
            "users, settings, branches, share",
            user_and_settings_cases(ctx),
        ),
        ("grep", grep_cases(ctx)),
        ("exec", exec_cases(ctx)),
    ]
}

#[test]
fn the_tables_hold_at_least_80_cases() {
    let counts: Vec<(&str, usize)> = tables(&Ctx::dummy())
        .into_iter()
        .map(|(name, cases)| {
            for c in &cases {
                assert!((400..500).contains(&c.status), "{}: {}", c.name, c.status);
            }
            (name, cases.len())
        })
        .collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    eprintln!("{total} hostile 4xx cases: {counts:?}");
    assert!(total >= 80, "only {total} cases: {counts:?}");
}

#[tokio::test]
async fn hostile_xml_bodies_get_400_malformed_xml_and_change_nothing() {
    let (server, ctx) = hostile_server("xml").await;
    run_table(&server, xml_body_cases(&ctx)).await;
}

#[tokio::test]
async fn delete_objects_over_1000_keys_get_400_and_delete_nothing() {
    let (server, ctx) = hostile_server("delete").await;
    run_table(&server, delete_objects_cases(&ctx)).await;
}

#[tokio::test]
async fn multipart_abuse_gets_4xx_and_changes_nothing() {
    let (server, ctx) = hostile_server("multipart").await;
    run_table(&server, multipart_cases(&ctx)).await;
}

#[tokio::test]
async fn hostile_keys_get_4xx_and_change_nothing() {
    let (server, ctx) = hostile_server("keys").await;
    run_table(&server, key_cases(&ctx)).await;
}

#[tokio::test]
async fn percent_encoding_tricks_get_4xx_and_change_nothing() {
    let (server, ctx) = hostile_server("percent").await;
    run_table(&server, percent_cases(&ctx)).await;
}

#[tokio::test]
async fn bad_posix_headers_get_400_invalid_argument_and_change_nothing() {
    let (server, ctx) = hostile_server("posix").await;
    run_table(&server, posix_header_cases(&ctx)).await;
}

#[tokio::test]
async fn unsatisfiable_or_malformed_ranges_get_416_and_change_nothing() {
    let (server, ctx) = hostile_server("ranges").await;
    run_table(&server, range_cases(&ctx)).await;
}

#[tokio::test]
async fn foreign_disks_bad_auth_and_forged_share_urls_get_4xx() {
    let (server, ctx) = hostile_server("buckets").await;
    run_table(&server, bucket_and_auth_cases(&ctx)).await;
}

#[tokio::test]
async fn hostile_disk_json_gets_4xx_envelopes_and_changes_nothing() {
    let (server, ctx) = hostile_server("disks").await;
    run_table(&server, disk_json_cases(&ctx)).await;
}

#[tokio::test]
async fn hostile_user_settings_branch_and_share_json_gets_4xx_envelopes() {
    let (server, ctx) = hostile_server("settings").await;
    run_table(&server, user_and_settings_cases(&ctx)).await;
}

#[tokio::test]
async fn hostile_grep_requests_get_4xx_envelopes() {
    let (server, ctx) = hostile_server("grep").await;
    run_table(&server, grep_cases(&ctx)).await;
}

#[tokio::test]
async fn exec_mounts_that_escape_and_bad_exec_bodies_get_4xx_envelopes() {
    let (server, ctx) = hostile_server("exec").await;
    run_table(&server, exec_cases(&ctx)).await;
}

// ---------------------------------------------------------------------------
// What is not a 4xx by design, so the tables above do not pass by accident.

/// One request on a fresh connection, answered (any status).
async fn exchange(server: &TestServer, request: &[u8], head: bool) -> Raw {
    let mut conn = Conn::open(server.addr).await;
    conn.send(request).await.expect("the request is sent");
    conn.response(head).await.expect("an answer")
}

/// RFC 9110 §14.2: a server MAY ignore a Range header, and MUST ignore one
/// in a unit it does not know; it answers 200 with the whole body. S3 (and
/// so the gateway) ignores several ranges and other units. A position past
/// the end (however many digits) is still satisfiable: it means the end.
#[tokio::test]
async fn range_forms_that_are_ignored_or_satisfiable_answer_with_bytes() {
    let (server, _) = hostile_server("ranges-ok").await;
    let before = world(&server).await;
    let many: String = format!(
        "bytes={}",
        (0..1000)
            .map(|i| format!("{}-{}", i % 10, i % 10))
            .collect::<Vec<_>>()
            .join(",")
    );
    let ignored: &[&[u8]] = &[
        b"items=0-1",
        b"bytes=0-1,3-4",
        many.as_bytes(),
        b"Bytes=0-1",
        b"bytes =0-1",
        b"bytes=0-1\xff",
        b"",
    ];
    for range in ignored {
        let request = http(
            "GET",
            &format!("/{A}/a.txt"),
            &[AUTH, ("range", range)],
            b"",
        );
        let r = exchange(&server, &request, false).await;
        let shown = String::from_utf8_lossy(range);
        assert_eq!(r.status, 200, "{shown}: {}", r.text());
        assert_eq!(r.body, A_TXT, "{shown}: the whole body");
        assert_eq!(r.header("content-range"), None, "{shown}");
    }
    let huge = "99999999999999999999999";
    for (range, bytes, content_range) in [
        (format!("bytes=0-{huge}"), A_TXT, "bytes 0-9/10"),
        (format!("bytes=-{huge}"), A_TXT, "bytes 0-9/10"),
        ("bytes=2-100".to_owned(), &A_TXT[2..], "bytes 2-9/10"),
        ("bytes= 7 - ".to_owned(), &A_TXT[7..], "bytes 7-9/10"),
    ] {
        let request = http(
            "GET",
            &format!("/{A}/a.txt"),
            &[AUTH, ("range", range.as_bytes())],
            b"",
        );
        let r = exchange(&server, &request, false).await;
        assert_eq!(r.status, 206, "{range}: {}", r.text());
        assert_eq!(r.body, bytes, "{range}");
        assert_eq!(r.header("content-range"), Some(content_range), "{range}");
    }
    assert_eq!(world(&server).await, before);
}

/// The grep dialect is the `regex` crate's: linear-time matching, and a
/// compiled size limit, so no pattern is slow. A pattern that does not
/// compile (too big, nested too deep, invalid) is a 200 `incomplete` with
/// no matches, as the README documents; one that compiles is searched for
/// real. Either way the answer comes at once and nothing changes.
#[tokio::test]
async fn slow_or_huge_grep_patterns_answer_quickly_and_as_documented() {
    let (server, _) = hostile_server("grep-slow").await;
    server
        .app
        .write_object(
            A,
            "redos.txt",
            format!("{}!\n", "a".repeat(5000)).as_bytes(),
        )
        .unwrap();
    let before = world(&server).await;
    let alternation: String = (0..100_000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join("|");
    let lines: String = (0..100_000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let long = "averyveryverylongwordthatgoesonandonandonforever";
    let ci_longer: String = (0..1000)
        .map(|i| format!("(?i){}{i}", long.repeat(10)))
        .collect::<Vec<_>>()
        .join("\n");
    let ci_lines: String = (0..1000)
        .map(|i| format!("(?i){long}{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let cases: Vec<(&str, String, &str)> = vec![
        ("(a{1000}){1000}", "(a{1000}){1000}".into(), "incomplete"),
        ("\\w{1000} × 20", "\\w{1000}".repeat(20), "incomplete"),
        ("a{4294967295}", "a{4294967295}".into(), "incomplete"),
        (
            "[\\p{L}\\p{N}]{5000}",
            "[\\p{L}\\p{N}]{5000}".into(),
            "incomplete",
        ),
        (
            "300 nested groups",
            format!("{}a{}", "(".repeat(300), ")".repeat(300)),
            "incomplete",
        ),
        ("100k unclosed groups", "(".repeat(100_000), "incomplete"),
        ("a backreference", "(a)\\1".into(), "incomplete"),
        ("(a*)*b: ReDoS elsewhere", "(a*)*b".into(), "completed"),
        ("(a|aa)+$ against a!", "(a|aa)+$".into(), "completed"),
        ("((a+)+)+x", "((a+)+)+x".into(), "completed"),
        ("100k alternatives", alternation, "completed"),
        ("100k newline-separated patterns", lines, "incomplete"),
        ("1000 long case-insensitive patterns", ci_lines, "completed"),
        (
            "1000 longer case-insensitive patterns",
            ci_longer,
            "incomplete",
        ),
    ];
    for (name, pattern, reason) in cases {
        let body =
            serde_json::to_vec(&json!({"directory": "", "pattern": pattern, "recursive": true}))
                .unwrap();
        let request = http(
            "POST",
            &format!("/api/disks/{A}/grep"),
            &[AUTH, JSON_CT],
            &body,
        );
        let started = Instant::now();
        let r = exchange(&server, &request, false).await;
        let took = started.elapsed();
        eprintln!("{name}: {} in {took:?}", r.status);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let data: Value = serde_json::from_slice::<Value>(&r.body).unwrap()["data"].clone();
        assert_eq!(data["stoppedReason"], reason, "{name}: {data}");
        assert_eq!(data["matches"], json!([]), "{name}: nothing matches");
        // Seconds at most, in a debug build with other tests running.
        assert!(took < Duration::from_secs(8), "{name} took {took:?}");
    }
    assert_eq!(world(&server).await, before);
}

/// DeleteObjects answers per key, as S3 does and the README documents: a
/// key named twice is deleted (and listed) twice, an absent key counts as
/// deleted, and a key that cannot be one (empty, `..`, NUL) gets its own
/// `<Error>` in a 200 while the rest go. Exec mount paths that look like
/// symlinks or host paths but are relative and clean are just directory
/// names under `/mnt/archil`: the scripted back end answers them (exit 127,
/// no rule) and nothing leaves the sandbox's mount root.
#[tokio::test]
async fn per_key_delete_errors_and_odd_but_clean_mount_names_are_not_4xx() {
    let (server, _) = hostile_server("by-design").await;
    let before = world(&server).await;
    let body = delete_xml(&["gone", "gone", "", "..", "dir/../a.txt"]);
    let request = http(
        "POST",
        &format!("/{A}?delete"),
        &[AUTH, XML_CT],
        body.as_bytes(),
    );
    let r = exchange(&server, &request, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert_eq!(xml_all(&text, "Deleted").len(), 2, "{text}");
    let errors: Vec<(String, String)> = xml_blocks(&text, "Error")
        .iter()
        .map(|e| (xml_one(e, "Key").unwrap(), xml_one(e, "Code").unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            ("".to_owned(), "InvalidArgument".to_owned()),
            ("..".to_owned(), "InvalidArgument".to_owned()),
            ("dir/../a.txt".to_owned(), "InvalidArgument".to_owned()),
        ],
        "{text}"
    );
    for path in [
        "proc/self/root",
        "link -> ..",
        "etc",
        "mnt/archil",
        "~",
        "a..b/..c",
    ] {
        let body =
            serde_json::to_vec(&json!({"command": "cat /etc/passwd", "disks": {path: A}})).unwrap();
        let r = exchange(
            &server,
            &http("POST", "/api/exec", &[AUTH, JSON_CT], &body),
            false,
        )
        .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let data = serde_json::from_slice::<Value>(&r.body).unwrap()["data"].clone();
        assert_eq!(data["exitCode"], 127, "{path}: {data}");
    }
    assert_eq!(world(&server).await, before);
}
