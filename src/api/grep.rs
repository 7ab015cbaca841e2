//! Grep (operation `grepDisk`): a real search over what the gateway stored.
//! [`plan`] runs under the state lock and only validates and picks the
//! files (their blobs, cheap to clone); [`scan`] runs after the lock is
//! released, reading and matching files in parallel, so a long search never
//! stalls other clients.
//!
//! The dialect is the `regex` crate's, which is ripgrep's (the newer
//! backend's documented syntax): linear time, with size limits, so no
//! pattern is slow. A newline separates alternative patterns. Files are
//! scanned in byte order of path and matches come in that order, lines
//! ascending; a file with a NUL byte is binary and gives no matches.

use std::time::{Duration, Instant};

use regex::bytes::{RegexSet, RegexSetBuilder};
use serde::Serialize;
use serde_json::{Map, Value};

use super::disks::{self, Malformed};
use super::{json_type_name, optional_bool, string_field, Ctx, Input};
use crate::error::ApiError;
use crate::state::State;
use crate::store::{Blob, Store};

/// Files per simulated grep container (the batching model the counters use).
pub const BATCH: usize = 64;
/// `text` is cut at 512 KiB, as the newer backend does.
pub const TEXT_MAX: usize = 512 * 1024;
/// The compiled pattern may use at most this much memory.
pub const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// At most this many newline-separated patterns are compiled: building the
/// `RegexSet` is quadratic in their number (rust-lang/regex#1310), so 100k
/// tiny ones, well under the size limit, would take minutes. More is an
/// error, like a pattern past the size limit.
pub const PATTERNS_MAX: usize = 1000;

/// A validated `GrepDiskRequest` and the files it will scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrepJob {
    /// The pattern as given.
    pub pattern: String,
    /// The files to scan, in byte order of path.
    pub files: Vec<(String, Blob)>,
    /// Stop after this many matches.
    pub max_results: usize,
    /// The wall-clock budget.
    pub max_duration: Duration,
    /// How many workers may run at once.
    pub concurrency: usize,
    /// When the request started.
    pub started: Instant,
    /// How long picking the files took.
    pub listing: Duration,
}

/// One match.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GrepMatch {
    /// Relative to the disk root, no leading `/`.
    pub file: String,
    /// 1-based.
    pub line: u64,
    /// The line without its `\n`, decoded lossily, cut at 512 KiB.
    pub text: String,
}

/// `GrepDiskResult`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GrepResult {
    /// Always an array.
    pub matches: Vec<GrepMatch>,
    /// `completed`, `incomplete`, `max_results`, `deadline` or `list_failed`.
    pub stopped_reason: &'static str,
    /// Files fed to the search.
    pub files_scanned: u64,
    /// `ceil(files / 64)`.
    pub containers_dispatched: u64,
    /// Seconds spent matching, summed over batches.
    pub compute_seconds_used: f64,
    /// End to end.
    pub duration_ms: u64,
    /// Picking the files.
    pub listing_ms: u64,
    /// From the first batch to the last; 0 if none ran.
    pub grep_ms: u64,
}

fn integer(
    body: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
    default: i64,
) -> Result<i64, ApiError> {
    Ok(schema_integer(body, field, min, max)?.unwrap_or(default))
}

/// An optional integer in `min..=max` as JSON Schema counts integers:
/// `30.0` is one, `1.5` and `"30"` are not.
pub fn schema_integer(
    body: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() != 0.0 || !f.is_finite() {
                return Err(ApiError::Validation(format!("{field} must be an integer")));
            }
            if f < min as f64 || f > max as f64 {
                return Err(ApiError::Validation(format!(
                    "{field} must be between {min} and {max}"
                )));
            }
            Ok(Some(f as i64))
        }
        Some(other) => Err(ApiError::Validation(format!(
            "{field} must be an integer, not {}",
            json_type_name(other)
        ))),
    }
}

/// `POST /api/disks/{id}/grep`, under the lock: validates the request and
/// picks the files under `directory` (directly under it, or with
/// `recursive` the whole subtree). A missing directory, or a file, has no
/// files: the real server lists by prefix.
pub fn plan(
    state: &State,
    ctx: Ctx,
    id: &str,
    input: Input,
    started: Instant,
) -> Result<GrepJob, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::BadRequest)?;
    let body = super::json_object(input)?;
    let directory = string_field(&body, "directory")?.ok_or_else(|| super::missing("directory"))?;
    let pattern = string_field(&body, "pattern")?
        .ok_or_else(|| super::missing("pattern"))?
        .to_owned();
    let recursive = optional_bool(&body, "recursive")?.unwrap_or(false);
    let max_duration = integer(&body, "maxDurationSeconds", 1, 30, 30)?;
    let concurrency = integer(&body, "concurrency", 1, 100, 50)?;
    let max_results = integer(&body, "maxResults", 1, 10_000, 1000)?;
    let dir = directory.trim_matches('/');
    if dir.contains('\0') || dir.split('/').any(|s| s == "." || s == "..") {
        return Err(ApiError::Validation(
            "directory must not contain '.' or '..' segments or NUL".into(),
        ));
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let files = disk.objects.files_under(&prefix, recursive);
    Ok(GrepJob {
        pattern,
        files,
        max_results: max_results as usize,
        max_duration: Duration::from_secs(max_duration as u64),
        concurrency: concurrency as usize,
        started,
        listing: started.elapsed(),
    })
}

/// The pattern's alternatives (a newline separates them), compiled with
/// size limits; the error if any does not compile.
pub fn compile(pattern: &str) -> Result<RegexSet, String> {
    let count = pattern.split('\n').count();
    if count > PATTERNS_MAX {
        return Err(format!(
            "{count} newline-separated patterns; at most {PATTERNS_MAX} are allowed"
        ));
    }
    RegexSetBuilder::new(pattern.split('\n'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// One file's matches, in line order (none for a binary file).
pub fn grep_bytes(file: &str, bytes: &[u8], set: &RegexSet) -> Vec<GrepMatch> {
    if bytes.contains(&0) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return out;
    }
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if set.is_match(line) {
            let cut = &line[..line.len().min(TEXT_MAX)];
            let mut text = String::from_utf8_lossy(cut).into_owned();
            if line.len() > TEXT_MAX {
                // Keep a whole character: lossy decoding may end in U+FFFD.
                while text.len() > TEXT_MAX {
                    text.pop();
                }
            }
            out.push(GrepMatch {
                file: file.to_owned(),
                line: i as u64 + 1,
                text,
            });
        }
    }
    out
}

/// Runs the search outside the lock: files in parallel (at most
/// `concurrency` workers, and no more than the machine's cores), results
/// merged in file order. Blocking; call it off the async workers.
pub fn scan(job: GrepJob, store: &dyn Store) -> GrepResult {
    let deadline = job.started + job.max_duration;
    let files_total = job.files.len();
    let batches: Vec<&[(String, Blob)]> = job.files.chunks(BATCH).collect();
    let set = compile(&job.pattern);
    let grep_started = Instant::now();
    let workers = job
        .concurrency
        .min(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .min(batches.len())
        .max(1);
    // Per batch: matches, files scanned, seconds, whether it errored, whether the deadline cut it.
    type Outcome = (Vec<GrepMatch>, u64, f64, bool, bool);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; batches.len()];
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Matches found so far, in any order. Once they reach the cap no new
    // batch is started: every batch before the last one started finishes,
    // so the first N matches in file order are all found.
    let found = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        if found.load(std::sync::atomic::Ordering::SeqCst) >= job.max_results {
                            break;
                        }
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(batch) = batches.get(i) else { break };
                        let t = Instant::now();
                        let mut matches = Vec::new();
                        let (mut scanned, mut errored, mut late) = (0, false, false);
                        for (key, blob) in batch.iter() {
                            // This batch's own first N are all it can add.
                            if matches.len() >= job.max_results {
                                break;
                            }
                            if Instant::now() >= deadline {
                                late = true;
                                break;
                            }
                            scanned += 1;
                            let Ok(set) = &set else {
                                errored = true;
                                continue;
                            };
                            match store.open(blob).and_then(|r| r.read_all()) {
                                Ok(bytes) => matches.extend(grep_bytes(key, &bytes, set)),
                                Err(_) => errored = true,
                            }
                        }
                        found.fetch_add(matches.len(), std::sync::atomic::Ordering::SeqCst);
                        done.push((
                            i,
                            (matches, scanned, t.elapsed().as_secs_f64(), errored, late),
                        ));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            for (i, outcome) in h.join().expect("a grep worker never panics") {
                outcomes[i] = Some(outcome);
            }
        }
    });
    let grep_ms = if batches.is_empty() {
        0
    } else {
        grep_started.elapsed().as_millis() as u64
    };
    let mut matches = Vec::new();
    let (mut scanned, mut seconds, mut errored, mut late, mut capped) =
        (0, 0.0, false, false, false);
    let unscanned = outcomes.iter().any(Option::is_none);
    for outcome in outcomes.into_iter().flatten() {
        let (m, n, secs, e, l) = outcome;
        scanned += n;
        seconds += secs;
        errored |= e;
        late |= l;
        for one in m {
            if matches.len() == job.max_results {
                capped = true;
                break;
            }
            matches.push(one);
        }
    }
    if errored {
        matches.clear();
    }
    // The cap reached before everything was scanned counts as the cap, even
    // if the deadline came too.
    let capped =
        capped || (matches.len() == job.max_results && (unscanned || scanned < files_total as u64));
    let stopped_reason = if errored {
        "incomplete"
    } else if capped {
        "max_results"
    } else if late {
        "deadline"
    } else {
        "completed"
    };
    GrepResult {
        matches,
        stopped_reason,
        files_scanned: scanned,
        containers_dispatched: files_total.div_ceil(BATCH) as u64,
        compute_seconds_used: seconds,
        duration_ms: job.started.elapsed().as_millis() as u64,
        listing_ms: job.listing.as_millis() as u64,
        grep_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8], pattern: &str) -> Vec<(u64, String)> {
        grep_bytes("f", bytes, &compile(pattern).unwrap())
            .into_iter()
            .map(|m| (m.line, m.text))
            .collect()
    }

    #[test]
    fn lines_are_one_based_and_keep_a_carriage_return() {
        assert_eq!(
            lines(b"a\nbx\r\nx", "x"),
            [(2, "bx\r".into()), (3, "x".into())]
        );
        assert_eq!(lines(b"x\r\n", "x$"), []);
        assert_eq!(lines(b"", ""), []);
        assert_eq!(lines(b"\n", ""), [(1, String::new())]);
    }

    #[test]
    fn newlines_separate_alternatives_and_binary_files_never_match() {
        assert_eq!(lines(b"cat\ndog\nbird", "cat\ndog").len(), 2);
        assert_eq!(lines(b"cat\0dog", "cat"), []);
        assert!(
            compile("(ab)\\1").is_err(),
            "backreferences are not supported"
        );
        assert!(compile("a{1").is_err());
        assert!(compile("(a|b)").is_ok());
    }

    #[test]
    fn a_pattern_too_large_to_compile_is_an_error_not_a_hang() {
        let huge = "\\w{1000}".repeat(20);
        let err = compile(&huge).unwrap_err();
        assert!(err.contains("size limit"), "{err}");
        let many = vec!["w"; PATTERNS_MAX + 1].join("\n");
        assert!(compile(&many).unwrap_err().contains("at most 1000"));
        assert!(compile(&many[2..]).is_ok());
    }
}
