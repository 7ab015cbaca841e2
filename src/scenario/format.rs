//! The scenario file format: the JSON as read (`ScenarioFile` and its
//! parts), its validation (JSON paths in every error, templates that refer
//! only to defined variables) and the checked [`Scenario`] it compiles to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::header::HeaderName;
use hyper::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::matching::BodyExpect;
use super::matching::{Expect, Expected, ExpectedOutcome};
use super::template::{is_var_name, references, JsonPath, Vars};
use crate::fixture::Fixture;

/// How long a step waits for its answer unless it sets `timeoutMs`.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

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
    base64_body: Option<String>,
    #[serde(default)]
    body_file: Option<String>,
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
    #[serde(default)]
    body: Option<BodyExpect>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON, sent with `Content-Type: application/json` unless the step sets one.
    Json(Value),
    /// Text sent as it is (`rawBody`), for malformed input.
    Raw(String),
    /// Bytes sent as they are (`base64Body`, `bodyFile`): object contents.
    Bytes(bytes::Bytes),
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
                dir,
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
    dir: &Path,
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
    let given = [
        r.body.is_some(),
        r.raw_body.is_some(),
        r.base64_body.is_some(),
        r.body_file.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(err(
            "request",
            "give one of `body`, `rawBody`, `base64Body` and `bodyFile`".into(),
        ));
    }
    let body = if let Some(v) = r.body {
        check_templates_in(&v, &format!("{at}.request.body"), defined)?;
        Some(Body::Json(v))
    } else if let Some(t) = r.raw_body {
        check_templates(&t, &format!("{at}.request.rawBody"), defined)?;
        Some(Body::Raw(t))
    } else if let Some(b) = r.base64_body {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| err("request.base64Body", format!("is not base64: {e}")))?;
        Some(Body::Bytes(bytes.into()))
    } else if let Some(f) = r.body_file {
        let path = dir.join(&f);
        let bytes = std::fs::read(&path).map_err(|e| {
            err(
                "request.bodyFile",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Some(Body::Bytes(bytes.into()))
    } else {
        None
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
            || e.body.is_some()
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
    if let Some(b) = &e.body {
        for (field, text) in [("equals", &b.equals), ("contains", &b.contains)] {
            if let Some(t) = text {
                check_templates(t, &format!("{at}.expect.body.{field}"), defined)?;
            }
        }
        for (field, digest, len) in [("md5", &b.md5, 32), ("sha256", &b.sha256, 64)] {
            if digest
                .as_ref()
                .is_some_and(|d| d.len() != len || !d.bytes().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(err(
                    &format!("expect.body.{field}"),
                    format!("must be {len} hex characters"),
                ));
            }
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
            body: e.body,
        },
        capture,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (at, reason) =
            parse(r#"{"steps":[{"name":"a","request":{"path":"/","base64Body":"!!"}}]}"#)
                .unwrap_err();
        assert_eq!(
            (at.as_str(), reason.contains("base64")),
            ("$.steps[0].request.base64Body", true)
        );
        let (at, _) = parse(
            r#"{"steps":[{"name":"a","request":{"path":"/","rawBody":"x","base64Body":"eA=="}}]}"#,
        )
        .unwrap_err();
        assert_eq!(at, "$.steps[0].request");
        let (at, _) = parse(
            r#"{"steps":[{"name":"a","request":{"path":"/","bodyFile":"no-such-file.bin"}}]}"#,
        )
        .unwrap_err();
        assert_eq!(at, "$.steps[0].request.bodyFile");
        let (at, _) = parse(
            r#"{"steps":[{"name":"a","request":{"path":"/"},"expect":{"body":{"md5":"xyz"}}}]}"#,
        )
        .unwrap_err();
        assert_eq!(at, "$.steps[0].expect.body.md5");
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
}
