//! The S3-compatible object gateway, on the same port as the API: the
//! SDKs derive its URL from the control plane's, so `/{diskId}/{key}` is a
//! disk's contents, authenticated with the same API key.
//!
//! A request's path, one way: decode the operation from the method, path
//! and query (body unread) → under the lock, who calls and whether a fault
//! fires (as for the API) → check the key and find the disk → read the body
//! *outside* the lock (XML under a small cap; object bytes streamed into a
//! staged blob with a running MD5) → under the lock, a pure function updates
//! the index ([`objects`], [`multipart`]) → outside again, free replaced
//! blobs, log the change (`--data-dir`) and answer. Errors are S3 XML
//! ([`error::S3Error`]); the journal keeps a summary of object bodies.

pub mod error;
pub mod multipart;
pub mod objects;
pub mod route;
pub mod share;
pub mod xml;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    LAST_MODIFIED, RANGE,
};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use md5::{Digest, Md5};

use self::error::S3Error;
use self::objects::{Attrs, Change, Etag, FileMeta, Item, DIR_MODE, FILE_MODE};
use self::route::S3Op;
use crate::api::disks::{self, Disk};
use crate::clock;
use crate::faults::{Fired, Phase};
use crate::journal::RecordedBody;
use crate::server::{admit, auth_header, strike, Admitted, App, Done, Dropped, Resp, Strike};
use crate::state::State;
use crate::store::dir::LogRecord;
use crate::store::{Blob, Reader, StageError};

/// An append may add at most this much: 1 MiB.
pub const APPEND_MAX: u64 = 1 << 20;
/// The largest XML request body (DeleteObjects of 1000 long keys, or
/// Complete of 10000 parts).
pub const XML_MAX: usize = 4 << 20;
/// DeleteObjects takes at most this many keys.
pub const DELETE_MAX: usize = 1000;
/// The Content-Type stored when none is sent.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
/// How many times an append retries when another write of the key wins.
const APPEND_TRIES: usize = 16;

/// Whether the gateway answers this path: a disk's path, or a share URL.
pub fn handles(path: &str) -> bool {
    route::is_gateway_path(path) || path.starts_with(share::PATH_PREFIX)
}

impl App {
    /// The bytes of a file of a disk (any account), or `None`: for tests
    /// that check what a client wrote. Blocking (reads the store).
    pub fn read_object(&self, disk_id: &str, key: &str) -> Option<Bytes> {
        let reader = {
            let mut core = self.core.lock();
            let disk = disks::parse_disk_id(disk_id)
                .and_then(|id| disks::find_any_mut(&mut core.state, id))?;
            let meta = disk.objects.file(key).ok()?;
            self.store.open(&meta.blob).ok()?
        };
        reader.read_all().ok()
    }

    /// Makes a directory (and its parents) on a disk (any account), as a
    /// `PUT dir/` with an empty body would. Blocking (the log with `--data-dir`).
    pub fn make_directory(&self, disk_id: &str, key: &str) -> Result<(), S3Error> {
        route::check_key(key)?;
        let attrs = Attrs {
            mode: DIR_MODE,
            uid: 0,
            gid: 0,
        };
        self.change_disk(disk_id, |objects| {
            Ok((None, objects.mkdir(key, attrs, clock::now_ms())?))
        })
    }

    /// Deletes a file, or an empty directory, of a disk (any account), as a
    /// DeleteObject would. Blocking (the log with `--data-dir`).
    pub fn delete_object(&self, disk_id: &str, key: &str) -> Result<(), S3Error> {
        route::check_key(key)?;
        self.change_disk(disk_id, |objects| objects.delete(key))
    }

    /// Writes a file of a disk (any account), as a PutObject with no
    /// headers would: for tests that give a client something to read.
    /// Blocking (writes the store, and the log with `--data-dir`).
    pub fn write_object(&self, disk_id: &str, key: &str, bytes: &[u8]) -> Result<(), S3Error> {
        route::check_key(key)?;
        let mut staging = self.store.stage().map_err(stage_error)?;
        staging.write(bytes).map_err(stage_error)?;
        let blob = staging.finish().map_err(stage_error)?;
        let meta = FileMeta {
            size: bytes.len() as u64,
            etag: Etag::of(bytes),
            content_type: objects::content_type(DEFAULT_CONTENT_TYPE),
            modified_ms: clock::now_ms(),
            attrs: Attrs {
                mode: FILE_MODE,
                uid: 0,
                gid: 0,
            },
            blob: blob.clone(),
            generation: 0,
        };
        let written = self.change_disk(disk_id, |objects| {
            objects.put_file(key, meta, clock::now_ms())
        });
        if written.is_err() {
            self.store.remove(&blob);
        }
        written
    }

    /// Applies one index change to a disk (any account) under the lock,
    /// makes it durable, then frees the blob it replaced.
    fn change_disk(
        &self,
        disk_id: &str,
        change: impl FnOnce(&mut objects::Objects) -> Result<(objects::Replaced, Vec<Change>), S3Error>,
    ) -> Result<(), S3Error> {
        let (old, records) = {
            let mut core = self.core.lock();
            let core = &mut *core;
            let disk = disks::parse_disk_id(disk_id)
                .and_then(|id| disks::find_any_mut(&mut core.state, id))
                .ok_or_else(|| S3Error::no_such_bucket(format!("no disk {}", shown(disk_id))))?;
            let (old, changes) = change(&mut disk.objects)?;
            let mut recorder = Recorder {
                seq: &mut core.object_seq,
                log: self.object_log.as_ref(),
            };
            (old, to_records(disk.id, &changes, &mut recorder))
        };
        if let (Some(log), false) = (&self.object_log, records.is_empty()) {
            log.sync().map_err(|e| {
                S3Error::internal_error(format!("the object log cannot be written: {e}"))
            })?;
        }
        if let Some(old) = old {
            self.store.remove(&old);
        }
        Ok(())
    }
}

/// Answers one gateway request.
pub(crate) async fn serve(
    app: Arc<App>,
    parts: Parts,
    body: Incoming,
    started: Instant,
    at_ms: i64,
) -> Result<Resp, Dropped> {
    let head = parts.method == Method::HEAD;
    let shared = parts.uri.path().strip_prefix(share::PATH_PREFIX);
    let decoded = match shared {
        Some(_) if parts.method != Method::GET && !head => Err(S3Error::method_not_allowed(
            "a share URL answers GET and HEAD only",
        )),
        Some(_) => Ok(None),
        None => route::decode(&parts.method, parts.uri.path(), parts.uri.query()).map(Some),
    };
    let auth = auth_header(&parts);
    let shortcut = Fired::from_headers(&parts.headers);
    let Admitted {
        seq,
        key,
        account: account_name,
        fired,
    } = {
        let mut core = app.core.lock();
        admit(&mut core, &parts, auth, &shortcut)
    };
    let mut done = Done {
        seq,
        at_ms,
        started,
        fault: fired.as_ref().map(|f| f.rule.clone()),
        account: account_name,
        body: RecordedBody::Empty,
    };
    let xml = |e: S3Error| e.into_response(seq, head);

    if let Err(e) = &shortcut {
        let e = S3Error::invalid_argument(e.message());
        return done.finish(&app, &parts, Some(e.status), Some(xml(e)));
    }
    match strike(fired.as_ref(), Phase::Before).await {
        Strike::Drop => return done.finish(&app, &parts, None, None),
        Strike::Answer(e) => {
            let e = S3Error::injected(e.status().as_u16(), e.message());
            return done.finish(&app, &parts, Some(e.status), Some(xml(e)));
        }
        Strike::Pass => {}
    }

    // A before-phase delay slept: the key may have been revoked meanwhile.
    let key = match fired.as_ref().filter(|f| f.phase == Phase::Before) {
        Some(_) => crate::server::authenticate(&app.core.lock().state, auth),
        None => key,
    };
    let result = match (decoded, shared) {
        (_, Some(token)) if parts.method == Method::GET || head => {
            serve_shared(&app, token, &parts.headers, head).await
        }
        // Auth first, so a caller without a key learns nothing of the rest.
        (_, None) if key.is_err() => Err(S3Error::access_denied(
            "a live API key is required: send `Authorization: key-…`",
        )),
        (Err(e), _) => Err(e),
        (Ok(request), _) => {
            let request = request.expect("decoded when not shared");
            match key {
                Err(_) => unreachable!("refused above"),
                Ok(key) => {
                    let call = Call {
                        app: &app,
                        account: key.account,
                        disk: &request.disk,
                        headers: &parts.headers,
                    };
                    execute(call, request.op, body, &mut done.body).await
                }
            }
        }
    };
    let response = result.unwrap_or_else(xml);
    match strike(fired.as_ref(), Phase::After).await {
        Strike::Drop => done.finish(&app, &parts, None, None),
        Strike::Answer(e) => {
            let e = S3Error::injected(e.status().as_u16(), e.message());
            done.finish(&app, &parts, Some(e.status), Some(xml(e)))
        }
        Strike::Pass => {
            let status = response.status().as_u16();
            done.finish(&app, &parts, Some(status), Some(response))
        }
    }
}

/// What every operation needs: the app, the caller's account, the disk in
/// the path (as sent) and the request headers.
#[derive(Clone, Copy)]
struct Call<'a> {
    app: &'a Arc<App>,
    account: u32,
    disk: &'a str,
    headers: &'a HeaderMap,
}

impl Call<'_> {
    /// Runs `f` on the disk under the lock, marking it accessed. An unknown
    /// disk, or another account's, is `NoSuchBucket`: clients resolve `..`
    /// in keys, so the disk in the path is what is authorized.
    fn with_disk<T>(
        &self,
        f: impl FnOnce(&mut Disk, &mut Recorder) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let now_ms = clock::now_ms();
        let mut core = self.app.core.lock();
        let core = &mut *core;
        let ctx = crate::api::Ctx {
            account: self.account,
            now_ms,
        };
        let disk = disks::find_mut(&mut core.state, ctx, self.disk, disks::Malformed::NotFound)
            .map_err(|_| S3Error::no_such_bucket(format!("no disk {}", shown(self.disk))))?;
        disk.last_accessed_ms = Some(now_ms);
        f(
            disk,
            &mut Recorder {
                seq: &mut core.object_seq,
                log: self.app.object_log.as_ref(),
            },
        )
    }

    /// Frees blobs nothing refers to any more.
    fn free(&self, blobs: impl IntoIterator<Item = Blob>) {
        for blob in blobs {
            self.app.store.remove(&blob);
        }
    }

    /// Makes index changes durable (with `--data-dir`) before the answer:
    /// their records were written under the lock; this fsyncs them.
    async fn log(&self, records: Vec<LogRecord>) -> Result<(), S3Error> {
        if self.app.object_log.is_none() || records.is_empty() {
            return Ok(());
        }
        let app = self.app.clone();
        tokio::task::spawn_blocking(move || app.object_log.as_ref().expect("checked above").sync())
            .await
            .map_err(|e| S3Error::internal_error(format!("the object log writer failed: {e}")))?
            .map_err(|e| S3Error::internal_error(format!("the object log cannot be written: {e}")))
    }

    fn content_type(&self) -> Arc<str> {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map_or_else(
                || objects::content_type(DEFAULT_CONTENT_TYPE),
                objects::content_type,
            )
    }
}

fn shown(text: &str) -> String {
    crate::api::shorten(text)
}

/// Runs one decoded operation.
async fn execute(
    call: Call<'_>,
    op: S3Op,
    body: Incoming,
    recorded: &mut RecordedBody,
) -> Result<Resp, S3Error> {
    match op {
        S3Op::HeadBucket => {
            call.with_disk(|_, _| Ok(()))?;
            Ok(empty(StatusCode::OK))
        }
        S3Op::GetObject { key } => get_object(call, &key, false).await,
        S3Op::HeadObject { key } => get_object(call, &key, true).await,
        S3Op::PutObject { key } => put_object(call, &key, body, recorded).await,
        S3Op::AppendObject { key } => append_object(call, &key, body, recorded).await,
        S3Op::DeleteObject { key } => {
            let (old, records) = call.with_disk(|disk, seq| {
                let (old, changes) = disk.objects.delete(&key)?;
                Ok((old, to_records(disk.id, &changes, seq)))
            })?;
            call.log(records).await?;
            call.free(old);
            Ok(empty(StatusCode::NO_CONTENT))
        }
        S3Op::DeleteObjects => delete_objects(call, body, recorded).await,
        S3Op::ListObjects(params) => {
            let bucket = call.disk.to_owned();
            let result = call.with_disk(|disk, _| {
                let page = disk.objects.list(&params);
                let mut contents = Vec::new();
                let mut common = Vec::new();
                for item in &page.items {
                    match item {
                        Item::File(key, meta) => contents.push(xml::Contents {
                            key: (*key).to_owned(),
                            last_modified: iso(meta.modified_ms),
                            etag: meta.etag.to_string(),
                            size: meta.size,
                            storage_class: "STANDARD",
                        }),
                        Item::Prefix(p) => common.push(xml::CommonPrefix { prefix: p.clone() }),
                    }
                }
                Ok(xml::ListBucketResult {
                    xmlns: xml::NAMESPACE,
                    name: bucket,
                    prefix: params.prefix.clone(),
                    delimiter: params.delimiter.clone(),
                    max_keys: params.max_keys,
                    key_count: page.items.len(),
                    is_truncated: page.truncated,
                    continuation_token: params.continuation_token.clone(),
                    next_continuation_token: page.next_token.clone(),
                    start_after: params.start_after.clone(),
                    contents,
                    common_prefixes: common,
                })
            })?;
            Ok(xml_response(&result))
        }
        S3Op::CreateUpload { key } => {
            let attrs = posix_attrs(call.headers, FILE_MODE)?;
            let content_type = call.content_type();
            let bucket = call.disk.to_owned();
            let upload_id = call.with_disk(|disk, _| {
                disk.objects
                    .create_upload(&key, content_type, attrs, clock::now_ms())
            })?;
            Ok(xml_response(&xml::Initiated {
                xmlns: xml::NAMESPACE,
                bucket,
                key,
                upload_id,
            }))
        }
        S3Op::UploadPart {
            key,
            upload_id,
            part_number,
        } => {
            // Fail fast, before staging a body for an upload that is gone.
            let mut body = body;
            if let Err(e) =
                call.with_disk(|disk, _| disk.objects.upload(&key, &upload_id).map(|_| ()))
            {
                drain(call, &mut body).await;
                return Err(e);
            }
            let staged = stage_body(call, body, call.app.config.max_object_bytes, recorded).await?;
            let part = multipart::Part {
                md5: staged.etag.md5,
                size: staged.size,
                modified_ms: clock::now_ms(),
                blob: staged.blob.clone(),
            };
            let replaced = call
                .with_disk(|disk, _| disk.objects.add_part(&key, &upload_id, part_number, part));
            match replaced {
                Ok(old) => {
                    call.free(old);
                    Ok(with_etag(empty(StatusCode::OK), &staged.etag))
                }
                Err(e) => {
                    call.free([staged.blob]);
                    Err(e)
                }
            }
        }
        S3Op::CompleteUpload { key, upload_id } => {
            complete_upload(call, &key, &upload_id, body, recorded).await
        }
        S3Op::AbortUpload { key, upload_id } => {
            let blobs = call.with_disk(|disk, _| disk.objects.remove_upload(&key, &upload_id))?;
            call.free(blobs);
            Ok(empty(StatusCode::NO_CONTENT))
        }
        S3Op::ListParts {
            key,
            upload_id,
            marker,
            max_parts,
        } => {
            let bucket = call.disk.to_owned();
            let result = call.with_disk(|disk, _| {
                let upload = disk.objects.upload(&key, &upload_id)?;
                let (parts, more) = multipart::parts_page(upload, marker, max_parts);
                Ok(xml::ListPartsResult {
                    xmlns: xml::NAMESPACE,
                    bucket,
                    key: key.clone(),
                    upload_id: upload_id.clone(),
                    part_number_marker: marker,
                    next_part_number_marker: parts.last().map_or(marker, |(n, _)| *n),
                    max_parts,
                    is_truncated: more,
                    parts: parts
                        .into_iter()
                        .map(|(n, p)| xml::PartEntry {
                            part_number: n,
                            last_modified: iso(p.modified_ms),
                            etag: Etag {
                                md5: p.md5,
                                parts: 0,
                            }
                            .to_string(),
                            size: p.size,
                        })
                        .collect(),
                })
            })?;
            Ok(xml_response(&result))
        }
        S3Op::ListUploads(params) => {
            let bucket = call.disk.to_owned();
            let result = call.with_disk(|disk, _| {
                let page = disk.objects.list_uploads(&params);
                let (uploads, prefixes, truncated) = (page.uploads, page.prefixes, page.truncated);
                let last = page.next;
                Ok(xml::ListUploadsResult {
                    xmlns: xml::NAMESPACE,
                    bucket,
                    key_marker: params.key_marker.clone(),
                    upload_id_marker: params.upload_id_marker.clone(),
                    next_key_marker: truncated.then(|| last.clone().map(|l| l.0)).flatten(),
                    next_upload_id_marker: truncated.then(|| last.map(|l| l.1)).flatten(),
                    prefix: params.prefix.clone(),
                    delimiter: params.delimiter.clone(),
                    max_uploads: params.max_uploads,
                    is_truncated: truncated,
                    uploads: uploads
                        .into_iter()
                        .map(|(id, u)| xml::UploadEntry {
                            key: u.key.clone(),
                            upload_id: id.clone(),
                            initiated: iso(u.initiated_ms),
                            storage_class: "STANDARD",
                        })
                        .collect(),
                    common_prefixes: prefixes
                        .into_iter()
                        .map(|prefix| xml::CommonPrefix { prefix })
                        .collect(),
                })
            })?;
            Ok(xml_response(&result))
        }
    }
}

/// GetObject and HeadObject: the file's bytes (or a single `Range`) and
/// its headers. The blob is opened under the lock, read outside it.
async fn get_object(call: Call<'_>, key: &str, head: bool) -> Result<Resp, S3Error> {
    let (meta, reader) = call.with_disk(|disk, _| {
        let meta = disk.objects.file(key)?.clone();
        let reader = call
            .app
            .store
            .open(&meta.blob)
            .map_err(|e| S3Error::internal_error(format!("the object cannot be read: {e}")))?;
        Ok((meta, reader))
    })?;
    object_response(call.headers, &meta, reader, head).await
}

/// The response for a file's bytes: 200, or 206 for one satisfiable range.
async fn object_response(
    headers: &HeaderMap,
    meta: &FileMeta,
    reader: Reader,
    head: bool,
) -> Result<Resp, S3Error> {
    let range = match headers.get(RANGE).and_then(|v| v.to_str().ok()) {
        Some(text) => parse_range(text, meta.size)?,
        None => None,
    };
    let (start, end) = range.unwrap_or((0, meta.size));
    let len = end - start;
    // HEAD reads nothing, but says how long the body would be.
    let bytes = if head {
        Bytes::new()
    } else {
        off_workers(reader.blocks(), move || reader.read_range(start, end))
            .await?
            .map_err(|e| S3Error::internal_error(format!("the object cannot be read: {e}")))?
    };
    let mut response = Response::new(Full::new(bytes));
    let h = response.headers_mut();
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some((start, end)) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        response.headers_mut().insert(
            CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{}/{}", end - 1, meta.size))
                .expect("ASCII"),
        );
    }
    let h = response.headers_mut();
    h.insert(
        ETAG,
        HeaderValue::from_str(&meta.etag.to_string()).expect("ASCII"),
    );
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type)
            .unwrap_or(HeaderValue::from_static(DEFAULT_CONTENT_TYPE)),
    );
    h.insert(LAST_MODIFIED, http_date(meta.modified_ms));
    Ok(response)
}

/// A single `bytes=` range as `start..end`, or `None` to send it all
/// (several ranges, or a form S3 ignores). Unsatisfiable → 416 `InvalidRange`.
pub fn parse_range(text: &str, size: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = || {
        S3Error::invalid_range(format!(
            "the range {text} is not satisfiable for {size} bytes"
        ))
    };
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| S3Error::invalid_range(format!("the range {text} is malformed")))?;
    // RFC 9110's 1*DIGIT: no sign; a position past u64 is still a valid one
    // (past the end of any object), so it saturates.
    let num = |s: &str| {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(S3Error::invalid_range(format!(
                "the range {text} is malformed"
            )));
        }
        Ok(s.parse::<u64>().unwrap_or(u64::MAX))
    };
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => Err(S3Error::invalid_range(format!(
            "the range {text} is malformed"
        ))),
        (true, false) => {
            let n = num(b)?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            Ok(Some((size.saturating_sub(n), size)))
        }
        (false, open) => {
            let start = num(a)?;
            if start >= size {
                return Err(unsatisfiable());
            }
            let end = if open {
                size
            } else {
                num(b)?.saturating_add(1).min(size)
            };
            if end <= start {
                return Err(S3Error::invalid_range(format!(
                    "the range {text} is malformed"
                )));
            }
            Ok(Some((start, end)))
        }
    }
}

/// A blob staged from a request body.
struct Staged {
    blob: Blob,
    etag: Etag,
    size: u64,
}

/// Streams a body into a new blob, hashing as it goes; refuses more than
/// `limit` bytes (by `Content-Length` first, then by counting) with
/// `EntityTooLarge`, and a full memory store with `InsufficientStorage`.
async fn stage_body(
    call: Call<'_>,
    mut body: Incoming,
    limit: u64,
    recorded: &mut RecordedBody,
) -> Result<Staged, S3Error> {
    let too_large = || {
        S3Error::entity_too_large(format!(
            "the body is larger than the limit of {limit} bytes"
        ))
    };
    let declared = call
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(call, &mut body).await;
        return Err(too_large());
    }
    let mut staging = match call.app.store.stage() {
        Ok(staging) => staging,
        Err(e) => {
            drain(call, &mut body).await;
            return Err(stage_error(e));
        }
    };
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut preview = Vec::new();
    let timeout = call.app.config.request_timeout;
    loop {
        let frame = match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => return Err(S3Error::request_timeout("the body did not arrive in time")),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(S3Error::invalid_request(format!(
                    "the body could not be read: {e}"
                )))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        size += chunk.len() as u64;
        if size > limit {
            drain(call, &mut body).await;
            return Err(too_large());
        }
        md5.update(&chunk);
        if preview.len() < PREVIEW {
            preview.extend_from_slice(&chunk[..chunk.len().min(PREVIEW - preview.len())]);
        }
        if let Err(e) = staging.write(&chunk) {
            // A full memory store: the client is still sending.
            drop(staging);
            drain(call, &mut body).await;
            return Err(stage_error(e));
        }
    }
    let etag = Etag {
        md5: md5.finalize().into(),
        parts: 0,
    };
    *recorded = summary(size, call.headers, &etag, &preview);
    let blob = off_workers(staging.blocks(), move || staging.finish())
        .await?
        .map_err(stage_error)?;
    Ok(Staged { blob, etag, size })
}

/// Runs store work where it belongs: on the blocking pool when it does I/O
/// (`--data-dir`), inline when it does not (the memory store), where a
/// handoff to another thread would cost more than the work (it was most of a
/// 4 KiB GET's CPU).
async fn off_workers<T: Send + 'static>(
    io: bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, S3Error> {
    if !io {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| S3Error::internal_error(format!("the store failed: {e}")))
}

/// How much of a refused body is read and dropped, so that the client,
/// still sending, gets the error instead of a reset connection.
const DRAIN_MAX: u64 = 16 << 20;

/// Reads and drops what is left of a refused body, up to [`DRAIN_MAX`] and
/// the request timeout; past that the connection is closed after the answer.
async fn drain(call: Call<'_>, body: &mut Incoming) {
    let mut seen = 0u64;
    let deadline = tokio::time::Instant::now() + call.app.config.request_timeout;
    while seen <= DRAIN_MAX {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(chunk) = frame.into_data() {
                    seen += chunk.len() as u64;
                }
            }
            _ => return,
        }
    }
}

/// Bytes of a body the journal shows.
const PREVIEW: usize = 64;

/// The journal's view of an object body: size, type, digest, a short preview.
fn summary(size: u64, headers: &HeaderMap, etag: &Etag, preview: &[u8]) -> RecordedBody {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let shown: String = String::from_utf8_lossy(preview)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    RecordedBody::Summary(format!(
        "{size} bytes, {content_type}, md5 {}, preview {shown:?}",
        hex::encode(etag.md5)
    ))
}

fn stage_error(e: StageError) -> S3Error {
    match e {
        StageError::Full { limit } => S3Error::insufficient_storage(format!(
            "the memory store holds at most {limit} bytes (--max-memory-bytes)"
        )),
        StageError::Io(e) => S3Error::internal_error(format!("the store cannot be written: {e}")),
    }
}

/// Reads a small body (XML, an append) whole, refusing more than `limit`.
async fn read_small(
    call: Call<'_>,
    mut body: Incoming,
    limit: usize,
    too_large: impl Fn() -> S3Error,
) -> Result<Bytes, S3Error> {
    let declared = call
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        drain(call, &mut body).await;
        return Err(too_large());
    }
    match tokio::time::timeout(
        call.app.config.request_timeout,
        Limited::new(body, limit).collect(),
    )
    .await
    {
        Err(_) => Err(S3Error::request_timeout("the body did not arrive in time")),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(S3Error::invalid_request(format!(
            "the body could not be read: {e}"
        ))),
    }
}

/// The POSIX attributes from `x-archil-mode` (octal), `x-archil-uid` and
/// `x-archil-gid` (decimal); `mode` by default, root otherwise.
pub fn posix_attrs(headers: &HeaderMap, mode: u32) -> Result<Attrs, S3Error> {
    let get = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").trim().to_owned())
    };
    let mode = match get("x-archil-mode") {
        None => mode,
        Some(text) => match u32::from_str_radix(&text, 8) {
            Ok(m) if m <= 0o7777 && !text.is_empty() && !text.starts_with('+') => m,
            _ => {
                return Err(S3Error::invalid_argument(format!(
                    "x-archil-mode must be octal permission bits up to 7777, not {:?}",
                    shown(&text)
                )))
            }
        },
    };
    let id = |name: &str| -> Result<u32, S3Error> {
        match get(name) {
            None => Ok(0),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if n != u32::MAX && !text.starts_with('+') => Ok(n),
                _ => Err(S3Error::invalid_argument(format!(
                    "{name} must be a decimal id from 0 to 4294967294, not {:?}",
                    shown(&text)
                ))),
            },
        }
    };
    Ok(Attrs {
        mode,
        uid: id("x-archil-uid")?,
        gid: id("x-archil-gid")?,
    })
}

/// PutObject: a file, or with a `/` key and an empty body, a directory.
async fn put_object(
    call: Call<'_>,
    key: &str,
    body: Incoming,
    recorded: &mut RecordedBody,
) -> Result<Resp, S3Error> {
    if key.ends_with('/') {
        let attrs = posix_attrs(call.headers, DIR_MODE)?;
        let bytes = read_small(call, body, 0, || {
            S3Error::invalid_request(
                "a key ending in '/' makes a directory and takes an empty body",
            )
        })
        .await?;
        debug_assert!(bytes.is_empty());
        let records = call.with_disk(|disk, seq| {
            let changes = disk.objects.mkdir(key, attrs, clock::now_ms())?;
            Ok(to_records(disk.id, &changes, seq))
        })?;
        call.log(records).await?;
        return Ok(with_etag(empty(StatusCode::OK), &Etag::of(b"")));
    }
    let attrs = posix_attrs(call.headers, FILE_MODE)?;
    let content_type = call.content_type();
    // Refuse a conflicting key before staging what may be a large body
    // (which is read and dropped, so that the connection stays usable).
    if let Err(e) = call.with_disk(|disk, _| disk.objects.check_file(key)) {
        let mut body = body;
        drain(call, &mut body).await;
        return Err(e);
    }
    let staged = stage_body(call, body, call.app.config.max_object_bytes, recorded).await?;
    let meta = FileMeta {
        size: staged.size,
        etag: staged.etag,
        content_type,
        modified_ms: clock::now_ms(),
        attrs,
        blob: staged.blob.clone(),
        generation: 0,
    };
    commit_file(call, key, meta).await?;
    Ok(with_etag(empty(StatusCode::OK), &staged.etag))
}

/// Writes a staged file into the index, then logs it and frees what it
/// replaced; on a conflict, frees the new blob instead.
async fn commit_file(call: Call<'_>, key: &str, meta: FileMeta) -> Result<(), S3Error> {
    let blob = meta.blob.clone();
    let written = call.with_disk(|disk, seq| {
        let (old, changes) = disk.objects.put_file(key, meta, clock::now_ms())?;
        Ok((old, to_records(disk.id, &changes, seq)))
    });
    match written {
        Ok((old, records)) => {
            call.log(records).await?;
            call.free(old);
            Ok(())
        }
        Err(e) => {
            call.free([blob]);
            Err(e)
        }
    }
}

/// Append (`?append=true`): creates the file, or writes a new blob of the old
/// bytes and the new ones, committed only if no other write of the key
/// came first (else it starts again).
async fn append_object(
    call: Call<'_>,
    key: &str,
    body: Incoming,
    recorded: &mut RecordedBody,
) -> Result<Resp, S3Error> {
    let attrs = posix_attrs(call.headers, FILE_MODE)?;
    let content_type = call.content_type();
    let added = read_small(call, body, APPEND_MAX as usize, || {
        S3Error::entity_too_large(format!("an append may add at most {APPEND_MAX} bytes"))
    })
    .await?;
    *recorded = summary(
        added.len() as u64,
        call.headers,
        &Etag::of(&added),
        &added[..added.len().min(PREVIEW)],
    );
    let slot = format!("{}/{key}", call.disk);
    let lock = call
        .app
        .append_locks
        .lock()
        .entry(slot.clone())
        .or_default()
        .clone();
    let result = {
        let _queued = lock.lock().await;
        append_once(call, key, &added, content_type, attrs).await
    };
    // The last one out removes the key's lock.
    let mut locks = call.app.append_locks.lock();
    if Arc::strong_count(&lock) == 2 {
        locks.remove(&slot);
    }
    result
}

/// One append, with concurrent appends of the key already queued behind
/// it: only a put or delete of the key can still come first.
async fn append_once(
    call: Call<'_>,
    key: &str,
    added: &Bytes,
    content_type: Arc<str>,
    attrs: Attrs,
) -> Result<Resp, S3Error> {
    for _ in 0..APPEND_TRIES {
        let base = call.with_disk(|disk, _| match disk.objects.entry(key) {
            Some(objects::Entry::File(meta)) => {
                let reader = call.app.store.open(&meta.blob).map_err(|e| {
                    S3Error::internal_error(format!("the object cannot be read: {e}"))
                })?;
                Ok(Some((meta.clone(), reader)))
            }
            _ => {
                disk.objects.check_file(key)?;
                Ok(None)
            }
        })?;
        let (old_bytes, generation, content_type, attrs) = match base {
            Some((meta, reader)) => {
                let bytes = off_workers(reader.blocks(), move || reader.read_all())
                    .await?
                    .map_err(|e| {
                        S3Error::internal_error(format!("the object cannot be read: {e}"))
                    })?;
                (bytes, Some(meta.generation), meta.content_type, meta.attrs)
            }
            None => (Bytes::new(), None, content_type.clone(), attrs),
        };
        let limit = call.app.config.max_object_bytes;
        if (old_bytes.len() + added.len()) as u64 > limit {
            return Err(S3Error::entity_too_large(format!(
                "{key} would be {} bytes; the limit is {limit} (--max-object-bytes)",
                old_bytes.len() + added.len()
            )));
        }
        let mut staging = call.app.store.stage().map_err(stage_error)?;
        staging.write(&old_bytes).map_err(stage_error)?;
        staging.write(added).map_err(stage_error)?;
        let mut md5 = Md5::new();
        md5.update(&old_bytes);
        md5.update(added);
        let etag = Etag {
            md5: md5.finalize().into(),
            parts: 0,
        };
        let blob = off_workers(staging.blocks(), move || staging.finish())
            .await?
            .map_err(stage_error)?;
        let meta = FileMeta {
            size: (old_bytes.len() + added.len()) as u64,
            etag,
            content_type,
            modified_ms: clock::now_ms(),
            attrs,
            blob: blob.clone(),
            generation: 0,
        };
        let written = call.with_disk(|disk, seq| {
            let current = match disk.objects.entry(key) {
                Some(objects::Entry::File(m)) => Some(m.generation),
                _ => None,
            };
            if current != generation {
                return Ok(None);
            }
            let (old, changes) = disk.objects.put_file(key, meta, clock::now_ms())?;
            // Only the appended bytes are newly written.
            disk.objects.written_bytes -= old_bytes.len() as u64;
            Ok(Some((old, to_records(disk.id, &changes, seq))))
        });
        match written {
            Ok(Some((old, records))) => {
                call.log(records).await?;
                call.free(old);
                return Ok(with_etag(empty(StatusCode::OK), &etag));
            }
            Ok(None) => call.free([blob]),
            Err(e) => {
                call.free([blob]);
                return Err(e);
            }
        }
    }
    Err(S3Error::injected(
        409,
        format!("{key} kept changing during the append; try again"),
    ))
}

/// Reads and parses an XML request body (at most [`XML_MAX`] bytes);
/// every failure is `MalformedXML` naming the document.
async fn read_xml<T: serde::de::DeserializeOwned>(
    call: Call<'_>,
    body: Incoming,
    recorded: &mut RecordedBody,
    document: &str,
) -> Result<T, S3Error> {
    let bytes = read_small(call, body, XML_MAX, || {
        S3Error::malformed_xml(format!("the request body is larger than {XML_MAX} bytes"))
    })
    .await?;
    *recorded = RecordedBody::of(&bytes);
    parse_xml(&bytes, document)
}

/// Parses an XML request body read by [`read_xml`]; every failure is
/// `MalformedXML` naming the document.
pub(crate) fn parse_xml<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    document: &str,
) -> Result<T, S3Error> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| S3Error::malformed_xml("the body is not UTF-8"))?;
    xml::from_xml_document(text, document).map_err(|e| {
        // The parser's message may quote a name of any length from the body.
        S3Error::malformed_xml(format!("the {document} body is malformed: {}", shown(&e)))
    })
}

/// A `Delete` body names at most [`DELETE_MAX`] keys.
pub(crate) fn check_delete(request: &xml::Delete) -> Result<(), S3Error> {
    if request.objects.len() > DELETE_MAX {
        return Err(S3Error::malformed_xml(format!(
            "a Delete request may name at most {DELETE_MAX} keys, not {}",
            request.objects.len()
        )));
    }
    Ok(())
}

/// A Complete body's parts in the order given, each number in 1..=10000.
pub(crate) fn complete_parts(request: xml::CompleteRequest) -> Result<Vec<(u32, String)>, S3Error> {
    request
        .parts
        .into_iter()
        .map(|p| match p.part_number.trim().parse::<u32>() {
            Ok(n) if (1..=route::PART_MAX).contains(&n) => Ok((n, p.etag)),
            _ => Err(S3Error::invalid_part(format!(
                "PartNumber {:?} is not 1 to 10000",
                shown(&p.part_number)
            ))),
        })
        .collect()
}

/// DeleteObjects: at most 1000 keys; an absent key counts as deleted; a key
/// that cannot be deleted gets its own `<Error>`.
async fn delete_objects(
    call: Call<'_>,
    body: Incoming,
    recorded: &mut RecordedBody,
) -> Result<Resp, S3Error> {
    let request: xml::Delete = read_xml(call, body, recorded, "Delete").await?;
    check_delete(&request)?;
    let quiet = request.quiet.as_deref().map(str::trim) == Some("true");
    let (result, freed, records) = call.with_disk(|disk, seq| {
        let mut result = xml::DeleteResult {
            xmlns: xml::NAMESPACE,
            deleted: Vec::new(),
            errors: Vec::new(),
        };
        let mut freed = Vec::new();
        let mut changes = Vec::new();
        for object in request.objects {
            let outcome =
                route::check_key(&object.key).and_then(|()| disk.objects.delete(&object.key));
            match outcome {
                Ok((old, c)) => {
                    freed.extend(old);
                    changes.extend(c);
                    if !quiet {
                        result.deleted.push(xml::Deleted { key: object.key });
                    }
                }
                Err(e) => result.errors.push(xml::DeleteError {
                    key: object.key,
                    code: e.code,
                    message: e.message,
                }),
            }
        }
        Ok((result, freed, to_records(disk.id, &changes, seq)))
    })?;
    call.log(records).await?;
    call.free(freed);
    Ok(xml_response(&result))
}

/// CompleteMultipartUpload: check under the lock (nothing changes on a
/// failure), join the parts outside it, commit under it again.
async fn complete_upload(
    call: Call<'_>,
    key: &str,
    upload_id: &str,
    body: Incoming,
    recorded: &mut RecordedBody,
) -> Result<Resp, S3Error> {
    let request: xml::CompleteRequest =
        read_xml(call, body, recorded, "CompleteMultipartUpload").await?;
    let parts = complete_parts(request)?;
    let min_part = call.app.config.min_part_size;
    let (plan, readers, content_type, attrs) = call.with_disk(|disk, _| {
        let plan = disk
            .objects
            .begin_complete(key, upload_id, &parts, min_part)?;
        let upload = disk.objects.upload(key, upload_id)?;
        let readers = plan
            .blobs
            .iter()
            .map(|b| call.app.store.open(b))
            .collect::<Result<Vec<_>, _>>();
        match readers {
            Ok(readers) => Ok((plan, readers, upload.content_type.clone(), upload.attrs)),
            Err(e) => {
                disk.objects.cancel_complete(upload_id);
                Err(S3Error::internal_error(format!(
                    "a part cannot be read: {e}"
                )))
            }
        }
    })?;
    if plan.size > call.app.config.max_object_bytes {
        call.with_disk(|disk, _| {
            disk.objects.cancel_complete(upload_id);
            Ok(())
        })?;
        return Err(S3Error::entity_too_large(format!(
            "the object would be {} bytes; the limit is {}",
            plan.size, call.app.config.max_object_bytes
        )));
    }
    let store = call.app.store.clone();
    let joined = tokio::task::spawn_blocking(move || -> Result<Blob, StageError> {
        let mut staging = store.stage()?;
        for reader in readers {
            staging.write(&reader.read_all()?)?;
        }
        staging.finish()
    })
    .await
    .map_err(|e| S3Error::internal_error(format!("the join failed: {e}")));
    let blob = match joined.and_then(|r| r.map_err(stage_error)) {
        Ok(blob) => blob,
        Err(e) => {
            let _ = call.with_disk(|disk, _| {
                disk.objects.cancel_complete(upload_id);
                Ok(())
            });
            return Err(e);
        }
    };
    let meta = FileMeta {
        size: plan.size,
        etag: plan.etag,
        content_type,
        modified_ms: clock::now_ms(),
        attrs,
        blob: blob.clone(),
        generation: 0,
    };
    let written = call.with_disk(|disk, seq| {
        // Aborted while the parts were joined: the upload is gone.
        disk.objects.upload(key, upload_id)?;
        match disk.objects.put_file(key, meta, clock::now_ms()) {
            Ok((old, changes)) => {
                let parts = disk.objects.remove_upload(key, upload_id)?;
                Ok((old, parts, to_records(disk.id, &changes, seq)))
            }
            Err(e) => {
                disk.objects.cancel_complete(upload_id);
                Err(e)
            }
        }
    });
    match written {
        Ok((old, parts, records)) => {
            call.log(records).await?;
            call.free(old.into_iter().chain(parts));
        }
        Err(e) => {
            call.free([blob]);
            return Err(e);
        }
    }
    Ok(xml_response(&xml::Completed {
        xmlns: xml::NAMESPACE,
        location: format!("/{}/{key}", call.disk),
        bucket: call.disk.to_owned(),
        key: key.to_owned(),
        etag: plan.etag.to_string(),
    }))
}

/// A share URL: the object's bytes, without an API key, until it expires.
async fn serve_shared(
    app: &Arc<App>,
    token: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Resp, S3Error> {
    let grant = share::verify(&app.share_key, token, clock::now_ms())?;
    let (meta, reader) = {
        let mut core = app.core.lock();
        let disk = disks::find_any_mut(&mut core.state, grant.disk)
            .ok_or_else(|| S3Error::no_such_bucket("the shared object's disk no longer exists"))?;
        let meta = disk.objects.file(&grant.key)?.clone();
        let reader = app
            .store
            .open(&meta.blob)
            .map_err(|e| S3Error::internal_error(format!("the object cannot be read: {e}")))?;
        (meta, reader)
    };
    object_response(headers, &meta, reader, head).await
}

/// The index changes as log records, numbered under the lock.
fn to_records(disk: u64, changes: &[Change], rec: &mut Recorder) -> Vec<LogRecord> {
    let disk = disks::format_id(disk);
    let records: Vec<LogRecord> = changes
        .iter()
        .map(|c| {
            *rec.seq += 1;
            record(&disk, c, *rec.seq)
        })
        .collect();
    if let Some(log) = rec.log {
        log.write(&records);
    }
    records
}

/// Numbers index changes and, with `--data-dir`, writes them to the log,
/// both under the state lock, so the log's order is the order of the
/// changes; they are fsynced after the lock is released.
pub(crate) struct Recorder<'a> {
    seq: &'a mut u64,
    log: Option<&'a crate::store::dir::ObjectLog>,
}

fn record(disk: &str, change: &Change, seq: u64) -> LogRecord {
    match change {
        Change::Put(key, m) => LogRecord::Put {
            seq,
            disk: disk.to_owned(),
            key: key.clone(),
            blob: match m.blob {
                Blob::File(id) => id,
                Blob::Memory(_) => 0,
            },
            size: m.size,
            etag: m.etag.to_string(),
            content_type: m.content_type.to_string(),
            modified_ms: m.modified_ms,
            mode: m.attrs.mode,
            uid: m.attrs.uid,
            gid: m.attrs.gid,
        },
        Change::Dir(key, d) => LogRecord::Dir {
            seq,
            disk: disk.to_owned(),
            key: key.clone(),
            modified_ms: d.modified_ms,
            mode: d.attrs.mode,
            uid: d.attrs.uid,
            gid: d.attrs.gid,
        },
        Change::Del(key) => LogRecord::Del {
            seq,
            disk: disk.to_owned(),
            key: key.clone(),
        },
    }
}

/// Rebuilds the object index from the log at startup; records for disks
/// that no longer exist are dropped. Returns the highest sequence seen.
pub(crate) fn replay(state: &mut State, records: Vec<LogRecord>) -> u64 {
    let mut seq = 0;
    for r in records {
        seq = seq.max(r.seq());
        let (disk, change) = match r {
            LogRecord::Put {
                disk,
                key,
                blob,
                size,
                etag,
                content_type,
                modified_ms,
                mode,
                uid,
                gid,
                ..
            } => (
                disk,
                Change::Put(
                    key,
                    FileMeta {
                        size,
                        etag: Etag::parse(&etag).unwrap_or(Etag {
                            md5: [0; 16],
                            parts: 0,
                        }),
                        content_type: objects::content_type(&content_type),
                        modified_ms,
                        attrs: Attrs { mode, uid, gid },
                        blob: Blob::File(blob),
                        generation: 0,
                    },
                ),
            ),
            LogRecord::Dir {
                disk,
                key,
                modified_ms,
                mode,
                uid,
                gid,
                ..
            } => (
                disk,
                Change::Dir(
                    key,
                    objects::DirMeta {
                        attrs: Attrs { mode, uid, gid },
                        modified_ms,
                    },
                ),
            ),
            LogRecord::Del { disk, key, .. } => (disk, Change::Del(key)),
        };
        if let Some(d) = disks::parse_disk_id(&disk).and_then(|id| disks::find_any_mut(state, id)) {
            d.objects.replay(change);
        }
    }
    seq
}

/// Moves blobs still in memory (a fixture's files) into the directory
/// store at startup, so that it holds every file the index refers to.
pub(crate) fn materialize(
    state: &mut State,
    store: &dyn crate::store::Store,
) -> Result<(), StageError> {
    for disk in disks::all_mut(state) {
        for file in disk.objects.files_mut() {
            if let Blob::Memory(bytes) = &file.blob {
                let mut staging = store.stage()?;
                staging.write(bytes)?;
                file.blob = staging.finish()?;
            }
        }
    }
    Ok(())
}

/// Every blob file the index refers to.
pub(crate) fn file_blobs(state: &State) -> HashSet<u64> {
    disks::all(state)
        .flat_map(|d| d.objects.blobs())
        .filter_map(|b| match b {
            Blob::File(id) => Some(*id),
            Blob::Memory(_) => None,
        })
        .collect()
}

/// The whole index as log records, for compaction.
pub(crate) fn log_records(state: &State) -> Vec<LogRecord> {
    let mut seq = 0;
    let mut out = Vec::new();
    for disk in disks::all(state) {
        let id = disks::format_id(disk.id);
        for (key, entry) in disk.objects.entries() {
            seq += 1;
            let change = match entry {
                objects::Entry::File(m) => Change::Put(key.clone(), m.clone()),
                objects::Entry::Dir(d) => Change::Dir(key.clone(), *d),
            };
            out.push(record(&id, &change, seq));
        }
    }
    out
}

/// After a reset: frees blobs only the old state referred to, and rewrites
/// the object log from the restored index.
pub(crate) fn after_reset(app: &Arc<App>, old: &State) {
    let kept = {
        let mut core = app.core.lock();
        // With --data-dir the startup index may name objects deleted or
        // overwritten since: a delete is durable, so their startup bytes are
        // gone. An overwritten one keeps its current version; a deleted one
        // stays deleted.
        for disk in disks::all_mut(&mut core.state) {
            let gone: Vec<String> = disk
                .objects
                .entries()
                .filter_map(|(key, e)| match e {
                    objects::Entry::File(f) if app.store.open(&f.blob).is_err() => {
                        Some(key.clone())
                    }
                    _ => None,
                })
                .collect();
            let before = disks::all(old).find(|d| d.id == disk.id);
            for key in gone {
                let current = before.and_then(|d| d.objects.file(&key).ok()).cloned();
                match current {
                    Some(meta) => disk.objects.replay(Change::Put(key, meta)),
                    None => disk.objects.replay(Change::Del(key)),
                };
            }
        }
        let kept: HashSet<u64> = file_blobs(&core.state);
        // Rewritten under the lock (a reset is rare), so no write can slip
        // its record into the old file between the snapshot and the rename.
        if let Some(log) = &app.object_log {
            let records = log_records(&core.state);
            if let Err(e) = log.rewrite(&records) {
                tracing::error!("the object log could not be rewritten after reset: {e}");
            }
            core.object_seq = core.object_seq.max(records.len() as u64);
        }
        kept
    };
    for blob in disks::all(old).flat_map(|d| d.objects.blobs()) {
        match blob {
            Blob::File(id) if kept.contains(id) => {}
            _ => app.store.remove(blob),
        }
    }
}

fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn with_etag(mut r: Resp, etag: &Etag) -> Resp {
    r.headers_mut().insert(
        ETAG,
        HeaderValue::from_str(&etag.to_string()).expect("ASCII"),
    );
    r
}

fn xml_response<T: serde::Serialize>(value: &T) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(xml::to_xml(value))));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    r
}

/// ISO 8601 with milliseconds, as S3 lists times: `2026-01-02T03:04:05.000Z`.
fn iso(ms: i64) -> String {
    let t = clock::format_ms(ms - ms.rem_euclid(1000));
    let millis = ms.rem_euclid(1000);
    format!("{}.{millis:03}Z", t.trim_end_matches('Z'))
}

/// RFC 7231: `Wed, 21 Oct 2026 07:28:00 GMT`.
fn http_date(ms: i64) -> HeaderValue {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    HeaderValue::from_str(&httpdate::fmt_http_date(t)).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `gateway_decode` fuzz target: a parser message quoting
    /// the body's root element name echoed it whole, however long.
    #[test]
    fn xml_errors_quote_at_most_a_little_of_the_body() {
        let long = "R".repeat(5000);
        for document in ["Delete", "CompleteMultipartUpload"] {
            let e =
                parse_xml::<xml::Delete>(format!("<{long}/>").as_bytes(), document).unwrap_err();
            assert_eq!(e.code, "MalformedXML");
            assert!(e.message.len() < 300, "{} bytes", e.message.len());
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3", 10), Ok(Some((0, 4))));
        assert_eq!(parse_range("bytes=5-", 10), Ok(Some((5, 10))));
        assert_eq!(parse_range("bytes=-3", 10), Ok(Some((7, 10))));
        assert_eq!(parse_range("bytes=2-100", 10), Ok(Some((2, 10))));
        assert_eq!(parse_range("bytes=0-1,4-5", 10), Ok(None));
        assert_eq!(parse_range("items=0-1", 10), Ok(None));
        assert_eq!(parse_range("bytes=10-", 10).unwrap_err().status, 416);
        assert_eq!(parse_range("bytes=-0", 10).unwrap_err().status, 416);
        assert!(parse_range("bytes=5-2", 10).is_err());
        assert!(parse_range("bytes=x-2", 10).is_err());
        assert!(parse_range("bytes=+1-2", 10).is_err());
        let huge = "99999999999999999999999";
        assert_eq!(
            parse_range(&format!("bytes=0-{huge}"), 10),
            Ok(Some((0, 10)))
        );
        assert_eq!(
            parse_range(&format!("bytes=-{huge}"), 10),
            Ok(Some((0, 10)))
        );
        assert_eq!(
            parse_range(&format!("bytes={huge}-"), 10)
                .unwrap_err()
                .status,
            416
        );
    }

    #[test]
    fn times() {
        assert_eq!(iso(1_767_323_045_007), "2026-01-02T03:04:05.007Z");
        assert_eq!(iso(1_767_323_045_000), "2026-01-02T03:04:05.000Z");
        assert_eq!(
            http_date(1_767_323_045_007),
            "Fri, 02 Jan 2026 03:04:05 GMT"
        );
    }

    #[test]
    fn posix_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(
            posix_attrs(&h, 0o644).unwrap(),
            Attrs {
                mode: 0o644,
                uid: 0,
                gid: 0
            }
        );
        h.insert("x-archil-mode", "640".parse().unwrap());
        h.insert("x-archil-uid", "1000".parse().unwrap());
        assert_eq!(
            posix_attrs(&h, 0o644).unwrap(),
            Attrs {
                mode: 0o640,
                uid: 1000,
                gid: 0
            }
        );
        for bad in ["9", "10000", "rwx", "", "-1", "+7"] {
            h.insert("x-archil-mode", bad.parse().unwrap());
            assert_eq!(
                posix_attrs(&h, 0o644).unwrap_err().code,
                "InvalidArgument",
                "{bad}"
            );
        }
        h.insert("x-archil-mode", "7777".parse().unwrap());
        h.insert("x-archil-gid", "4294967295".parse().unwrap());
        assert!(posix_attrs(&h, 0o644).is_err());
    }
}
