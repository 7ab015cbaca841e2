//! Running scenarios: [`Options`], [`run_files`], a fresh server (or a
//! `--target`) per scenario, and the requests each step sends.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hyper::header::HeaderValue;
use hyper::Method;

use super::format::{Body, Invalid, Scenario, Step};
use super::matching::{trim, Outcome, SHOWN_BODY_CHARS};
use super::report::{write_junit, write_step, ScenarioReport, StepReport, Summary};
use super::template::{capture, substitute_str, substitute_value, Vars};
use crate::admin::ADMIN_TOKEN_HEADER;
use crate::config::Config;
use crate::router::ADMIN_PREFIX;

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
        Some(Body::Bytes(b)) => Some(b.to_vec()),
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
