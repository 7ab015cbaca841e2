//! The `archil-mock` binary as a terminal or CI user meets it: the first
//! stdout lines, signals and draining, `healthcheck`, startup errors, env vars,
//! `--help` and the access log. Each test runs the real executable.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_archil-mock");
const PREFIX: &str = "archil-mock listening on http://";

/// The binary with no `ARCHIL_MOCK_*` variables inherited from the test's environment.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("ARCHIL_MOCK_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args).envs(env.iter().copied()).kill_on_drop(true);
    cmd
}

/// A running server and what it printed on its first two lines.
struct Running {
    child: Child,
    port: u16,
    first: String,
    second: String,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
}

/// What a stopped server left behind.
struct Stopped {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts the binary (on port 0 unless `args` or `env` say otherwise) and
/// reads its first two stdout lines.
async fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut cmd = command(args, env);
    if !args.contains(&"--port") && !env.iter().any(|(k, _)| *k == "ARCHIL_MOCK_PORT") {
        cmd.args(["--port", "0"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let lines = tokio::time::timeout(Duration::from_secs(10), async {
        let first = stdout.next_line().await.unwrap();
        let second = stdout.next_line().await.unwrap();
        (first, second)
    })
    .await
    .expect("the server prints its address within 10 s");
    let (Some(first), Some(second)) = lines else {
        let _ = child.wait().await;
        panic!(
            "the server exited before printing two lines; stderr:\n{}",
            stderr.await.unwrap()
        );
    };
    let port = parse_first_line(&first).1;
    Running {
        child,
        port,
        first,
        second,
        stdout,
        stderr,
    }
}

/// `archil-mock listening on http://HOST:PORT` → (HOST, PORT).
fn parse_first_line(line: &str) -> (String, u16) {
    let rest = line
        .strip_prefix(PREFIX)
        .unwrap_or_else(|| panic!("first line {line:?} does not start with {PREFIX:?}"));
    let (host, port) = rest
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let port = port
        .parse::<u16>()
        .unwrap_or_else(|_| panic!("port in {line:?} is not a number"));
    (host.to_owned(), port)
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// Waits (at most 10 s) for the process to exit and collects its output.
    async fn wait(mut self) -> Stopped {
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the server exits within 10 s")
            .unwrap();
        let mut stdout = String::new();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        Stopped {
            status,
            stdout: format!("{}\n{}\n{stdout}", self.first, self.second),
            stderr: self.stderr.await.unwrap(),
        }
    }

    /// SIGTERM, then [`Running::wait`].
    async fn stop(self) -> Stopped {
        self.signal("TERM");
        self.wait().await
    }
}

/// Runs the binary to completion (at most 10 s).
async fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let out = command(args, env).stdin(Stdio::null()).output();
    tokio::time::timeout(Duration::from_secs(10), out)
        .await
        .expect("the command finishes within 10 s")
        .unwrap()
}

async fn get(url: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(key) = key {
        req = req.header("Authorization", key);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn the_first_stdout_line_names_the_address_and_the_second_the_built_in_key() {
    let server = start(&[], &[]).await;

    let (host, port) = parse_first_line(&server.first);
    assert_eq!(host, "127.0.0.1");
    assert_ne!(port, 0);
    assert_eq!(server.first, format!("{PREFIX}127.0.0.1:{port}"));
    assert_eq!(
        server.second,
        "accepting API keys: key-archil-mock (built-in, account default)"
    );
    assert_eq!(get(&server.url("/_mock/health"), None).await.0, 200);
    assert!(server.stop().await.status.success());
}

#[tokio::test]
async fn configured_keys_are_shown_only_by_account_and_last_four_characters() {
    let secrets = ["key-first-secret-A1b2", "key-second-secret-Z9y8"];
    let server = start(
        &[
            "--api-key",
            secrets[0],
            "--api-key",
            &format!("ops={}", secrets[1]),
        ],
        &[],
    )
    .await;

    assert!(
        server.second.starts_with("accepting API keys: "),
        "{}",
        server.second
    );
    assert!(server.second.contains("default") && server.second.contains("A1b2"));
    assert!(server.second.contains("ops") && server.second.contains("Z9y8"));
    // Using the keys, and creating a token, must not log a secret either.
    assert_eq!(
        get(&server.url("/api/tokens"), Some(secrets[0])).await.0,
        200
    );
    assert_eq!(
        get(&server.url("/api/tokens"), Some(secrets[1])).await.0,
        200
    );
    let created: Value = reqwest::Client::new()
        .post(server.url("/api/tokens"))
        .header("Authorization", secrets[0])
        .json(&serde_json::json!({ "name": "logged?" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = created["data"]["token"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("key-"), "{created}");
    let stopped = server.stop().await;

    assert!(stopped.status.success());
    for secret in secrets.iter().copied().chain([new_secret.as_str()]) {
        assert!(!stopped.stdout.contains(secret), "stdout shows {secret}");
        assert!(!stopped.stderr.contains(secret), "stderr shows {secret}");
    }
}

/// Starts a request delayed by 500 ms, sends `signal` while it sleeps, and
/// checks the response arrives before a clean exit.
async fn signal_drains_in_flight_request(signal: &str) {
    let server = start(&[], &[]).await;
    let url = server.url("/api/tokens");
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .header("Authorization", "key-archil-mock")
            .header("X-Archil-Mock-Delay-Ms", "500")
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    server.signal(signal);

    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status(), 200);
    let stopped = server.wait().await;
    assert!(
        signalled.elapsed() >= Duration::from_millis(200),
        "exited before the delayed request finished"
    );
    assert_eq!(
        stopped.status.code(),
        Some(0),
        "SIG{signal} should exit 0; stderr:\n{}",
        stopped.stderr
    );
    assert!(stopped.stderr.contains("draining"), "{}", stopped.stderr);
}

#[tokio::test]
async fn sigterm_during_a_delayed_request_answers_it_then_exits_0() {
    signal_drains_in_flight_request("TERM").await;
}

#[tokio::test]
async fn sigint_during_a_delayed_request_answers_it_then_exits_0() {
    signal_drains_in_flight_request("INT").await;
}

#[tokio::test]
async fn a_signal_right_after_startup_exits_0_and_closes_the_port() {
    let server = start(&[], &[]).await;
    let port = server.port;
    let stopped = server.stop().await;

    assert!(stopped.status.success());
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());
}

#[tokio::test]
async fn healthcheck_exits_0_against_a_live_server_and_1_against_a_closed_port() {
    let server = start(&[], &[]).await;
    let live = format!("http://127.0.0.1:{}", server.port);
    let port = server.port.to_string();

    let by_url = run(&["healthcheck", "--url", &live], &[]).await;
    let by_env = run(&["healthcheck"], &[("ARCHIL_MOCK_PORT", &port)]).await;
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let refused = run(&["healthcheck", "--url", &closed], &[]).await;

    assert_eq!(by_url.status.code(), Some(0), "{by_url:?}");
    assert_eq!(by_env.status.code(), Some(0), "{by_env:?}");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&closed));
    assert!(server.stop().await.status.success());
}

#[tokio::test]
async fn healthcheck_fails_when_the_admin_api_is_off() {
    let server = start(&["--no-admin"], &[]).await;
    let url = format!("http://127.0.0.1:{}", server.port);

    let out = run(&["healthcheck", "--url", &url], &[]).await;

    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{out:?}"
    );
    assert!(server.stop().await.status.success());
}

#[tokio::test]
async fn an_invalid_api_key_stops_startup_naming_the_problem_but_not_the_secret() {
    let out = run(&["--port", "0", "--api-key", "ops=nokey-secretvalue"], &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "printed an address before failing");
    assert!(stderr.contains("--api-key"), "{stderr}");
    assert!(stderr.contains("must start with `key-`"), "{stderr}");
    assert!(!stderr.contains("secretvalue"), "{stderr}");
}

#[tokio::test]
async fn a_missing_or_invalid_fixture_stops_startup_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("archil-mock-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad-fixture.json");
    std::fs::write(
        &bad,
        r#"{"accounts": [{"name": "x", "tokens": [{"nme": "typo"}]}]}"#,
    )
    .unwrap();
    let missing = dir.join("missing-fixture.json");

    let bad_out = run(&["--port", "0", "--fixture", bad.to_str().unwrap()], &[]).await;
    let missing_out = run(
        &["--port", "0", "--fixture", missing.to_str().unwrap()],
        &[],
    )
    .await;

    for (out, name) in [
        (&bad_out, "bad-fixture.json"),
        (&missing_out, "missing-fixture.json"),
    ] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {out:?}");
        assert!(
            out.stdout.is_empty(),
            "{name}: printed an address before failing"
        );
        assert!(stderr.contains(name), "{stderr}");
    }
    let stderr = String::from_utf8_lossy(&bad_out.stderr);
    assert!(stderr.contains("$.accounts[0].tokens[0]"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn host_port_and_api_key_come_from_the_environment() {
    let port = closed_port();
    let server = start(
        &[],
        &[
            ("ARCHIL_MOCK_HOST", "127.0.0.2"),
            ("ARCHIL_MOCK_PORT", &port.to_string()),
            (
                "ARCHIL_MOCK_API_KEY",
                "key-from-env-0001,ops=key-from-env-0002",
            ),
            ("ARCHIL_MOCK_ACCOUNT", "team"),
        ],
    )
    .await;

    assert_eq!(server.first, format!("{PREFIX}127.0.0.2:{port}"));
    assert!(server.second.contains("team") && server.second.contains("0001"));
    assert!(server.second.contains("ops") && server.second.contains("0002"));
    let base = format!("http://127.0.0.2:{port}/api/tokens");
    assert_eq!(get(&base, Some("key-from-env-0001")).await.0, 200);
    assert_eq!(get(&base, Some("key-from-env-0002")).await.0, 200);
    assert_eq!(get(&base, Some("key-archil-mock")).await.0, 401);
    assert!(server.stop().await.status.success());
}

#[tokio::test]
async fn the_disk_region_and_ready_delay_come_from_the_environment() {
    let server = start(
        &[],
        &[
            ("ARCHIL_MOCK_REGION", "gcp-us-central1"),
            ("ARCHIL_MOCK_DISK_READY_MS", "60000"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(server.url("/api/disks"))
        .header("Authorization", "key-archil-mock")
        .body(r#"{"name":"env"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["diskId"].as_str().expect("created");
    let (status, disk) = get(
        &server.url(&format!("/api/disks/{id}")),
        Some("key-archil-mock"),
    )
    .await;
    assert_eq!(status, 200, "{disk}");
    assert_eq!(disk["data"]["region"], "gcp-us-central1");
    assert_eq!(disk["data"]["provider"], "gcp");
    assert_eq!(disk["data"]["status"], "creating");
    assert!(server.stop().await.status.success());
}

#[tokio::test]
async fn an_invalid_region_stops_startup_with_exit_2_naming_the_flag() {
    let out = run(&["--port", "0", "--region", "US East"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid --region"), "{stderr}");
}

#[tokio::test]
async fn admin_settings_seed_and_journal_size_come_from_the_environment() {
    let dir = std::env::temp_dir().join(format!("archil-mock-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state_file = dir.join("state.json");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/two-accounts.json");
    let server = start(
        &[],
        &[
            ("ARCHIL_MOCK_SEED", "4242"),
            ("ARCHIL_MOCK_JOURNAL_SIZE", "1"),
            ("ARCHIL_MOCK_ADMIN_TOKEN", "admin-env-token"),
            ("ARCHIL_MOCK_STATE_FILE", state_file.to_str().unwrap()),
            ("ARCHIL_MOCK_FIXTURE", fixture),
            ("ARCHIL_MOCK_MAX_BODY_BYTES", "64"),
            ("ARCHIL_MOCK_REQUEST_TIMEOUT", "3"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let admin = |path: &str| {
        client
            .get(server.url(path))
            .header("X-Archil-Mock-Admin-Token", "admin-env-token")
    };

    assert_eq!(get(&server.url("/_mock/health"), None).await.0, 401);
    let health: Value = admin("/_mock/health")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["data"]["seed"], 4242, "{health}");
    let big = client
        .post(server.url("/api/tokens"))
        .header(
            "Authorization",
            "key-alice-0000000000000000000000000000000001",
        )
        .body(vec![b' '; 65])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    get(&server.url("/api/tokens"), Some("key-archil-mock")).await;
    let journal: Value = admin("/_mock/requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        journal["data"]["requests"].as_array().unwrap().len(),
        1,
        "{journal}"
    );
    assert!(state_file.exists());
    let saved = std::fs::read_to_string(&state_file).unwrap();
    assert!(saved.contains("alice"), "{saved}");
    assert!(server.stop().await.status.success());

    let no_admin = start(&[], &[("ARCHIL_MOCK_NO_ADMIN", "true")]).await;
    assert_eq!(get(&no_admin.url("/_mock/health"), None).await.0, 404);
    assert!(no_admin.stop().await.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn help_lists_every_flag_with_its_environment_variable() {
    let out = run(&["--help"], &[]).await;
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());

    for (flag, env) in [
        ("--host", "ARCHIL_MOCK_HOST"),
        ("--port", "ARCHIL_MOCK_PORT"),
        ("--api-key", "ARCHIL_MOCK_API_KEY"),
        ("--account", "ARCHIL_MOCK_ACCOUNT"),
        ("--fixture", "ARCHIL_MOCK_FIXTURE"),
        ("--seed", "ARCHIL_MOCK_SEED"),
        ("--journal-size", "ARCHIL_MOCK_JOURNAL_SIZE"),
        ("--no-admin", "ARCHIL_MOCK_NO_ADMIN"),
        ("--admin-token", "ARCHIL_MOCK_ADMIN_TOKEN"),
        ("--state-file", "ARCHIL_MOCK_STATE_FILE"),
        ("--max-body-bytes", "ARCHIL_MOCK_MAX_BODY_BYTES"),
        ("--request-timeout", "ARCHIL_MOCK_REQUEST_TIMEOUT"),
        ("--region", "ARCHIL_MOCK_REGION"),
        ("--disk-ready-ms", "ARCHIL_MOCK_DISK_READY_MS"),
        ("--data-dir", "ARCHIL_MOCK_DATA_DIR"),
        ("--max-object-bytes", "ARCHIL_MOCK_MAX_OBJECT_BYTES"),
        ("--max-memory-bytes", "ARCHIL_MOCK_MAX_MEMORY_BYTES"),
        ("--min-part-size", "ARCHIL_MOCK_MIN_PART_SIZE"),
        ("--exec", "ARCHIL_MOCK_EXEC"),
        ("--exec-timeout", "ARCHIL_MOCK_EXEC_TIMEOUT"),
        ("--exec-allow-remote", "ARCHIL_MOCK_EXEC_ALLOW_REMOTE"),
        ("--exec-image", "ARCHIL_MOCK_EXEC_IMAGE"),
        ("--log-format", "ARCHIL_MOCK_LOG_FORMAT"),
        ("--quiet", "ARCHIL_MOCK_QUIET"),
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
        assert!(
            help.contains(&format!("[env: {env}")),
            "--help lacks {env}:\n{help}"
        );
    }
    // And no flag, including ones added later, lacks its variable.
    let options = help.split("Options:").nth(1).expect("an Options section");
    let mut blocks: Vec<String> = Vec::new();
    for line in options.lines() {
        if line.trim_start().starts_with('-') {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    for block in blocks {
        let flag = block
            .split_whitespace()
            .find(|w| w.starts_with("--"))
            .unwrap_or("");
        if ["--help", "--version"].contains(&flag) {
            continue;
        }
        assert!(
            block.contains("[env: ARCHIL_MOCK_"),
            "{flag} has no env var:\n{block}"
        );
    }
}

#[tokio::test]
async fn json_access_log_lines_carry_method_path_status_duration_and_fault() {
    let secret = "key-json-log-secret-Q7r8";
    let server = start(&["--log-format", "json", "--api-key", secret], &[]).await;
    assert_eq!(get(&server.url("/api/tokens"), Some(secret)).await.0, 200);
    let faulted = reqwest::Client::new()
        .get(server.url("/api/tokens"))
        .header("Authorization", secret)
        .header("X-Archil-Mock-Fault", "503")
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 503);
    let stopped = server.stop().await;

    let access: Vec<Value> = stopped
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|_| panic!("not a JSON log line: {line:?}"))
        })
        .filter(|v| v["target"] == "archil_mock::access")
        .collect();
    assert_eq!(access.len(), 2, "{}", stopped.stderr);
    for line in &access {
        let f = &line["fields"];
        for field in ["method", "path", "status", "duration_ms", "fault"] {
            assert!(!f[field].is_null(), "{field} missing in {line}");
        }
        assert_eq!(f["method"], "GET");
        assert_eq!(f["path"], "/api/tokens");
        assert!(f["duration_ms"].as_f64().is_some(), "a number: {line}");
        assert_eq!(f["dropped"], false, "{line}");
    }
    assert_eq!(access[0]["fields"]["status"], 200);
    assert_eq!(access[1]["fields"]["status"], 503);
    assert_eq!(access[1]["fields"]["fault"], "header");
    assert!(!stopped.stderr.contains(secret));
    assert!(!stopped.stdout.contains(secret));
}

#[tokio::test]
async fn quiet_leaves_out_the_access_log() {
    let server = start(&["--quiet"], &[("ARCHIL_MOCK_LOG_FORMAT", "json")]).await;
    assert_eq!(
        get(&server.url("/api/tokens"), Some("key-archil-mock"))
            .await
            .0,
        200
    );
    let stopped = server.stop().await;

    assert!(stopped.status.success());
    assert!(
        !stopped.stderr.contains("archil_mock::access"),
        "{}",
        stopped.stderr
    );

    let loud = start(&[], &[("ARCHIL_MOCK_LOG_FORMAT", "json")]).await;
    assert_eq!(
        get(&loud.url("/api/tokens"), Some("key-archil-mock"))
            .await
            .0,
        200
    );
    let stopped = loud.stop().await;
    assert!(
        stopped.stderr.contains("archil_mock::access"),
        "{}",
        stopped.stderr
    );
}

#[tokio::test]
async fn text_logs_to_a_pipe_carry_no_colour_codes() {
    let server = start(&[], &[]).await;
    assert_eq!(
        get(&server.url("/api/tokens"), Some("key-archil-mock"))
            .await
            .0,
        200
    );
    let stopped = server.stop().await;

    assert!(
        stopped.stderr.contains("archil_mock::access"),
        "{}",
        stopped.stderr
    );
    assert!(!stopped.stderr.contains('\u{1b}'), "{:?}", stopped.stderr);
}
