//! The surfaces after tokens: object GET and PUT through the S3 gateway
//! against the floor and the S3 emulators a user would otherwise pick, disk
//! throughput and list pages, object listings and memory at scale, startup
//! from a full `--data-dir`, and grep against ripgrep and GNU grep.
//!
//! Every figure is taken in the same run as the baseline it is compared with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::Conn;
use crate::load::{self, Body, Load};
use crate::report::{count, mb, median, rps, us, LoadStat, PageStat, Row, Run};
use crate::server::{free_host, Server};
use crate::{json, path_str, step, Args, KEY};

/// The header every archil-mock request carries.
fn mock_auth() -> String {
    format!("Authorization: {KEY}")
}

/// moto does not check signatures, but answers an unsigned GET with 403; a
/// well-formed SigV4 header with any signature passes.
const MOTO_AUTH: &str = "Authorization: AWS4-HMAC-SHA256 \
    Credential=bench/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// The S3 servers an object figure is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Floor,
    /// archil-mock, objects in memory (the default).
    Mock,
    /// archil-mock with `--data-dir`: every PUT is fsynced before its answer.
    MockDir,
    Moto,
    S3sFs,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Floor => "floor",
            Kind::Mock => "archil-mock",
            Kind::MockDir => "archil-mock --data-dir",
            Kind::Moto => "moto server",
            Kind::S3sFs => "s3s-fs",
        }
    }
}

/// One object operation under load.
#[derive(Debug, Clone, Copy)]
pub struct ObjOp {
    pub name: &'static str,
    pub size: usize,
    pub put: bool,
    pub conns: usize,
    /// PUTs cycle over this many keys, so the store stays bounded.
    pub keys: usize,
}

pub const OBJ_OPS: [ObjOp; 4] = [
    ObjOp {
        name: "4 KiB GET",
        size: 4096,
        put: false,
        conns: 64,
        keys: 1,
    },
    ObjOp {
        name: "4 KiB PUT",
        size: 4096,
        put: true,
        conns: 64,
        keys: 1000,
    },
    ObjOp {
        name: "1 MiB GET",
        size: 1 << 20,
        put: false,
        conns: 16,
        keys: 1,
    },
    ObjOp {
        name: "1 MiB PUT",
        size: 1 << 20,
        put: true,
        conns: 16,
        keys: 64,
    },
];

/// The disk load scenarios: (name, the floor scenario it is compared with).
pub const DISK_OPS: [(&str, &str); 3] = [
    ("disk create (POST /api/disks)", "floor POST"),
    ("disk get (GET /api/disks/{id})", "floor GET"),
    ("disk list (100 disks, limit 50)", "floor GET"),
];

/// A peer that could not be measured, and why; or its version.
#[derive(Debug, Clone)]
pub struct Peer {
    pub kind: Kind,
    pub status: Result<String, String>,
}

/// One size of a growing store and the pages timed there.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub n: usize,
    pub rss: u64,
    pub fill_secs: f64,
    /// (page, entries on it).
    pub pages: Vec<(PageStat, usize)>,
}

/// A store grown step by step.
#[derive(Debug, Clone, Default)]
pub struct Growth {
    pub layout: String,
    pub idle_rss: u64,
    pub steps: Vec<Step>,
}

/// Startup from a full `--data-dir`.
#[derive(Debug, Clone, Default)]
pub struct DirStartup {
    pub files: usize,
    pub bytes_each: usize,
    pub on_disk: u64,
    pub fill_secs: f64,
    /// Spawn to the first 200 from `/_mock/health`.
    pub ready: Vec<Duration>,
    /// Spawn to the first 200 from a GET of a stored object.
    pub first_get: Vec<Duration>,
    pub rss: Vec<u64>,
    /// The same, on an empty `--data-dir`.
    pub empty_ready: Vec<Duration>,
}

/// Grep over the same files: archil-mock, `rg`, `grep -rE`.
#[derive(Debug, Clone, Default)]
pub struct GrepFigures {
    pub files: usize,
    pub bytes: u64,
    pub pattern: String,
    pub matches: usize,
    pub mock: Vec<Duration>,
    /// `None` when the tool is missing (the reason is in `peers`).
    pub rg: Option<Vec<Duration>>,
    pub rg_version: String,
    pub grep: Vec<Duration>,
    pub grep_version: String,
}

/// Everything this module measured.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub peers: Vec<Peer>,
    /// Object and disk load runs, `"<op>: <kind>"`.
    pub runs: Vec<Run>,
    pub disks: Option<Growth>,
    pub objects: Vec<Growth>,
    pub startup: Option<DirStartup>,
    pub grep: Option<GrepFigures>,
    /// Sections that failed: (section, error).
    pub failures: Vec<(String, String)>,
}

/// Paths of the peer tools, or why one is missing (reported, not fatal).
#[derive(Debug, Clone)]
pub struct Tools {
    pub moto: Result<PathBuf, String>,
    pub s3s: Result<PathBuf, String>,
    pub rg: Result<PathBuf, String>,
}

/// Finds `name` in `explicit`, then under `dirs`, then on PATH.
pub fn find_tool(explicit: Option<PathBuf>, dirs: &[&str], name: &str) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{} not found", p.display()))
        };
    }
    for d in dirs {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let p = d.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "`{name}` is not installed (looked in {} and PATH; `make bench-tools` installs it)",
        dirs.join(", ")
    ))
}

fn version(bin: &Path) -> String {
    // moto_server has no --version: read the dist-info beside it.
    if bin.ends_with("moto_server") {
        let lib = bin.parent().and_then(Path::parent).map(|p| p.join("lib"));
        let found = lib.and_then(|lib| {
            std::fs::read_dir(lib).ok()?.flatten().find_map(|py| {
                std::fs::read_dir(py.path().join("site-packages"))
                    .ok()?
                    .flatten()
                    .find_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.strip_prefix("moto-")
                            .and_then(|v| v.strip_suffix(".dist-info"))
                            .map(|v| format!("moto {v}"))
                    })
            })
        });
        return found.unwrap_or_else(|| "moto (version unknown)".into());
    }
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| bin.display().to_string())
}

// ---------------------------------------------------------------------------
// Endpoints.

/// A server ready for object load: its bucket path and the headers to send.
struct Endpoint {
    server: Server,
    bucket: String,
    headers: Vec<String>,
}

impl Endpoint {
    fn hdrs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter_map(|h| h.split_once(": "))
            .collect()
    }

    /// Stores `body` at `key` and reads it back, each on a new connection
    /// (moto closes after every answer).
    fn put(&self, key: &str, body: &[u8]) -> Result<(), String> {
        let conn = || Conn::open(&self.server.host).map_err(|e| e.to_string());
        let path = format!("{}/{key}", self.bucket);
        let mut hdrs = self.hdrs();
        hdrs.push(("Content-Type", "application/octet-stream"));
        let a = conn()?
            .send("PUT", &path, &hdrs, body)
            .map_err(|e| format!("PUT {path}: {e}"))?;
        if a.status != 200 {
            return Err(format!(
                "PUT {path} answered {}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            ));
        }
        let a = conn()?
            .send("GET", &path, &self.hdrs(), b"")
            .map_err(|e| format!("GET {path}: {e}"))?;
        if a.status != 200 || a.body != body {
            return Err(format!(
                "GET {path} answered {} with {} bytes, expected {}",
                a.status,
                a.body.len(),
                body.len()
            ));
        }
        Ok(())
    }
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|k| b"archil-mock bench "[k % 18]).collect()
}

/// Starts archil-mock and creates a disk named `name`; returns the disk id.
fn start_mock(args: &Args, extra: &[&str], name: &str) -> Result<(Server, String), String> {
    let mut argv = vec!["--port", "0"];
    argv.extend_from_slice(extra);
    let s = Server::spawn(&args.mock, &argv)?;
    s.wait_ready("/_mock/health", Duration::from_secs(120))?;
    let id = create_disk(&s, name)?;
    Ok((s, id))
}

fn create_disk(s: &Server, name: &str) -> Result<String, String> {
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let a = c
        .send(
            "POST",
            "/api/disks",
            &[("Authorization", KEY)],
            format!(r#"{{"name":"{name}"}}"#).as_bytes(),
        )
        .map_err(|e| format!("POST /api/disks: {e}"))?;
    let v = json(&a.body)?;
    match (a.status, v["data"]["diskId"].as_str()) {
        (201, Some(id)) => Ok(id.to_owned()),
        _ => Err(format!("POST /api/disks answered {}: {v}", a.status)),
    }
}

fn start_endpoint(
    args: &Args,
    tools: &Tools,
    kind: Kind,
    op: ObjOp,
    work: &Path,
) -> Result<Endpoint, String> {
    let ep = match kind {
        Kind::Floor => {
            // The floor serves the same bytes for a GET and reads the body of a PUT.
            let size = if op.put { 0 } else { op.size };
            let s = Server::spawn(&args.floor, &["0", &size.to_string()])?;
            s.wait_ready("/", Duration::from_secs(10))?;
            return Ok(Endpoint {
                server: s,
                bucket: "/bench".into(),
                headers: Vec::new(),
            });
        }
        Kind::Mock | Kind::MockDir => {
            let dir = work.join(format!("data-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let dir_arg = path_str(&dir)?.to_owned();
            let extra: Vec<&str> = if kind == Kind::MockDir {
                vec!["--data-dir", &dir_arg]
            } else {
                vec![]
            };
            let (s, id) = start_mock(args, &extra, "bench")?;
            Endpoint {
                server: s,
                bucket: format!("/{id}"),
                headers: vec![mock_auth()],
            }
        }
        Kind::Moto => {
            let bin = tools.moto.as_ref().map_err(Clone::clone)?;
            let host = free_host()?;
            let port = host.rsplit(':').next().unwrap_or("0").to_owned();
            let s = Server::spawn_at(bin, &["-H", "127.0.0.1", "-p", &port], &host)?;
            s.wait_answer("/", Duration::from_secs(60))?;
            Endpoint {
                server: s,
                bucket: "/bench".into(),
                headers: vec![MOTO_AUTH.into()],
            }
        }
        Kind::S3sFs => {
            let bin = tools.s3s.as_ref().map_err(Clone::clone)?;
            let root = work.join("s3s-root");
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
            let host = free_host()?;
            let port = host.rsplit(':').next().unwrap_or("0").to_owned();
            let s = Server::spawn_at(
                bin,
                &["--host", "127.0.0.1", "--port", &port, path_str(&root)?],
                &host,
            )?;
            s.wait_answer("/", Duration::from_secs(30))?;
            Endpoint {
                server: s,
                bucket: "/bench".into(),
                headers: Vec::new(),
            }
        }
    };
    if matches!(kind, Kind::Moto | Kind::S3sFs) {
        let mut c = Conn::open(&ep.server.host).map_err(|e| e.to_string())?;
        let a = c
            .send("PUT", &ep.bucket, &ep.hdrs(), b"")
            .map_err(|e| format!("{}: create bucket: {e}", kind.name()))?;
        if a.status != 200 {
            return Err(format!(
                "{}: create bucket answered {}",
                kind.name(),
                a.status
            ));
        }
    }
    if !op.put {
        ep.put("obj", &pattern(op.size))?;
    }
    Ok(ep)
}

fn object_load(ep: &Endpoint, op: ObjOp) -> Load {
    let l = Load::get(format!("{}/obj", ep.bucket))
        .headers(&ep.headers)
        .conns(op.conns);
    if op.put {
        let mut l = l
            .with("PUT", Body::Bytes(op.size))
            .header("Content-Type: application/octet-stream");
        l.path = format!("{}/put/k{{i%{}}}", ep.bucket, op.keys);
        l
    } else {
        l
    }
}

// ---------------------------------------------------------------------------
// Measuring.

/// Runs the sections `args.only` asks for.
pub fn measure(args: &Args, tools: &Tools, work: &Path) -> Result<Figures, String> {
    let mut f = Figures::default();
    for (kind, tool) in [(Kind::Moto, &tools.moto), (Kind::S3sFs, &tools.s3s)] {
        f.peers.push(Peer {
            kind,
            status: tool.as_ref().map(|p| version(p)).map_err(Clone::clone),
        });
    }
    // A section that fails is reported as not measured; the others still run.
    let mut failures = Vec::new();
    let mut failed = |section: &str, r: Result<(), String>| {
        if let Err(e) = r {
            println!("  {section} failed: {e}");
            failures.push((section.to_owned(), e));
        }
    };
    if args.wants("objects") || args.wants("disks") {
        let r = loads(args, tools, work, &mut f);
        failed("objects and disks load", r);
    }
    if args.wants("disks") {
        let r = disk_growth(args).map(|g| f.disks = Some(g));
        failed("disk list pages", r);
    }
    if args.wants("scale") {
        for nested in [false, true] {
            let r = object_growth(args, nested).map(|g| f.objects.push(g));
            failed("objects at scale", r);
        }
    }
    if args.wants("startup") {
        let r = dir_startup(args, work).map(|s| f.startup = Some(s));
        failed("startup on a full --data-dir", r);
    }
    if args.wants("grep") {
        let r = grep(args, tools, work).map(|g| f.grep = Some(g));
        failed("grep", r);
    }
    f.failures = failures;
    Ok(f)
}

/// Object and disk load, interleaved in rounds like the token scenarios.
fn loads(args: &Args, tools: &Tools, work: &Path, f: &mut Figures) -> Result<(), String> {
    let mut kinds = vec![Kind::Floor, Kind::Mock, Kind::MockDir];
    if tools.moto.is_ok() {
        kinds.push(Kind::Moto);
    }
    if tools.s3s.is_ok() {
        kinds.push(Kind::S3sFs);
    }
    let secs = args.object_secs;
    for round in 0..args.runs {
        if args.wants("objects") {
            for op in OBJ_OPS {
                for &kind in &kinds {
                    step(&format!(
                        "objects {}/{}: {} on {} ({} conns, {secs} s)",
                        round + 1,
                        args.runs,
                        op.name,
                        kind.name(),
                        op.conns
                    ));
                    let ep = start_endpoint(args, tools, kind, op, work)?;
                    let stat =
                        load::measured(&args.loadgen, &ep.server, &object_load(&ep, op), secs)
                            .map_err(|e| format!("{} on {}: {e}", op.name, kind.name()))?;
                    print_stat(&stat, op.size);
                    f.runs.push(Run {
                        scenario: format!("{}: {}", op.name, kind.name()),
                        stat,
                    });
                }
            }
        }
        if args.wants("disks") {
            for (name, load, floor) in disk_loads(args)? {
                step(&format!("disks {}/{}: {name}", round + 1, args.runs));
                let (server, l) = load;
                let stat = load::measured(&args.loadgen, &server, &l, secs)
                    .map_err(|e| format!("{name}: {e}"))?;
                print_stat(&stat, 0);
                f.runs.push(Run {
                    scenario: name,
                    stat,
                });
                drop(server);
                if let Some(floor) = floor {
                    step(&format!("disks {}/{}: {}", round + 1, args.runs, floor.0));
                    let s = Server::spawn(&args.floor, &["0"])?;
                    s.wait_ready("/", Duration::from_secs(10))?;
                    let stat = load::measured(&args.loadgen, &s, &floor.1, secs)?;
                    print_stat(&stat, 0);
                    f.runs.push(Run {
                        scenario: floor.0,
                        stat,
                    });
                }
            }
        }
    }
    Ok(())
}

type DiskLoad = (String, (Server, Load), Option<(String, Load)>);

/// The disk scenarios, each with a fresh server, and the floor runs they are
/// compared with (once each per round).
fn disk_loads(args: &Args) -> Result<Vec<DiskLoad>, String> {
    let mut out = Vec::new();
    let conns = args.conns;
    let (s, _) = start_mock(args, &[], "bench-seed")?;
    let create = Load::get("/api/disks")
        .with("POST", Body::Text(r#"{"name":"bench-{i}"}"#.into()))
        .header(mock_auth())
        .expect(201)
        .conns(conns);
    let floor_post = Load::get("/api/disks")
        .with("POST", Body::Text(r#"{"name":"bench-{i}"}"#.into()))
        .conns(conns);
    out.push((
        DISK_OPS[0].0.to_owned(),
        (s, create),
        Some((DISK_OPS[0].1.to_owned(), floor_post)),
    ));

    let (s, id) = start_mock(args, &[], "bench")?;
    let get = Load::get(format!("/api/disks/{id}"))
        .header(mock_auth())
        .conns(conns);
    out.push((
        DISK_OPS[1].0.to_owned(),
        (s, get),
        Some((
            DISK_OPS[1].1.to_owned(),
            Load::get("/api/disks/x").conns(conns),
        )),
    ));

    let (s, _) = start_mock(args, &[], "bench-0")?;
    fill_disks(args, &s, 1, 100)?;
    let list = Load::get("/api/disks?limit=50")
        .header(mock_auth())
        .conns(conns);
    out.push((DISK_OPS[2].0.to_owned(), (s, list), None));
    Ok(out)
}

fn print_stat(stat: &LoadStat, size: usize) {
    let mbs = if size >= 1 << 20 {
        format!("  {:.0} MB/s", stat.rps * size as f64 / 1e6)
    } else {
        String::new()
    };
    println!(
        "  {:>9.0} req/s{mbs}  p50 {:>6.0} µs  p99 {:>6.0} µs  server CPU {:>6.1} µs/req",
        stat.rps, stat.p50_us, stat.p99_us, stat.cpu_us
    );
}

/// Creates disks `bench-{from}` … until `to` exist (through POST).
fn fill_disks(args: &Args, s: &Server, from: usize, to: usize) -> Result<f64, String> {
    let started = Instant::now();
    if to > from {
        let l = Load::get("/api/disks")
            .with("POST", Body::Text(r#"{"name":"bench-{i}"}"#.into()))
            .header(mock_auth())
            .expect(201)
            .conns(args.conns);
        load::run(
            &args.loadgen,
            &s.host,
            &l,
            3600.0,
            Some(((to - from) as u64, from as u64)),
        )?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Disk list pages from 10 to the largest size: one server filled through POST.
fn disk_growth(args: &Args) -> Result<Growth, String> {
    let (s, _) = start_mock(args, &[], "bench-0")?;
    std::thread::sleep(Duration::from_millis(200));
    let mut g = Growth {
        layout: "disks".into(),
        idle_rss: s.rss()?,
        steps: Vec::new(),
    };
    let mut stored = 1;
    for &n in &args.disks {
        step(&format!(
            "fill to {} disks through POST /api/disks",
            count(n)
        ));
        let fill_secs = fill_disks(args, &s, stored, n)?;
        stored = n;
        std::thread::sleep(Duration::from_millis(300));
        let rss = s.rss()?;
        step(&format!("disk list pages at {} disks", count(n)));
        let cursor = walk_disks(&s, n / 2)?;
        let first = "/api/disks?limit=50".to_owned();
        let mid = format!("/api/disks?limit=50&cursor={cursor}");
        let pages = time_pages(&s, &[mock_auth()], &[first, mid], |a| {
            let v = json(&a.body)?;
            Ok(v["data"].as_array().map_or(0, Vec::len))
        })?;
        g.steps.push(Step {
            n,
            rss,
            fill_secs,
            pages,
        });
    }
    Ok(g)
}

/// The cursor with `skip` disks behind it, found as a client would.
fn walk_disks(s: &Server, skip: usize) -> Result<String, String> {
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let mut walked = 0;
    let mut cursor = String::new();
    while walked < skip.max(1) {
        let p = if walked == 0 {
            "/api/disks?limit=100".to_owned()
        } else {
            format!("/api/disks?limit=100&cursor={cursor}")
        };
        let a = c
            .send("GET", &p, &[("Authorization", KEY)], b"")
            .map_err(|e| e.to_string())?;
        let v = json(&a.body)?;
        walked += v["data"].as_array().map_or(0, Vec::len);
        cursor = match v["nextCursor"].as_str() {
            Some(next) => next.to_owned(),
            None => return Ok(cursor),
        };
    }
    Ok(cursor)
}

/// Times `paths` on one connection in blocks: each block sends 2 untimed
/// then `PAGE_SAMPLES / 10` timed requests for one page, round-robin over
/// the pages, ten blocks each. Drift spreads over every page, and one page's
/// allocations (a 1000-entry page builds a 300 KB answer) do not land in the
/// next page's time. `entries` checks the first answer and counts what the
/// page holds.
fn time_pages(
    s: &Server,
    headers: &[String],
    paths: &[String],
    entries: impl Fn(&crate::http::Answer) -> Result<usize, String>,
) -> Result<Vec<(PageStat, usize)>, String> {
    const BLOCKS: usize = 10;
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let hdrs: Vec<(&str, &str)> = headers.iter().filter_map(|h| h.split_once(": ")).collect();
    let mut times = vec![Vec::with_capacity(crate::PAGE_SAMPLES); paths.len()];
    let mut held = vec![0; paths.len()];
    for block in 0..BLOCKS {
        for (k, path) in paths.iter().enumerate() {
            for i in 0..2 + crate::PAGE_SAMPLES / BLOCKS {
                let started = Instant::now();
                let a = c.send("GET", path, &hdrs, b"").map_err(|e| e.to_string())?;
                let took = started.elapsed();
                if block == 0 && i == 0 {
                    if a.status != 200 {
                        return Err(format!(
                            "GET {path}: {} {}",
                            a.status,
                            String::from_utf8_lossy(&a.body[..a.body.len().min(300)])
                        ));
                    }
                    held[k] = entries(&a)?;
                }
                if i >= 2 {
                    times[k].push(took);
                }
            }
        }
    }
    Ok(times
        .into_iter()
        .zip(paths)
        .zip(held)
        .map(|((t, p), n)| (PageStat::of(t, p.clone()), n))
        .collect())
}

/// `<KeyCount>` of a ListObjectsV2 answer.
fn key_count(a: &crate::http::Answer) -> Result<usize, String> {
    let text = String::from_utf8_lossy(&a.body);
    text.split("<KeyCount>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no KeyCount in {}", &text[..text.len().min(300)]))
}

/// ListObjectsV2 pages as one disk grows to 1M empty objects, flat (`f{i}`)
/// or spread over 1000 directories (`d{i%1000}/f{i}`), and the memory each
/// object's metadata takes.
fn object_growth(args: &Args, nested: bool) -> Result<Growth, String> {
    let (s, id) = start_mock(args, &[], "bench")?;
    std::thread::sleep(Duration::from_millis(200));
    let layout = if nested {
        "nested (`d{i%1000}/f{i}`)"
    } else {
        "flat (`f{i}`)"
    };
    let mut g = Growth {
        layout: layout.into(),
        idle_rss: s.rss()?,
        steps: Vec::new(),
    };
    let key = |i: String| {
        if nested {
            format!("d{{i%1000}}/f{i}")
        } else {
            format!("f{i}")
        }
    };
    let mut stored = 0;
    for &n in &args.objects {
        step(&format!("fill to {} objects, {layout}", count(n)));
        let started = Instant::now();
        let mut l = Load::get("")
            .with("PUT", Body::None)
            .header(mock_auth())
            .conns(args.conns);
        l.path = format!("/{id}/{}", key("{i}".into()));
        load::run(
            &args.loadgen,
            &s.host,
            &l,
            3600.0,
            Some(((n - stored) as u64, stored as u64)),
        )?;
        let fill_secs = started.elapsed().as_secs_f64();
        stored = n;
        std::thread::sleep(Duration::from_millis(300));
        let rss = s.rss()?;
        step(&format!("list pages at {} objects, {layout}", count(n)));
        let mut paths = Vec::new();
        for max in [10, 1000] {
            if nested {
                paths.push(format!("/{id}?list-type=2&delimiter=/&max-keys={max}"));
                paths.push(format!(
                    "/{id}?list-type=2&delimiter=/&max-keys={max}&prefix=d{}/",
                    n.min(1000) / 2
                ));
            } else {
                paths.push(format!("/{id}?list-type=2&max-keys={max}"));
                paths.push(format!(
                    "/{id}?list-type=2&max-keys={max}&start-after=f{}",
                    n / 2
                ));
            }
        }
        let pages = time_pages(&s, &[mock_auth()], &paths, key_count)?;
        g.steps.push(Step {
            n,
            rss,
            fill_secs,
            pages,
        });
    }
    Ok(g)
}

/// Fills a `--data-dir` through PUT, then times restarts on it.
fn dir_startup(args: &Args, work: &Path) -> Result<DirStartup, String> {
    let dir = work.join("startup-data");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = path_str(&dir)?.to_owned();
    let mut out = DirStartup {
        files: args.startup_files,
        bytes_each: args.startup_file_bytes,
        ..DirStartup::default()
    };
    let (s, id) = start_mock(args, &["--data-dir", &dir_arg], "bench")?;
    step(&format!(
        "fill --data-dir with {} files of {} bytes",
        count(out.files),
        out.bytes_each
    ));
    let started = Instant::now();
    let mut l = Load::get("")
        .with("PUT", Body::Bytes(out.bytes_each))
        .header(mock_auth())
        .conns(args.conns);
    l.path = format!("/{id}/d{{i/1000}}/f{{i}}");
    load::run(
        &args.loadgen,
        &s.host,
        &l,
        3600.0,
        Some((out.files as u64, 0)),
    )?;
    out.fill_secs = started.elapsed().as_secs_f64();
    drop(s);
    out.on_disk = du(&dir);
    let probe = format!("/{id}/d0/f0");
    let empty = work.join("startup-empty");
    for _ in 0..args.startup_runs {
        step("restart on the full --data-dir");
        let started = Instant::now();
        let s = Server::spawn(&args.mock, &["--port", "0", "--data-dir", &dir_arg])?;
        s.wait_ready("/_mock/health", Duration::from_secs(600))?;
        out.ready.push(started.elapsed());
        let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
        let a = c
            .send("GET", &probe, &[("Authorization", KEY)], b"")
            .map_err(|e| e.to_string())?;
        if a.status != 200 || a.body.len() != out.bytes_each {
            return Err(format!("GET {probe} after restart answered {}", a.status));
        }
        out.first_get.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(100));
        out.rss.push(s.rss()?);
        drop(s);

        let _ = std::fs::remove_dir_all(&empty);
        let started = Instant::now();
        let s = Server::spawn(
            &args.mock,
            &["--port", "0", "--data-dir", path_str(&empty)?],
        )?;
        s.wait_ready("/_mock/health", Duration::from_secs(60))?;
        out.empty_ready.push(started.elapsed());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

fn du(dir: &Path) -> u64 {
    Command::new("du")
        .args(["-sb"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Grep.

const GREP_PATTERN: &str = "needle-[0-9]+";

/// Writes `files` text files of about `each` bytes in 100 directories;
/// every 500th line or so carries a needle. Returns the bytes written.
fn write_corpus(root: &Path, files: usize, each: usize) -> Result<u64, String> {
    const WORDS: [&str; 32] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
        "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "disk", "object",
        "mount", "branch", "token", "exec",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut total = 0u64;
    for f in 0..files {
        let dir = root.join(format!("d{:02}", f % 100));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut text = String::with_capacity(each + 100);
        while text.len() < each {
            let words = 4 + next() % 8;
            for w in 0..words {
                if w > 0 {
                    text.push(' ');
                }
                text.push_str(WORDS[(next() % 32) as usize]);
            }
            if next() % 500 == 0 {
                let _ = write!(text, " needle-{}", next() % 100_000);
            }
            text.push('\n');
        }
        total += text.len() as u64;
        std::fs::write(dir.join(format!("f{f:05}.txt")), text).map_err(|e| e.to_string())?;
    }
    Ok(total)
}

/// Runs `cmd` with stdout counted in lines; returns (time, lines).
fn timed_lines(cmd: &mut Command) -> Result<(Duration, usize), String> {
    let started = Instant::now();
    let out = cmd
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!("{cmd:?} exited {}", out.status));
    }
    Ok((took, out.stdout.iter().filter(|&&b| b == b'\n').count()))
}

fn grep(args: &Args, tools: &Tools, work: &Path) -> Result<GrepFigures, String> {
    let root = work.join("grep-corpus");
    let _ = std::fs::remove_dir_all(&root);
    step(&format!(
        "write {} files of {} bytes for grep",
        count(args.grep_files),
        args.grep_file_bytes
    ));
    let bytes = write_corpus(&root, args.grep_files, args.grep_file_bytes)?;
    let fixture = work.join("grep-fixture.json");
    let body = serde_json::json!({"accounts": [{"name": "default", "disks": [
        {"name": "corpus", "importDir": path_str(&root)?}
    ]}]});
    std::fs::write(&fixture, body.to_string()).map_err(|e| e.to_string())?;
    let s = Server::spawn(
        &args.mock,
        &["--port", "0", "--fixture", path_str(&fixture)?],
    )?;
    s.wait_ready("/_mock/health", Duration::from_secs(300))?;
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let a = c
        .send(
            "GET",
            "/api/disks?name=corpus",
            &[("Authorization", KEY)],
            b"",
        )
        .map_err(|e| e.to_string())?;
    let id = json(&a.body)?["data"][0]["id"]
        .as_str()
        .ok_or("the corpus disk is not listed")?
        .to_owned();
    let request = serde_json::json!({
        "directory": "", "pattern": GREP_PATTERN, "recursive": true, "maxResults": 10000,
    })
    .to_string();
    let mut g = GrepFigures {
        files: args.grep_files,
        bytes,
        pattern: GREP_PATTERN.into(),
        rg_version: tools
            .rg
            .as_deref()
            .map(version)
            .unwrap_or_else(|e| e.clone()),
        grep_version: version(Path::new("grep")),
        ..GrepFigures::default()
    };
    let mut rg_times = Vec::new();
    for run in 0..args.grep_runs + 1 {
        step(&format!("grep run {run} (the first is a warmup)"));
        let started = Instant::now();
        let a = c
            .send(
                "POST",
                &format!("/api/disks/{id}/grep"),
                &[("Authorization", KEY)],
                request.as_bytes(),
            )
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        let v = json(&a.body)?;
        let d = &v["data"];
        let matches = d["matches"].as_array().map_or(0, Vec::len);
        if a.status != 200
            || d["stoppedReason"] != "completed"
            || d["filesScanned"].as_u64() != Some(args.grep_files as u64)
        {
            return Err(format!(
                "grep answered {}: stoppedReason {}, filesScanned {}",
                a.status, d["stoppedReason"], d["filesScanned"]
            ));
        }
        let (grep_took, grep_lines) =
            timed_lines(Command::new("grep").args(["-rnE", GREP_PATTERN]).arg(&root))?;
        let rg = match &tools.rg {
            Ok(rg) => Some(timed_lines(
                Command::new(rg)
                    .args(["-n", "--no-heading", "-e", GREP_PATTERN])
                    .arg(&root),
            )?),
            Err(_) => None,
        };
        for (tool, lines) in [("grep -rE", Some(grep_lines)), ("rg", rg.map(|r| r.1))] {
            if let Some(lines) = lines {
                if lines != matches {
                    return Err(format!(
                        "archil-mock found {matches} matching lines, {tool} {lines}"
                    ));
                }
            }
        }
        g.matches = matches;
        if run > 0 {
            g.mock.push(took);
            g.grep.push(grep_took);
            if let Some((t, _)) = rg {
                rg_times.push(t);
            }
        }
    }
    g.rg = tools.rg.as_ref().ok().map(|_| rg_times);
    let _ = std::fs::remove_dir_all(&root);
    Ok(g)
}

// ---------------------------------------------------------------------------
// Rendering.

impl Figures {
    fn load(&self, scenario: &str) -> Option<LoadStat> {
        let runs: Vec<&LoadStat> = self
            .runs
            .iter()
            .filter(|r| r.scenario == scenario)
            .map(|r| &r.stat)
            .collect();
        if runs.is_empty() {
            return None;
        }
        let of = |f: fn(&LoadStat) -> f64| median(runs.iter().map(|s| f(s)).collect());
        Some(LoadStat {
            rps: of(|s| s.rps),
            p50_us: of(|s| s.p50_us),
            p99_us: of(|s| s.p99_us),
            requests: 0,
            total: 0,
            cpu_us: of(|s| s.cpu_us),
        })
    }

    fn measured_kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::Mock, Kind::MockDir];
        for p in &self.peers {
            if p.status.is_ok() {
                kinds.push(p.kind);
            }
        }
        kinds
    }
}

fn secs_of(d: &[Duration]) -> Vec<f64> {
    d.iter().map(Duration::as_secs_f64).collect()
}

/// The rows with targets (and their context), for the results table.
pub fn rows(f: &Figures) -> Vec<Row> {
    let mut rows = Vec::new();
    for (section, error) in &f.failures {
        rows.push(Row {
            figure: format!("{section}: not measured"),
            mock: error.chars().take(200).collect(),
            floor: String::new(),
            ratio: String::new(),
            target: "",
            pass: Some(false),
        });
    }
    let row =
        |figure: String, mock: String, base: String, ratio: String, target: &'static str, pass| {
            Row {
                figure,
                mock,
                floor: base,
                ratio,
                target,
                pass,
            }
        };
    // Objects against the floor.
    for (op, target, min) in [
        (OBJ_OPS[0], "≥ 0.7× floor", 0.7),
        (OBJ_OPS[1], "≥ 0.5× floor", 0.5),
        (OBJ_OPS[2], "≥ 0.8× floor", 0.8),
        (OBJ_OPS[3], "", 0.0),
    ] {
        let (Some(m), Some(fl)) = (
            f.load(&format!("{}: {}", op.name, Kind::Mock.name())),
            f.load(&format!("{}: {}", op.name, Kind::Floor.name())),
        ) else {
            continue;
        };
        let big = op.size >= 1 << 20;
        let show = |s: &LoadStat| {
            if big {
                format!("{:.0} MB/s", s.rps * op.size as f64 / 1e6)
            } else {
                rps(s.rps)
            }
        };
        let ratio = m.rps / fl.rps;
        rows.push(row(
            format!(
                "object {}: {}",
                op.name,
                if big { "MB/s" } else { "throughput" }
            ),
            show(&m),
            show(&fl),
            format!("{ratio:.2}×"),
            target,
            (!target.is_empty()).then_some(ratio >= min),
        ));
        rows.push(row(
            format!("object {}: p50 / p99, server CPU per request", op.name),
            format!("{} / {}, {:.1} µs", us(m.p50_us), us(m.p99_us), m.cpu_us),
            format!("{} / {}, {:.1} µs", us(fl.p50_us), us(fl.p99_us), fl.cpu_us),
            format!(
                "{:.2}× / {:.2}×, {:.2}×",
                m.p50_us / fl.p50_us,
                m.p99_us / fl.p99_us,
                m.cpu_us / fl.cpu_us
            ),
            "",
            None,
        ));
        // Against every emulator measured.
        for p in &f.peers {
            let Some(peer) = f.load(&format!("{}: {}", op.name, p.kind.name())) else {
                continue;
            };
            let ratio = m.rps / peer.rps;
            rows.push(row(
                format!("object {} against {}", op.name, p.kind.name()),
                show(&m),
                show(&peer),
                format!("{ratio:.2}×"),
                "ahead (> 1×)",
                Some(ratio > 1.0),
            ));
        }
    }
    // Disks.
    for (name, floor) in DISK_OPS {
        let (Some(m), Some(fl)) = (f.load(name), f.load(floor)) else {
            continue;
        };
        rows.push(row(
            format!(
                "{name}: throughput (p50 / p99 {} / {})",
                us(m.p50_us),
                us(m.p99_us)
            ),
            rps(m.rps),
            format!("{} ({floor})", rps(fl.rps)),
            format!("{:.2}×", m.rps / fl.rps),
            "",
            None,
        ));
    }
    if let Some(g) = &f.disks {
        growth_rows(&mut rows, g, "disks", &["first", "middle (cursor)"]);
    }
    // Objects at scale.
    for g in &f.objects {
        growth_rows(
            &mut rows,
            g,
            "objects",
            &[
                "max-keys 10, first",
                "max-keys 10, middle",
                "max-keys 1000, first",
                "max-keys 1000, middle",
            ],
        );
        if let Some(last) = g.steps.last() {
            let per = (last.rss as f64 - g.idle_rss as f64) / last.n as f64;
            rows.push(row(
                format!(
                    "metadata memory per object at {} objects, {}",
                    count(last.n),
                    g.layout
                ),
                format!("{per:.0} B"),
                format!("{} → {} RSS", mb(g.idle_rss as f64), mb(last.rss as f64)),
                String::new(),
                "≤ 300 B",
                Some(per <= 300.0),
            ));
        }
    }
    if let Some(s) = &f.startup {
        let ready = median(secs_of(&s.ready));
        let first = median(secs_of(&s.first_get));
        let empty = median(secs_of(&s.empty_ready));
        rows.push(row(
            format!(
                "startup on a --data-dir of {} files ({:.2} GiB on disk), to health / first GET (median of {})",
                count(s.files),
                s.on_disk as f64 / (1u64 << 30) as f64,
                s.ready.len()
            ),
            format!("{:.0} ms / {:.0} ms", ready * 1e3, first * 1e3),
            format!("{:.1} ms (empty --data-dir)", empty * 1e3),
            format!("{:.0}×", ready / empty),
            "",
            None,
        ));
        rows.push(row(
            "RSS after that startup (median)".into(),
            mb(median(s.rss.iter().map(|&b| b as f64).collect())),
            String::new(),
            String::new(),
            "",
            None,
        ));
    }
    if let Some(g) = &f.grep {
        let mbs = |d: &[Duration]| g.bytes as f64 / 1e6 / median(secs_of(d));
        let mock = mbs(&g.mock);
        let grep = mbs(&g.grep);
        if g.rg.is_none() {
            rows.push(row(
                "grep against rg".into(),
                format!("{mock:.0} MB/s"),
                format!("not measured: {}", g.rg_version),
                String::new(),
                "≥ 0.5× rg",
                None,
            ));
        }
        if let Some(rg) = &g.rg {
            let rg = mbs(rg);
            rows.push(row(
                format!(
                    "grep `{}` over {} files, {:.0} MB ({} matching lines)",
                    g.pattern,
                    count(g.files),
                    g.bytes as f64 / 1e6,
                    count(g.matches)
                ),
                format!("{mock:.0} MB/s"),
                format!("{rg:.0} MB/s ({})", g.rg_version),
                format!("{:.2}×", mock / rg),
                "≥ 0.5× rg",
                Some(mock / rg >= 0.5),
            ));
        }
        rows.push(row(
            "grep, the same against GNU grep -rE".into(),
            format!("{mock:.0} MB/s"),
            format!("{grep:.0} MB/s ({})", g.grep_version),
            format!("{:.2}×", mock / grep),
            "",
            None,
        ));
    }
    rows
}

/// Page-latency rows for a growing store. Each page's growth is judged
/// (≤ 2×) from the first size at which it holds as many entries as at the
/// largest, so that it measures scaling, not a fuller page; the growth from
/// the smallest size is shown beside it.
fn growth_rows(rows: &mut Vec<Row>, g: &Growth, what: &str, names: &[&str]) {
    let (Some(first), Some(last)) = (g.steps.first(), g.steps.last()) else {
        return;
    };
    let sizes: Vec<String> = g.steps.iter().map(|s| count(s.n)).collect();
    for (k, name) in names.iter().enumerate() {
        let p50s: Vec<String> = g.steps.iter().map(|s| us(s.pages[k].0.p50_us)).collect();
        let full = g
            .steps
            .iter()
            .find(|s| s.pages[k].1 == last.pages[k].1)
            .unwrap_or(first);
        let growth = last.pages[k].0.p50_us / full.pages[k].0.p50_us;
        let mut ratio = format!("{growth:.2}× ({} → {})", count(full.n), count(last.n));
        if full.n != first.n {
            let _ = write!(
                ratio,
                "; {:.2}× ({} → {})",
                last.pages[k].0.p50_us / first.pages[k].0.p50_us,
                count(first.n),
                count(last.n)
            );
        }
        rows.push(Row {
            figure: format!(
                "{} list page, {name} ({} entries), p50 at {} {what}",
                if what == "objects" {
                    g.layout.as_str()
                } else {
                    "disk"
                },
                last.pages[k].1,
                sizes.join(" / ")
            ),
            mock: p50s.join(" / "),
            floor: String::new(),
            ratio,
            target: "≤ 2× from the first full page",
            pass: Some(growth <= 2.0),
        });
    }
}

/// The detail tables for BENCHMARKS.md.
pub fn details(f: &Figures) -> String {
    let mut out = String::new();
    if !f.runs.is_empty() {
        out.push_str("\n### Every object and disk load run\n\n");
        out.push_str(
            "| scenario | req/s | MB/s | p50 | p99 | server CPU/request |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for r in &f.runs {
            let size = OBJ_OPS
                .iter()
                .find(|o| r.scenario.starts_with(o.name))
                .map_or(0, |o| o.size);
            let mbs = if size > 0 {
                format!("{:.1}", r.stat.rps * size as f64 / 1e6)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {mbs} | {} | {} | {:.1} µs |",
                r.scenario,
                rps(r.stat.rps),
                us(r.stat.p50_us),
                us(r.stat.p99_us),
                r.stat.cpu_us
            );
        }
        out.push_str("\nMedians per server (req/s; MB/s for 1 MiB):\n\n| operation |");
        let kinds: Vec<Kind> = std::iter::once(Kind::Floor)
            .chain(f.measured_kinds())
            .collect();
        for k in &kinds {
            let _ = write!(out, " {} |", k.name());
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(kinds.len()));
        out.push('\n');
        for op in OBJ_OPS {
            let _ = write!(out, "| {} |", op.name);
            for k in &kinds {
                let cell =
                    f.load(&format!("{}: {}", op.name, k.name()))
                        .map_or("-".to_owned(), |s| {
                            if op.size >= 1 << 20 {
                                format!("{:.0} MB/s", s.rps * op.size as f64 / 1e6)
                            } else {
                                rps(s.rps)
                            }
                        });
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
    }
    for g in f.disks.iter().chain(&f.objects) {
        let _ = write!(
            out,
            "\n### List pages: {}\n\n| stored | RSS | fill time | page | entries | p50 | p99 |\n|---:|---:|---:|---|---:|---:|---:|\n",
            g.layout
        );
        for s in &g.steps {
            for (p, n) in &s.pages {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} s | `{}` | {n} | {} | {} |",
                    count(s.n),
                    mb(s.rss as f64),
                    s.fill_secs,
                    p.path.split_once('?').map_or(p.path.as_str(), |(_, q)| q),
                    us(p.p50_us),
                    us(p.p99_us)
                );
            }
        }
    }
    out
}

/// The method bullets for BENCHMARKS.md.
pub fn method(f: &Figures, args: &Args) -> String {
    let mut out = String::new();
    let peers: Vec<String> = f
        .peers
        .iter()
        .map(|p| match &p.status {
            Ok(v) => format!("{} ({v})", p.kind.name()),
            Err(e) => format!("{}: not measured, {e}", p.kind.name()),
        })
        .collect();
    let _ = write!(
        out,
        "\
         - **Object GET and PUT**: each server is started fresh for each run and given one \
         bucket (archil-mock: a disk made through `POST /api/disks`; the emulators: `PUT /bench`). \
         GET fetches one stored object of the size named; PUT writes bodies of that size to keys \
         that cycle over {} (4 KiB) or {} (1 MiB) names, so the store stays bounded. \
         4 KiB runs use {} connections, 1 MiB runs {}; {} s measured after a 1 s warmup, {} rounds, \
         every server once per operation per round, medians reported. The floor answers a GET \
         with a body of the same size and reads a PUT's body, then answers 40 bytes. \
         archil-mock is measured twice: objects in memory (its default, and the figure the \
         targets judge) and with `--data-dir`, where every PUT is written to a temp file, \
         fsynced, renamed and logged (fsynced) before it is answered.\n\
         - **Peers**: {}. moto runs as `moto_server` (its Werkzeug server, single process, \
         threads); it checks no signature but answers an unsigned GET with 403, so every \
         request carries a well-formed SigV4 `Authorization` header with a dummy signature. \
         s3s-fs runs with no access key, so it serves anonymous requests; it stores each object \
         as a file under its root (in the bench's temp directory). archil-mock gets its plain \
         `Authorization: key-…` header.\n\
         - **Disks**: create posts `{{\"name\":\"bench-N\"}}` with a new N each time (201), get \
         reads one disk, list reads the first page of 100 disks; the floor gets the same \
         requests. List pages: one server filled through `POST /api/disks` to each size ({}), \
         the first page (`limit=50`) and a middle one (its cursor found by walking with \
         `limit=100`), {} samples each, timed in blocks: ten rounds of 2 untimed then 30 \
         timed requests for one page, round-robin over the pages, so drift spreads over all \
         of them and one page's allocations do not land in another's time.\n\
         - **Objects at scale**: two servers (objects in memory), one per layout, filled with \
         empty objects through PUT to each size ({}). Flat keys are `f<i>`; nested ones \
         `d<i%1000>/f<i>`, so 1M objects make 1000 directories of 1000 (and 10 objects 10 \
         directories of one). Four ListObjectsV2 \
         pages are timed at each size, in blocks as for disks: with max-keys 10 and 1000, the first page \
         and a middle one (flat: `start-after=f<n/2>`; nested: the root with `delimiter=/`, \
         and a middle directory's listing with `delimiter=/`). With max-keys 10 every page is \
         full at every size, so its growth is pure scaling and carries the ≤ 2× target; the \
         1000-key page grows with what it holds up to 1000 entries and is shown. Metadata per \
         object is (RSS after − RSS of the same process before filling) ÷ objects; the bodies \
         are empty, so it is the index alone (key, size, ETag, times, POSIX attributes).\n\
         - **Startup on a full `--data-dir`**: {} objects of {} bytes PUT into a `--data-dir` \
         (nested 1000 to a directory), the server killed, then started {} times on that \
         directory: spawn to the first 200 from `/_mock/health`, and to the first 200 GET of a \
         stored object; the empty-`--data-dir` startup is measured alongside.\n\
         - **Grep**: {} text files of about {} bytes in 100 directories, written to the bench's \
         temp directory and imported into a disk with a fixture's `importDir` (so the mock holds \
         them in memory and the tools read them from the page cache). Each run times one \
         `POST /api/disks/{{id}}/grep` (recursive, `maxResults` 10000) end to end, `rg -n` \
         (all cores) and `grep -rnE` over the directory, with their output read through a pipe; \
         every run checks that all three found the same number of matching lines and that the \
         mock scanned every file. One warmup, then the median of {} runs.\n",
        OBJ_OPS[1].keys,
        OBJ_OPS[3].keys,
        OBJ_OPS[0].conns,
        OBJ_OPS[2].conns,
        args.object_secs,
        args.runs,
        peers.join("; "),
        args.disks.iter().map(|&n| count(n)).collect::<Vec<_>>().join(", "),
        crate::PAGE_SAMPLES,
        args.objects.iter().map(|&n| count(n)).collect::<Vec<_>>().join(", "),
        count(args.startup_files),
        args.startup_file_bytes,
        args.startup_runs,
        count(args.grep_files),
        args.grep_file_bytes,
        args.grep_runs,
    );
    out
}
