//! The real exec back ends, `bwrap` and `docker`, with the same tests:
//! commands run over the disks' files; writes come back, read-only mounts
//! refuse them, a timeout is a 504, output is capped, the sandbox has no
//! network and a clean environment.
//!
//! A custom harness (libtest-mimic) so that where bubblewrap, or a Docker
//! engine with the exec image (`make exec-image`), is missing, the tests are
//! reported as *ignored, with the reason*, never as passed. With
//! `ARCHIL_MOCK_REQUIRE_BWRAP=1` / `ARCHIL_MOCK_REQUIRE_DOCKER=1` (CI sets
//! both) that is a failure instead.

use std::process::Command;
use std::time::Duration;

use archil_mock::exec::Backend;
use archil_mock::fixture::{FixtureDisk, FixtureFile};
use archil_mock::{Config, MockServer};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::{json, Value};

const DISK: &str = "dsk-00000000000000b1";

/// The exec image `make exec-image` builds (busybox on an empty base).
const IMAGE: &str = "archil-mock-exec:local";

fn main() {
    let args = Arguments::from_args();
    let tests: [(&str, Test); 5] = [
        (
            "a_command_reads_the_disk_and_its_writes_and_deletes_come_back",
            reads_and_writes_back,
        ),
        (
            "read_only_mounts_and_subdirectories_are_bound_as_asked",
            read_only_and_subdirectory,
        ),
        (
            "a_command_past_the_timeout_is_a_504_and_its_writes_still_land",
            timeout_is_504,
        ),
        (
            "output_is_capped_and_exit_codes_follow_the_shell",
            output_and_exit_codes,
        ),
        (
            "the_sandbox_has_no_network_no_host_files_and_a_clean_environment",
            sandbox_is_closed,
        ),
    ];
    let mut trials = Vec::new();
    for (name, test) in tests {
        trials.push(trial("bwrap", name, test, Backend::Bwrap));
        trials.push(trial("docker", name, test, Backend::Docker(IMAGE.into())));
    }
    libtest_mimic::run(&args, trials).exit();
}

type Test = fn(Backend) -> Result<(), Failed>;

fn trial(kind: &'static str, name: &'static str, test: Test, backend: Backend) -> Trial {
    Trial::ignorable_test(format!("{kind}::{name}"), move || {
        let (available, required, hint) = match &backend {
            Backend::Docker(_) => (
                docker_works(),
                "ARCHIL_MOCK_REQUIRE_DOCKER",
                "start Docker and run `make exec-image`",
            ),
            _ => (
                bwrap_works(),
                "ARCHIL_MOCK_REQUIRE_BWRAP",
                "install bubblewrap (apt-get install bubblewrap)",
            ),
        };
        match available {
            Ok(()) => test(backend).map(|()| Completion::Completed),
            Err(reason) if std::env::var(required).as_deref() == Ok("1") => {
                Err(format!("{required}=1, but {reason}").into())
            }
            Err(reason) => Ok(Completion::ignored_with(format!(
                "{reason}; {hint} to run this test"
            ))),
        }
    })
}

/// Ok if a Docker engine answers and holds the exec image (never pulled).
fn docker_works() -> Result<(), String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
        .map_err(|e| format!("no docker CLI ({e})"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "no Docker engine with the image {IMAGE}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Ok if bubblewrap is installed and the kernel lets it make a sandbox.
fn bwrap_works() -> Result<(), String> {
    let out = Command::new("bwrap")
        .args([
            "--unshare-all",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "/bin/true",
        ])
        .output()
        .map_err(|e| format!("no bwrap ({e})"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "bwrap cannot make a sandbox here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn file(key: &str, content: &str) -> FixtureFile {
    FixtureFile {
        key: key.into(),
        content: Some(content.into()),
        content_base64: None,
        content_type: None,
        mode: None,
        uid: None,
        gid: None,
    }
}

fn with_server(
    backend: Backend,
    timeout: Duration,
    test: impl AsyncFnOnce(&MockServer) -> Result<(), Failed>,
) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = Config {
            exec_backend: backend,
            exec_timeout: timeout,
            ..Config::default()
        };
        config.inline_fixtures.push(archil_mock::Fixture {
            accounts: vec![archil_mock::fixture::FixtureAccount {
                name: "default".into(),
                tokens: Vec::new(),
                disks: vec![FixtureDisk {
                    id: Some(DISK.into()),
                    files: vec![
                        file("README.md", "hello from the disk\n"),
                        file("logs/a.log", "line 1\n"),
                        file("old.txt", "to be deleted\n"),
                    ],
                    ..FixtureDisk::new("work")
                }],
            }],
            ..archil_mock::Fixture::default()
        });
        let server = MockServer::with_config(config)
            .await
            .map_err(|e| e.to_string())?;
        test(&server).await
    })
}

async fn post(server: &MockServer, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", server.uri()))
        .header("Authorization", server.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn exec(server: &MockServer, command: &str) -> (u16, Value) {
    post(
        server,
        &format!("/api/disks/{DISK}/exec"),
        json!({ "command": command }),
    )
    .await
}

fn check(ok: bool, what: impl std::fmt::Display) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string().into())
    }
}

fn reads_and_writes_back(backend: Backend) -> Result<(), Failed> {
    with_server(backend, Duration::from_secs(20), async |server| {
        let (status, body) = exec(
            server,
            "cd /mnt && cat README.md && echo written > out/new.txt 2>/dev/null || (mkdir -p out && echo written > out/new.txt); rm old.txt; mkdir -p empty/dir; echo more >> logs/a.log",
        )
        .await;
        check(status == 200, format!("status {status}: {body}"))?;
        let data = &body["data"];
        check(data["exitCode"] == 0, format!("exit: {body}"))?;
        check(
            data["stdout"] == "hello from the disk\n",
            format!("stdout: {body}"),
        )?;
        check(
            server.read_object(DISK, "out/new.txt").as_deref() == Some(&b"written\n"[..]),
            "out/new.txt not written back",
        )?;
        check(
            server.read_object(DISK, "logs/a.log").as_deref() == Some(&b"line 1\nmore\n"[..]),
            "logs/a.log not updated",
        )?;
        check(
            server.read_object(DISK, "old.txt").is_none(),
            "old.txt not deleted",
        )?;
        let state = server.state();
        let objects: Vec<&str> = state.accounts[0].disks[0]
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        check(
            objects == ["README.md", "logs/a.log", "out/new.txt"],
            format!("objects: {objects:?}"),
        )?;
        let timing = &data["timing"];
        let (total, queue, execute) = (
            timing["totalMs"].as_u64().unwrap(),
            timing["queueMs"].as_u64().unwrap(),
            timing["executeMs"].as_u64().unwrap(),
        );
        check(total >= queue + execute, format!("timing: {timing}"))?;
        // The new directory is a directory of the disk: grep and listings see it.
        let (status, body) = post(
            server,
            &format!("/api/disks/{DISK}/grep"),
            json!({"directory": "", "pattern": "more", "recursive": true}),
        )
        .await;
        check(
            status == 200 && body["data"]["matches"][0]["file"] == "logs/a.log",
            format!("grep: {body}"),
        )
    })
}

fn read_only_and_subdirectory(backend: Backend) -> Result<(), Failed> {
    with_server(backend, Duration::from_secs(20), async |server| {
        let (status, body) = post(
            server,
            "/api/exec",
            json!({
                "command": "cat /mnt/archil/ro/README.md; echo x > /mnt/archil/ro/x.txt; echo $?; ls /mnt/archil/logs; echo y > /mnt/archil/logs/b.log",
                "disks": {
                    "ro": {"disk": DISK, "readOnly": true, "conditional": false},
                    "logs": {"disk": DISK, "subdirectory": "logs"}
                }
            }),
        )
        .await;
        check(status == 200, format!("status {status}: {body}"))?;
        let data = &body["data"];
        check(
            data["stdout"] == "hello from the disk\n1\na.log\n",
            format!("stdout: {body}"),
        )?;
        check(
            data["stderr"]
                .as_str()
                .unwrap_or("")
                .contains("Read-only file system"),
            format!("stderr: {body}"),
        )?;
        check(
            server.read_object(DISK, "x.txt").is_none(),
            "a read-only mount was written",
        )?;
        check(
            server.read_object(DISK, "logs/b.log").as_deref() == Some(&b"y\n"[..]),
            "the subdirectory write did not land under logs/",
        )
    })
}

fn timeout_is_504(backend: Backend) -> Result<(), Failed> {
    with_server(backend, Duration::from_secs(1), async |server| {
        let (status, body) = exec(server, "echo partial > /mnt/partial.txt; sleep 30").await;
        check(status == 504, format!("status {status}: {body}"))?;
        check(
            body["error"] == "Command timed out" && body["code"] == "exec_timeout",
            format!("body: {body}"),
        )?;
        check(
            server.read_object(DISK, "partial.txt").as_deref() == Some(&b"partial\n"[..]),
            "the write before the timeout was lost",
        )
    })
}

fn output_and_exit_codes(backend: Backend) -> Result<(), Failed> {
    with_server(backend, Duration::from_secs(20), async |server| {
        let (_, body) = exec(
            server,
            "head -c 5000000 /dev/zero | tr '\\0' a; echo done >&2",
        )
        .await;
        let stdout = body["data"]["stdout"].as_str().unwrap_or("");
        check(
            stdout.len() == 4 << 20,
            format!("stdout is {} bytes", stdout.len()),
        )?;
        check(
            body["data"]["stderr"] == "done\n",
            format!("stderr: {}", body["data"]["stderr"]),
        )?;
        let (_, body) = exec(server, "kill -9 $$").await;
        check(
            body["data"]["exitCode"] == 137,
            format!("killed by SIGKILL: {body}"),
        )?;
        let (_, body) = exec(server, "exit 42").await;
        check(body["data"]["exitCode"] == 42, format!("exit 42: {body}"))?;
        let (_, body) = exec(server, "printf '\\377ok'").await;
        check(
            body["data"]["stdout"] == "\u{fffd}ok",
            format!("lossy stdout: {body}"),
        )
    })
}

fn sandbox_is_closed(backend: Backend) -> Result<(), Failed> {
    // SAFETY: set before the server (and its threads) start.
    unsafe { std::env::set_var("ARCHIL_SECRET_PROBE", "must-not-leak") };
    with_server(backend, Duration::from_secs(20), async |server| {
        let manifest = env!("CARGO_MANIFEST_DIR");
        let (_, body) = exec(
            server,
            &format!("env; cat {manifest}/Cargo.toml >/dev/null 2>&1 && echo HOST-FILES; (exec 3<>/dev/tcp/127.0.0.1/{}) 2>/dev/null && echo NETWORK; ls /", server.addr().port()),
        )
        .await;
        let stdout = body["data"]["stdout"].as_str().unwrap_or("").to_owned();
        check(
            !stdout.contains("must-not-leak"),
            format!("the mock's environment leaked: {stdout}"),
        )?;
        check(
            stdout.contains("PATH=/usr/local/sbin"),
            format!("no PATH: {stdout}"),
        )?;
        check(
            !stdout.contains("HOST-FILES"),
            "the host's files are visible",
        )?;
        check(
            !stdout.contains("NETWORK"),
            "the sandbox reached the network",
        )?;
        check(
            stdout.contains("mnt") && !stdout.contains("work\n"),
            format!("root: {stdout}"),
        )
    })
}
