//! Scenario runs (`archil-mock scenario FILE...`): JSON files that script a
//! flow of requests, check every answer and report one line per step, plus an
//! optional JUnit XML report. Each scenario gets a fresh in-process server
//! built from its fixtures, unless a `--target` URL is given.
//!
//! The pure pieces live here and are unit-tested: the field path syntax
//! ([`JsonPath`]), `{{var}}` templates ([`substitute`]) and expectation
//! diffing ([`Expect::check`]). The file format is documented in
//! `fixtures/scenarios/README.md`. This module does not define the API under
//! test: it is only a client of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::admin::ADMIN_TOKEN_HEADER;
use crate::config::Config;
use crate::fixture::Fixture;
use crate::router::ADMIN_PREFIX;

/// How long a step waits for its answer unless it sets `timeoutMs`.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// How much of a response body a failure report shows.
const SHOWN_BODY_CHARS: usize = 300;
/// How much of one value a diff line shows.
const SHOWN_VALUE_CHARS: usize = 120;

// ---------------------------------------------------------------------------
// Paths

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array element; negative counts from the end (`-1` is the last).
    Index(i64),
}

/// A path to a field of a JSON document: `data.tokens[0].name`,
/// `data.tokens[-1]`, `["odd.key"]`, or `""`/`$` for the whole document.
///
/// ```
/// use archil_mock::scenario::JsonPath;
/// use serde_json::json;
/// let body = json!({"data": {"tokens": [{"name": "a"}, {"name": "b"}]}});
/// let path: JsonPath = "data.tokens[-1].name".parse().unwrap();
/// assert_eq!(path.lookup(&body), Some(&json!("b")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

impl JsonPath {
    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The field the path names, if the document has it.
    pub fn lookup<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(document, |value, segment| match (segment, value) {
                (Segment::Key(k), Value::Object(map)) => map.get(k),
                (Segment::Index(i), Value::Array(items)) => {
                    let i = if *i < 0 {
                        items.len().checked_sub(i.unsigned_abs() as usize)?
                    } else {
                        *i as usize
                    };
                    items.get(i)
                }
                _ => None,
            })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str("$")
        } else {
            f.write_str(&self.text)
        }
    }
}

impl std::str::FromStr for JsonPath {
    type Err = String;

    fn from_str(text: &str) -> Result<JsonPath, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        if chars.first() == Some(&'$') && matches!(chars.get(1), None | Some('.') | Some('[')) {
            i = 1;
            if chars.get(1) == Some(&'.') {
                i = 2;
                if chars.len() == 2 {
                    return Err("a path cannot end with `.`".into());
                }
            }
        }
        let mut segments = Vec::new();
        let mut expect_key = false; // after a `.`
        while i < chars.len() {
            if chars[i] == '[' && !expect_key {
                if chars.get(i + 1) == Some(&'"') {
                    // ["key"], with JSON string escapes.
                    let start = i + 1;
                    let mut j = start + 1;
                    while j < chars.len() && chars[j] != '"' {
                        j += if chars[j] == '\\' { 2 } else { 1 };
                    }
                    if j >= chars.len() || chars.get(j + 1) != Some(&']') {
                        return Err(format!("unterminated [\"…\"] at character {}", i + 1));
                    }
                    let quoted: String = chars[start..=j].iter().collect();
                    let key: String = serde_json::from_str(&quoted)
                        .map_err(|e| format!("bad quoted key {quoted}: {e}"))?;
                    segments.push(Segment::Key(key));
                    i = j + 2;
                } else {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("unclosed [ at character {}", i + 1))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let index = inner
                        .parse::<i64>()
                        .ok()
                        .filter(|_| !inner.starts_with('+'))
                        .ok_or_else(|| {
                            format!("[{inner}] is not an array index (use [\"{inner}\"] for a key)")
                        })?;
                    segments.push(Segment::Index(index));
                    i = close + 1;
                }
            } else {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ']' | '"') {
                    i += 1;
                }
                if i == start {
                    return Err(match chars.get(i) {
                        Some(c) => format!("expected a key at character {}, found `{c}`", i + 1),
                        None => "a path cannot end with `.`".into(),
                    });
                }
                segments.push(Segment::Key(chars[start..i].iter().collect()));
            }
            expect_key = false;
            match chars.get(i) {
                None | Some('[') => {}
                Some('.') => {
                    expect_key = true;
                    i += 1;
                    if i == chars.len() {
                        return Err("a path cannot end with `.`".into());
                    }
                }
                Some(c) => return Err(format!("unexpected `{c}` at character {}", i + 1)),
            }
        }
        Ok(JsonPath {
            text: text.to_owned(),
            segments,
        })
    }
}

// ---------------------------------------------------------------------------
// Templates

/// Variables: scenario `vars` plus everything captured so far.
pub type Vars = Map<String, Value>;

/// The `{{name}}` references in `text`, in order. A name is a letter or `_`
/// followed by letters, digits, `_` or `-`; spaces inside the braces are
/// allowed. Anything else between braces is literal text.
pub fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    scan(text, |piece| {
        if let Piece::Var(name) = piece {
            found.push(name.to_owned());
        }
    });
    found
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn scan<'a>(text: &'a str, mut each: impl FnMut(Piece<'a>)) {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let name = after[..close].trim();
        if is_var_name(name) {
            each(Piece::Text(&rest[..open]));
            each(Piece::Var(name));
            rest = &after[close + 2..];
        } else {
            each(Piece::Text(&rest[..open + 2]));
            rest = after;
        }
    }
    each(Piece::Text(rest));
}

/// Whether `name` can be a variable (and so a capture) name.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Replaces every `{{name}}` in `text`. A string that is exactly one reference
/// becomes the variable's value with its JSON type (so `"{{count}}"` can stand
/// for a number); inside longer text, strings are inserted as they are and
/// other values as compact JSON.
///
/// ```
/// use archil_mock::scenario::substitute;
/// use serde_json::json;
/// let vars = json!({"id": "abc", "n": 3}).as_object().unwrap().clone();
/// assert_eq!(substitute("/api/tokens/{{id}}", &vars).unwrap(), json!("/api/tokens/abc"));
/// assert_eq!(substitute("{{n}}", &vars).unwrap(), json!(3));
/// ```
pub fn substitute(text: &str, vars: &Vars) -> Result<Value, String> {
    let refs = references(text);
    if refs.len() == 1 {
        let whole = text.trim_start_matches("{{").trim_end_matches("}}").trim();
        if text.starts_with("{{") && text.ends_with("}}") && whole == refs[0] {
            return lookup_var(&refs[0], vars).cloned();
        }
    }
    substitute_str(text, vars).map(Value::String)
}

/// Like [`substitute`], but always a string.
pub fn substitute_str(text: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut error = None;
    scan(text, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Var(name) => match lookup_var(name, vars) {
            Ok(Value::String(s)) => out.push_str(s),
            Ok(other) => out.push_str(&other.to_string()),
            Err(e) => {
                error.get_or_insert(e);
            }
        },
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// [`substitute`] applied to every string inside a JSON value (object keys
/// are left as they are).
pub fn substitute_value(value: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => substitute(s, vars)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_value(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_value(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn lookup_var<'a>(name: &str, vars: &'a Vars) -> Result<&'a Value, String> {
    vars.get(name).ok_or_else(|| {
        format!("variable {{{{{name}}}}} has no value (did the step that captures it fail?)")
    })
}

// ---------------------------------------------------------------------------
// Expectations

/// What one field must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Equal to this JSON value (numbers compare by value: `1` equals `1.0`).
    Equals(Value),
    /// Every one of these matchers holds.
    Matchers(Vec<Matcher>),
}

/// A check other than equality, written as `{"$name": argument}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// `$exists`: the field is present (true) or absent (false).
    Exists(bool),
    /// `$length`: an array's elements, an object's members or a string's characters.
    Length(u64),
    /// `$contains`: a string containing this text, or an array with an element
    /// that includes this value (an object includes another if it has all of
    /// its members, recursively).
    Contains(Value),
    /// `$type`: `string`, `number`, `integer`, `boolean`, `array`, `object` or `null`.
    Type(String),
    /// `$ne`: present and not equal to this value.
    Ne(Value),
}

const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "array", "object", "null",
];

impl Expected {
    /// Reads an expectation from the file: an object whose keys all start
    /// with `$` is a set of matchers; anything else is a value to equal.
    pub fn parse(value: Value) -> Result<Expected, String> {
        let Value::Object(map) = &value else {
            return Ok(Expected::Equals(value));
        };
        let dollars = map.keys().filter(|k| k.starts_with('$')).count();
        if dollars == 0 || map.is_empty() {
            return Ok(Expected::Equals(value));
        }
        if dollars != map.len() {
            return Err(
                "an expectation object mixes $matchers and plain keys; use only one kind".into(),
            );
        }
        let mut matchers = Vec::new();
        for (name, arg) in map {
            matchers.push(match name.as_str() {
                "$exists" => Matcher::Exists(arg.as_bool().ok_or("$exists takes true or false")?),
                "$length" => {
                    Matcher::Length(arg.as_u64().ok_or("$length takes a non-negative integer")?)
                }
                "$contains" => Matcher::Contains(arg.clone()),
                "$type" => {
                    let t = arg
                        .as_str()
                        .filter(|t| TYPES.contains(t))
                        .ok_or_else(|| format!("$type takes one of {}", TYPES.join(", ")))?;
                    Matcher::Type(t.to_owned())
                }
                "$ne" => Matcher::Ne(arg.clone()),
                other => {
                    return Err(format!(
                        "unknown matcher {other} (known: $exists, $length, $contains, $type, $ne)"
                    ))
                }
            });
        }
        Ok(Expected::Matchers(matchers))
    }

    /// The strings a template may appear in.
    fn template_values(&self) -> Vec<&Value> {
        match self {
            Expected::Equals(v) => vec![v],
            Expected::Matchers(ms) => ms
                .iter()
                .filter_map(|m| match m {
                    Matcher::Contains(v) | Matcher::Ne(v) => Some(v),
                    _ => None,
                })
                .collect(),
        }
    }

    /// `None` if `actual` satisfies the expectation (after templates), else
    /// what was expected, in words.
    pub fn check(&self, actual: Option<&Value>, vars: &Vars) -> Result<Option<String>, String> {
        match self {
            Expected::Equals(v) => {
                let v = substitute_value(v, vars)?;
                Ok((!actual.is_some_and(|a| json_eq(a, &v))).then(|| show(&v)))
            }
            Expected::Matchers(ms) => {
                for m in ms {
                    if let Some(wanted) = m.check(actual, vars)? {
                        return Ok(Some(wanted));
                    }
                }
                Ok(None)
            }
        }
    }
}

impl Matcher {
    fn check(&self, actual: Option<&Value>, vars: &Vars) -> Result<Option<String>, String> {
        let ok = match self {
            Matcher::Exists(e) => actual.is_some() == *e,
            Matcher::Length(n) => actual.and_then(length) == Some(*n),
            Matcher::Contains(v) => {
                let v = substitute_value(v, vars)?;
                let ok = match (actual, &v) {
                    (Some(Value::String(a)), Value::String(s)) => a.contains(s.as_str()),
                    (Some(Value::Array(items)), v) => items.iter().any(|i| includes(i, v)),
                    _ => false,
                };
                return Ok((!ok).then(|| match v {
                    Value::String(s) => format!("text containing {}", show(&Value::String(s))),
                    v => format!("an array with an element like {}", show(&v)),
                }));
            }
            Matcher::Type(t) => {
                actual.is_some_and(|a| type_name(a) == t || (t == "number" && a.is_number()))
            }
            Matcher::Ne(v) => {
                let v = substitute_value(v, vars)?;
                let ok = actual.is_some_and(|a| !json_eq(a, &v));
                return Ok((!ok).then(|| format!("present and not {}", show(&v))));
            }
        };
        Ok((!ok).then(|| match self {
            Matcher::Exists(true) => "to be present".to_owned(),
            Matcher::Exists(false) => "to be absent".to_owned(),
            Matcher::Length(n) => format!("length {n}"),
            Matcher::Type(t) => format!("type {t}"),
            Matcher::Contains(_) | Matcher::Ne(_) => unreachable!("returned above"),
        }))
    }
}

fn length(v: &Value) -> Option<u64> {
    match v {
        Value::Array(a) => Some(a.len() as u64),
        Value::Object(o) => Some(o.len() as u64),
        Value::String(s) => Some(s.chars().count() as u64),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Equality with numbers compared by value, so `1` equals `1.0`.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Whether `actual` has every member of `wanted` (recursively for objects).
fn includes(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(a), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|x| includes(x, v))),
        _ => json_eq(actual, wanted),
    }
}

fn trim(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

fn show(v: &Value) -> String {
    trim(&v.to_string(), SHOWN_VALUE_CHARS)
}

fn show_actual(v: Option<&Value>) -> String {
    v.map_or_else(|| "(missing)".to_owned(), show)
}

/// What a request came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An answer, buffered whole.
    Response {
        /// The status code.
        status: u16,
        /// The response headers.
        headers: HeaderMap,
        /// The body.
        body: Bytes,
    },
    /// The connection failed or was dropped before a whole answer arrived.
    ConnectionError(String),
    /// No answer within the step's `timeoutMs`.
    Timeout(Duration),
}

impl Outcome {
    /// One line saying what happened, with the body trimmed.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Response { status, body, .. } => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if text.is_empty() {
                    format!("{status} (empty body)")
                } else {
                    format!("{status} {}", trim(text, SHOWN_BODY_CHARS))
                }
            }
            Outcome::ConnectionError(e) => format!("connection error: {e}"),
            Outcome::Timeout(d) => format!("no response within {} ms", d.as_millis()),
        }
    }

    fn json(&self) -> Option<Result<Value, String>> {
        match self {
            Outcome::Response { body, .. } => Some(
                serde_json::from_slice(body)
                    .map_err(|_| "the response body is not JSON".to_owned()),
            ),
            _ => None,
        }
    }
}

/// What kind of outcome a step expects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExpectedOutcome {
    /// An HTTP response (the default).
    #[default]
    Response,
    /// A dropped or refused connection (`"connectionError": true`).
    ConnectionError,
    /// No answer within `timeoutMs` (`"timeout": true`).
    Timeout,
}

/// Everything a step checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// Response, dropped connection or timeout.
    pub outcome: ExpectedOutcome,
    /// The status code, if checked.
    pub status: Option<u16>,
    /// Body fields by path.
    pub json: Vec<(JsonPath, Expected)>,
    /// Response headers (lower-case names) and exact values.
    pub headers: Vec<(String, String)>,
    /// The answer took at least this long.
    pub min_duration: Option<Duration>,
    /// The answer took at most this long.
    pub max_duration: Option<Duration>,
}

impl Expect {
    /// Every mismatch, one readable line each (`field: expected X, got Y`);
    /// empty if the outcome is as expected.
    pub fn check(&self, outcome: &Outcome, elapsed: Duration, vars: &Vars) -> Vec<String> {
        let mut problems = Vec::new();
        let ms = |d: Duration| d.as_millis();
        if let Some(min) = self.min_duration {
            if elapsed < min {
                problems.push(format!(
                    "duration: expected at least {} ms, got {} ms",
                    ms(min),
                    ms(elapsed)
                ));
            }
        }
        if let Some(max) = self.max_duration {
            if elapsed > max {
                problems.push(format!(
                    "duration: expected at most {} ms, got {} ms",
                    ms(max),
                    ms(elapsed)
                ));
            }
        }
        let got = match outcome {
            Outcome::Response { status, .. } => format!("a {status} response"),
            Outcome::ConnectionError(e) => format!("a connection error ({e})"),
            Outcome::Timeout(d) => format!("no response within {} ms", ms(*d)),
        };
        let kind_matches = matches!(
            (self.outcome, outcome),
            (ExpectedOutcome::Response, Outcome::Response { .. })
                | (
                    ExpectedOutcome::ConnectionError,
                    Outcome::ConnectionError(_)
                )
                | (ExpectedOutcome::Timeout, Outcome::Timeout(_))
        );
        if !kind_matches {
            let wanted = match self.outcome {
                ExpectedOutcome::Response => "a response",
                ExpectedOutcome::ConnectionError => "a dropped connection",
                ExpectedOutcome::Timeout => "no response (a timeout)",
            };
            problems.push(format!("outcome: expected {wanted}, got {got}"));
            return problems;
        }
        let Outcome::Response {
            status, headers, ..
        } = outcome
        else {
            return problems;
        };
        if let Some(want) = self.status {
            if want != *status {
                problems.push(format!("status: expected {want}, got {status}"));
            }
        }
        for (name, want) in &self.headers {
            let want = match substitute_str(want, vars) {
                Ok(w) => w,
                Err(e) => {
                    problems.push(format!("header {name}: {e}"));
                    continue;
                }
            };
            let got = headers
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()));
            if got.as_deref() != Some(want.as_str()) {
                problems.push(format!(
                    "header {name}: expected {:?}, got {}",
                    want,
                    got.map_or_else(|| "(missing)".to_owned(), |g| format!("{g:?}"))
                ));
            }
        }
        if self.json.is_empty() {
            return problems;
        }
        let body = match outcome.json() {
            Some(Ok(body)) => body,
            Some(Err(e)) => {
                problems.push(format!("body: expected JSON, but {e}"));
                return problems;
            }
            None => return problems,
        };
        for (path, expected) in &self.json {
            let actual = path.lookup(&body);
            match expected.check(actual, vars) {
                Ok(None) => {}
                Ok(Some(wanted)) => {
                    // A wrong length is clearer as a number than as the whole array.
                    let got = match (expected, actual.and_then(length)) {
                        (Expected::Matchers(ms), Some(n))
                            if ms.iter().any(|m| matches!(m, Matcher::Length(_)))
                                && wanted.starts_with("length") =>
                        {
                            format!("length {n}")
                        }
                        _ => show_actual(actual),
                    };
                    problems.push(format!("{path}: expected {wanted}, got {got}"))
                }
                Err(e) => problems.push(format!("{path}: {e}")),
            }
        }
        problems
    }
}

/// Stores each captured field in `vars`; returns a line per field that is missing.
pub fn capture(captures: &[(String, JsonPath)], outcome: &Outcome, vars: &mut Vars) -> Vec<String> {
    if captures.is_empty() {
        return Vec::new();
    }
    let body = match outcome.json() {
        Some(Ok(body)) => body,
        Some(Err(e)) => {
            return vec![format!("capture: cannot capture, {e}")];
        }
        None => return vec!["capture: cannot capture without a response".to_owned()],
    };
    let mut problems = Vec::new();
    for (name, path) in captures {
        match path.lookup(&body) {
            Some(v) => {
                vars.insert(name.clone(), v.clone());
            }
            None => problems.push(format!("capture {name}: {path} is not in the response")),
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// The file format

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioFile {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    fixtures: Vec<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    vars: Map<String, Value>,
    steps: Vec<StepFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepFile {
    name: String,
    #[serde(default)]
    key: Option<String>,
    request: RequestFile,
    #[serde(default)]
    expect: ExpectFile,
    #[serde(default)]
    capture: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestFile {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    raw_body: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExpectFile {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    json: Map<String, Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    connection_error: bool,
    #[serde(default)]
    timeout: bool,
    #[serde(default)]
    min_duration_ms: Option<u64>,
    #[serde(default)]
    max_duration_ms: Option<u64>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON, sent with `Content-Type: application/json` unless the step sets one.
    Json(Value),
    /// Text sent as it is (`rawBody`), for malformed input.
    Raw(String),
}

/// One validated step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, as reported.
    pub name: String,
    /// The `Authorization` value (a template); `None` or empty sends none.
    pub key: Option<String>,
    /// The method.
    pub method: Method,
    /// The path and query (a template).
    pub path: String,
    /// Headers: names as given, values as templates.
    pub headers: Vec<(HeaderName, String)>,
    /// The body, if any (templates inside).
    pub body: Option<Body>,
    /// How long to wait for the answer.
    pub timeout: Duration,
    /// What to check.
    pub expect: Expect,
    /// Variables to set from the response body.
    pub capture: Vec<(String, JsonPath)>,
}

/// One validated scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `name`, or the file's stem.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Fixture files, resolved against the scenario's directory.
    pub fixtures: Vec<PathBuf>,
    /// Seed for fault probabilities on the in-process server.
    pub seed: Option<u64>,
    /// Starting variables.
    pub vars: Vars,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Why a scenario file cannot run: the file, a JSON path in it, the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The scenario file.
    pub file: PathBuf,
    /// Where, as a JSON path (`$.steps[2].request.method`).
    pub at: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at {}: {}",
            self.file.display(),
            self.at,
            self.reason
        )
    }
}

impl std::error::Error for Invalid {}

impl Scenario {
    /// Reads and validates a scenario file. With `check_fixtures`, its
    /// fixtures must load too (not so with `--target`, where they are the
    /// target's business).
    pub fn load(file: &Path, check_fixtures: bool) -> Result<Scenario, Invalid> {
        let bad = |at: &str, reason: String| Invalid {
            file: file.to_owned(),
            at: at.to_owned(),
            reason,
        };
        let bytes = std::fs::read(file).map_err(|e| bad("$", format!("cannot read: {e}")))?;
        Scenario::parse(file, &bytes, check_fixtures).map_err(|(at, reason)| bad(&at, reason))
    }

    /// Parses scenario JSON that came from `file`; on error returns the JSON
    /// path and the reason.
    pub fn parse(
        file: &Path,
        bytes: &[u8],
        check_fixtures: bool,
    ) -> Result<Scenario, (String, String)> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let raw: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." || path.is_empty() {
                "$".to_owned()
            } else {
                format!("$.{path}")
            };
            let mut reason = e.into_inner().to_string();
            if let Some(i) = reason.find(" at line ") {
                reason.truncate(i);
            }
            (at, reason)
        })?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let mut fixtures = Vec::new();
        for (i, f) in raw.fixtures.iter().enumerate() {
            let path = dir.join(f);
            if check_fixtures {
                Fixture::load(&path)
                    .map_err(|e| (format!("$.fixtures[{i}]"), format!("fixture {e}")))?;
            }
            fixtures.push(path);
        }
        if raw.steps.is_empty() {
            return Err((
                "$.steps".into(),
                "a scenario needs at least one step".into(),
            ));
        }
        let mut defined: BTreeSet<String> = BTreeSet::new();
        for (name, value) in &raw.vars {
            if !is_var_name(name) {
                return Err((format!("$.vars.{name}"), bad_var_name(name)));
            }
            check_templates_in(value, &format!("$.vars.{name}"), &defined)?;
            defined.insert(name.clone());
        }
        if let Some(k) = &raw.key {
            check_templates(k, "$.key", &defined)?;
        }
        let mut steps = Vec::new();
        for (i, s) in raw.steps.into_iter().enumerate() {
            steps.push(compile_step(
                s,
                &format!("$.steps[{i}]"),
                raw.key.as_ref(),
                &mut defined,
            )?);
        }
        let name = raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                file.file_stem().map_or_else(
                    || "scenario".to_owned(),
                    |s| s.to_string_lossy().into_owned(),
                )
            });
        let _ = raw.description;
        Ok(Scenario {
            name,
            file: file.to_owned(),
            fixtures,
            seed: raw.seed,
            vars: raw.vars,
            steps,
        })
    }
}

fn bad_var_name(name: &str) -> String {
    format!("{name:?} is not a variable name (a letter or _, then letters, digits, _ or -)")
}

fn check_templates(
    text: &str,
    at: &str,
    defined: &BTreeSet<String>,
) -> Result<(), (String, String)> {
    for name in references(text) {
        if !defined.contains(&name) {
            let known = if defined.is_empty() {
                "none".to_owned()
            } else {
                defined.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            return Err((
                at.to_owned(),
                format!(
                    "{{{{{name}}}}} is not defined by `vars` or an earlier step's `capture` (defined: {known})"
                ),
            ));
        }
    }
    Ok(())
}

fn check_templates_in(
    value: &Value,
    at: &str,
    defined: &BTreeSet<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) => check_templates(s, at, defined),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_templates_in(v, &format!("{at}[{i}]"), defined)),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_templates_in(v, &member(at, k), defined)),
        _ => Ok(()),
    }
}

/// `at.key`, or `at["key"]` when the key is not a plain word.
fn member(at: &str, key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!("{at}.{key}")
    } else {
        format!("{at}[{}]", Value::String(key.to_owned()))
    }
}

fn compile_step(
    s: StepFile,
    at: &str,
    scenario_key: Option<&String>,
    defined: &mut BTreeSet<String>,
) -> Result<Step, (String, String)> {
    let err = |field: &str, reason: String| (format!("{at}.{field}"), reason);
    if s.name.trim().is_empty() {
        return Err(err("name", "must not be empty".into()));
    }
    if let Some(k) = &s.key {
        check_templates(k, &format!("{at}.key"), defined)?;
    }
    let r = s.request;
    let method = Method::from_bytes(r.method.as_bytes())
        .ok()
        .filter(|_| !r.method.is_empty())
        .ok_or_else(|| {
            err(
                "request.method",
                format!("{:?} is not an HTTP method", r.method),
            )
        })?;
    if !r.path.starts_with('/') {
        return Err(err("request.path", "must start with /".into()));
    }
    check_templates(&r.path, &format!("{at}.request.path"), defined)?;
    let mut headers = Vec::new();
    for (name, value) in &r.headers {
        let h = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            (
                member(&format!("{at}.request.headers"), name),
                format!("{name:?} is not a header name"),
            )
        })?;
        check_templates(
            value,
            &member(&format!("{at}.request.headers"), name),
            defined,
        )?;
        headers.push((h, value.clone()));
    }
    let body = match (r.body, r.raw_body) {
        (Some(_), Some(_)) => {
            return Err(err("request", "give `body` or `rawBody`, not both".into()))
        }
        (Some(v), None) => {
            check_templates_in(&v, &format!("{at}.request.body"), defined)?;
            Some(Body::Json(v))
        }
        (None, Some(t)) => {
            check_templates(&t, &format!("{at}.request.rawBody"), defined)?;
            Some(Body::Raw(t))
        }
        (None, None) => None,
    };
    let timeout_ms = r.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms == 0 {
        return Err(err("request.timeoutMs", "must be at least 1".into()));
    }

    let e = s.expect;
    let outcome = match (e.connection_error, e.timeout) {
        (true, true) => {
            return Err(err(
                "expect",
                "connectionError and timeout cannot both be expected".into(),
            ))
        }
        (true, false) => ExpectedOutcome::ConnectionError,
        (false, true) => ExpectedOutcome::Timeout,
        (false, false) => ExpectedOutcome::Response,
    };
    if outcome != ExpectedOutcome::Response
        && (e.status.is_some()
            || !e.json.is_empty()
            || !e.headers.is_empty()
            || !s.capture.is_empty())
    {
        return Err(err(
            "expect",
            "status, json, headers and capture need a response; they cannot go with connectionError or timeout".into(),
        ));
    }
    if let Some(status) = e.status {
        if !(100..=599).contains(&status) {
            return Err(err(
                "expect.status",
                format!("{status} is not an HTTP status"),
            ));
        }
    }
    let mut json = Vec::new();
    for (path, value) in e.json {
        let here = member(&format!("{at}.expect.json"), &path);
        let parsed: JsonPath = path
            .parse()
            .map_err(|r: String| (here.clone(), format!("bad path: {r}")))?;
        let expected = Expected::parse(value).map_err(|r| (here.clone(), r))?;
        for v in expected.template_values() {
            check_templates_in(v, &here, defined)?;
        }
        json.push((parsed, expected));
    }
    let mut expect_headers = Vec::new();
    for (name, value) in e.headers {
        let here = member(&format!("{at}.expect.headers"), &name);
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err((here, format!("{name:?} is not a header name")));
        }
        check_templates(&value, &here, defined)?;
        expect_headers.push((name.to_ascii_lowercase(), value));
    }
    if let (Some(min), Some(max)) = (e.min_duration_ms, e.max_duration_ms) {
        if min > max {
            return Err(err(
                "expect",
                "minDurationMs is more than maxDurationMs".into(),
            ));
        }
    }
    let mut capture = Vec::new();
    for (name, path) in s.capture {
        let here = member(&format!("{at}.capture"), &name);
        if !is_var_name(&name) {
            return Err((here, bad_var_name(&name)));
        }
        let parsed: JsonPath = path
            .parse()
            .map_err(|r: String| (here.clone(), format!("bad path: {r}")))?;
        capture.push((name, parsed));
    }
    // Captures are defined for the steps after this one.
    for (name, _) in &capture {
        defined.insert(name.clone());
    }
    Ok(Step {
        name: s.name,
        key: s.key.or_else(|| scenario_key.cloned()),
        method,
        path: r.path,
        headers,
        body,
        timeout: Duration::from_millis(timeout_ms),
        expect: Expect {
            outcome,
            status: e.status,
            json,
            headers: expect_headers,
            min_duration: e.min_duration_ms.map(Duration::from_millis),
            max_duration: e.max_duration_ms.map(Duration::from_millis),
        },
        capture,
    })
}

// ---------------------------------------------------------------------------
// Running

/// How `archil-mock scenario` runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run against this base URL instead of a fresh in-process server.
    pub target: Option<String>,
    /// With a target: `POST /_mock/reset` before each scenario.
    pub reset: bool,
    /// Sent as `X-Archil-Mock-Admin-Token` on `/_mock/` requests that lack it.
    pub admin_token: Option<String>,
    /// Write a JUnit XML report here.
    pub junit: Option<PathBuf>,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Every mismatch; empty means it passed.
    pub problems: Vec<String>,
    /// What actually happened, in one line (absent if nothing was sent).
    pub actual: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

impl StepReport {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Why it could not start (its steps then did not run).
    pub setup_error: Option<String>,
    /// One per step that ran.
    pub steps: Vec<StepReport>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Totals over every step (a scenario that cannot start counts as one failure).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps that passed.
    pub passed: usize,
    /// Steps that failed.
    pub failed: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

/// Why a run could not complete.
#[derive(Debug)]
pub enum RunError {
    /// Some files are invalid; nothing ran.
    Invalid(Vec<Invalid>),
    /// The JUnit report could not be written.
    Junit(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Invalid(list) => {
                let lines: Vec<String> = list.iter().map(ToString::to_string).collect();
                f.write_str(&lines.join("\n"))
            }
            RunError::Junit(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for RunError {}

/// Loads every file (all must be valid, or nothing runs), runs each scenario
/// in turn, writes a line per step to `out` as it finishes and the summary
/// line last, and writes the JUnit report if asked.
pub async fn run_files(
    files: &[PathBuf],
    options: &Options,
    out: &mut dyn Write,
) -> Result<Summary, RunError> {
    let mut scenarios = Vec::new();
    let mut invalid = Vec::new();
    for file in files {
        match Scenario::load(file, options.target.is_none()) {
            Ok(s) => scenarios.push(s),
            Err(e) => invalid.push(e),
        }
    }
    if !invalid.is_empty() {
        return Err(RunError::Invalid(invalid));
    }
    let mut reports = Vec::new();
    let mut summary = Summary::default();
    for scenario in &scenarios {
        let report = run_scenario(scenario, options, out).await;
        if report.setup_error.is_some() {
            summary.failed += 1;
        }
        for step in &report.steps {
            if step.passed() {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
        }
        reports.push(report);
    }
    let _ = writeln!(out, "{summary}");
    let _ = out.flush();
    if let Some(path) = &options.junit {
        write_junit(path, &reports).map_err(RunError::Junit)?;
    }
    Ok(summary)
}

/// A fresh in-process server for one scenario.
async fn start_local(scenario: &Scenario) -> Result<crate::MockServer, String> {
    crate::MockServer::with_config(Config {
        fixtures: scenario.fixtures.clone(),
        seed: scenario.seed,
        // A step that timed out on purpose may leave a delayed request in
        // flight; there is no reason to wait long for it.
        drain_timeout: Duration::from_millis(200),
        ..Config::default()
    })
    .await
    .map_err(|e| e.to_string())
}

async fn run_scenario(
    scenario: &Scenario,
    options: &Options,
    out: &mut dyn Write,
) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        setup_error: None,
        steps: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut local = None;
    let base = match &options.target {
        Some(target) => target.trim_end_matches('/').to_owned(),
        None => match start_local(scenario).await {
            Ok(server) => {
                let base = server.uri();
                local = Some(server);
                base
            }
            Err(e) => {
                let _ = writeln!(out, "FAIL {}: (setup)\n    {e}", scenario.name);
                report.setup_error = Some(e);
                report.elapsed = started.elapsed();
                return report;
            }
        },
    };
    if options.target.is_some() && options.reset {
        let headers = admin_headers(options);
        let reset = crate::client::request(
            Method::POST,
            &format!("{base}{ADMIN_PREFIX}reset"),
            &headers,
            None,
        )
        .await;
        let problem = match reset {
            Ok((200, _, _)) => None,
            Ok((status, _, body)) => Some(format!(
                "POST {ADMIN_PREFIX}reset answered {status} {}",
                trim(&String::from_utf8_lossy(&body), SHOWN_BODY_CHARS)
            )),
            Err(e) => Some(format!("POST {ADMIN_PREFIX}reset: {e}")),
        };
        if let Some(e) = problem {
            let _ = writeln!(out, "FAIL {}: (setup)\n    {e}", scenario.name);
            report.setup_error = Some(e);
            report.elapsed = started.elapsed();
            return report;
        }
    }
    let mut vars = scenario.vars.clone();
    for step in &scenario.steps {
        let result = run_step(step, &base, options, &mut vars).await;
        let _ = write_step(out, &scenario.name, &result);
        report.steps.push(result);
    }
    if let Some(server) = local {
        server.shutdown().await;
    }
    report.elapsed = started.elapsed();
    report
}

fn admin_headers(options: &Options) -> Vec<(String, String)> {
    options
        .admin_token
        .iter()
        .map(|t| (ADMIN_TOKEN_HEADER.to_owned(), t.clone()))
        .collect()
}

fn write_step(out: &mut dyn Write, scenario: &str, step: &StepReport) -> std::io::Result<()> {
    let ms = step.elapsed.as_millis();
    if step.passed() {
        writeln!(out, "PASS {scenario}: {} ({ms} ms)", step.name)?;
    } else {
        writeln!(out, "FAIL {scenario}: {} ({ms} ms)", step.name)?;
        for p in &step.problems {
            writeln!(out, "    {p}")?;
        }
        if let Some(actual) = &step.actual {
            writeln!(out, "    actual: {actual}")?;
        }
    }
    out.flush()
}

/// The request a step sends, with every template filled in.
struct Prepared {
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn prepare(step: &Step, base: &str, options: &Options, vars: &Vars) -> Result<Prepared, String> {
    let path = substitute_str(&step.path, vars).map_err(|e| format!("request.path: {e}"))?;
    let url = format!("{base}{path}");
    url.parse::<hyper::Uri>()
        .map_err(|e| format!("request.path: {url:?} is not a valid URL: {e}"))?;
    let mut headers = Vec::new();
    if let Some(key) = &step.key {
        let key = substitute_str(key, vars).map_err(|e| format!("key: {e}"))?;
        if !key.is_empty() {
            headers.push(("authorization".to_owned(), key));
        }
    }
    for (name, value) in &step.headers {
        let value =
            substitute_str(value, vars).map_err(|e| format!("request.headers.{name}: {e}"))?;
        HeaderValue::from_str(&value).map_err(|_| {
            format!("request.headers.{name}: {value:?} is not a valid header value")
        })?;
        // A header given by the step replaces the key shorthand.
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
        headers.push((name.as_str().to_owned(), value));
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if path.starts_with(ADMIN_PREFIX) && !has(&headers, ADMIN_TOKEN_HEADER) {
        headers.extend(admin_headers(options));
    }
    let body = match &step.body {
        None => None,
        Some(Body::Json(v)) => {
            let v = substitute_value(v, vars).map_err(|e| format!("request.body: {e}"))?;
            if !has(&headers, "content-type") {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            Some(serde_json::to_vec(&v).expect("a JSON value serialises"))
        }
        Some(Body::Raw(t)) => Some(
            substitute_str(t, vars)
                .map_err(|e| format!("request.rawBody: {e}"))?
                .into_bytes(),
        ),
    };
    Ok(Prepared { url, headers, body })
}

async fn run_step(step: &Step, base: &str, options: &Options, vars: &mut Vars) -> StepReport {
    let started = Instant::now();
    let prepared = match prepare(step, base, options, vars) {
        Ok(p) => p,
        Err(e) => {
            return StepReport {
                name: step.name.clone(),
                problems: vec![format!("not sent: {e}")],
                actual: None,
                elapsed: started.elapsed(),
            }
        }
    };
    let sent = crate::client::request(
        step.method.clone(),
        &prepared.url,
        &prepared.headers,
        prepared.body,
    );
    let outcome = match tokio::time::timeout(step.timeout, sent).await {
        Err(_) => Outcome::Timeout(step.timeout),
        Ok(Err(e)) => Outcome::ConnectionError(e),
        Ok(Ok((status, headers, body))) => Outcome::Response {
            status,
            headers,
            body,
        },
    };
    let elapsed = started.elapsed();
    let mut problems = step.expect.check(&outcome, elapsed, vars);
    if matches!(outcome, Outcome::Response { .. }) {
        problems.extend(capture(&step.capture, &outcome, vars));
    }
    StepReport {
        name: step.name.clone(),
        problems,
        actual: Some(outcome.describe()),
        elapsed,
    }
}

/// The JUnit XML for these reports: one testsuite per scenario, one testcase per step.
pub fn junit(reports: &[ScenarioReport]) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("archil-mock scenarios");
    let mut total = Duration::ZERO;
    for r in reports {
        let mut suite = TestSuite::new(r.name.as_str());
        suite.set_time(r.elapsed);
        total += r.elapsed;
        if let Some(e) = &r.setup_error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.as_str());
            let mut case = TestCase::new("(setup)", status);
            case.set_classname(r.name.as_str());
            suite.add_test_case(case);
        }
        for step in &r.steps {
            let status = if step.passed() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(step.problems[0].as_str());
                let mut detail = step.problems.join("\n");
                if let Some(actual) = &step.actual {
                    detail.push_str(&format!("\nactual: {actual}"));
                }
                status.set_description(detail);
                status
            };
            let mut case = TestCase::new(step.name.as_str(), status);
            case.set_classname(r.name.as_str());
            case.set_time(step.elapsed);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.set_time(total);
    report
        .to_string()
        .map_err(|e| format!("cannot render the JUnit report: {e}"))
}

fn write_junit(path: &Path, reports: &[ScenarioReport]) -> Result<(), String> {
    let xml = junit(reports)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    std::fs::write(path, xml).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> JsonPath {
        p.parse().unwrap()
    }

    fn vars(v: Value) -> Vars {
        v.as_object().unwrap().clone()
    }

    fn response(status: u16, body: Value) -> Outcome {
        Outcome::Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn paths_parse_keys_indexes_and_quoted_keys() {
        use Segment::*;
        assert_eq!(path("").segments(), &[]);
        assert_eq!(path("$").segments(), &[]);
        assert_eq!(
            path("data.tokens[0].name").segments(),
            &[
                Key("data".into()),
                Key("tokens".into()),
                Index(0),
                Key("name".into())
            ]
        );
        assert_eq!(path("$.a[-1]").segments(), &[Key("a".into()), Index(-1)]);
        assert_eq!(path("$[2]").segments(), &[Index(2)]);
        assert_eq!(
            path(r#"a["x.y"]["q\"uote"].b"#).segments(),
            &[
                Key("a".into()),
                Key("x.y".into()),
                Key("q\"uote".into()),
                Key("b".into())
            ]
        );
        assert_eq!(path("$schema").segments(), &[Key("$schema".into())]);
        for bad in [
            "a.", "a..b", "a[", "a[x]", "a[+1]", "a]", r#"a["x"#, ".a", "$.", "a.[0]",
        ] {
            assert!(bad.parse::<JsonPath>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn lookup_follows_the_path_and_counts_negative_indexes_from_the_end() {
        let doc = json!({"data": {"tokens": [{"name": "a"}, {"name": "b"}]}, "x.y": 1});
        assert_eq!(path("data.tokens[1].name").lookup(&doc), Some(&json!("b")));
        assert_eq!(path("data.tokens[-2].name").lookup(&doc), Some(&json!("a")));
        assert_eq!(path("data.tokens[-3]").lookup(&doc), None);
        assert_eq!(path("data.tokens[2]").lookup(&doc), None);
        assert_eq!(path(r#"["x.y"]"#).lookup(&doc), Some(&json!(1)));
        assert_eq!(path("data.tokens.name").lookup(&doc), None);
        assert_eq!(path("").lookup(&doc), Some(&doc));
    }

    #[test]
    fn templates_fill_in_text_and_keep_types_for_whole_references() {
        let v = vars(json!({"id": "abc", "n": 3, "obj": {"a": 1}}));
        assert_eq!(
            substitute_str("/api/tokens/{{id}}?n={{ n }}", &v).unwrap(),
            "/api/tokens/abc?n=3"
        );
        assert_eq!(substitute("{{n}}", &v).unwrap(), json!(3));
        assert_eq!(substitute("{{obj}}", &v).unwrap(), json!({"a": 1}));
        assert_eq!(substitute("x{{obj}}", &v).unwrap(), json!("x{\"a\":1}"));
        assert_eq!(substitute("{{id}}{{id}}", &v).unwrap(), json!("abcabc"));
        // Not a reference: left alone.
        assert_eq!(
            substitute_str("{{not a name}} {{}} {{", &v).unwrap(),
            "{{not a name}} {{}} {{"
        );
        let err = substitute_str("{{missing}}", &v).unwrap_err();
        assert!(err.contains("{{missing}}"), "{err}");
        assert_eq!(
            substitute_value(&json!({"name": "{{id}}", "list": ["{{n}}"]}), &v).unwrap(),
            json!({"name": "abc", "list": [3]})
        );
        assert_eq!(references("a {{x}} b {{ y-2 }} {{3}}"), ["x", "y-2"]);
    }

    #[test]
    fn matching_fields_give_no_diff() {
        let expect = Expect {
            status: Some(201),
            json: vec![
                (path("data.name"), Expected::parse(json!("ci")).unwrap()),
                (path("data.n"), Expected::parse(json!(1.0)).unwrap()),
                (path("data.id"), Expected::parse(json!("{{id}}")).unwrap()),
                (
                    path("data.tags"),
                    Expected::parse(json!({"$length": 2, "$contains": "x"})).unwrap(),
                ),
                (
                    path("data.secret"),
                    Expected::parse(json!({"$exists": false})).unwrap(),
                ),
                (
                    path("data.list"),
                    Expected::parse(json!({"$contains": {"name": "b"}})).unwrap(),
                ),
                (
                    path("data.n"),
                    Expected::parse(json!({"$type": "integer", "$ne": 2})).unwrap(),
                ),
                (
                    path("error"),
                    Expected::parse(json!({"$contains": "bad"})).unwrap(),
                ),
            ],
            ..Expect::default()
        };
        let body = json!({"data": {"name": "ci", "n": 1, "id": "abc", "tags": ["x", "y"],
            "list": [{"name": "a", "id": 1}, {"name": "b", "id": 2}]}, "error": "a bad thing"});
        let problems = expect.check(
            &response(201, body),
            Duration::ZERO,
            &vars(json!({"id": "abc"})),
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn mismatches_are_listed_as_expected_against_got() {
        let expect = Expect {
            status: Some(200),
            json: vec![
                (
                    path("data.tokens[0].name"),
                    Expected::parse(json!("ci")).unwrap(),
                ),
                (
                    path("data.tokens"),
                    Expected::parse(json!({"$length": 3})).unwrap(),
                ),
                (path("data.gone"), Expected::parse(json!(null)).unwrap()),
                (
                    path("data.tokens[0].token"),
                    Expected::parse(json!({"$exists": false})).unwrap(),
                ),
            ],
            min_duration: Some(Duration::from_millis(50)),
            ..Expect::default()
        };
        let body = json!({"data": {"tokens": [{"name": "deploy", "token": "key-x"}]}});
        let problems = expect.check(&response(401, body), Duration::from_millis(3), &Vars::new());
        assert_eq!(
            problems,
            [
                "duration: expected at least 50 ms, got 3 ms",
                "status: expected 200, got 401",
                "data.tokens[0].name: expected \"ci\", got \"deploy\"",
                "data.tokens: expected length 3, got length 1",
                "data.gone: expected null, got (missing)",
                "data.tokens[0].token: expected to be absent, got \"key-x\"",
            ]
        );
    }

    #[test]
    fn the_outcome_kind_is_checked_first() {
        let dropped = Expect {
            outcome: ExpectedOutcome::ConnectionError,
            ..Expect::default()
        };
        assert!(dropped
            .check(
                &Outcome::ConnectionError("reset".into()),
                Duration::ZERO,
                &Vars::new()
            )
            .is_empty());
        let problems = dropped.check(&response(200, json!({})), Duration::ZERO, &Vars::new());
        assert_eq!(
            problems,
            ["outcome: expected a dropped connection, got a 200 response"]
        );
        let problems = Expect::default().check(
            &Outcome::Timeout(Duration::from_millis(5)),
            Duration::ZERO,
            &Vars::new(),
        );
        assert_eq!(
            problems,
            ["outcome: expected a response, got no response within 5 ms"]
        );
        let non_json = Outcome::Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"<html>"),
        };
        let wants_json = Expect {
            json: vec![(path("a"), Expected::parse(json!(1)).unwrap())],
            ..Expect::default()
        };
        let problems = wants_json.check(&non_json, Duration::ZERO, &Vars::new());
        assert_eq!(
            problems,
            ["body: expected JSON, but the response body is not JSON"]
        );
    }

    #[test]
    fn matcher_objects_are_validated() {
        assert!(Expected::parse(json!({"$length": "3"})).is_err());
        assert!(Expected::parse(json!({"$type": "text"})).is_err());
        assert!(Expected::parse(json!({"$nope": 1}))
            .unwrap_err()
            .contains("unknown matcher"));
        assert!(Expected::parse(json!({"$exists": true, "name": "x"})).is_err());
        assert_eq!(
            Expected::parse(json!({"name": "x"})).unwrap(),
            Expected::Equals(json!({"name": "x"}))
        );
    }

    #[test]
    fn captures_store_values_and_report_missing_fields() {
        let mut v = Vars::new();
        let outcome = response(201, json!({"data": {"token": "key-new", "id": "abc"}}));
        let problems = capture(
            &[
                ("newKey".into(), path("data.token")),
                ("nope".into(), path("data.nope")),
            ],
            &outcome,
            &mut v,
        );
        assert_eq!(v["newKey"], json!("key-new"));
        assert_eq!(problems, ["capture nope: data.nope is not in the response"]);
    }

    fn parse(text: &str) -> Result<Scenario, (String, String)> {
        Scenario::parse(Path::new("/tmp/s.json"), text.as_bytes(), false)
    }

    #[test]
    fn invalid_files_name_the_json_path() {
        let (at, reason) =
            parse(r#"{"steps":[{"name":"a","request":{"method":5,"path":"/"}}]}"#).unwrap_err();
        assert_eq!(at, "$.steps[0].request.method");
        assert!(reason.contains("invalid type"), "{reason}");
        let (at, _) =
            parse(r#"{"steps":[{"name":"a","request":{"path":"/"},"expect":{"stauts":200}}]}"#)
                .unwrap_err();
        assert_eq!(at, "$.steps[0].expect.stauts");
        let (at, reason) = parse(
            r#"{"steps":[{"name":"a","request":{"path":"/"},"expect":{"json":{"data.x[":1}}}]}"#,
        )
        .unwrap_err();
        assert_eq!(at, r#"$.steps[0].expect.json["data.x["]"#);
        assert!(reason.contains("bad path"), "{reason}");
        let (at, reason) = parse(r#"{"steps":[{"name":"a","request":{"path":"/api/tokens/{{id}}"},"capture":{"id":"data.id"}}]}"#).unwrap_err();
        assert_eq!(at, "$.steps[0].request.path");
        assert!(reason.contains("{{id}}"), "{reason}");
        let (at, _) = parse(r#"{"steps":[]}"#).unwrap_err();
        assert_eq!(at, "$.steps");
        let (at, _) = parse(r#"{"steps":[{"name":"a","request":{"path":"/"},"expect":{"connectionError":true,"status":200}}]}"#).unwrap_err();
        assert_eq!(at, "$.steps[0].expect");
    }

    #[test]
    fn captures_are_defined_for_later_steps_and_the_scenario_key_is_inherited() {
        let s = parse(
            r#"{"key":"key-archil-mock","vars":{"n":"x"},"steps":[
                {"name":"a","request":{"method":"POST","path":"/api/tokens","body":{"name":"{{n}}"}},"capture":{"id":"data.id"}},
                {"name":"b","key":"","request":{"method":"DELETE","path":"/api/tokens/{{id}}"}}]}"#,
        )
        .unwrap();
        assert_eq!(s.name, "s");
        assert_eq!(s.steps[0].key.as_deref(), Some("key-archil-mock"));
        assert_eq!(s.steps[1].key.as_deref(), Some(""));
        assert_eq!(s.steps[1].method, Method::DELETE);
    }

    #[test]
    fn junit_has_a_suite_per_scenario_and_a_case_per_step() {
        let step = |name: &str, problems: Vec<String>| StepReport {
            name: name.into(),
            problems,
            actual: Some("200 {}".into()),
            elapsed: Duration::from_millis(1),
        };
        let xml = junit(&[ScenarioReport {
            name: "lifecycle".into(),
            setup_error: None,
            steps: vec![
                step("ok", vec![]),
                step("bad", vec!["status: expected 201, got 200".into()]),
            ],
            elapsed: Duration::from_millis(2),
        }])
        .unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.tests, 2);
        assert_eq!(parsed.failures, 1);
        assert_eq!(parsed.test_suites[0].name.as_str(), "lifecycle");
        assert!(xml.contains("status: expected 201, got 200"), "{xml}");
    }
}
