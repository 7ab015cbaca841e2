//! Servers under test as child processes: spawned on port 0, found by the
//! address on their first stdout line, measured through `/proc`, killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::Conn;

/// A running server; dropping it kills it.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Server {
    /// Spawns `bin args…` and waits (at most 120 s, for big fixtures) for the
    /// first stdout line, `… listening on http://ADDR`. Stderr (the access
    /// log) goes to /dev/null.
    pub fn spawn(bin: &Path, args: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // The reader keeps draining after the first line: the server prints
        // more, and a closed pipe would make its `println!` panic.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
        });
        let mut server = Server {
            child,
            host: String::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| format!("{} printed no address", bin.display()))?;
        server.host = line
            .split("http://")
            .nth(1)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{}: unexpected first line {line:?}", bin.display()))?;
        Ok(server)
    }

    /// Spawns a server that is told its address (`host`, from
    /// [`free_host`]) rather than printing it, such as the S3 emulators the
    /// bench compares with. Its output goes to /dev/null.
    pub fn spawn_at(bin: &Path, args: &[&str], host: &str) -> Result<Server, String> {
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        Ok(Server {
            child,
            host: host.to_owned(),
        })
    }

    /// Polls `path` until it answers anything at all, for at most `limit`.
    pub fn wait_answer(&self, path: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(mut c) = Conn::open(&self.host) {
                if c.send("GET", path, &[], b"").is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not answer {path} in {limit:?}", self.host));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `path` until it answers 200, for at most `limit`.
    pub fn wait_ready(&self, path: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(mut c) = Conn::open(&self.host) {
                if let Ok(a) = c.send("GET", path, &[], b"") {
                    if a.status == 200 {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not answer {path} in {limit:?}", self.host));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// CPU time (user + system) the process has used so far, from `/proc/PID/stat`.
    pub fn cpu(&self) -> Result<Duration, String> {
        let pid = self.pid();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(u), Some(s)) => Ok(Duration::from_secs_f64(
                (u + s) as f64 / clock_ticks_per_sec(),
            )),
            _ => Err(format!("unreadable /proc/{pid}/stat")),
        }
    }

    /// Resident set size in bytes, from `/proc/PID/status` `VmRSS`.
    pub fn rss(&self) -> Result<u64, String> {
        rss_of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1:PORT` with a port that was free a moment ago.
pub fn free_host() -> Result<String, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    Ok(addr.to_string())
}

/// `getconf CLK_TCK`, which is 100 on every Linux we know of.
fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|&t: &f64| t > 0.0)
            .unwrap_or(100.0)
    })
}

/// `VmRSS` of a process, in bytes.
pub fn rss_of(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("no VmRSS for {pid}"))
}
