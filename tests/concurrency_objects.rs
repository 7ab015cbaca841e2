//! Concurrency of the object gateway: 8 clients × 500 mixed operations on
//! 16 overlapping keys of one disk (nested ones among them, so files and
//! directories collide), against the real binary with `--data-dir`:
//! PutObject, GetObject, HeadObject, append, DeleteObject (of files and of
//! directories), DeleteObjects batches, ListObjectsV2 (recursive and by
//! level), multipart uploads of random keys, and five rounds in which every
//! client completes an upload of the same key at the same moment (after a
//! barrier; some clients send a part twice, so the second replaces it).
//!
//! Every body is made of self-identifying segments (`<id|len>` then `len`
//! bytes drawn from a generator seeded by `id`), so a torn, mixed or
//! foreign body is detected byte for byte.
//!
//! Afterwards the test reads the commit order from `DIR/objects.log` (one
//! JSON record per index change, numbered and written under the state
//! lock) and checks:
//! - the log is a valid POSIX history: replayed in order on a plain model
//!   (a `BTreeMap` of files and directories), every put has its parents,
//!   never sits on a directory, every delete removes something that is
//!   there (a directory only when empty), every append's ETag is the MD5 of
//!   the model's bytes before it plus the appended ones (no lost update);
//! - every record is the effect of one client operation: writes are mapped
//!   by key and ETag (unique: every payload is distinct), a directory made
//!   as a parent by the write that follows it, a delete to a delete that
//!   answered success (matched within its real-time window); every
//!   acknowledged write has exactly one record and refused ones none;
//! - commit order agrees with real time: no record follows one of an
//!   operation that was sent after its own operation's answer arrived;
//! - every read is linearizable: each GET, HEAD and listing saw the
//!   model's state at some point of the log within the operation's
//!   real-time window (so a GET body is always exactly one whole version),
//!   and so did each refused write (the directory or file it conflicted
//!   with), each delete (its key gone) and each refused directory delete
//!   (something in it);
//! - the live server's listing (files with size and ETag, and every
//!   directory), every object's bytes, the disk's `dataSize` and the blob
//!   files in `DIR/blobs` equal the model's final state, and so does what a
//!   restart of the binary on the same directory serves.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::segments::segments;
use common::{md5_etag, multipart_etag, object_path, xml_blocks, xml_escape, xml_one, Binary};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::Value;

const KEY: &str = "key-archil-mock";
const CLIENTS: usize = 8;
const OPS: usize = 500;
/// Client `n` draws its operations from `SEED + n`.
const SEED: u64 = 0x0b1e_c7c0_2026;
/// `--min-part-size`, so that parts can be small.
const MIN_PART: usize = 1024;
/// The key every client uploads to at once, five times.
const HOT: &str = "m/mp";
/// Overlapping keys: every client uses every key. `d`, `d/e`, `m`, `s/t`
/// and `z` are also directories of other keys.
const KEYS: [&str; 16] = [
    "a", "b", "x y.txt", "d", "d/x", "d/y", "d/e", "d/e/f", "d/e/g", "m", HOT, "s/t", "s/t/u/v",
    "z", "z/0", "z/1",
];
/// Directory keys a DELETE may name with their `/`.
const DIRS: [&str; 6] = ["d/", "d/e/", "m/", "s/t/", "s/t/u/", "z/"];
/// Prefixes the listings use.
const PREFIXES: [&str; 6] = ["", "d/", "d/e/", "m/", "s/", "z/"];

// ---------------------------------------------------------------------------
// Self-identifying bodies

/// One segment as a body: see [`common::segments`].
fn segment(id: &str, len: usize) -> Bytes {
    Bytes::from(common::segments::segment(id, len))
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

// ---------------------------------------------------------------------------
// The binary

type Server = Binary;

fn start(dir: &Path) -> Server {
    let part = MIN_PART.to_string();
    let fixed = ["--min-part-size", part.as_str(), "--data-dir"].map(OsStr::new);
    Binary::start(fixed.into_iter().chain([dir.as_os_str()]))
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "archil-mock-concurrency-objects-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------
// What the clients did

#[derive(Debug, Clone)]
enum Kind {
    Put {
        key: &'static str,
        body: Bytes,
    },
    Append {
        key: &'static str,
        body: Bytes,
    },
    /// A CompleteMultipartUpload, with the parts it names, in order.
    Complete {
        key: &'static str,
        parts: Vec<Bytes>,
    },
    /// A DeleteObject; the key may end in `/`.
    Delete {
        key: String,
    },
    /// A DeleteObjects batch of distinct keys, and its answer.
    Batch {
        keys: Vec<&'static str>,
        deleted: Vec<String>,
        errors: Vec<(String, String)>,
    },
    /// A GetObject: the body's MD5 (hex) and the ETag header, if found.
    Get {
        key: &'static str,
        found: Option<(String, String)>,
    },
    /// A HeadObject: size and ETag, if found.
    Head {
        key: &'static str,
        found: Option<(u64, String)>,
    },
    /// A ListObjectsV2 page: files (key, size, ETag) and common prefixes.
    List {
        prefix: &'static str,
        delimiter: bool,
        files: Vec<(String, u64, String)>,
        prefixes: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Op {
    /// `c<client>.o<op>`, also the prefix of its segments' ids.
    id: String,
    kind: Kind,
    /// Just before the request was sent.
    sent: Instant,
    /// Just after the answer's status arrived.
    acked: Instant,
    status: u16,
    /// The S3 error code, for an error.
    code: Option<String>,
    /// The ETag a write was answered with.
    etag: Option<String>,
}

impl Op {
    fn is_write(&self) -> bool {
        matches!(
            self.kind,
            Kind::Put { .. } | Kind::Append { .. } | Kind::Complete { .. }
        )
    }

    fn write_key(&self) -> &'static str {
        match &self.kind {
            Kind::Put { key, .. } | Kind::Append { key, .. } | Kind::Complete { key, .. } => key,
            _ => unreachable!("not a write"),
        }
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
    sent: Instant,
    acked: Instant,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn code(&self) -> Option<String> {
        (self.status >= 300)
            .then(|| xml_one(&self.text(), "Code"))
            .flatten()
    }

    fn etag(&self) -> Option<String> {
        self.headers
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    fn describe(&self, what: &str) -> String {
        format!("{what} answered {}: {}", self.status, self.text())
    }
}

/// One client's connection pool and where it sends.
struct Ctx {
    http: reqwest::Client,
    base: String,
    disk: String,
}

impl Ctx {
    async fn send(&self, method: &str, path: &str, body: Bytes) -> Reply {
        let req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("authorization", KEY)
            .body(body);
        let sent = Instant::now();
        let resp = req.send().await.expect("the server answers");
        let acked = Instant::now();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("a whole body");
        Reply {
            status,
            headers,
            body,
            sent,
            acked,
        }
    }

    fn path(&self, key: &str) -> String {
        object_path(&self.disk, key)
    }
}

fn op(id: &str, kind: Kind, r: &Reply) -> Op {
    Op {
        id: id.to_owned(),
        kind,
        sent: r.sent,
        acked: r.acked,
        status: r.status,
        code: r.code(),
        etag: None,
    }
}

/// A conflict a write may meet on these keys.
fn is_conflict(r: &Reply) -> bool {
    r.status == 409 && matches!(r.code().as_deref(), Some("IsADirectory" | "NotADirectory"))
}

fn put_size(rng: &mut StdRng) -> usize {
    match rng.random_range(0..100) {
        0..70 => rng.random_range(1..4096),
        70..95 => rng.random_range(4096..65_536),
        _ => rng.random_range(65_536..320_000),
    }
}

/// A multipart upload of `key`: create, `parts` parts (the first sent twice
/// when `resend`), then, once `barrier` (if any) lets every client through,
/// Complete (or, when `abort`, Abort). Only the Complete is recorded.
#[allow(clippy::too_many_arguments)]
async fn multipart(
    ctx: &Ctx,
    rng: &mut StdRng,
    id: &str,
    key: &'static str,
    parts: usize,
    resend: bool,
    abort: bool,
    barrier: Option<&tokio::sync::Barrier>,
    ops: &mut Vec<Op>,
) {
    let wait = || async {
        if let Some(b) = barrier {
            tokio::time::timeout(Duration::from_secs(60), b.wait())
                .await
                .expect("every client reaches the barrier");
        }
    };
    let created = ctx
        .send("POST", &format!("{}?uploads=", ctx.path(key)), Bytes::new())
        .await;
    if is_conflict(&created) {
        wait().await;
        return;
    }
    assert_eq!(created.status, 200, "{}", created.describe("create upload"));
    let upload = xml_one(&created.text(), "UploadId").expect("an UploadId");
    let mut listed = Vec::new();
    let mut xml = String::from("<CompleteMultipartUpload>");
    for p in 1..=parts {
        let len = if p < parts {
            rng.random_range(MIN_PART..MIN_PART * 8)
        } else {
            rng.random_range(1..8192)
        };
        let mut sends = vec![segment(&format!("{id}.p{p}"), len)];
        if resend && p == 1 {
            sends.push(segment(&format!("{id}.p{p}r"), len + 7));
        }
        let mut etag = String::new();
        for body in sends {
            let r = ctx
                .send(
                    "PUT",
                    &format!("{}?uploadId={upload}&partNumber={p}", ctx.path(key)),
                    body.clone(),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.describe("upload part"));
            etag = r.etag().expect("a part's ETag");
            assert_eq!(etag, md5_etag(&body), "a part's ETag is its MD5");
            if listed.len() == p {
                listed[p - 1] = body;
            } else {
                listed.push(body);
            }
        }
        xml.push_str(&format!(
            "<Part><PartNumber>{p}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    wait().await;
    let upload_path = format!("{}?uploadId={upload}", ctx.path(key));
    if abort {
        let r = ctx.send("DELETE", &upload_path, Bytes::new()).await;
        assert_eq!(r.status, 204, "{}", r.describe("abort"));
        let again = ctx.send("POST", &upload_path, Bytes::from(xml)).await;
        assert_eq!(
            again.status,
            404,
            "{}",
            again.describe("complete after abort")
        );
        assert_eq!(again.code().as_deref(), Some("NoSuchUpload"));
        return;
    }
    let r = ctx.send("POST", &upload_path, Bytes::from(xml)).await;
    let mut done = op(
        id,
        Kind::Complete {
            key,
            parts: listed.clone(),
        },
        &r,
    );
    if r.status == 200 {
        let etag = xml_one(&r.text(), "ETag").expect("Complete names the ETag");
        let parts: Vec<&[u8]> = listed.iter().map(|b| &b[..]).collect();
        assert_eq!(etag, multipart_etag(&parts), "{id}: the multipart ETag");
        done.etag = Some(etag);
    } else {
        assert!(is_conflict(&r), "{}", r.describe("complete"));
        // The upload is still there: give its parts back.
        let a = ctx.send("DELETE", &upload_path, Bytes::new()).await;
        assert_eq!(a.status, 204, "{}", a.describe("abort after a conflict"));
    }
    ops.push(done);
}

/// One client: a seeded mix of operations on the shared keys.
async fn client(
    n: usize,
    seed: u64,
    base: String,
    disk: String,
    barrier: Arc<tokio::sync::Barrier>,
) -> Vec<Op> {
    let ctx = Ctx {
        http: reqwest::Client::new(),
        base,
        disk,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ops = Vec::new();
    for i in 0..OPS {
        let id = format!("c{n}.o{i}");
        if i % 100 == 50 {
            // Everyone completes an upload of the same key at once.
            let parts = rng.random_range(1..=3);
            let resend = rng.random_bool(0.3);
            multipart(
                &ctx,
                &mut rng,
                &id,
                HOT,
                parts,
                resend,
                false,
                Some(&barrier),
                &mut ops,
            )
            .await;
            continue;
        }
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let roll = rng.random_range(0..100);
        if roll < 22 {
            let body = segment(&id, put_size(&mut rng));
            let r = ctx.send("PUT", &ctx.path(key), body.clone()).await;
            let mut o = op(&id, Kind::Put { key, body }, &r);
            if r.status == 200 {
                o.etag = r.etag();
            } else {
                assert!(is_conflict(&r), "{}", r.describe("put"));
            }
            ops.push(o);
        } else if roll < 36 {
            let body = segment(&id, rng.random_range(1..8192));
            let r = ctx
                .send(
                    "PUT",
                    &format!("{}?append=true", ctx.path(key)),
                    body.clone(),
                )
                .await;
            let mut o = op(&id, Kind::Append { key, body }, &r);
            if r.status == 200 {
                o.etag = r.etag();
            } else {
                assert!(
                    is_conflict(&r)
                        || (r.status == 409 && r.code().as_deref() == Some("OperationAborted")),
                    "{}",
                    r.describe("append")
                );
            }
            ops.push(o);
        } else if roll < 50 {
            let r = ctx.send("GET", &ctx.path(key), Bytes::new()).await;
            let found = match r.status {
                200 => {
                    // Never torn: whole segments, each its own bytes.
                    let ids = segments(&r.body)
                        .unwrap_or_else(|e| panic!("GET {key} gave a torn body: {e}"));
                    assert!(!ids.is_empty(), "GET {key} gave an empty body");
                    assert_eq!(
                        r.headers["content-length"].to_str().unwrap(),
                        r.body.len().to_string()
                    );
                    Some((md5_hex(&r.body), r.etag().expect("an ETag")))
                }
                404 => {
                    assert_eq!(r.code().as_deref(), Some("NoSuchKey"), "{}", r.text());
                    None
                }
                _ => panic!("{}", r.describe("get")),
            };
            ops.push(op(&id, Kind::Get { key, found }, &r));
        } else if roll < 56 {
            let r = ctx.send("HEAD", &ctx.path(key), Bytes::new()).await;
            let found = match r.status {
                200 => {
                    assert!(r.body.is_empty(), "HEAD has no body");
                    let size = r.headers["content-length"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    Some((size, r.etag().expect("an ETag")))
                }
                404 => None,
                _ => panic!("HEAD {key} answered {}", r.status),
            };
            ops.push(op(&id, Kind::Head { key, found }, &r));
        } else if roll < 65 {
            let target = if rng.random_bool(0.2) {
                DIRS[rng.random_range(0..DIRS.len())].to_owned()
            } else {
                key.to_owned()
            };
            let r = ctx.send("DELETE", &ctx.path(&target), Bytes::new()).await;
            assert!(
                r.status == 204
                    || (r.status == 409 && r.code().as_deref() == Some("DirectoryNotEmpty")),
                "{}",
                r.describe("delete")
            );
            ops.push(op(&id, Kind::Delete { key: target }, &r));
        } else if roll < 71 {
            let mut keys = vec![key];
            for _ in 0..rng.random_range(0..4) {
                let k = KEYS[rng.random_range(0..KEYS.len())];
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            let mut xml = String::from("<Delete>");
            for k in &keys {
                xml.push_str(&format!("<Object><Key>{}</Key></Object>", xml_escape(k)));
            }
            xml.push_str("</Delete>");
            let r = ctx
                .send("POST", &format!("/{}?delete=", ctx.disk), Bytes::from(xml))
                .await;
            assert_eq!(r.status, 200, "{}", r.describe("DeleteObjects"));
            let text = r.text();
            let deleted: Vec<String> = xml_blocks(&text, "Deleted")
                .iter()
                .map(|d| xml_one(d, "Key").unwrap())
                .collect();
            let errors: Vec<(String, String)> = xml_blocks(&text, "Error")
                .iter()
                .map(|e| (xml_one(e, "Key").unwrap(), xml_one(e, "Code").unwrap()))
                .collect();
            assert_eq!(deleted.len() + errors.len(), keys.len(), "{text}");
            for (k, code) in &errors {
                assert_eq!(code, "DirectoryNotEmpty", "{k}: {text}");
            }
            ops.push(op(
                &id,
                Kind::Batch {
                    keys,
                    deleted,
                    errors,
                },
                &r,
            ));
        } else if roll < 79 {
            let prefix = PREFIXES[rng.random_range(0..PREFIXES.len())];
            let delimiter = rng.random_bool(0.5);
            let mut path = format!(
                "/{}?list-type=2&prefix={}",
                ctx.disk,
                prefix.replace('/', "%2F")
            );
            if delimiter {
                path.push_str("&delimiter=%2F");
            }
            let r = ctx.send("GET", &path, Bytes::new()).await;
            assert_eq!(r.status, 200, "{}", r.describe("list"));
            let (files, prefixes) = parse_listing(&r.text());
            ops.push(op(
                &id,
                Kind::List {
                    prefix,
                    delimiter,
                    files,
                    prefixes,
                },
                &r,
            ));
        } else if roll < 87 {
            let parts = rng.random_range(1..=3);
            let resend = rng.random_bool(0.2);
            let abort = rng.random_bool(0.1);
            multipart(
                &ctx, &mut rng, &id, key, parts, resend, abort, None, &mut ops,
            )
            .await;
        } else {
            // The hot key gets more of everything.
            let body = segment(&id, put_size(&mut rng));
            let append = rng.random_bool(0.5);
            let path = if append {
                format!("{}?append=true", ctx.path(HOT))
            } else {
                ctx.path(HOT)
            };
            let r = ctx.send("PUT", &path, body.clone()).await;
            let kind = if append {
                Kind::Append { key: HOT, body }
            } else {
                Kind::Put { key: HOT, body }
            };
            let mut o = op(&id, kind, &r);
            if r.status == 200 {
                o.etag = r.etag();
            } else {
                assert!(
                    is_conflict(&r) || r.code().as_deref() == Some("OperationAborted"),
                    "{}",
                    r.describe("write of the hot key")
                );
            }
            ops.push(o);
        }
    }
    ops
}

/// A single, complete ListObjectsV2 page: files and common prefixes.
fn parse_listing(text: &str) -> (Vec<(String, u64, String)>, Vec<String>) {
    assert_eq!(
        xml_one(text, "IsTruncated").as_deref(),
        Some("false"),
        "{text}"
    );
    let files = xml_blocks(text, "Contents")
        .iter()
        .map(|c| {
            (
                xml_one(c, "Key").unwrap(),
                xml_one(c, "Size").unwrap().parse().unwrap(),
                xml_one(c, "ETag").unwrap(),
            )
        })
        .collect();
    let prefixes = xml_blocks(text, "CommonPrefixes")
        .iter()
        .map(|c| xml_one(c, "Prefix").unwrap())
        .collect();
    (files, prefixes)
}

// ---------------------------------------------------------------------------
// The object log, as `src/store/dir.rs` writes it

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    Put {
        seq: u64,
        disk: String,
        key: String,
        blob: u64,
        size: u64,
        etag: String,
        content_type: String,
        modified_ms: i64,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Dir {
        seq: u64,
        disk: String,
        key: String,
        modified_ms: i64,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Del {
        seq: u64,
        disk: String,
        key: String,
    },
}

impl Record {
    fn seq(&self) -> u64 {
        match self {
            Record::Put { seq, .. } | Record::Dir { seq, .. } | Record::Del { seq, .. } => *seq,
        }
    }

    fn key(&self) -> &str {
        match self {
            Record::Put { key, .. } | Record::Dir { key, .. } | Record::Del { key, .. } => key,
        }
    }

    fn disk(&self) -> &str {
        match self {
            Record::Put { disk, .. } | Record::Dir { disk, .. } | Record::Del { disk, .. } => disk,
        }
    }
}

/// Every record of the log, in file order, each line whole.
fn read_log(dir: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(dir.join("objects.log")).expect("the object log");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the log ends mid-line"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .collect()
}

// ---------------------------------------------------------------------------
// The model

#[derive(Debug)]
struct Version {
    bytes: Bytes,
    etag: String,
    md5: String,
}

#[derive(Debug, Clone)]
enum Entry {
    File(Arc<Version>),
    Dir,
}

type Model = BTreeMap<String, Entry>;

fn file<'a>(m: &'a Model, key: &str) -> Option<&'a Arc<Version>> {
    match m.get(key) {
        Some(Entry::File(v)) => Some(v),
        _ => None,
    }
}

/// The parent directories of a key (`a/`, `a/b/` for `a/b/c` or `a/b/c/`).
fn parents(key: &str) -> Vec<&str> {
    let body = key.strip_suffix('/').unwrap_or(key);
    body.match_indices('/').map(|(i, _)| &body[..=i]).collect()
}

fn has_children(m: &Model, dir: &str) -> bool {
    m.range::<str, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded))
        .next()
        .is_some_and(|(k, _)| k.starts_with(dir))
}

/// Whether a write of a file at `key` meets a directory or a file parent.
fn conflicts(m: &Model, key: &str, code: &str) -> bool {
    match code {
        "IsADirectory" => matches!(m.get(&format!("{key}/")), Some(Entry::Dir)),
        "NotADirectory" => parents(key)
            .iter()
            .any(|p| file(m, p.trim_end_matches('/')).is_some()),
        _ => false,
    }
}

/// What a listing of the model shows: files (key, size, ETag) and common prefixes.
type Listing = (Vec<(String, u64, String)>, Vec<String>);

fn list_model(m: &Model, prefix: &str, delimiter: bool) -> Listing {
    let mut files = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    for (k, e) in m.range::<str, _>((
        std::ops::Bound::Included(prefix),
        std::ops::Bound::Unbounded,
    )) {
        let Some(rest) = k.strip_prefix(prefix) else {
            break;
        };
        match (delimiter, rest.find('/'), e) {
            (true, Some(i), _) => {
                let common = format!("{prefix}{}", &rest[..=i]);
                if prefixes.last() != Some(&common) {
                    prefixes.push(common);
                }
            }
            (_, _, Entry::File(v)) => files.push((k.clone(), v.bytes.len() as u64, v.etag.clone())),
            (_, _, Entry::Dir) => {}
        }
    }
    (files, prefixes)
}

/// Replays the log on a plain model, checking POSIX rules at every step;
/// `writes` maps (key, ETag) to the acknowledged write that answered it.
/// Returns the model after each prefix of the log (`states[p]` holds the
/// first `p` records) and each record's operation where it is a write.
fn replay(
    records: &[Record],
    ops: &[Op],
    writes: &HashMap<(String, String), usize>,
) -> (Vec<Model>, Vec<Option<usize>>) {
    let mut m = Model::new();
    let mut states = vec![m.clone()];
    let mut owner = vec![None; records.len()];
    for (i, r) in records.iter().enumerate() {
        let key = r.key();
        match r {
            Record::Put {
                etag,
                size,
                content_type,
                mode,
                uid,
                gid,
                modified_ms,
                ..
            } => {
                assert!(*modified_ms > 1_600_000_000_000, "record {i}: a time");
                let &at = writes.get(&(key.to_owned(), etag.clone())).unwrap_or_else(|| {
                    panic!("record {i} puts {key} with ETag {etag}, which no acknowledged write was answered with")
                });
                owner[i] = Some(at);
                let o = &ops[at];
                let bytes = match &o.kind {
                    Kind::Put { body, .. } => body.clone(),
                    Kind::Complete { parts, .. } => Bytes::from(parts.concat()),
                    Kind::Append { body, .. } => {
                        let mut all = file(&m, key).map(|v| v.bytes.to_vec()).unwrap_or_default();
                        all.extend_from_slice(body);
                        Bytes::from(all)
                    }
                    _ => unreachable!(),
                };
                let md5 = md5_hex(&bytes);
                if !matches!(o.kind, Kind::Complete { .. }) {
                    assert_eq!(
                        etag,
                        &format!("\"{md5}\""),
                        "record {i}: {} of {key} ({}) is not the model's bytes then \
                         (an append on another version than the one before it?)",
                        o.id,
                        if matches!(o.kind, Kind::Append { .. }) {
                            "append"
                        } else {
                            "put"
                        }
                    );
                }
                assert_eq!(*size, bytes.len() as u64, "record {i}: size of {key}");
                assert_eq!(content_type, "application/octet-stream");
                assert_eq!((*mode, *uid, *gid), (0o644, 0, 0), "record {i}");
                for p in parents(key) {
                    assert!(
                        matches!(m.get(p), Some(Entry::Dir)),
                        "record {i}: {key} is written, but its parent {p} is not a directory"
                    );
                }
                assert!(
                    !m.contains_key(&format!("{key}/")),
                    "record {i}: {key} is written over a directory"
                );
                m.insert(
                    key.to_owned(),
                    Entry::File(Arc::new(Version {
                        bytes,
                        etag: etag.clone(),
                        md5,
                    })),
                );
            }
            Record::Dir {
                mode,
                uid,
                gid,
                modified_ms,
                ..
            } => {
                assert!(*modified_ms > 1_600_000_000_000, "record {i}: a time");
                assert!(key.ends_with('/'), "record {i}: a directory {key}");
                assert_eq!((*mode, *uid, *gid), (0o755, 0, 0), "record {i}");
                for p in parents(key) {
                    assert!(
                        matches!(m.get(p), Some(Entry::Dir)),
                        "record {i}: {key} is made, but its parent {p} is not a directory"
                    );
                }
                assert!(
                    !m.contains_key(key),
                    "record {i}: {key} is made, but it exists"
                );
                assert!(
                    file(&m, key.trim_end_matches('/')).is_none(),
                    "record {i}: {key} is made over a file"
                );
                m.insert(key.to_owned(), Entry::Dir);
            }
            Record::Del { .. } => {
                match m.get(key) {
                    Some(Entry::Dir) => assert!(
                        !has_children(&m, key),
                        "record {i}: the non-empty directory {key} is deleted"
                    ),
                    Some(Entry::File(_)) => {}
                    None => panic!("record {i}: {key} is deleted, but it does not exist"),
                }
                m.remove(key);
            }
        }
        states.push(m.clone());
    }
    (states, owner)
}

// ---------------------------------------------------------------------------
// Real time

/// The positions of the log (`p` records applied) an operation may have
/// taken effect at: after every record whose operation was answered before
/// it was sent, before every record whose operation was sent after its
/// answer arrived.
fn window(o: &Op, times: &[(Instant, Instant)]) -> (usize, usize) {
    let lo = times
        .iter()
        .rposition(|(_, acked)| *acked <= o.sent)
        .map_or(0, |i| i + 1);
    let hi = times
        .iter()
        .position(|(sent, _)| *sent >= o.acked)
        .unwrap_or(times.len());
    (lo, hi)
}

/// Matches each delete record to a delete that answered success for its
/// key (one record per key sent), so that commit order agrees with real
/// time: a record's delete must have been answered after every operation
/// of an earlier record was sent, and sent before every operation of a
/// later one was answered. Deletes of one key by several clients make this
/// a search: depth first over the delete records in log order, trying the
/// candidates answered first first.
///
/// Several matchings may agree with real time, and the one found need not
/// be the true one, so it only serves the order check. Returns, for each
/// delete record, the widest interval its delete can have had: the first
/// send and the last answer among its candidates (what the checks of reads
/// use, so that they hold whichever delete made the record).
fn match_deletes(
    records: &[Record],
    ops: &[Op],
    owner: &mut [Option<usize>],
) -> BTreeMap<usize, (Instant, Instant)> {
    let n = records.len();
    // Bounds from the records already attributed (writes and their parents).
    let mut lo = vec![None::<Instant>; n];
    let mut hi = vec![None::<Instant>; n];
    let mut max_sent: Option<Instant> = None;
    for i in 0..n {
        lo[i] = max_sent;
        if let Some(o) = owner[i] {
            max_sent = max_sent.max(Some(ops[o].sent));
        }
    }
    let mut min_acked: Option<Instant> = None;
    for i in (0..n).rev() {
        hi[i] = min_acked;
        if let Some(o) = owner[i] {
            let a = ops[o].acked;
            min_acked = Some(min_acked.map_or(a, |m| m.min(a)));
        }
    }
    // (op, the key as sent): each deletes at most one record.
    let mut slots: Vec<(usize, String)> = Vec::new();
    for (at, o) in ops.iter().enumerate() {
        match &o.kind {
            Kind::Delete { key } if o.status == 204 => slots.push((at, key.clone())),
            Kind::Batch { deleted, .. } => {
                slots.extend(deleted.iter().map(|k| (at, k.clone())));
            }
            _ => {}
        }
    }
    let dels: Vec<usize> = (0..n)
        .filter(|&i| matches!(records[i], Record::Del { .. }))
        .collect();
    // Each delete record's candidates, answered first first.
    let candidates: Vec<Vec<usize>> = dels
        .iter()
        .map(|&i| {
            let key = records[i].key();
            let mut c: Vec<usize> = (0..slots.len())
                .filter(|&s| {
                    let (at, sent_key) = &slots[s];
                    let o = &ops[*at];
                    (sent_key == key || format!("{sent_key}/") == key)
                        && lo[i].is_none_or(|l| o.acked > l)
                        && hi[i].is_none_or(|h| o.sent < h)
                })
                .collect();
            c.sort_by_key(|&s| ops[slots[s].0].acked);
            if c.is_empty() {
                panic!(
                    "record {i} deletes {key}, but no delete that answered success could have made it then"
                );
            }
            c
        })
        .collect();

    struct Search<'a> {
        ops: &'a [Op],
        slots: &'a [(usize, String)],
        candidates: &'a [Vec<usize>],
        used: Vec<bool>,
        choice: Vec<usize>,
        budget: usize,
    }
    impl Search<'_> {
        /// Assigns delete records `d..`, given the latest send among the
        /// delete records before them.
        fn assign(&mut self, d: usize, latest_sent: Option<Instant>) -> bool {
            if d == self.candidates.len() {
                return true;
            }
            for k in 0..self.candidates[d].len() {
                let s = self.candidates[d][k];
                let o = &self.ops[self.slots[s].0];
                if self.used[s] || latest_sent.is_some_and(|l| o.acked <= l) {
                    continue;
                }
                self.budget = self
                    .budget
                    .checked_sub(1)
                    .expect("the delete records admit too many matchings to search");
                self.used[s] = true;
                self.choice[d] = s;
                if self.assign(d + 1, latest_sent.max(Some(o.sent))) {
                    return true;
                }
                self.used[s] = false;
            }
            false
        }
    }
    let mut search = Search {
        ops,
        slots: &slots,
        candidates: &candidates,
        used: vec![false; slots.len()],
        choice: vec![0; dels.len()],
        budget: 1_000_000,
    };
    assert!(
        search.assign(0, None),
        "no matching of the {} delete records to the deletes that answered success agrees with real time",
        dels.len()
    );
    for (d, &i) in dels.iter().enumerate() {
        owner[i] = Some(slots[search.choice[d]].0);
    }
    dels.iter()
        .zip(&candidates)
        .map(|(&i, c)| {
            let sent = c.iter().map(|&s| ops[slots[s].0].sent).min().unwrap();
            let acked = c.iter().map(|&s| ops[slots[s].0].acked).max().unwrap();
            (i, (sent, acked))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// What a server serves

/// Every file (bytes, ETag) and directory a server holds, by listing
/// (recursively for files, level by level for directories) and GET.
async fn served(
    http: &reqwest::Client,
    base: &str,
    disk: &str,
) -> BTreeMap<String, Option<(Bytes, String)>> {
    let list = |prefix: String, delimiter: bool| {
        let url = format!(
            "{base}/{disk}?list-type=2&prefix={}{}",
            prefix.replace('/', "%2F"),
            if delimiter { "&delimiter=%2F" } else { "" }
        );
        async move {
            let r = http
                .get(url)
                .header("authorization", KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            parse_listing(&r.text().await.unwrap())
        }
    };
    let mut out = BTreeMap::new();
    let (files, _) = list(String::new(), false).await;
    for (key, size, etag) in files {
        let r = http
            .get(format!("{base}{}", object_path(disk, &key)))
            .header("authorization", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {key}");
        let got_etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let bytes = r.bytes().await.unwrap();
        assert_eq!(
            bytes.len() as u64,
            size,
            "{key}: listed size and GET disagree"
        );
        assert_eq!(got_etag, etag, "{key}: listed ETag and GET disagree");
        out.insert(key, Some((bytes, etag)));
    }
    let mut pending = vec![String::new()];
    while let Some(prefix) = pending.pop() {
        let (_, prefixes) = list(prefix, true).await;
        for p in prefixes {
            out.insert(p.clone(), None);
            pending.push(p);
        }
    }
    out
}

/// Asserts that a server serves exactly the model.
fn assert_serves(what: &str, got: &BTreeMap<String, Option<(Bytes, String)>>, model: &Model) {
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = model.keys().collect();
    assert_eq!(
        got_keys, want_keys,
        "{what}: the keys differ from the model's"
    );
    for (key, entry) in model {
        match (entry, &got[key]) {
            (Entry::Dir, None) => {}
            (Entry::File(v), Some((bytes, etag))) => {
                assert!(
                    bytes == &v.bytes,
                    "{what}: {key}'s bytes differ from the model's"
                );
                assert_eq!(etag, &v.etag, "{what}: {key}'s ETag");
            }
            _ => panic!("{what}: {key} is a file on one side and a directory on the other"),
        }
    }
}

async fn data_size(http: &reqwest::Client, base: &str, disk: &str) -> u64 {
    let v: Value = http
        .get(format!("{base}/api/disks/{disk}"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["dataSize"].as_u64().expect("dataSize")
}

fn blob_files(dir: &Path) -> BTreeMap<u64, u64> {
    std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let id = u64::from_str_radix(e.file_name().to_str().unwrap(), 16).unwrap();
            (id, e.metadata().unwrap().len())
        })
        .collect()
}

// ---------------------------------------------------------------------------

#[test]
fn the_segment_format_detects_torn_and_mixed_bytes() {
    let mut a = segment("c0.o1", 100).to_vec();
    a.extend_from_slice(&segment("c1.o2", 5));
    assert_eq!(segments(&a).unwrap(), ["c0.o1", "c1.o2"]);
    assert!(segments(&a[..a.len() - 1]).is_err(), "cut short");
    let mut flipped = a.clone();
    flipped[50] ^= 1;
    assert!(segments(&flipped).is_err(), "a changed byte");
    let mut mixed = segment("c0.o1", 100).to_vec();
    mixed[60..].copy_from_slice(&segment("c2.o3", 100)[60..]);
    assert!(segments(&mixed).is_err(), "two writes' bytes mixed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_on_overlapping_keys_commit_in_a_real_time_order_the_log_replays() {
    let started = Instant::now();
    eprintln!("seeds: client n uses {SEED:#x} + n");
    let dir = temp_dir();
    let server = start(&dir);
    let http = reqwest::Client::new();
    let disk = server.create_disk("concurrency-objects").await;

    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                SEED + n as u64,
                server.base.clone(),
                disk.clone(),
                barrier.clone(),
            ))
        })
        .collect();
    let mut ops = Vec::new();
    for t in tasks {
        ops.extend(t.await.expect("a client finished"));
    }
    let ran = started.elapsed();

    // No upload is left over (each failed Complete was aborted).
    let uploads = http
        .get(format!("{}/{disk}?uploads=", server.base))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!uploads.contains("<Upload>"), "{uploads}");

    // The log: whole lines, numbered 1, 2, 3… in file order, all of this disk.
    let records = read_log(&dir);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(
            r.seq(),
            i as u64 + 1,
            "record {i} is out of order in the file"
        );
        assert_eq!(r.disk(), disk);
    }

    // Writes by (key, ETag): unique, since every payload is.
    let mut writes = HashMap::new();
    for (at, o) in ops.iter().enumerate() {
        if o.is_write() && o.status == 200 {
            let etag = o.etag.clone().expect("a write's ETag");
            if let Kind::Put { body, .. } = &o.kind {
                assert_eq!(etag, md5_etag(body), "{}: a put's ETag is its MD5", o.id);
            }
            let old = writes.insert((o.write_key().to_owned(), etag), at);
            assert!(old.is_none(), "{}: two writes with one ETag", o.id);
        }
    }
    let (states, mut owner) = replay(&records, &ops, &writes);
    let mut recorded = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        if let (Record::Put { .. }, Some(at)) = (r, owner[i]) {
            assert!(recorded.insert(at), "{} has two records", ops[at].id);
        }
    }
    let lost: Vec<&str> = writes
        .values()
        .filter(|at| !recorded.contains(*at))
        .map(|at| ops[*at].id.as_str())
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged writes with no record: {lost:?}"
    );

    // A directory record belongs to the write it was made for: the put
    // right after it (and its sibling parents) under the same lock.
    for i in 0..records.len() {
        if let Record::Dir { key, .. } = &records[i] {
            let next_put = records[i..]
                .iter()
                .position(|r| !matches!(r, Record::Dir { .. }))
                .map(|j| i + j)
                .filter(|&j| matches!(records[j], Record::Put { .. }));
            let j = next_put.unwrap_or_else(|| {
                panic!(
                    "record {i} makes {key}, but no write follows it (no client made directories)"
                )
            });
            assert!(
                records[j].key().starts_with(key.as_str()),
                "record {i} makes {key}, but the write after it is of {}",
                records[j].key()
            );
            owner[i] = owner[j];
        }
    }
    let widest = match_deletes(&records, &ops, &mut owner);
    let times: Vec<(Instant, Instant)> = owner
        .iter()
        .map(|o| {
            let o = &ops[o.expect("every record is attributed")];
            (o.sent, o.acked)
        })
        .collect();

    // Commit order agrees with real time.
    let mut latest: Option<(Instant, usize)> = None;
    for (j, (_, acked)) in times.iter().enumerate() {
        if let Some((sent, i)) = latest {
            assert!(
                *acked > sent,
                "record {j} ({:?} by {} {}, answered {:?} after the start) follows record {i} \
                 ({:?} by {} {}, sent {:?} after the start), but its answer arrived before \
                 that was sent",
                records[j],
                ops[owner[j].unwrap()].kind_name(),
                ops[owner[j].unwrap()].id,
                acked.duration_since(started),
                records[i],
                ops[owner[i].unwrap()].kind_name(),
                ops[owner[i].unwrap()].id,
                sent.duration_since(started),
            );
        }
        if latest.is_none_or(|(s, _)| times[j].0 > s) {
            latest = Some((times[j].0, j));
        }
    }

    // Every observation saw the model at a point of its window (with
    // each delete record's widest interval, whichever delete made it).
    let loose: Vec<(Instant, Instant)> = (0..records.len())
        .map(|i| widest.get(&i).copied().unwrap_or(times[i]))
        .collect();
    let mut observed = 0;
    for o in &ops {
        let (lo, hi) = window(o, &loose);
        let seen = |pred: &dyn Fn(&Model) -> bool| (lo..=hi).any(|p| pred(&states[p]));
        let ok = match &o.kind {
            Kind::Get { key, found } => seen(&|m| match (file(m, key), found) {
                (Some(v), Some((md5, etag))) => &v.md5 == md5 && &v.etag == etag,
                (None, None) => true,
                _ => false,
            }),
            Kind::Head { key, found } => seen(&|m| match (file(m, key), found) {
                (Some(v), Some((size, etag))) => v.bytes.len() as u64 == *size && &v.etag == etag,
                (None, None) => true,
                _ => false,
            }),
            Kind::List {
                prefix,
                delimiter,
                files,
                prefixes,
            } => seen(&|m| {
                let (f, p) = list_model(m, prefix, *delimiter);
                &f == files && &p == prefixes
            }),
            Kind::Put { key, .. } | Kind::Append { key, .. } | Kind::Complete { key, .. }
                if o.status == 409 =>
            {
                match o.code.as_deref() {
                    Some(code @ ("IsADirectory" | "NotADirectory")) => {
                        seen(&|m| conflicts(m, key, code))
                    }
                    _ => continue,
                }
            }
            Kind::Delete { key } if o.status == 409 => {
                let dir = if key.ends_with('/') {
                    key.clone()
                } else {
                    format!("{key}/")
                };
                seen(&|m| matches!(m.get(&dir), Some(Entry::Dir)) && has_children(m, &dir))
            }
            Kind::Delete { key } => {
                // Whether it removed something or nothing, the key was
                // gone at some moment of it.
                let key = key.clone();
                seen(&|m| {
                    if key.ends_with('/') {
                        !m.contains_key(&key)
                    } else {
                        !m.contains_key(&key) && !m.contains_key(&format!("{key}/"))
                    }
                })
            }
            Kind::Batch {
                keys,
                deleted,
                errors,
            } => {
                let mut answered: Vec<&str> = deleted
                    .iter()
                    .chain(errors.iter().map(|(k, _)| k))
                    .map(String::as_str)
                    .collect();
                answered.sort_unstable();
                let mut sent = keys.clone();
                sent.sort_unstable();
                assert_eq!(answered, sent, "{}: every key is answered once", o.id);
                // Each deleted key was gone at some moment of it, and each
                // refused one a directory with something in it.
                deleted
                    .iter()
                    .all(|k| seen(&|m| !m.contains_key(k) && !m.contains_key(&format!("{k}/"))))
                    && errors.iter().all(|(k, _)| {
                        let dir = format!("{k}/");
                        seen(&|m| matches!(m.get(&dir), Some(Entry::Dir)) && has_children(m, &dir))
                    })
            }
            _ => continue,
        };
        observed += 1;
        if !ok {
            let around: Vec<String> = (lo.saturating_sub(3)..(hi + 3).min(records.len()))
                .map(|i| {
                    let by = &ops[owner[i].unwrap()];
                    format!(
                        "  record {i}: {:?} by {} {} (sent {:?}, answered {:?})",
                        records[i],
                        by.kind_name(),
                        by.id,
                        by.sent.duration_since(started),
                        by.acked.duration_since(started)
                    )
                })
                .collect();
            panic!(
                "{} ({:?}, status {}, sent {:?}, answered {:?}) saw no state the log passes \
                 through between records {lo} and {hi}:\n{}\n{:?}",
                o.id,
                o.kind_name(),
                o.status,
                o.sent.duration_since(started),
                o.acked.duration_since(started),
                around.join("\n"),
                o.kind
            );
        }
    }

    // The live server, and the blobs on disk, are the model's final state.
    let last = states.last().unwrap();
    let live = served(&http, &server.base, &disk).await;
    assert_serves("the live server", &live, last);
    let stored: u64 = last
        .values()
        .filter_map(|e| match e {
            Entry::File(v) => Some(v.bytes.len() as u64),
            Entry::Dir => None,
        })
        .sum();
    assert_eq!(
        data_size(&http, &server.base, &disk).await,
        stored,
        "dataSize"
    );
    let mut live_blobs = BTreeMap::new();
    for r in &records {
        match r {
            Record::Put {
                key, blob, size, ..
            } => {
                live_blobs.insert(key.clone(), (*blob, *size));
            }
            Record::Del { key, .. } => {
                live_blobs.remove(key);
            }
            Record::Dir { .. } => {}
        }
    }
    let want: BTreeMap<u64, u64> = live_blobs.values().copied().collect();
    assert_eq!(
        blob_files(&dir),
        want,
        "blobs/ holds exactly the live objects' blobs"
    );

    // A restart on the same directory serves the same.
    drop(server);
    let server = start(&dir);
    let restarted = served(&http, &server.base, &disk).await;
    assert_serves("the restarted server", &restarted, last);
    assert_eq!(
        data_size(&http, &server.base, &disk).await,
        stored,
        "dataSize after restart"
    );
    assert_eq!(blob_files(&dir), want, "blobs/ after restart");
    drop(server);

    let count = |f: &dyn Fn(&Op) -> bool| ops.iter().filter(|o| f(o)).count();
    eprintln!(
        "{} ops in {ran:?} ({} puts, {} appends, {} completes ({} of {HOT} acknowledged), {} deletes, {} batches, \
         {} GETs, {} HEADs, {} lists recorded; {} writes acknowledged, {} refused); \
         {} log records, {observed} observations checked; {:?} in all",
        ops.len(),
        count(&|o| matches!(o.kind, Kind::Put { .. })),
        count(&|o| matches!(o.kind, Kind::Append { .. })),
        count(&|o| matches!(o.kind, Kind::Complete { .. })),
        count(&|o| matches!(o.kind, Kind::Complete { key, .. } if key == HOT) && o.status == 200),
        count(&|o| matches!(o.kind, Kind::Delete { .. })),
        count(&|o| matches!(o.kind, Kind::Batch { .. })),
        count(&|o| matches!(o.kind, Kind::Get { .. })),
        count(&|o| matches!(o.kind, Kind::Head { .. })),
        count(&|o| matches!(o.kind, Kind::List { .. })),
        writes.len(),
        count(&|o| o.is_write() && o.status != 200),
        records.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

impl Op {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Put { .. } => "put",
            Kind::Append { .. } => "append",
            Kind::Complete { .. } => "complete",
            Kind::Delete { .. } => "delete",
            Kind::Batch { .. } => "DeleteObjects",
            Kind::Get { .. } => "get",
            Kind::Head { .. } => "head",
            Kind::List { .. } => "list",
        }
    }
}
