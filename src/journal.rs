//! The request journal: a bounded record of the API requests the server saw,
//! with secrets redacted, for assertions like "the client retried twice".
//! Admin requests are not journaled.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use hyper::header::HeaderMap;
use hyper::{Method, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::faults::path_matches;

/// How many entries the journal keeps unless configured otherwise.
pub const DEFAULT_CAPACITY: usize = 1000;
/// Bodies longer than this are cut in the journal.
pub const BODY_LIMIT: usize = 4096;

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Position in the server's life, from 1; also the response's `x-request-id`.
    pub seq: u64,
    /// When the request arrived, RFC 3339 UTC.
    pub at: String,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The status answered; `None` when the connection was dropped instead.
    pub status: Option<u16>,
    /// The id of the fault that fired (`header` for the shortcut headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// The account of the request's key, if the key was live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Time from the request's arrival to its answer, in milliseconds.
    pub duration_ms: f64,
    /// Request headers; credentials show only their last four characters.
    pub headers: BTreeMap<String, String>,
    /// The request body as text, secrets redacted, cut at 4 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What the server hands the journal for one request. Cheap to build on the
/// request path (the URI, the headers and a short body are small copies);
/// timestamps are formatted and secrets redacted when it is read.
///
/// Copies, never the request's own values: hyper parses the URI and header
/// values (and a body's first chunk) as slices of the connection's read
/// buffer, so keeping one would keep that whole buffer alive, with up to
/// ~400 KiB of the request's body in it, for as long as the entry: a full
/// journal of object uploads would hold hundreds of MiB.
#[derive(Debug, Clone)]
pub struct Record {
    /// See [`JournalEntry::seq`].
    pub seq: u64,
    /// Arrival, epoch milliseconds.
    pub at_ms: i64,
    /// The method.
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// See [`JournalEntry::status`].
    pub status: Option<u16>,
    /// See [`JournalEntry::fault`].
    pub fault: Option<String>,
    /// See [`JournalEntry::account`].
    pub account: Option<String>,
    /// See [`JournalEntry::duration_ms`].
    pub duration_ms: f64,
    /// The request headers, unredacted until read.
    pub headers: HeaderMap,
    /// The body, as [`RecordedBody::of`] keeps it.
    pub body: RecordedBody,
}

/// A request body as the journal keeps it.
#[derive(Debug, Clone)]
pub enum RecordedBody {
    /// No body.
    Empty,
    /// A short body, redacted when read.
    Raw(Bytes),
    /// A long body, redacted and cut on arrival (cutting first could split
    /// the JSON and leave a secret unredacted).
    Redacted(String),
    /// An object body, summarised (size, type, digest, a short preview):
    /// object bytes are never kept.
    Summary(String),
}

impl RecordedBody {
    /// Keeps a body: short ones as they are (a copy: see [`Record`]), long
    /// ones redacted and cut.
    pub fn of(body: &Bytes) -> RecordedBody {
        if body.is_empty() {
            RecordedBody::Empty
        } else if body.len() <= BODY_LIMIT {
            RecordedBody::Raw(Bytes::copy_from_slice(body))
        } else {
            redact_body(body).map_or(RecordedBody::Empty, RecordedBody::Redacted)
        }
    }

    fn shown(&self) -> Option<String> {
        match self {
            RecordedBody::Empty => None,
            RecordedBody::Raw(bytes) => redact_body(bytes),
            RecordedBody::Redacted(text) | RecordedBody::Summary(text) => Some(text.clone()),
        }
    }
}

impl Record {
    /// A copy of a request's URI for [`Record::uri`], sharing nothing with it.
    pub fn own_uri(uri: &Uri) -> Uri {
        Uri::try_from(uri.to_string()).unwrap_or_else(|_| uri.clone())
    }

    /// A copy of a request's headers for [`Record::headers`], sharing nothing
    /// with them.
    pub fn own_headers(headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            let mut copy = hyper::header::HeaderValue::from_bytes(value.as_bytes())
                .unwrap_or_else(|_| value.clone());
            copy.set_sensitive(value.is_sensitive());
            out.append(name.clone(), copy);
        }
        out
    }

    /// The entry as the journal API shows it, with secrets redacted.
    pub fn entry(&self) -> JournalEntry {
        JournalEntry {
            seq: self.seq,
            at: crate::clock::format_ms(self.at_ms),
            method: self.method.to_string(),
            path: redact_path(self.uri.path()).into_owned(),
            query: self.uri.query().map(|q| redact_query(self.uri.path(), q)),
            status: self.status,
            fault: self.fault.clone(),
            account: self.account.clone(),
            duration_ms: self.duration_ms,
            headers: redact_headers(&self.headers),
            body: self.body.shown(),
        }
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct JournalFilter {
    /// Only this method.
    pub method: Option<String>,
    /// Only paths matching this pattern (`*` and `**` as in fault rules).
    pub path: Option<String>,
}

/// The bounded journal.
#[derive(Debug, Clone)]
pub struct Journal {
    entries: VecDeque<Record>,
    capacity: usize,
    next_seq: u64,
}

impl Journal {
    /// An empty journal keeping at most `capacity` entries (the oldest go first).
    pub fn new(capacity: usize) -> Self {
        Journal {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            next_seq: 1,
        }
    }

    /// Takes the next sequence number, for the request being served.
    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Records a request, evicting the oldest when full.
    pub fn record(&mut self, entry: Record) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entries that pass the filter, oldest first.
    pub fn list(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .filter(|e| {
                filter
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(e.method.as_str()))
                    && filter
                        .path
                        .as_deref()
                        .is_none_or(|p| path_matches(p, e.uri.path()))
            })
            .map(Record::entry)
            .collect()
    }

    /// Forgets every entry and returns how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.entries).len()
    }
}

const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "x-archil-mock-admin-token",
];

const SECRET_FIELDS: [&str; 10] = [
    "token",
    "secret",
    "apiKey",
    "api_key",
    "password",
    "key",
    // Mount credentials (createDisk's `mounts`).
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "clientSecret",
];

/// `principal` is an IAM ARN for awssts users but, for the deprecated token
/// users, the disk token itself: it is shown only where it belongs to an
/// awssts user and looks like an ARN.
fn is_secret(field: &str, value: &str, awssts: bool) -> bool {
    SECRET_FIELDS.contains(&field)
        || (field == "principal" && !(awssts && value.starts_with("arn:")))
}

/// The query string as the journal shows it. A `principal` (however its
/// name is percent-encoded; the server decodes it) is redacted unless the
/// path removes an awssts user and it is an ARN. A query with nothing to
/// redact is shown exactly as sent.
pub fn redact_query(path: &str, query: &str) -> String {
    let awssts = path.ends_with("/users/awssts");
    let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    if !pairs.iter().any(|(k, v)| is_secret(k, v, awssts)) {
        return query.to_owned();
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if is_secret(&k, &v, awssts) {
            out.append_pair(&k, &redact(&v));
        } else {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

/// A path as logs and the journal show it: a share URL's token is a
/// credential, so only its last four characters are kept.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(crate::gateway::share::PATH_PREFIX) {
        Some(token) => format!("{}{}", crate::gateway::share::PATH_PREFIX, redact(token)).into(),
        None => path.into(),
    }
}

/// Shows only the last four characters of a secret.
pub fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

/// The request headers as the journal keeps them.
pub fn redact_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let text = String::from_utf8_lossy(value.as_bytes());
        let shown = if SECRET_HEADERS.contains(&name.as_str()) {
            redact(&text)
        } else {
            text.chars().take(BODY_LIMIT).collect()
        };
        out.entry(name.as_str().to_owned())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&shown);
            })
            .or_insert(shown);
    }
    out
}

/// The request body as the journal keeps it: JSON with secret-looking fields
/// redacted, anything else as lossy text; cut at [`BODY_LIMIT`] bytes.
pub fn redact_body(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    if text.len() <= BODY_LIMIT {
        return Some(text);
    }
    let mut cut = BODY_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(format!("{}…", &text[..cut]))
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let awssts = map.get("type").and_then(Value::as_str) == Some("awssts");
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if is_secret(k, s, awssts) => *s = redact(s),
                    _ => redact_value(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, method: &str, path: &str) -> Record {
        Record {
            seq,
            at_ms: 0,
            method: method.parse().unwrap(),
            uri: path.parse().unwrap(),
            status: Some(200),
            fault: None,
            account: None,
            duration_ms: 0.0,
            headers: HeaderMap::new(),
            body: RecordedBody::Empty,
        }
    }

    #[test]
    fn bounded_and_filtered() {
        let mut j = Journal::new(2);
        j.record(entry(1, "GET", "/api/tokens"));
        j.record(entry(2, "POST", "/api/tokens"));
        j.record(entry(3, "DELETE", "/api/tokens/x"));
        let all = j.list(&JournalFilter::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        let f = JournalFilter {
            method: Some("delete".into()),
            path: Some("/api/tokens/*".into()),
        };
        assert_eq!(j.list(&f).len(), 1);
    }

    #[test]
    fn secrets_never_reach_the_journal() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "key-abcdefghijklmnopqrstuvwxyz0123456789wxyz"
                .parse()
                .unwrap(),
        );
        let shown = redact_headers(&h);
        assert_eq!(shown["authorization"], "…wxyz");
        let body =
            redact_body(br#"{"name":"x","nested":[{"token":"key-0123456789abcdef"}]}"#).unwrap();
        assert!(!body.contains("0123456789ab"), "{body}");
        assert!(body.contains("cdef"), "{body}");
    }

    #[test]
    fn mount_credentials_and_supplied_disk_tokens_are_redacted() {
        let body = redact_body(
            br#"{"mounts":[{"type":"s3","bucketName":"b","accessKeyId":"AKIAABCDEFGH1234","secretAccessKey":"wJalrXUtnFEMI/K7MDENG","sessionToken":"FwoGZXIvYXdzEJr"}],
                 "authMethods":[{"type":"token","nickname":"n","principal":"dtk-supplied-secret-0001","tokenSuffix":"0001"},
                                {"type":"awssts","principal":"arn:aws:iam::123456789012:role/x"}]}"#,
        )
        .unwrap();
        for secret in [
            "AKIAABCDEF",
            "wJalrXUtnFEMI",
            "FwoGZXIvYX",
            "dtk-supplied-secret",
        ] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert!(body.contains("arn:aws:iam::123456789012:role/x"), "{body}");
        assert!(body.contains("\"bucketName\":\"b\""), "{body}");
        let token_path = "/api/disks/dsk-0000000000000001/users/token";
        let sts_path = "/api/disks/dsk-0000000000000001/users/awssts";
        let q = redact_query(token_path, "principal=dtk-supplied-secret-0001&x=1");
        assert!(!q.contains("supplied"), "{q}");
        let q = redact_query(token_path, "%70rincipal=dtk-supplied-secret-0001");
        assert!(!q.contains("supplied"), "{q}");
        let q = redact_query(token_path, "principal=arn%3Aa-token-shaped-like-an-arn");
        assert!(!q.contains("token-shaped"), "{q}");
        assert_eq!(
            redact_query(sts_path, "identifier=arn%3Aaws"),
            "identifier=arn%3Aaws"
        );
        assert!(redact_query(sts_path, "principal=arn%3Aaws%3Aiam").contains("arn%3Aaws"));
        let token_like_arn = redact_body(
            br#"{"type":"token","nickname":"n","principal":"arn:secret-token-0001","tokenSuffix":"0001"}"#,
        )
        .unwrap();
        assert!(!token_like_arn.contains("secret-token"), "{token_like_arn}");
    }

    #[test]
    fn long_bodies_are_redacted_before_they_are_cut() {
        let secret = "key-0123456789abcdefghijklmnopqrstuvwxyz";
        let body = format!(r#"{{"pad":"{}","token":"{secret}"}}"#, "x".repeat(5000));
        let kept = RecordedBody::of(&Bytes::from(body)).shown().unwrap();
        assert!(!kept.contains(&secret[..20]), "{}", &kept[..60]);
        let short = RecordedBody::of(&Bytes::from(format!(r#"{{"token":"{secret}"}}"#)));
        assert!(!short.shown().unwrap().contains(&secret[..20]));
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(5000);
        let kept = redact_body(body.as_bytes()).unwrap();
        assert!(kept.len() <= BODY_LIMIT + 3);
    }
}
