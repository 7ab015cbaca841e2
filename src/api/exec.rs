//! Exec (operations `execDisk` and `exec`): validation and mount resolution
//! under the state lock, all or nothing; running the command is left to the
//! back end ([`crate::exec`]) after the lock is released.
//!
//! The single disk of `execDisk` is mounted at `/mnt` (where both SDKs and
//! their agent tools expect it); each disk of `exec` at `/mnt/archil/<path>`.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use super::disks::{self, Malformed};
use super::{json_type_name, optional_bool, string_field, Ctx, Input};
use crate::error::ApiError;
use crate::state::State;

/// Where `execDisk` mounts its disk.
pub const SINGLE_MOUNT: &str = "/mnt";
/// Where `exec` mounts its disks, each at `<this>/<path>`.
pub const MULTI_ROOT: &str = "/mnt/archil";

/// One resolved mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecMount {
    /// Inside the sandbox: `/mnt` or `/mnt/archil/<path>`.
    pub point: String,
    /// The disk's 64 bits.
    pub disk: u64,
    /// The directory of the disk that is mounted (`""`: the root; else `dir/`).
    pub subdirectory: String,
    /// Writes fail with EROFS.
    pub read_only: bool,
}

/// A validated exec, ready for the back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecJob {
    /// The shell command.
    pub command: String,
    /// Every mount, resolved.
    pub mounts: Vec<ExecMount>,
    /// When the request started.
    pub started: Instant,
}

/// `ExecDiskResult`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    /// The command's exit code.
    pub exit_code: i64,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it took.
    pub timing: Timing,
}

/// `ExecTiming`, in whole milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Arrival to response.
    pub total_ms: u64,
    /// Arrival to the command's start.
    pub queue_ms: u64,
    /// The command itself.
    pub execute_ms: u64,
}

fn command(body: &Map<String, Value>) -> Result<String, ApiError> {
    Ok(string_field(body, "command")?
        .ok_or_else(|| super::missing("command"))?
        .to_owned())
}

/// `POST /api/disks/{id}/exec`: `{command}`, the disk at `/mnt`.
pub fn plan_disk(
    state: &State,
    ctx: Ctx,
    id: &str,
    input: Input,
    started: Instant,
) -> Result<ExecJob, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::BadRequest)?;
    let body = super::json_object(input)?;
    Ok(ExecJob {
        command: command(&body)?,
        mounts: vec![ExecMount {
            point: SINGLE_MOUNT.to_owned(),
            disk: disk.id,
            subdirectory: String::new(),
            read_only: false,
        }],
        started,
    })
}

/// Checks a relative path: non-empty segments, none `.` or `..`, no NUL or `\`.
fn relative_path(path: &str, what: &str) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::Validation(format!("{what} {:?} {why}", super::shorten(path)));
    if path.starts_with('/') {
        return Err(bad("must be relative (no leading /)"));
    }
    if path.contains('\0') || path.contains('\\') {
        return Err(bad("must not contain NUL or \\"));
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(bad("must not have an empty segment")),
            "." | ".." => return Err(bad("must not have a '.' or '..' segment")),
            _ => {}
        }
    }
    Ok(())
}

/// `POST /api/exec`: `{command, disks: {path: id | {disk, subdirectory?, readOnly?, …}}}`.
/// Every mount is checked and resolved before anything runs.
pub fn plan_multi(
    state: &State,
    ctx: Ctx,
    input: Input,
    started: Instant,
) -> Result<ExecJob, ApiError> {
    let body = super::json_object(input)?;
    let command = command(&body)?;
    let disks_field = match body.get("disks") {
        None => return Err(super::missing("disks")),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(ApiError::Validation(format!(
                "disks must be an object, not {}",
                json_type_name(other)
            )))
        }
    };
    if disks_field.is_empty() {
        return Err(ApiError::Validation(
            "disks must mount at least one disk".into(),
        ));
    }
    let mut mounts = Vec::new();
    for (path, spec) in disks_field {
        if path.is_empty() {
            return Err(ApiError::Validation(
                "a mount path in disks must not be empty".into(),
            ));
        }
        relative_path(path, "the mount path")?;
        let at = |e: ApiError| super::disks::prefixed(&format!("disks[{path:?}]"), e);
        let (id, subdirectory, read_only) = match spec {
            Value::String(id) => (id.clone(), String::new(), false),
            Value::Object(m) => {
                let id = string_field(m, "disk")
                    .map_err(at)?
                    .ok_or_else(|| at(super::missing("disk")))?
                    .to_owned();
                let sub = string_field(m, "subdirectory").map_err(at)?.unwrap_or("");
                let read_only = optional_bool(m, "readOnly").map_err(at)?.unwrap_or(false);
                optional_bool(m, "conditional").map_err(at)?;
                let queue = super::grep::schema_integer(m, "queueMs", 0, i64::MAX)
                    .map_err(at)?
                    .is_some();
                let checkout = super::optional_strings(m, "checkoutPaths", |_| Ok(()))
                    .map_err(at)?
                    .is_some();
                if read_only && (queue || checkout) {
                    return Err(at(ApiError::Validation(
                        "queueMs and checkoutPaths cannot go with readOnly".into(),
                    )));
                }
                if sub.starts_with('/') {
                    return Err(at(ApiError::Validation(
                        "subdirectory must be relative (no leading /)".into(),
                    )));
                }
                let sub = sub.trim_end_matches('/');
                if !sub.is_empty() {
                    relative_path(sub, "subdirectory")?;
                }
                (id, sub.to_owned(), read_only)
            }
            other => {
                return Err(at(ApiError::Validation(format!(
                    "must be a disk id or a mount object, not {}",
                    json_type_name(other)
                ))))
            }
        };
        let disk = disks::find(state, ctx, &id, Malformed::BadRequest)?;
        let subdirectory = if subdirectory.is_empty() {
            String::new()
        } else {
            let dir = format!("{subdirectory}/");
            match disk.objects.entry(&dir) {
                Some(crate::gateway::objects::Entry::Dir(_)) => dir,
                _ => {
                    return Err(ApiError::Validation(format!(
                        "subdirectory {:?} is not a directory of disk {id}",
                        super::shorten(&subdirectory)
                    )))
                }
            }
        };
        mounts.push(ExecMount {
            point: format!("{MULTI_ROOT}/{path}"),
            disk: disk.id,
            subdirectory,
            read_only,
        });
    }
    Ok(ExecJob {
        command,
        mounts,
        started,
    })
}

/// The mount a sandbox path falls in (the longest mount point that is a
/// prefix of it), and the key on that disk.
pub fn resolve<'m>(mounts: &'m [ExecMount], path: &str) -> Option<(&'m ExecMount, String)> {
    mounts
        .iter()
        .filter_map(|m| {
            let rest = path.strip_prefix(&m.point)?.strip_prefix('/')?;
            Some((m, rest))
        })
        .max_by_key(|(m, _)| m.point.len())
        .map(|(m, rest)| (m, format!("{}{rest}", m.subdirectory)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_paths_resolve_to_the_deepest_mount() {
        let mount = |point: &str, disk, sub: &str| ExecMount {
            point: point.into(),
            disk,
            subdirectory: sub.into(),
            read_only: false,
        };
        let mounts = [
            mount("/mnt/archil/a", 1, ""),
            mount("/mnt/archil/a/b", 2, "logs/"),
        ];
        assert_eq!(
            resolve(&mounts, "/mnt/archil/a/x.txt").map(|(m, k)| (m.disk, k)),
            Some((1, "x.txt".into()))
        );
        assert_eq!(
            resolve(&mounts, "/mnt/archil/a/b/y").map(|(m, k)| (m.disk, k)),
            Some((2, "logs/y".into()))
        );
        assert!(resolve(&mounts, "/mnt/archil/ab/x").is_none());
        assert!(resolve(&mounts, "/etc/passwd").is_none());
    }

    #[test]
    fn mount_paths_are_relative_and_clean() {
        for bad in ["/abs", "a//b", "a/", "./a", "a/..", "a\\b"] {
            assert!(relative_path(bad, "p").is_err(), "{bad}");
        }
        assert!(relative_path("data/logs", "p").is_ok());
    }
}
