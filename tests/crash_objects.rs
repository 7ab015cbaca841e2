//! Crash safety of `--data-dir`: the real binary is SIGKILLed at a random
//! moment of a burst of puts, appends, multipart completes and deletes from
//! four writers on overlapping keys, 20 times over one data directory.
//!
//! Every body is made of self-describing segments, `<id|len>` and `len`
//! bytes drawn from a generator seeded by `id`, so an object's bytes say
//! which writes made it. After each restart, for every key:
//! - every segment is whole and byte-exact, and belongs to a write of that
//!   key that was sent (acknowledged or in flight): nothing torn, mixed or
//!   foreign; a multipart object has all its parts, in order;
//! - the object is a base (a put, a complete, an append that created it, or
//!   what the key held after the previous restart) followed by appends, in
//!   an order real time allows;
//! - no acknowledged write is lost: every acknowledged write of the key
//!   that is not in the object was sent before the base's write ended (so
//!   the base may have replaced it); an absent key needs a delete that may
//!   have come last;
//! - HEAD, GET and the listing agree (size, ETag of the whole object, or
//!   of the parts for an untouched multipart object);
//! - and the data directory holds nothing partial: `tmp/` is empty after
//!   startup and `blobs/` holds exactly one file per object.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::segments::{segment, segments};
use common::Binary;

use md5::{Digest, Md5};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KEY: &str = "key-archil-mock";
const ROUNDS: usize = 20;
const WRITERS: usize = 4;
/// Overlapping keys: every writer writes every key.
const KEYS: [&str; 7] = ["k0", "k1", "k2", "k3", "d/a", "d/b", "d/e/f"];

// ---------------------------------------------------------------------------
// Self-describing bodies

// ---------------------------------------------------------------------------
// What the writers did

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Put,
    Append,
    /// A completed upload of this many parts.
    Multipart(usize),
    Delete,
}

#[derive(Debug, Clone)]
struct Op {
    key: &'static str,
    kind: Kind,
    /// The op's id; its segments are `id` (put, append) or `id.pN` (parts).
    id: String,
    sent: Instant,
    /// When the acknowledgement arrived.
    acked: Option<Instant>,
    /// Answered with a refusal: it certainly did not happen.
    refused: bool,
}

impl Op {
    /// The latest moment it can have taken effect.
    fn end(&self) -> Option<Instant> {
        self.acked
    }

    fn segment_ids(&self) -> Vec<String> {
        match self.kind {
            Kind::Put | Kind::Append => vec![self.id.clone()],
            Kind::Multipart(n) => (1..=n).map(|p| format!("{}.p{p}", self.id)).collect(),
            Kind::Delete => Vec::new(),
        }
    }
}

/// `a` is before `b` where `None` is the end of time.
fn before(a: Instant, b: Option<Instant>) -> bool {
    b.is_none_or(|b| a < b)
}

/// What a key held after the previous restart.
#[derive(Debug, Clone)]
struct Held {
    segments: Vec<String>,
    etag: String,
}

type Server = Binary;

fn start(dir: &Path) -> Server {
    let fixed = ["--min-part-size", "0", "--data-dir"].map(OsStr::new);
    Binary::start(fixed.into_iter().chain([dir.as_os_str()]))
}

fn object_url(base: &str, disk: &str, key: &str) -> String {
    format!("{base}/{disk}/{key}")
}

/// Records an op as sent; returns its index.
fn sent(ops: &Mutex<Vec<Op>>, key: &'static str, kind: Kind, id: &str) -> usize {
    let mut ops = ops.lock();
    ops.push(Op {
        key,
        kind,
        id: id.to_owned(),
        sent: Instant::now(),
        acked: None,
        refused: false,
    });
    ops.len() - 1
}

/// One writer: random writes on random keys until the server goes away.
async fn writer(
    base: String,
    disk: String,
    round: usize,
    n: usize,
    seed: u64,
    ops: Arc<Mutex<Vec<Op>>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0.. {
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let url = object_url(&base, &disk, key);
        let id = format!("r{round}.w{n}.{i}");
        let roll = rng.random_range(0..100);
        if roll < 40 {
            let len = if rng.random_bool(0.1) {
                rng.random_range(0..300_000)
            } else {
                rng.random_range(0..20_000)
            };
            let body = segment(&id, len);
            let at = sent(&ops, key, Kind::Put, &id);
            match http
                .put(&url)
                .header("authorization", KEY)
                .body(body)
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => ops.lock()[at].acked = Some(Instant::now()),
                Ok(r) => panic!("put {key} answered {}: {:?}", r.status(), r.text().await),
                Err(_) => return,
            }
        } else if roll < 65 {
            let body = segment(&id, rng.random_range(0..10_000));
            let at = sent(&ops, key, Kind::Append, &id);
            let sent = http
                .put(format!("{url}?append=true"))
                .header("authorization", KEY)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == 200 => ops.lock()[at].acked = Some(Instant::now()),
                // Lost the race for the key too often: the append did not happen.
                Ok(r) if r.status() == 409 => ops.lock()[at].refused = true,
                Ok(r) => panic!("append {key} answered {}: {:?}", r.status(), r.text().await),
                Err(_) => return,
            }
        } else if roll < 82 {
            let Ok(r) = http
                .post(format!("{url}?uploads="))
                .header("authorization", KEY)
                .send()
                .await
            else {
                return;
            };
            assert_eq!(r.status(), 200, "create upload of {key}");
            let Ok(text) = r.text().await else { return };
            let upload = text
                .split("<UploadId>")
                .nth(1)
                .and_then(|t| t.split("</UploadId>").next())
                .expect("an UploadId")
                .to_owned();
            let parts = rng.random_range(1..=3);
            let mut xml = String::from("<CompleteMultipartUpload>");
            for p in 1..=parts {
                let body = segment(&format!("{id}.p{p}"), rng.random_range(1..8_000));
                let Ok(r) = http
                    .put(format!("{url}?uploadId={upload}&partNumber={p}"))
                    .header("authorization", KEY)
                    .body(body)
                    .send()
                    .await
                else {
                    return;
                };
                assert_eq!(r.status(), 200, "upload part of {key}");
                let etag = r.headers()["etag"].to_str().unwrap().to_owned();
                xml.push_str(&format!(
                    "<Part><PartNumber>{p}</PartNumber><ETag>{etag}</ETag></Part>"
                ));
            }
            xml.push_str("</CompleteMultipartUpload>");
            let at = sent(&ops, key, Kind::Multipart(parts), &id);
            let sent = http
                .post(format!("{url}?uploadId={upload}"))
                .header("authorization", KEY)
                .body(xml)
                .send()
                .await;
            match sent {
                // Acknowledged once the status arrives: the change is made
                // and logged before the answer starts.
                Ok(r) if r.status() == 200 => ops.lock()[at].acked = Some(Instant::now()),
                Ok(r) => panic!(
                    "complete {key} answered {}: {:?}",
                    r.status(),
                    r.text().await
                ),
                Err(_) => return,
            }
        } else {
            let at = sent(&ops, key, Kind::Delete, &id);
            match http.delete(&url).header("authorization", KEY).send().await {
                Ok(r) if r.status() == 204 => ops.lock()[at].acked = Some(Instant::now()),
                Ok(r) => panic!("delete {key} answered {}: {:?}", r.status(), r.text().await),
                Err(_) => return,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Checking a restarted server

struct Seen {
    body: Vec<u8>,
    etag: String,
}

fn md5_etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(bytes)))
}

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Md5::new();
    for p in parts {
        all.update(Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(all.finalize()), parts.len())
}

/// Checks one key against the round's ops on it; returns what it holds now.
fn check_key(
    key: &str,
    ops: &[&Op],
    held: Option<&Held>,
    seen: Option<&Seen>,
    round: usize,
) -> Option<Held> {
    let acked = || ops.iter().filter(|o| o.acked.is_some());
    let Some(seen) = seen else {
        // Absent: a delete may have come last, after every acknowledged write.
        let deletes: Vec<&&Op> = ops.iter().filter(|o| o.kind == Kind::Delete).collect();
        let writes: Vec<&&Op> = acked().filter(|o| o.kind != Kind::Delete).collect();
        if deletes.is_empty() {
            assert!(
                held.is_none() && writes.is_empty(),
                "round {round}: {key} is gone, but nothing deleted it (held {held:?}, acknowledged {writes:?})"
            );
        } else {
            let last_end = deletes
                .iter()
                .map(|d| d.end())
                .max_by(|a, b| match (a, b) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                    (Some(a), Some(b)) => a.cmp(b),
                })
                .unwrap();
            for w in writes {
                assert!(
                    before(w.sent, last_end),
                    "round {round}: {key} is gone, but acknowledged {:?} {} came after every delete",
                    w.kind,
                    w.id
                );
            }
        }
        return None;
    };

    let ids = segments(&seen.body)
        .unwrap_or_else(|e| panic!("round {round}: {key} holds torn or foreign bytes: {e}"));
    let by_id: HashMap<&str, &Op> = ops
        .iter()
        .filter(|o| !o.refused)
        .map(|o| (o.id.as_str(), *o))
        .collect();
    let op_of = |segment: &str| -> &Op {
        let op_id = match segment.rsplit_once('.') {
            Some((op, part)) if part.starts_with('p') => op,
            _ => segment,
        };
        by_id.get(op_id).copied().unwrap_or_else(|| {
            panic!("round {round}: {key} holds segment {segment}, which no write of {key} sent (or was refused)")
        })
    };

    // The base: what the key held before the round, or the write that
    // replaced it (or created it), then only appends.
    let (base, rest): (Option<&Op>, &[String]) = match held {
        Some(h) if ids.starts_with(&h.segments) => (None, &ids[h.segments.len()..]),
        _ => {
            let first = op_of(&ids[0]);
            let own = first.segment_ids();
            assert!(
                matches!(first.kind, Kind::Put | Kind::Append | Kind::Multipart(_)),
                "round {round}: {key} starts with a segment of a {:?}",
                first.kind
            );
            assert!(
                ids.starts_with(&own),
                "round {round}: {key} holds {:?}, not every part of {} in order",
                ids,
                first.id
            );
            (Some(first), &ids[own.len()..])
        }
    };
    let mut lineage: Vec<&Op> = base.into_iter().collect();
    for s in rest {
        let op = op_of(s);
        assert_eq!(
            op.kind,
            Kind::Append,
            "round {round}: {key} holds {ids:?}: {s} follows its base but is not an append"
        );
        assert!(
            !lineage.iter().any(|o| o.id == op.id),
            "round {round}: {key} holds append {s} twice"
        );
        lineage.push(op);
    }
    // Real time allows the order: each write ended after the one before began.
    for pair in lineage.windows(2) {
        assert!(
            before(pair[0].sent, pair[1].end()),
            "round {round}: {key} holds {} after {}, but it ended before that was sent",
            pair[1].id,
            pair[0].id
        );
    }
    // No acknowledged write is lost: one not in the object was sent before
    // the base ended, and the base (or what replaced it) came after it.
    for op in acked() {
        if lineage.iter().any(|o| o.id == op.id) {
            continue;
        }
        match base {
            None => panic!(
                "round {round}: {key} still holds what it held before the round, so acknowledged {:?} {} was lost",
                op.kind, op.id
            ),
            Some(b) => assert!(
                before(op.sent, b.end()),
                "round {round}: acknowledged {:?} {} on {key} was lost: the object's base {} ended before it was sent",
                op.kind,
                op.id,
                b.id
            ),
        }
    }
    // The ETag is of the whole object, or of the parts if nothing was appended.
    let expected = match (base, rest.is_empty()) {
        (None, true) => held.unwrap().etag.clone(),
        (Some(op), true) if matches!(op.kind, Kind::Multipart(_)) => {
            let mut parts = Vec::new();
            let mut at = 0;
            while at < seen.body.len() {
                let len = segment_len(&seen.body[at..]);
                parts.push(&seen.body[at..at + len]);
                at += len;
            }
            multipart_etag(&parts)
        }
        _ => md5_etag(&seen.body),
    };
    assert_eq!(seen.etag, expected, "round {round}: {key}'s ETag");
    Some(Held {
        segments: ids,
        etag: seen.etag.clone(),
    })
}

/// The byte length of the segment at the start of `bytes`.
fn segment_len(bytes: &[u8]) -> usize {
    let close = bytes.iter().position(|&b| b == b'>').unwrap();
    let header = std::str::from_utf8(&bytes[1..close]).unwrap();
    let len: usize = header.split_once('|').unwrap().1.parse().unwrap();
    close + 1 + len
}

/// Every key the disk lists, recursively, with size and ETag.
async fn listed(http: &reqwest::Client, base: &str, disk: &str) -> BTreeMap<String, (u64, String)> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{base}/{disk}?list-type=2");
        if let Some(t) = &token {
            url.push_str(&format!("&continuation-token={t}"));
        }
        let r = http
            .get(url)
            .header("authorization", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        for contents in text.split("<Contents>").skip(1) {
            let field = |tag: &str| {
                contents
                    .split(&format!("<{tag}>"))
                    .nth(1)
                    .and_then(|t| t.split(&format!("</{tag}>")).next())
                    .unwrap()
                    .replace("&quot;", "\"")
            };
            out.insert(
                field("Key"),
                (field("Size").parse().unwrap(), field("ETag")),
            );
        }
        match text.split("<NextContinuationToken>").nth(1) {
            Some(t) => token = Some(t.split('<').next().unwrap().to_owned()),
            None => return out,
        }
    }
}

async fn check_restart(
    server: &Server,
    dir: &Path,
    disk: &str,
    round: usize,
    ops: &[Op],
    held: &mut HashMap<&'static str, Held>,
) {
    let http = reqwest::Client::new();
    let mut seen = HashMap::new();
    for key in KEYS {
        let r = http
            .get(object_url(&server.base, disk, key))
            .header("authorization", KEY)
            .send()
            .await
            .expect("the restarted server answers");
        match r.status().as_u16() {
            200 => {
                let etag = r.headers()["etag"].to_str().unwrap().to_owned();
                let body = r.bytes().await.unwrap().to_vec();
                seen.insert(key, Seen { body, etag });
            }
            404 => {}
            other => panic!("round {round}: GET {key} answered {other}"),
        }
    }
    let list = listed(&http, &server.base, disk).await;
    let listed_keys: Vec<&str> = list.keys().map(String::as_str).collect();
    let mut present: Vec<&str> = seen.keys().copied().collect();
    present.sort();
    assert_eq!(
        listed_keys, present,
        "round {round}: the listing and GET disagree"
    );
    for (key, (size, etag)) in &list {
        let s = &seen[key.as_str()];
        assert_eq!(
            *size,
            s.body.len() as u64,
            "round {round}: {key}'s listed size"
        );
        assert_eq!(etag, &s.etag, "round {round}: {key}'s listed ETag");
    }
    // A directory that holds files is one: it cannot be deleted.
    for d in ["d/", "d/e/"] {
        if present.iter().any(|k| k.starts_with(d)) {
            let r = http
                .delete(object_url(&server.base, disk, d))
                .header("authorization", KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                409,
                "round {round}: DELETE {d} of a directory with files"
            );
        }
    }
    let blobs = std::fs::read_dir(dir.join("blobs")).unwrap().count();
    assert_eq!(
        blobs,
        present.len(),
        "round {round}: blobs/ holds {blobs} files for {} objects",
        present.len()
    );

    for key in KEYS {
        let mine: Vec<&Op> = ops.iter().filter(|o| o.key == key).collect();
        match check_key(key, &mine, held.get(key), seen.get(key), round) {
            Some(h) => {
                held.insert(key, h);
            }
            None => {
                held.remove(key);
            }
        }
    }
}

fn temp_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("archil-mock-crash-objects-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_tmp_empty(dir: &Path, round: usize) {
    let left: Vec<_> = std::fs::read_dir(dir.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "round {round}: tmp/ holds {left:?} after startup"
    );
}

#[test]
fn the_segment_format_detects_torn_and_mixed_bytes() {
    let mut a = segment("r0.w0.1", 100);
    a.extend(segment("r0.w1.2", 5));
    assert_eq!(segments(&a).unwrap(), ["r0.w0.1", "r0.w1.2"]);
    assert!(segments(&a[..a.len() - 1]).is_err(), "cut short");
    let mut flipped = a.clone();
    flipped[50] ^= 1;
    assert!(segments(&flipped).is_err(), "a changed byte");
    let mut mixed = segment("r0.w0.1", 100);
    mixed[60..].copy_from_slice(&segment("r0.w2.3", 100)[60..]);
    assert!(segments(&mixed).is_err(), "two writes' bytes mixed");
    assert!(segments(b"<x|3>ab").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_object_write_bursts_loses_no_acknowledged_write_20_times() {
    let started = Instant::now();
    let dir = temp_dir();
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = start(&dir);
    assert_tmp_empty(&dir, 0);
    let disk = server.create_disk("crash-objects").await;

    let mut held: HashMap<&'static str, Held> = HashMap::new();
    let (mut acked, mut in_flight) = (0, 0);
    for round in 0..ROUNDS {
        let ops = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| {
                tokio::spawn(writer(
                    server.base.clone(),
                    disk.clone(),
                    round,
                    n,
                    rng.random(),
                    ops.clone(),
                ))
            })
            .collect();
        let delay = Duration::from_millis(rng.random_range(0..400));
        tokio::time::sleep(delay).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        for w in writers {
            w.await.expect("a writer ends cleanly when the server dies");
        }

        server = start(&dir);
        assert_tmp_empty(&dir, round);
        let ops = ops.lock().clone();
        acked += ops.iter().filter(|o| o.acked.is_some()).count();
        in_flight += ops
            .iter()
            .filter(|o| o.acked.is_none() && !o.refused)
            .count();
        check_restart(&server, &dir, &disk, round, &ops, &mut held).await;
    }
    drop(server);
    eprintln!(
        "{ROUNDS} kills in {:?}: {acked} writes acknowledged, {in_flight} in flight at a kill, {} keys held at the end",
        started.elapsed(),
        held.len()
    );
    assert!(acked >= ROUNDS * 4, "only {acked} writes acknowledged");
    let _ = std::fs::remove_dir_all(&dir);
}
