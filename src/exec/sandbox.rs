//! The real exec back ends, `bwrap` and `docker`: each mount's files are
//! written to a private temp directory and bound where the SDKs expect it
//! (`/mnt`, or `/mnt/archil/<path>`; read-only mounts read-only, so writes
//! fail with EROFS), the command runs with no network and a clean
//! environment, and after it exits (or is killed at `--exec-timeout`) what
//! it changed on read-write mounts is written back to the disk.
//!
//! `bwrap`: `bash -c` in bubblewrap, in a fresh tmpfs root with only the
//! host's `/usr` and `/etc` read-only and every namespace unshared.
//! `docker`: `sh -c` in a fresh container of `--exec-image` (`--rm`,
//! `--network none`), the mounts as binds; killed with `docker kill`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use md5::{Digest, Md5};
use tokio::io::AsyncReadExt;

use crate::api::exec::{ExecJob, ExecResult, Timing};
use crate::error::ApiError;
use crate::server::App;

/// Each stream is cut at 4 MiB (the rest is read and dropped, so the child
/// never blocks on a full pipe).
pub const OUTPUT_MAX: usize = 4 << 20;

/// The environment inside the sandbox; nothing of the mock's own (which
/// may hold API keys) is passed through.
const ENV: [(&str, &str); 3] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("LANG", "C.UTF-8"),
];

/// One mount's files as materialized: relative path → MD5, and directories.
#[derive(Debug, Default)]
struct Snapshot {
    files: BTreeMap<String, [u8; 16]>,
    dirs: Vec<String>,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Injected {
        status: 500,
        message: format!("exec: {what}: {e}"),
        code: "internal_error".into(),
    }
}

/// Writes the files of `disk` under `subdirectory` into `dir`.
fn materialize(app: &App, disk: u64, subdirectory: &str, dir: &Path) -> Result<Snapshot, ApiError> {
    let entries = {
        let mut core = app.core.lock();
        let d = crate::api::disks::find_any_mut(&mut core.state, disk)
            .ok_or_else(|| ApiError::NotFound("the disk was deleted".into()))?;
        let mut out = Vec::new();
        for (key, e) in d.objects.entries() {
            let Some(rel) = key.strip_prefix(subdirectory) else {
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            match e {
                crate::gateway::objects::Entry::File(f) => {
                    let reader = app.store.open(&f.blob).map_err(|e| internal("open", e))?;
                    out.push((rel.to_owned(), Some(reader)));
                }
                crate::gateway::objects::Entry::Dir(_) => out.push((rel.to_owned(), None)),
            }
        }
        out
    };
    let mut snap = Snapshot::default();
    for (rel, reader) in entries {
        let path = dir.join(&rel);
        match reader {
            None => {
                std::fs::create_dir_all(&path).map_err(|e| internal("mkdir", e))?;
                snap.dirs.push(rel.trim_end_matches('/').to_owned());
            }
            Some(reader) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| internal("mkdir", e))?;
                }
                let bytes = reader.read_all().map_err(|e| internal("read", e))?;
                std::fs::write(&path, &bytes).map_err(|e| internal("write", e))?;
                snap.files.insert(rel, Md5::digest(&bytes).into());
            }
        }
    }
    Ok(snap)
}

/// Every regular file and directory under `dir`, relative, `/`-separated
/// (symlinks and special files are skipped).
fn walk(dir: &Path) -> (BTreeMap<String, PathBuf>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut dirs = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in read.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let Some(rel) = path.strip_prefix(dir).ok().and_then(|r| r.to_str()) else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(rel.to_owned());
                pending.push(path);
            } else if kind.is_file() {
                files.insert(rel.to_owned(), path);
            }
        }
    }
    (files, dirs)
}

/// Writes what the command changed in `dir` back to the disk.
fn sync_back(
    app: &App,
    disk: u64,
    subdirectory: &str,
    dir: &Path,
    before: &Snapshot,
) -> Vec<String> {
    let id = crate::api::disks::format_id(disk);
    let mut notes = Vec::new();
    let (files, dirs) = walk(dir);
    let mut note = |what: String| notes.push(what);
    for d in dirs.iter().filter(|d| !before.dirs.contains(d)) {
        let key = format!("{subdirectory}{d}/");
        if let Err(e) = app.make_directory(&id, &key) {
            note(format!("{key}: {}", e.message));
        }
    }
    for (rel, path) in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let md5: [u8; 16] = Md5::digest(&bytes).into();
        if before.files.get(rel) == Some(&md5) {
            continue;
        }
        let key = format!("{subdirectory}{rel}");
        if let Err(e) = app.write_object(&id, &key, &bytes) {
            note(format!("{key}: {}", e.message));
        }
    }
    for rel in before.files.keys().filter(|r| !files.contains_key(*r)) {
        let key = format!("{subdirectory}{rel}");
        if let Err(e) = app.delete_object(&id, &key) {
            note(format!("{key}: {}", e.message));
        }
    }
    let mut gone: Vec<&String> = before.dirs.iter().filter(|d| !dirs.contains(d)).collect();
    gone.sort_by_key(|d| std::cmp::Reverse(d.len()));
    for d in gone {
        let key = format!("{subdirectory}{d}/");
        if let Err(e) = app.delete_object(&id, &key) {
            note(format!("{key}: {}", e.message));
        }
    }
    notes
}

/// The `bwrap` arguments for a fresh root with the mounts bound in.
fn arguments(mounts: &[(String, PathBuf, bool)], command: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--dir",
        "/root",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for name in ["bin", "lib", "lib64", "lib32", "sbin"] {
        let host = Path::new("/").join(name);
        match std::fs::read_link(&host) {
            Ok(target) => args.extend([
                "--symlink".into(),
                target.display().to_string(),
                format!("/{name}"),
            ]),
            Err(_) if host.is_dir() => args.extend([
                "--ro-bind".into(),
                host.display().to_string(),
                format!("/{name}"),
            ]),
            Err(_) => {}
        }
    }
    for (k, v) in ENV {
        args.extend(["--setenv".into(), k.into(), v.into()]);
    }
    // Parents before children, so a nested mount lands inside its parent.
    let mut sorted: Vec<&(String, PathBuf, bool)> = mounts.iter().collect();
    sorted.sort_by_key(|(point, _, _)| point.len());
    for (point, dir, read_only) in sorted {
        let flag = if *read_only { "--ro-bind" } else { "--bind" };
        args.extend([flag.into(), dir.display().to_string(), point.clone()]);
    }
    args.extend(["--chdir".into(), "/".into()]);
    let shell = if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    args.extend([shell.into(), "-c".into(), command.into()]);
    args
}

async fn capped(mut pipe: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = OUTPUT_MAX.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// The `docker run` arguments: a fresh container, no network, the mounts
/// as binds, `sh -c`.
fn docker_arguments(
    name: &str,
    image: &str,
    mounts: &[(String, PathBuf, bool)],
    command: &str,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--rm",
        "--init",
        "--network",
        "none",
        "--user",
        "0",
        "--workdir",
        "/",
        "--name",
        name,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, v) in ENV {
        args.extend(["--env".into(), format!("{k}={v}")]);
    }
    let mut sorted: Vec<&(String, PathBuf, bool)> = mounts.iter().collect();
    sorted.sort_by_key(|(point, _, _)| point.len());
    for (point, dir, read_only) in sorted {
        let ro = if *read_only { ",readonly" } else { "" };
        args.extend([
            "--mount".into(),
            format!("type=bind,source={},target={point}{ro}", dir.display()),
        ]);
    }
    args.extend([image.into(), "sh".into(), "-c".into(), command.into()]);
    args
}

/// Where a real exec runs.
#[derive(Debug, Clone)]
pub(crate) enum Runner {
    /// bubblewrap.
    Bwrap,
    /// A Docker container of this image.
    Docker(String),
}

/// Runs an exec in a sandbox.
pub(crate) async fn run(
    app: &Arc<App>,
    job: ExecJob,
    runner: Runner,
) -> Result<crate::api::Reply, ApiError> {
    let root = std::env::temp_dir().join(format!(
        "archil-mock-exec-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let result = run_in(app, &job, &root, &runner).await;
    let _ = tokio::fs::remove_dir_all(&root).await;
    result
}

async fn run_in(
    app: &Arc<App>,
    job: &ExecJob,
    root: &Path,
    runner: &Runner,
) -> Result<crate::api::Reply, ApiError> {
    let app2 = app.clone();
    let job2 = job.clone();
    let root2 = root.to_path_buf();
    let (binds, snapshots) = tokio::task::spawn_blocking(move || {
        let mut binds = Vec::new();
        let mut snaps = Vec::new();
        for (i, m) in job2.mounts.iter().enumerate() {
            let dir = root2.join(format!("m{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| internal("mkdir", e))?;
            snaps.push(materialize(&app2, m.disk, &m.subdirectory, &dir)?);
            binds.push((m.point.clone(), dir, m.read_only));
        }
        Ok::<_, ApiError>((binds, snaps))
    })
    .await
    .map_err(|e| internal("materialize", e))??;
    let queue_ms = job.started.elapsed().as_millis() as u64;
    let ran = Instant::now();
    let container = format!("archil-mock-exec-{}", uuid::Uuid::new_v4().simple());
    let mut command = match runner {
        Runner::Bwrap => {
            let mut c = tokio::process::Command::new("bwrap");
            c.args(arguments(&binds, &job.command)).env_clear();
            c
        }
        Runner::Docker(image) => {
            // The docker CLI needs DOCKER_HOST and the like; the container
            // itself gets only ENV.
            let mut c = tokio::process::Command::new("docker");
            c.args(docker_arguments(&container, image, &binds, &job.command));
            c
        }
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| internal("cannot start bwrap (is bubblewrap installed?)", e))?;
    let stdout = tokio::spawn(capped(child.stdout.take().expect("piped")));
    let stderr = tokio::spawn(capped(child.stderr.take().expect("piped")));
    let status = tokio::time::timeout(app.config.exec_timeout, child.wait()).await;
    let timed_out = status.is_err();
    if timed_out {
        if let Runner::Docker(_) = runner {
            let _ = tokio::process::Command::new("docker")
                .args(["kill", &container])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        }
        let _ = child.kill().await;
    }
    let stdout = stdout.await.unwrap_or_default();
    let mut stderr = stderr.await.unwrap_or_default();
    let execute_ms = ran.elapsed().as_millis() as u64;
    // Write back what changed, after a timeout too: real writes are not undone.
    let app2 = app.clone();
    let job2 = job.clone();
    let notes = tokio::task::spawn_blocking(move || {
        let mut notes = Vec::new();
        for ((m, (_, dir, _)), snap) in job2.mounts.iter().zip(&binds).zip(&snapshots) {
            if !m.read_only {
                notes.extend(sync_back(&app2, m.disk, &m.subdirectory, dir, snap));
            }
        }
        notes
    })
    .await
    .unwrap_or_default();
    for n in notes {
        stderr.extend_from_slice(format!("archil-mock: not written back: {n}\n").as_bytes());
    }
    if timed_out {
        return Err(ApiError::Injected {
            status: 504,
            message: "Command timed out".into(),
            code: "exec_timeout".into(),
        });
    }
    let status = status
        .expect("not timed out")
        .map_err(|e| internal("wait", e))?;
    use std::os::unix::process::ExitStatusExt;
    let exit_code = status
        .code()
        .map(i64::from)
        .or_else(|| status.signal().map(|s| 128 + i64::from(s)))
        .unwrap_or(-1);
    let total_ms = (job.started.elapsed().as_millis() as u64).max(queue_ms + execute_ms);
    Ok(crate::api::Reply::new(
        hyper::StatusCode::OK,
        &ExecResult {
            exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timing: Timing {
                total_ms,
                queue_ms,
                execute_ms,
            },
        },
        None,
    ))
}
