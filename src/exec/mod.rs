//! Exec back ends, in one place. The default, `scripted`, runs nothing: an
//! exec is answered by the first rule whose command (and, if it says so,
//! disk) matches, with its exit code, output, delay or timeout, and its
//! file effects applied to the mounted disks, so a test can simulate a
//! job's output. With no matching rule the answer is exit code 127 and a
//! stderr saying how to script one.
//!
//! Rules are data with one shape, behind three front doors: fixture files
//! (`execRules`), the admin API (`/_mock/exec-rules`) and the Rust API
//! ([`crate::MockServer::exec_rules`]); scenarios drive the admin API.

pub mod sandbox;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Where execs run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Backend {
    /// Answer from rules; run nothing.
    #[default]
    Scripted,
    /// Rules first; otherwise `bash -c` in bubblewrap over the disks' files.
    Bwrap,
    /// Rules first; otherwise `sh -c` in a container of this image.
    Docker(String),
}

/// The exit code of a command no rule answers (bash's "command not found").
pub const NO_RULE_EXIT: i64 = 127;

/// How the command of an exec is matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecRule {
    /// The rule's name; generated if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Match: the command is exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Match: the command contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_contains: Option<String>,
    /// Match: the command matches this regex (the `regex` crate's syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_regex: Option<String>,
    /// Match: only when this disk (`dsk-…`) is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
    /// The exit code (0 if absent).
    #[serde(default)]
    pub exit_code: i64,
    /// Standard output.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    /// Standard error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// How long the command "runs", in ms (counted as `executeMs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Answer 504 "Command timed out" (after the delay), effects applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timeout: bool,
    /// Files the command writes, by their path inside the sandbox
    /// (`/mnt/…` for one disk, `/mnt/archil/<mount>/…` for several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<ExecWrite>,
    /// Files the command deletes, by sandbox path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<String>,
    /// Answer only the next N matching execs (then the rule expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// A file a scripted command writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecWrite {
    /// Its path inside the sandbox.
    pub path: String,
    /// Its contents (text).
    pub content: String,
}

impl ExecRule {
    /// Checks a rule: exactly one command matcher, a valid regex, an exit
    /// code 0..=255, `times` ≥ 1, sandbox paths under `/mnt/`.
    pub fn validate(&self) -> Result<(), String> {
        let matchers = [
            self.command.is_some(),
            self.command_contains.is_some(),
            self.command_regex.is_some(),
        ];
        if matchers.iter().filter(|m| **m).count() != 1 {
            return Err("give exactly one of command, commandContains and commandRegex".into());
        }
        if let Some(r) = &self.command_regex {
            Regex::new(r).map_err(|e| format!("commandRegex: {e}"))?;
        }
        if !(0..=255).contains(&self.exit_code) {
            return Err("exitCode must be 0 to 255".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            return Err("delayMs must be at most 600000".into());
        }
        for path in self.writes.iter().map(|w| &w.path).chain(&self.deletes) {
            if !path.starts_with("/mnt/") {
                return Err(format!("{path:?}: effects are paths under /mnt/"));
            }
        }
        if let Some(id) = &self.id {
            if id.is_empty() || id.len() > 100 {
                return Err("id must be 1 to 100 characters".into());
            }
        }
        Ok(())
    }

    /// Whether this rule answers `command` with these disks mounted.
    pub fn matches(&self, command: &str, disks: &[String]) -> bool {
        let command_ok = if let Some(c) = &self.command {
            c == command
        } else if let Some(c) = &self.command_contains {
            command.contains(c.as_str())
        } else if let Some(r) = &self.command_regex {
            Regex::new(r).is_ok_and(|r| r.is_match(command))
        } else {
            false
        };
        command_ok && self.disk.as_ref().is_none_or(|d| disks.contains(d))
    }
}

/// The live rules, in the order added; the first match wins.
#[derive(Debug, Clone, Default)]
pub struct ExecRules {
    rules: Vec<ExecRule>,
}

impl ExecRules {
    /// Adds rules (all or none); returns their ids.
    pub fn add(&mut self, rules: Vec<ExecRule>) -> Result<Vec<String>, String> {
        let mut staged = Vec::new();
        for (i, mut rule) in rules.into_iter().enumerate() {
            rule.validate().map_err(|e| format!("rule {i}: {e}"))?;
            let id = rule
                .id
                .get_or_insert_with(|| format!("exec-{}", uuid::Uuid::new_v4().simple()))
                .clone();
            if self
                .rules
                .iter()
                .chain(&staged)
                .any(|r: &ExecRule| r.id.as_deref() == Some(id.as_str()))
            {
                return Err(format!("rule {i}: id {id} is taken"));
            }
            staged.push(rule);
        }
        let ids = staged
            .iter()
            .map(|r| r.id.clone().expect("set above"))
            .collect();
        self.rules.extend(staged);
        Ok(ids)
    }

    /// The rules, with what remains of their `times`.
    pub fn list(&self) -> &[ExecRule] {
        &self.rules
    }

    /// Removes one rule.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id.as_deref() != Some(id));
        self.rules.len() < before
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.rules).len()
    }

    /// The rule that answers this exec, using up one of its `times`.
    pub fn select(&mut self, command: &str, disks: &[String]) -> Option<ExecRule> {
        let i = self.rules.iter().position(|r| r.matches(command, disks))?;
        let rule = self.rules[i].clone();
        if let Some(n) = &mut self.rules[i].times {
            *n -= 1;
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(rule)
    }
}

/// The stderr of an exec no rule answers.
pub fn no_rule_stderr(command: &str) -> String {
    format!(
        "archil-mock: no exec rule matches {:?}. The scripted exec back end runs nothing: \
add a rule (POST /_mock/exec-rules, a fixture's execRules, or MockServer::exec_rules) \
with the command and what it should answer.\n",
        crate::api::shorten(command)
    )
}

/// Runs an exec: a matching rule answers it (every back end checks rules
/// first, so a test can still script one command); otherwise the `bwrap`
/// back end runs it for real, and the scripted one answers 127.
///
/// The scripted answer: picks the rule under the lock,
/// sleeps its delay outside it, applies its file effects to the mounted
/// disks (a read-only mount refuses them, as EROFS would), and answers.
/// A rule's `timeout`, or a delay past `--exec-timeout`, is a 504.
pub(crate) async fn run(
    app: &std::sync::Arc<crate::server::App>,
    job: crate::api::exec::ExecJob,
) -> Result<crate::api::Reply, crate::error::ApiError> {
    use crate::api::exec::{resolve, ExecResult, Timing};
    use crate::error::ApiError;
    let disk_ids: Vec<String> = job
        .mounts
        .iter()
        .map(|m| crate::api::disks::format_id(m.disk))
        .collect();
    let rule = app
        .core
        .lock()
        .state
        .exec_rules
        .select(&job.command, &disk_ids);
    let queue_ms = job.started.elapsed().as_millis() as u64;
    if rule.is_none() {
        match &app.config.exec_backend {
            Backend::Scripted => {}
            Backend::Bwrap => return sandbox::run(app, job, sandbox::Runner::Bwrap).await,
            Backend::Docker(image) => {
                return sandbox::run(app, job, sandbox::Runner::Docker(image.clone())).await
            }
        }
    }
    let Some(rule) = rule else {
        return Ok(reply(ExecResult {
            exit_code: NO_RULE_EXIT,
            stdout: String::new(),
            stderr: no_rule_stderr(&job.command),
            timing: Timing {
                total_ms: (job.started.elapsed().as_millis() as u64).max(queue_ms),
                queue_ms,
                execute_ms: 0,
            },
        }));
    };
    let limit = app.config.exec_timeout;
    let delay = std::time::Duration::from_millis(rule.delay_ms.unwrap_or(0));
    let timed_out = rule.timeout || delay > limit;
    let ran = std::time::Instant::now();
    tokio::time::sleep(delay.min(limit)).await;
    let mut stderr = rule.stderr.clone();
    let app2 = app.clone();
    let mounts = job.mounts.clone();
    let effects = rule.clone();
    // Effects write the store (and the log with --data-dir): off the workers.
    let notes = tokio::task::spawn_blocking(move || {
        let mut notes = String::new();
        let target = |path: &str, notes: &mut String| match resolve(&mounts, path) {
            None => {
                notes.push_str(&format!("archil-mock: {path}: not under a mounted disk\n"));
                None
            }
            Some((m, _)) if m.read_only => {
                notes.push_str(&format!("archil-mock: {path}: Read-only file system\n"));
                None
            }
            Some((m, key)) => Some((crate::api::disks::format_id(m.disk), key)),
        };
        for w in &effects.writes {
            if let Some((disk, key)) = target(&w.path, &mut notes) {
                if let Err(e) = app2.write_object(&disk, &key, w.content.as_bytes()) {
                    notes.push_str(&format!("archil-mock: {}: {}\n", w.path, e.message));
                }
            }
        }
        for path in &effects.deletes {
            if let Some((disk, key)) = target(path, &mut notes) {
                if let Err(e) = app2.delete_object(&disk, &key) {
                    notes.push_str(&format!("archil-mock: {path}: {}\n", e.message));
                }
            }
        }
        notes
    })
    .await
    .unwrap_or_default();
    stderr.push_str(&notes);
    if timed_out {
        return Err(ApiError::Injected {
            status: 504,
            message: "Command timed out".into(),
            code: "exec_timeout".into(),
        });
    }
    // One reading of the clock for both, so total ≥ queue + execute holds.
    let now = std::time::Instant::now();
    let execute_ms = now.duration_since(ran).as_millis() as u64;
    let total_ms = (now.duration_since(job.started).as_millis() as u64).max(queue_ms + execute_ms);
    Ok(reply(ExecResult {
        exit_code: rule.exit_code,
        stdout: rule.stdout,
        stderr,
        timing: Timing {
            total_ms,
            queue_ms,
            execute_ms,
        },
    }))
}

fn reply(result: crate::api::exec::ExecResult) -> crate::api::Reply {
    crate::api::Reply::new(hyper::StatusCode::OK, &result, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> ExecRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_first_match_wins_and_times_run_out() {
        let mut rules = ExecRules::default();
        rules
            .add(vec![
                rule(serde_json::json!({"command": "ls /mnt", "stdout": "a\n", "times": 1})),
                rule(serde_json::json!({"commandContains": "ls", "stdout": "b\n"})),
                rule(serde_json::json!({"commandRegex": "^pytest", "disk": "dsk-0000000000000001", "exitCode": 1})),
            ])
            .unwrap();
        assert_eq!(rules.select("ls /mnt", &[]).unwrap().stdout, "a\n");
        assert_eq!(rules.select("ls /mnt", &[]).unwrap().stdout, "b\n");
        assert!(
            rules.select("pytest -q", &[]).is_none(),
            "the disk is not mounted"
        );
        assert_eq!(
            rules
                .select("pytest -q", &["dsk-0000000000000001".into()])
                .unwrap()
                .exit_code,
            1
        );
    }

    #[test]
    fn invalid_rules_are_refused_whole() {
        let mut rules = ExecRules::default();
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"command": "a", "commandContains": "b"}),
            serde_json::json!({"commandRegex": "("}),
            serde_json::json!({"command": "a", "exitCode": 256}),
            serde_json::json!({"command": "a", "times": 0}),
            serde_json::json!({"command": "a", "writes": [{"path": "/etc/passwd", "content": ""}]}),
        ] {
            assert!(
                rules
                    .add(vec![
                        rule(serde_json::json!({"command": "ok"})),
                        rule(bad.clone())
                    ])
                    .is_err(),
                "{bad}"
            );
        }
        assert!(rules.list().is_empty());
    }
}
