//! Expectations: what a step expects ([`Expect`], [`Expected`], [`Matcher`]),
//! what a request came to ([`Outcome`]), and the diff lines between the two.

use std::time::Duration;

use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::Value;

use super::template::{substitute_str, substitute_value, JsonPath, Vars};

/// How much of a response body a failure report shows.
pub(super) const SHOWN_BODY_CHARS: usize = 300;
/// How much of one value a diff line shows.
const SHOWN_VALUE_CHARS: usize = 120;

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
    pub(super) fn template_values(&self) -> Vec<&Value> {
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

pub(super) fn trim(text: &str, max: usize) -> String {
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

    pub(super) fn json(&self) -> Option<Result<Value, String>> {
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
    /// The raw body, for answers that are not JSON (object bytes, XML).
    pub body: Option<BodyExpect>,
}

/// Checks on a response's raw bytes: exact text, a substring, the size, or
/// a digest (lowercase or uppercase hex).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BodyExpect {
    /// The body is exactly this text (templates allowed).
    #[serde(default)]
    pub equals: Option<String>,
    /// The body contains this text (templates allowed).
    #[serde(default)]
    pub contains: Option<String>,
    /// The body has this many bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// The body's MD5, in hex.
    #[serde(default)]
    pub md5: Option<String>,
    /// The body's SHA-256, in hex.
    #[serde(default)]
    pub sha256: Option<String>,
}

impl BodyExpect {
    /// Every mismatch with these bytes.
    pub fn check(&self, body: &[u8], vars: &Vars, problems: &mut Vec<String>) {
        use md5::Digest as _;
        let text = String::from_utf8_lossy(body);
        for (what, wanted, ok) in [
            (
                "equals",
                &self.equals,
                &(|t: &str, w: &str| t == w) as &dyn Fn(&str, &str) -> bool,
            ),
            ("contains", &self.contains, &|t: &str, w: &str| {
                t.contains(w)
            }),
        ] {
            let Some(w) = wanted else { continue };
            match substitute_str(w, vars) {
                Ok(w) if ok(&text, &w) => {}
                Ok(w) => problems.push(format!(
                    "body: expected {} {:?}, got {:?}",
                    if what == "equals" {
                        "exactly"
                    } else {
                        "text containing"
                    },
                    trim(&w, SHOWN_BODY_CHARS),
                    trim(&text, SHOWN_BODY_CHARS)
                )),
                Err(e) => problems.push(format!("body.{what}: {e}")),
            }
        }
        if let Some(n) = self.size {
            if body.len() as u64 != n {
                problems.push(format!("body size: expected {n} bytes, got {}", body.len()));
            }
        }
        if let Some(want) = &self.md5 {
            let got = hex::encode(md5::Md5::digest(body));
            if !got.eq_ignore_ascii_case(want) {
                problems.push(format!("body md5: expected {want}, got {got}"));
            }
        }
        if let Some(want) = &self.sha256 {
            let got = hex::encode(sha2::Sha256::digest(body));
            if !got.eq_ignore_ascii_case(want) {
                problems.push(format!("body sha256: expected {want}, got {got}"));
            }
        }
    }
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
            status,
            headers,
            body,
        } = outcome
        else {
            return problems;
        };
        if let Some(b) = &self.body {
            b.check(body, vars, &mut problems);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::test_support::{path, response, vars};
    use serde_json::json;

    #[test]
    fn raw_bodies_are_checked_by_text_size_and_digest() {
        let check = |b: BodyExpect, body: &[u8]| {
            let mut problems = Vec::new();
            b.check(body, &vars(json!({})), &mut problems);
            problems
        };
        let all = BodyExpect {
            equals: Some("hello".into()),
            contains: Some("ell".into()),
            size: Some(5),
            md5: Some("5D41402ABC4B2A76B9719D911017C592".into()),
            sha256: Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into()),
        };
        assert_eq!(check(all.clone(), b"hello"), Vec::<String>::new());
        let problems = check(all, b"help!");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems[0].starts_with("body: expected exactly \"hello\""),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("body md5:")),
            "{problems:?}"
        );
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
}
