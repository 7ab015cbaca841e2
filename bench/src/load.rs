//! One run of `loadgen` against one server: what to send, and the figures back.

use std::path::Path;
use std::process::Command;

use crate::report::LoadStat;
use crate::server::Server;

/// What a load run sends.
#[derive(Debug, Clone)]
pub struct Load {
    pub method: &'static str,
    /// The path, with `loadgen`'s `{i}` placeholders if any.
    pub path: String,
    pub body: Body,
    pub headers: Vec<String>,
    pub expect: u16,
    pub conns: usize,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// Text, with `loadgen`'s `{i}` placeholders if any.
    Text(String),
    /// This many bytes of a fixed pattern.
    Bytes(usize),
}

impl Load {
    pub fn get(path: impl Into<String>) -> Load {
        Load {
            method: "GET",
            path: path.into(),
            body: Body::None,
            headers: Vec::new(),
            expect: 200,
            conns: 64,
        }
    }

    pub fn with(mut self, method: &'static str, body: Body) -> Load {
        self.method = method;
        self.body = body;
        self
    }

    pub fn header(mut self, h: impl Into<String>) -> Load {
        self.headers.push(h.into());
        self
    }

    pub fn headers(mut self, hs: &[String]) -> Load {
        self.headers.extend(hs.iter().cloned());
        self
    }

    pub fn expect(mut self, status: u16) -> Load {
        self.expect = status;
        self
    }

    pub fn conns(mut self, n: usize) -> Load {
        self.conns = n;
        self
    }
}

/// Runs `loadgen` for `secs` after a 1 s warmup, or, with `requests`, for
/// exactly that many requests (then `secs` is a cap and `start` is where
/// the placeholder counter begins). Fails on any error or unexpected answer.
pub fn run(
    loadgen: &Path,
    host: &str,
    load: &Load,
    secs: f64,
    requests: Option<(u64, u64)>,
) -> Result<LoadStat, String> {
    let mut cmd = Command::new(loadgen);
    cmd.args(["--url", &format!("http://{host}{}", load.path)])
        .args(["--method", load.method])
        .args(["--conns", &load.conns.to_string()])
        .args(["--secs", &secs.to_string()])
        .args(["--warmup", "1"])
        .args(["--expect", &load.expect.to_string()]);
    for h in &load.headers {
        cmd.args(["--header", h]);
    }
    match &load.body {
        Body::None => {}
        Body::Text(t) => {
            cmd.args(["--body", t]);
        }
        Body::Bytes(n) => {
            cmd.args(["--body-bytes", &n.to_string()]);
        }
    }
    if let Some((n, start)) = requests {
        cmd.args(["--requests", &n.to_string()])
            .args(["--start", &start.to_string()]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", loadgen.display()))?;
    if !out.status.success() {
        return Err(format!(
            "loadgen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v = crate::json(&out.stdout)?;
    let num = |k: &str| v[k].as_f64().unwrap_or(0.0);
    if num("errors") > 0.0 || num("unexpected") > 0.0 {
        return Err(format!(
            "{} {}: {} connection errors, {} unexpected answers (first: {})",
            load.method,
            load.path,
            num("errors"),
            num("unexpected"),
            v["sample"].as_str().unwrap_or("-")
        ));
    }
    Ok(LoadStat {
        rps: num("rps"),
        p50_us: num("p50_us"),
        p99_us: num("p99_us"),
        requests: num("requests") as u64,
        total: num("total") as u64,
        cpu_us: 0.0,
    })
}

/// [`run`] for `secs`, with the server's CPU time per request filled in.
pub fn measured(
    loadgen: &Path,
    server: &Server,
    load: &Load,
    secs: f64,
) -> Result<LoadStat, String> {
    let before = server.cpu()?;
    let mut stat = run(loadgen, &server.host, load, secs, None)?;
    let cpu = server.cpu()?.saturating_sub(before);
    stat.cpu_us = cpu.as_secs_f64() * 1e6 / stat.total.max(1) as f64;
    Ok(stat)
}
