//! Resource bounds under a flood of uploads, against the real binary:
//! 16 clients each put, upload multipart and append objects until they are
//! refused, while a monitor polls the disk's `dataSize` and the process's
//! RSS.
//!
//! - `--max-memory-bytes` (the only storage limit; it applies without
//!   `--data-dir`): refusals are 507 `InsufficientStorage` in S3 XML and
//!   nothing else (no other 5xx, no reset connection), `dataSize` never
//!   passes the limit, every acknowledged object is byte-exact afterwards
//!   and every refused one absent (no partial object, no upload left), the
//!   server still answers, and the peak RSS stays under idle + 2 × limit +
//!   32 MiB; after a second flood too, which may not raise the peak by more
//!   than 16 MiB (nothing is kept per request); and once everything is
//!   deleted the whole limit is usable again (nothing leaked from refused,
//!   aborted or replaced uploads).
//! - `--max-object-bytes`, in memory and with `--data-dir` (which has no
//!   total limit): every put (with `Content-Length` or chunked), part,
//!   Complete and append is accepted exactly when the object stays within
//!   the limit, else 400 `EntityTooLarge`; the same checks afterwards; with
//!   `--data-dir` `blobs/` holds exactly one file per object and `tmp/`
//!   nothing, and the RSS does not follow what is stored on disk (idle + 48
//!   MiB). Run twice, with everything deleted in between: the same seeded
//!   operations have the same outcome, and the peak RSS does not grow.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    chunked_request, md5_etag, multipart_etag, object_path, raw_http, xml_blocks, xml_one, Binary,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const KEY: &str = "key-archil-mock";
const CLIENTS: usize = 16;
const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
/// An append adds at most this much (README: exactly 1 MiB is allowed).
const APPEND_MAX: usize = MIB;
/// Client `n` of a flood draws from `SEED + n`.
const SEED: u64 = 0x5eed_b0b0;

// ---------------------------------------------------------------------------
// The binary

type Server = Binary;

fn start(args: &[&str]) -> Server {
    Binary::start(["--min-part-size", "0"].iter().chain(args))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "archil-mock-resource-bounds-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------
// Requests

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn etag(&self) -> String {
        self.headers["etag"].to_str().unwrap().to_owned()
    }

    /// Asserts a documented refusal: this status and S3 XML `<Error>` code.
    fn assert_refused(&self, status: u16, code: &str, what: &str) {
        let text = self.text();
        assert_eq!(self.status, status, "{what}: {text}");
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/xml"),
            "{what}: {text}"
        );
        assert!(text.contains("<Error>"), "{what}: {text}");
        assert_eq!(
            xml_one(&text, "Code").as_deref(),
            Some(code),
            "{what}: {text}"
        );
    }
}

#[derive(Clone)]
struct Ctx {
    http: reqwest::Client,
    base: String,
    addr: SocketAddr,
    disk: String,
}

impl Ctx {
    async fn send(&self, method: &str, path: &str, body: Bytes) -> Reply {
        let resp = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("authorization", KEY)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: the server did not answer: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: the answer was cut: {e}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A PUT with a chunked body (no `Content-Length`), in 16 KiB chunks.
    async fn put_chunked(&self, key: &str, body: &[u8]) -> Reply {
        let chunks: Vec<&[u8]> = body.chunks(16 * KIB).collect();
        let request = chunked_request(
            "PUT",
            &object_path(&self.disk, key),
            &[("authorization", KEY)],
            &chunks,
        );
        let r = raw_http(self.addr, &request).await;
        Reply {
            status: r.status,
            headers: r.headers,
            body: Bytes::from(r.body),
        }
    }

    fn path(&self, key: &str) -> String {
        object_path(&self.disk, key)
    }

    async fn create_upload(&self, key: &str) -> String {
        let r = self
            .send(
                "POST",
                &format!("{}?uploads=", self.path(key)),
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, 200, "create upload {key}: {}", r.text());
        xml_one(&r.text(), "UploadId").expect("an UploadId")
    }

    async fn abort(&self, key: &str, upload: &str) {
        let r = self
            .send(
                "DELETE",
                &format!("{}?uploadId={upload}", self.path(key)),
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, 204, "abort {key}: {}", r.text());
    }

    async fn complete(&self, key: &str, upload: &str, etags: &[String]) -> Reply {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
                i + 1
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        self.send(
            "POST",
            &format!("{}?uploadId={upload}", self.path(key)),
            Bytes::from(xml),
        )
        .await
    }

    async fn disk_data_size(&self) -> u64 {
        let r = self
            .send("GET", &format!("/api/disks/{}", self.disk), Bytes::new())
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v["data"]["dataSize"].as_u64().expect("dataSize")
    }
}

/// Bytes that say where they come from: a header, then a cheap pattern.
fn body(id: &str, len: usize) -> Bytes {
    let mut out = format!("<{id}|{len}>").into_bytes();
    out.truncate(len);
    let seed = id
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let start = out.len();
    out.extend(
        (start..len).map(|i| ((i as u32).wrapping_mul(2_654_435_761) ^ seed).to_le_bytes()[3]),
    );
    Bytes::from(out)
}

/// What a client knows it stored: acknowledged objects' bytes, and the keys
/// whose writes were all refused.
#[derive(Default)]
struct Ledger {
    objects: BTreeMap<String, Vec<u8>>,
    refused: BTreeSet<String>,
    acked: usize,
    refusals: usize,
}

impl Ledger {
    fn merge(&mut self, other: Ledger) {
        self.objects.extend(other.objects);
        self.refused.extend(other.refused);
        self.acked += other.acked;
        self.refusals += other.refusals;
    }
}

// ---------------------------------------------------------------------------
// Checks shared by the floods

/// Polls `dataSize` and the RSS until `done`; returns the peaks and samples.
async fn monitor(
    ctx: Ctx,
    pid_rss: impl Fn() -> u64,
    limit: Option<u64>,
    done: Arc<AtomicBool>,
) -> (u64, u64, usize) {
    let (mut size_peak, mut rss_peak, mut samples) = (0, 0, 0);
    while !done.load(Ordering::SeqCst) {
        let size = ctx.disk_data_size().await;
        if let Some(limit) = limit {
            assert!(size <= limit, "dataSize {size} passed the limit {limit}");
        }
        size_peak = size_peak.max(size);
        rss_peak = rss_peak.max(pid_rss());
        samples += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (size_peak, rss_peak, samples)
}

/// Every file the disk lists, with its size.
async fn listed(ctx: &Ctx) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{}?list-type=2", ctx.disk);
        if let Some(t) = &token {
            path.push_str(&format!("&continuation-token={t}"));
        }
        let r = ctx.send("GET", &path, Bytes::new()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        for c in xml_blocks(&text, "Contents") {
            out.insert(
                xml_one(c, "Key").unwrap(),
                xml_one(c, "Size").unwrap().parse().unwrap(),
            );
        }
        match xml_one(&text, "NextContinuationToken") {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

/// After a flood: the server answers, no upload is left, the disk holds
/// exactly the acknowledged objects byte for byte, refused keys are absent,
/// and `dataSize` is their total. Returns that total.
async fn check_stored(ctx: &Ctx, ledger: &Ledger) -> u64 {
    let health = ctx.send("GET", "/_mock/health", Bytes::new()).await;
    assert_eq!(health.status, 200, "the server is healthy after the flood");
    let uploads = ctx
        .send("GET", &format!("/{}?uploads=", ctx.disk), Bytes::new())
        .await;
    assert!(!uploads.text().contains("<Upload>"), "{}", uploads.text());
    let files = listed(ctx).await;
    let want: BTreeMap<String, u64> = ledger
        .objects
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    assert_eq!(
        files, want,
        "the disk lists exactly the acknowledged objects"
    );
    for (key, bytes) in &ledger.objects {
        let r = ctx.send("GET", &ctx.path(key), Bytes::new()).await;
        assert_eq!(r.status, 200, "{key}");
        assert!(r.body == bytes[..], "{key} is not byte-exact");
    }
    for key in ledger
        .refused
        .difference(&ledger.objects.keys().cloned().collect())
    {
        let r = ctx.send("GET", &ctx.path(key), Bytes::new()).await;
        r.assert_refused(404, "NoSuchKey", &format!("refused {key}"));
    }
    let total: u64 = want.values().sum();
    assert_eq!(ctx.disk_data_size().await, total, "dataSize");
    total
}

/// Deletes every object (DeleteObjects, 1000 at a time); `dataSize` is 0.
async fn delete_all(ctx: &Ctx, ledger: &mut Ledger) {
    let keys: Vec<String> = ledger.objects.keys().cloned().collect();
    for batch in keys.chunks(1000) {
        let mut xml = String::from("<Delete><Quiet>true</Quiet>");
        for k in batch {
            xml.push_str(&format!("<Object><Key>{k}</Key></Object>"));
        }
        xml.push_str("</Delete>");
        let r = ctx
            .send("POST", &format!("/{}?delete=", ctx.disk), Bytes::from(xml))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(!r.text().contains("<Error>"), "{}", r.text());
    }
    ledger.objects.clear();
    assert_eq!(
        ctx.disk_data_size().await,
        0,
        "dataSize after deleting everything"
    );
    assert!(listed(ctx).await.is_empty());
}

async fn new_disk(server: &Server) -> Ctx {
    let http = reqwest::Client::new();
    let disk = server.create_disk("flood").await;
    Ctx {
        http,
        base: server.base.clone(),
        addr: server.addr(),
        disk,
    }
}

fn fresh(ctx: &Ctx) -> Ctx {
    Ctx {
        http: reqwest::Client::new(),
        ..ctx.clone()
    }
}

// ---------------------------------------------------------------------------
// --max-memory-bytes

/// The memory limit of the first flood.
const MEMORY_LIMIT: usize = 16 * MIB;

/// One client of the memory flood: puts, multipart uploads and appends on
/// keys of its own until it has been refused 6 times (or 60 operations).
async fn memory_client(n: usize, ctx: Ctx) -> Ledger {
    let mut rng = StdRng::seed_from_u64(SEED + n as u64);
    let mut ledger = Ledger::default();
    let log = format!("c{n}/log");
    let full = |r: &Reply, what: &str| r.assert_refused(507, "InsufficientStorage", what);
    for i in 0..60 {
        if ledger.refusals >= 6 {
            break;
        }
        let roll = rng.random_range(0..100);
        if roll < 45 {
            let key = format!("c{n}/p{i}");
            let bytes = body(&key, rng.random_range(8 * KIB..768 * KIB));
            let r = ctx.send("PUT", &ctx.path(&key), bytes.clone()).await;
            if r.status == 200 {
                assert_eq!(r.etag(), md5_etag(&bytes));
                ledger.objects.insert(key, bytes.to_vec());
                ledger.acked += 1;
            } else {
                full(&r, &format!("put {key}"));
                ledger.refused.insert(key);
                ledger.refusals += 1;
            }
        } else if roll < 70 {
            let key = format!("c{n}/m{i}");
            let upload = ctx.create_upload(&key).await;
            let mut parts = Vec::new();
            let mut etags = Vec::new();
            let mut refused = false;
            for p in 1..=rng.random_range(2..=4) {
                let bytes = body(
                    &format!("{key}.p{p}"),
                    rng.random_range(32 * KIB..384 * KIB),
                );
                let r = ctx
                    .send(
                        "PUT",
                        &format!("{}?uploadId={upload}&partNumber={p}", ctx.path(&key)),
                        bytes.clone(),
                    )
                    .await;
                if r.status != 200 {
                    full(&r, &format!("part {p} of {key}"));
                    refused = true;
                    break;
                }
                etags.push(r.etag());
                parts.push(bytes);
            }
            if !refused {
                let r = ctx.complete(&key, &upload, &etags).await;
                if r.status == 200 {
                    let all: Vec<&[u8]> = parts.iter().map(|b| &b[..]).collect();
                    assert_eq!(xml_one(&r.text(), "ETag"), Some(multipart_etag(&all)));
                    ledger.objects.insert(key.clone(), parts.concat());
                    ledger.acked += 1;
                } else {
                    // Joining the parts needs room for the whole object.
                    full(&r, &format!("complete {key}"));
                    refused = true;
                }
            }
            if refused {
                ctx.abort(&key, &upload).await;
                ledger.refused.insert(key);
                ledger.refusals += 1;
            }
        } else if roll < 90 {
            let bytes = body(
                &format!("{log}.{i}"),
                rng.random_range(8 * KIB..=APPEND_MAX),
            );
            let r = ctx
                .send(
                    "PUT",
                    &format!("{}?append=true", ctx.path(&log)),
                    bytes.clone(),
                )
                .await;
            if r.status == 200 {
                let whole = ledger.objects.entry(log.clone()).or_default();
                whole.extend_from_slice(&bytes);
                assert_eq!(r.etag(), md5_etag(whole), "{log} after an append");
                ledger.acked += 1;
            } else {
                full(&r, &format!("append to {log}"));
                if !ledger.objects.contains_key(&log) {
                    ledger.refused.insert(log.clone());
                }
                ledger.refusals += 1;
            }
        } else {
            // Free something, so that others' writes fit again.
            let victim = ledger.objects.keys().find(|k| **k != log).cloned();
            if let Some(key) = victim {
                let r = ctx.send("DELETE", &ctx.path(&key), Bytes::new()).await;
                assert_eq!(r.status, 204, "delete {key}: {}", r.text());
                ledger.objects.remove(&key);
            }
        }
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_holds_under_a_flood_of_uploads_and_frees_for_reuse() {
    let started = Instant::now();
    eprintln!("seeds: client n uses {SEED:#x} + n");
    let limit = MEMORY_LIMIT.to_string();
    let server = Arc::new(start(&["--max-memory-bytes", &limit]));
    let ctx = new_disk(&server).await;
    let idle_rss = server.rss();

    // Two floods, everything deleted after each.
    let mut peaks = Vec::new();
    for round in 0..2 {
        let done = Arc::new(AtomicBool::new(false));
        let watched = server.clone();
        let watch = tokio::spawn(monitor(
            fresh(&ctx),
            move || watched.rss(),
            Some(MEMORY_LIMIT as u64),
            done.clone(),
        ));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| tokio::spawn(memory_client(n, fresh(&ctx))))
            .collect();
        let mut ledger = Ledger::default();
        for c in clients {
            ledger.merge(c.await.expect("a client finished"));
        }
        done.store(true, Ordering::SeqCst);
        let (size_peak, rss_sampled, samples) = watch.await.expect("the monitor finished");

        assert!(
            ledger.refusals >= CLIENTS,
            "round {round}: the flood was refused only {} times",
            ledger.refusals
        );
        let stored = check_stored(&ctx, &ledger).await;
        assert!(stored <= MEMORY_LIMIT as u64);
        let peak = server.peak_rss();
        eprintln!(
            "memory flood, round {round}: {} writes acknowledged, {} refused; dataSize peak \
             {size_peak} of {MEMORY_LIMIT} ({samples} samples); RSS idle {idle_rss}, peak {peak} \
             (sampled {rss_sampled}); {:?}",
            ledger.acked,
            ledger.refusals,
            started.elapsed()
        );
        // A bound, not a benchmark: the objects, a second copy of those
        // being joined or appended to, bodies in flight, the allocator's
        // slack.
        let bound = idle_rss + 2 * MEMORY_LIMIT as u64 + 32 * MIB as u64;
        assert!(
            peak <= bound,
            "round {round}: peak RSS {peak} passed {bound} (idle {idle_rss}, limit {MEMORY_LIMIT})"
        );
        peaks.push(peak);
        delete_all(&ctx, &mut ledger).await;
    }
    assert!(
        peaks[1] <= peaks[0] + 16 * MIB as u64,
        "the peak RSS grew from {} to {} with a second flood",
        peaks[0],
        peaks[1]
    );

    // Everything deleted, the whole limit is usable again: nothing leaked
    // from refused, aborted or replaced uploads.
    let mut ledger = Ledger::default();
    let piece = MEMORY_LIMIT / 8;
    for i in 0..7 {
        let key = format!("again/{i}");
        let bytes = body(&key, piece);
        let r = ctx.send("PUT", &ctx.path(&key), bytes.clone()).await;
        assert_eq!(
            r.status,
            200,
            "{key} after everything was deleted: {}",
            r.text()
        );
        ledger.objects.insert(key, bytes.to_vec());
    }
    // …and still the limit.
    let r = ctx
        .send(
            "PUT",
            &ctx.path("again/over"),
            body("again/over", 2 * piece),
        )
        .await;
    r.assert_refused(507, "InsufficientStorage", "a put past the limit");
    ledger.refused.insert("again/over".into());
    check_stored(&ctx, &ledger).await;
    eprintln!("{:?} in all", started.elapsed());
}

// ---------------------------------------------------------------------------
// --max-object-bytes

/// The object limit of the second and third floods.
const OBJECT_LIMIT: usize = 256 * KIB;

/// One client of an object-limit flood: every write is accepted exactly
/// when its object stays within the limit.
async fn object_client(n: usize, ctx: Ctx) -> Ledger {
    let mut rng = StdRng::seed_from_u64(SEED + 100 + n as u64);
    let mut ledger = Ledger::default();
    let log = format!("c{n}/log");
    let too_large = |r: &Reply, what: &str| r.assert_refused(400, "EntityTooLarge", what);
    let size = |rng: &mut StdRng| match rng.random_range(0..10) {
        0 => OBJECT_LIMIT,
        1 => OBJECT_LIMIT + 1,
        2..6 => rng.random_range(1..OBJECT_LIMIT),
        _ => rng.random_range(OBJECT_LIMIT + 1..3 * OBJECT_LIMIT),
    };
    for i in 0..30 {
        let roll = rng.random_range(0..100);
        if roll < 35 {
            let key = format!("c{n}/p{i}");
            let bytes = body(&key, size(&mut rng));
            let r = if rng.random_bool(0.25) {
                ctx.put_chunked(&key, &bytes).await
            } else {
                ctx.send("PUT", &ctx.path(&key), bytes.clone()).await
            };
            if bytes.len() <= OBJECT_LIMIT {
                assert_eq!(r.status, 200, "put {key} of {}: {}", bytes.len(), r.text());
                ledger.objects.insert(key, bytes.to_vec());
                ledger.acked += 1;
            } else {
                too_large(&r, &format!("put {key} of {}", bytes.len()));
                ledger.refused.insert(key);
                ledger.refusals += 1;
            }
        } else if roll < 60 {
            let key = format!("c{n}/m{i}");
            let upload = ctx.create_upload(&key).await;
            let mut parts: Vec<Bytes> = Vec::new();
            let mut etags = Vec::new();
            for p in 1..=rng.random_range(1..=3) {
                let len = if rng.random_bool(0.15) {
                    rng.random_range(OBJECT_LIMIT + 1..2 * OBJECT_LIMIT)
                } else {
                    rng.random_range(1..OBJECT_LIMIT / 2)
                };
                let bytes = body(&format!("{key}.p{p}"), len);
                let r = ctx
                    .send(
                        "PUT",
                        &format!("{}?uploadId={upload}&partNumber={p}", ctx.path(&key)),
                        bytes.clone(),
                    )
                    .await;
                if len > OBJECT_LIMIT {
                    too_large(&r, &format!("part {p} of {key}"));
                    ledger.refusals += 1;
                    break;
                }
                assert_eq!(r.status, 200, "part {p} of {key}: {}", r.text());
                etags.push(r.etag());
                parts.push(bytes);
            }
            let total: usize = parts.iter().map(Bytes::len).sum();
            if parts.is_empty() {
                ctx.abort(&key, &upload).await;
                ledger.refused.insert(key);
                continue;
            }
            let r = ctx.complete(&key, &upload, &etags).await;
            if total <= OBJECT_LIMIT {
                assert_eq!(r.status, 200, "complete {key} of {total}: {}", r.text());
                ledger.objects.insert(key, parts.concat());
                ledger.acked += 1;
            } else {
                too_large(&r, &format!("complete {key} of {total}"));
                // The upload stays, for the client to abort.
                ctx.abort(&key, &upload).await;
                ledger.refused.insert(key);
                ledger.refusals += 1;
            }
        } else if roll < 85 {
            let len = if rng.random_bool(0.1) {
                APPEND_MAX + 1
            } else {
                rng.random_range(1..64 * KIB)
            };
            let bytes = body(&format!("{log}.{i}"), len);
            let r = ctx
                .send(
                    "PUT",
                    &format!("{}?append=true", ctx.path(&log)),
                    bytes.clone(),
                )
                .await;
            let before = ledger.objects.get(&log).map_or(0, Vec::len);
            if before + len <= OBJECT_LIMIT && len <= APPEND_MAX {
                assert_eq!(r.status, 200, "append {len} to {before}: {}", r.text());
                let whole = ledger.objects.entry(log.clone()).or_default();
                whole.extend_from_slice(&bytes);
                assert_eq!(r.etag(), md5_etag(whole));
                ledger.acked += 1;
            } else {
                too_large(&r, &format!("append {len} to {before}"));
                if before == 0 {
                    ledger.refused.insert(log.clone());
                }
                ledger.refusals += 1;
            }
        } else {
            let victim = ledger.objects.keys().find(|k| **k != log).cloned();
            if let Some(key) = victim {
                let r = ctx.send("DELETE", &ctx.path(&key), Bytes::new()).await;
                assert_eq!(r.status, 204, "delete {key}: {}", r.text());
                ledger.objects.remove(&key);
            }
        }
    }
    ledger
}

/// The files under `dir` and their total size.
fn files_in(dir: &Path) -> (usize, u64) {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .fold((0, 0), |(n, total), len| (n + 1, total + len))
}

/// The object-limit flood, twice (the same seeded operations, so with the
/// same outcome: the space of the first is reusable), with everything
/// deleted in between and after.
async fn object_limit_flood(data_dir: Option<&Path>) {
    let started = Instant::now();
    eprintln!("seeds: client n uses {:#x} + n", SEED + 100);
    let limit = OBJECT_LIMIT.to_string();
    let mut args = vec!["--max-object-bytes", &limit];
    let dir_arg;
    if let Some(dir) = data_dir {
        dir_arg = dir.to_str().unwrap().to_owned();
        args.extend(["--data-dir", &dir_arg]);
    }
    let server = Arc::new(start(&args));
    let ctx = new_disk(&server).await;
    let idle_rss = server.rss();

    let mut peaks = Vec::new();
    let mut outcomes = Vec::new();
    for round in 0..2 {
        let done = Arc::new(AtomicBool::new(false));
        let watched = server.clone();
        let watch = tokio::spawn(monitor(
            fresh(&ctx),
            move || watched.rss(),
            None,
            done.clone(),
        ));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| tokio::spawn(object_client(n, fresh(&ctx))))
            .collect();
        let mut ledger = Ledger::default();
        for c in clients {
            ledger.merge(c.await.expect("a client finished"));
        }
        done.store(true, Ordering::SeqCst);
        let (size_peak, _, samples) = watch.await.expect("the monitor finished");

        let stored = check_stored(&ctx, &ledger).await;
        for (key, bytes) in &ledger.objects {
            assert!(bytes.len() <= OBJECT_LIMIT, "{key} is over the limit");
        }
        if let Some(dir) = data_dir {
            // One blob per object, nothing half-written, nothing leaked.
            assert_eq!(files_in(&dir.join("tmp")), (0, 0), "tmp/ after the flood");
            assert_eq!(
                files_in(&dir.join("blobs")),
                (ledger.objects.len(), stored),
                "blobs/ holds exactly the objects"
            );
        }
        let peak = server.peak_rss();
        eprintln!(
            "object-limit flood ({}), round {round}: {} writes acknowledged, {} refused; \
             dataSize peak {size_peak} ({samples} samples), {stored} stored; RSS idle {idle_rss}, \
             peak {peak}; {:?}",
            if data_dir.is_some() {
                "--data-dir"
            } else {
                "memory"
            },
            ledger.acked,
            ledger.refusals,
            started.elapsed()
        );
        // A bound, not a benchmark. With --data-dir the bytes live on disk:
        // the process holds a few objects at a time (a join, an append, a
        // GET, a body being read), not what is stored; in memory, what is
        // stored, once.
        let bound = match data_dir {
            Some(_) => idle_rss + 48 * MIB as u64,
            None => idle_rss + 2 * stored + 32 * MIB as u64,
        };
        assert!(
            peak <= bound,
            "round {round}: peak RSS {peak} passed {bound} (idle {idle_rss}, stored {stored})"
        );
        peaks.push(peak);
        outcomes.push((ledger.acked, ledger.refusals, stored));

        delete_all(&ctx, &mut ledger).await;
        if let Some(dir) = data_dir {
            assert_eq!(
                files_in(&dir.join("blobs")),
                (0, 0),
                "blobs/ after deleting everything"
            );
        }
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "the same operations on an emptied disk had the same outcome"
    );
    // The same traffic again holds no more: nothing is kept per request.
    assert!(
        peaks[1] <= peaks[0] + 16 * MIB as u64,
        "the peak RSS grew from {} to {} with the same traffic",
        peaks[0],
        peaks[1]
    );

    // An object of exactly the limit fits, again and again.
    let mut ledger = Ledger::default();
    for i in 0..4 {
        let key = format!("again/{i}");
        let bytes = body(&key, OBJECT_LIMIT);
        let r = ctx.send("PUT", &ctx.path(&key), bytes.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        ledger.objects.insert(key, bytes.to_vec());
    }
    check_stored(&ctx, &ledger).await;
    eprintln!("{:?} in all", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_limit_holds_under_a_flood_in_memory() {
    object_limit_flood(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_limit_holds_under_a_flood_with_a_data_dir() {
    let dir = temp_dir("data");
    object_limit_flood(Some(&dir)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
