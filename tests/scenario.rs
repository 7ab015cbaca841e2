//! `archil-mock scenario`, black-box: the binary run on the shipped
//! scenarios, on deliberately wrong and invalid ones, with `--junit`, and
//! with `--target` against a separately started server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_archil-mock");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<PathBuf> {
    let dir = root().join("fixtures/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn scenario(args: &[&std::ffi::OsStr]) -> (Output, String, String) {
    let output = Command::new(BIN)
        .arg("scenario")
        .args(args)
        .env_remove("ARCHIL_MOCK_SCENARIO_TARGET")
        .env_remove("ARCHIL_MOCK_ADMIN_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

fn summary_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

/// A fresh directory under the target dir for one test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = root()
        .join("target/tmp/scenario-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_shipped_scenarios_pass() {
    let files = shipped();
    assert!(files.len() >= 7, "{files:?}");
    let args: Vec<_> = files.iter().map(|f| f.as_os_str()).collect();
    let (output, stdout, stderr) = scenario(&args);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let steps = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert!(steps >= 30, "{stdout}");
    assert_eq!(summary_line(&stdout), format!("{steps} passed, 0 failed"));
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

const WRONG: &str = r#"{
  "name": "wrong",
  "key": "key-archil-mock",
  "steps": [
    {
      "name": "create",
      "request": { "method": "POST", "path": "/api/tokens", "body": { "name": "ci" } },
      "expect": { "status": 201, "json": { "data.name": "ci" } },
      "capture": { "id": "data.id" }
    },
    {
      "name": "expects the wrong things",
      "request": { "path": "/api/tokens" },
      "expect": {
        "status": 201,
        "json": { "data.tokens[1].name": "deploy", "data.tokens": { "$length": 5 }, "data.tokens[1].id": "{{id}}" }
      }
    },
    {
      "name": "expects a dropped connection",
      "request": { "path": "/api/tokens" },
      "expect": { "connectionError": true }
    }
  ]
}"#;

#[test]
fn a_wrong_scenario_fails_with_a_readable_diff() {
    let dir = temp_dir("wrong");
    let file = write(&dir, "wrong.json", WRONG);
    let (output, stdout, stderr) = scenario(&[file.as_os_str()]);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS wrong: create ("), "{stdout}");
    assert!(
        stdout.contains("FAIL wrong: expects the wrong things ("),
        "{stdout}"
    );
    assert!(
        stdout.contains("    status: expected 201, got 200"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"    data.tokens[1].name: expected "deploy", got "ci""#),
        "{stdout}"
    );
    assert!(
        stdout.contains("    data.tokens: expected length 5, got length 2"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("data.tokens[1].id:"),
        "the captured id matches: {stdout}"
    );
    assert!(
        stdout.contains("    actual: 200 {\"success\":true"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    outcome: expected a dropped connection, got a 200 response"),
        "{stdout}"
    );
    assert_eq!(summary_line(&stdout), "1 passed, 2 failed");
}

#[test]
fn an_invalid_scenario_file_names_the_file_and_json_path_and_runs_nothing() {
    let dir = temp_dir("invalid");
    let good = root().join("fixtures/scenarios/token-lifecycle.json");
    let bad = write(
        &dir,
        "bad.json",
        r#"{"steps":[{"name":"a","request":{"path":"/api/tokens"}},
            {"name":"b","request":{"method":"GET","path":"/api/tokens","headers":{"X":1}}}]}"#,
    );
    let (output, stdout, stderr) = scenario(&[good.as_os_str(), bad.as_os_str()]);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "nothing runs: {stdout}");
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert!(
        stderr.contains("at $.steps[1].request.headers.X"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid type"), "{stderr}");

    let undefined = write(
        &dir,
        "undefined.json",
        r#"{"steps":[{"name":"a","request":{"method":"DELETE","path":"/api/tokens/{{tokenId}}"}}]}"#,
    );
    let (output, _, stderr) = scenario(&[undefined.as_os_str()]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at $.steps[0].request.path: {{tokenId}} is not defined"),
        "{stderr}"
    );

    let bad_fixture = write(
        &dir,
        "bad-fixture.json",
        r#"{"fixtures":["missing.json"],"steps":[{"name":"a","request":{"path":"/"}}]}"#,
    );
    let (output, _, stderr) = scenario(&[bad_fixture.as_os_str()]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at $.fixtures[0]: fixture") && stderr.contains("missing.json"),
        "{stderr}"
    );
}

#[test]
fn junit_writes_parseable_xml_with_the_right_counts() {
    let dir = temp_dir("junit");
    let wrong = write(&dir, "wrong.json", WRONG);
    let lifecycle = root().join("fixtures/scenarios/token-lifecycle.json");
    let report = dir.join("nested/report.xml");
    let (output, stdout, _) = scenario(&[
        lifecycle.as_os_str(),
        wrong.as_os_str(),
        "--junit".as_ref(),
        report.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let xml = std::fs::read_to_string(&report).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let lifecycle_steps = stdout
        .lines()
        .filter(|l| l.starts_with("PASS token-lifecycle:"))
        .count();
    assert_eq!(parsed.test_suites.len(), 2);
    assert_eq!(parsed.tests, lifecycle_steps + 3);
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.errors, 0);
    let suite = &parsed.test_suites[1];
    assert_eq!(suite.name.as_str(), "wrong");
    assert_eq!(suite.test_cases.len(), 3);
    assert_eq!(suite.failures, 2);
    assert_eq!(
        suite.test_cases[1].name.as_str(),
        "expects the wrong things"
    );
    assert!(xml.contains("status: expected 201, got 200"), "{xml}");
}

/// A server started as its own process, killed on drop.
struct Target {
    child: Child,
    base: String,
    /// Held open: the server prints more lines, and a closed pipe would kill it.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Target {
    fn start(args: &[&str]) -> Target {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("archil-mock listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Target {
            child,
            base,
            _stdout: stdout,
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn target_runs_against_a_separately_started_server() {
    let fixture = root().join("fixtures/two-accounts.json");
    let target = Target::start(&["--fixture", fixture.to_str().unwrap()]);
    let rotation = root().join("fixtures/scenarios/key-rotation.json");
    let lifecycle = root().join("fixtures/scenarios/token-lifecycle.json");
    let args = [
        "--target".as_ref(),
        target.base.as_ref(),
        rotation.as_os_str(),
        lifecycle.as_os_str(),
    ];
    let (output, stdout, stderr) = scenario(&args);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        summary_line(&stdout).ends_with(" passed, 0 failed"),
        "{stdout}"
    );

    // The target kept the rotation's state: running it again fails (alice
    // now has only the rotated key), unless --reset restores the fixtures.
    let (output, stdout, _) = scenario(&args[..3]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let mut with_reset = args[..3].to_vec();
    with_reset.push("--reset".as_ref());
    let (output, stdout, _) = scenario(&with_reset);
    assert!(output.status.success(), "{stdout}");
}

#[test]
fn target_ignores_fixtures_and_reports_an_unreachable_server_per_step() {
    let dir = temp_dir("unreachable");
    // The fixture does not exist: with --target that is the target's business.
    let file = write(
        &dir,
        "s.json",
        r#"{"fixtures":["nowhere.json"],"steps":[{"name":"list","key":"key-archil-mock","request":{"path":"/api/tokens"},"expect":{"status":200}}]}"#,
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (output, stdout, _) = scenario(&["--target".as_ref(), base.as_ref(), file.as_os_str()]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("outcome: expected a response, got a connection error"),
        "{stdout}"
    );
    assert_eq!(summary_line(&stdout), "0 passed, 1 failed");
}
