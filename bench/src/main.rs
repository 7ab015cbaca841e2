//! `make bench`: measures a release archil-mock against a floor (a bare hyper
//! 1 server, `floor`) and the S3 emulators a user would otherwise pick, on
//! this machine, prints a table and writes BENCHMARKS.md. It is a benchmark,
//! not a test: it fails only if something does not work, never because a
//! figure misses its target.
//!
//! Sections, in the order they run (`--only` picks some):
//! - `tokens`: token throughput and latency under load (`loadgen`, runs
//!   interleaved so drift hits every scenario alike), startup, memory,
//!   list-page latency as the store grows;
//! - `objects` and `disks`: object GET/PUT against the floor, moto and
//!   s3s-fs, and disk create/get/list, interleaved in rounds the same way
//!   (`surfaces.rs`), then disk list pages as the store grows;
//! - `scale`: ListObjectsV2 pages and memory per object up to 1M objects;
//! - `startup`: restarts on a `--data-dir` of 100k files;
//! - `grep`: grep against `rg` and `grep -rE`.
//!
//! ```text
//! bench --mock target/release/archil-mock [--out BENCHMARKS.md] [--secs 10]
//!       [--runs 3] [--conns 64] [--startups 20] [--tokens 100000,1000000]
//!       [--only tokens,objects,disks,scale,startup,grep] [--object-secs 5]
//!       [--disks 10,100,10000,100000] [--objects 10,100,10000,100000,1000000]
//!       [--startup-files 100000] [--startup-file-bytes 10240] [--startup-runs 5]
//!       [--grep-files 10000] [--grep-file-bytes 10000] [--grep-runs 5]
//!       [--moto PATH] [--s3s-fs PATH] [--rg PATH]
//! ```

mod http;
mod load;
mod report;
mod server;
mod surfaces;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::Conn;
use load::{Body, Load};
use report::{Figures, LoadStat, Machine, PageStat, Run, ScaleStep};
use server::Server;

/// archil-mock's built-in key for the `default` account.
pub(crate) const KEY: &str = "key-archil-mock";
/// A valid create body with a 20-character name.
pub(crate) const POST_BODY: &str = r#"{"name":"bench-token-00000000"}"#;
/// Requests timed per list-page figure (after 20 untimed).
pub(crate) const PAGE_SAMPLES: usize = 300;
/// Inert fault rules for the fault-overhead figure.
pub(crate) const FAULT_RULES: usize = 100;

/// What the driver was asked to do.
#[derive(Debug, Clone)]
pub struct Args {
    mock: PathBuf,
    floor: PathBuf,
    loadgen: PathBuf,
    out: Option<PathBuf>,
    /// Measured seconds per load run (after a 1 s warmup).
    pub secs: f64,
    /// Load runs per scenario; the figures are their medians.
    pub runs: usize,
    /// Keep-alive connections per load run.
    pub conns: usize,
    /// Startups timed.
    pub startups: usize,
    /// Store sizes for the memory and scale figures, ascending.
    pub tokens: Vec<usize>,
    /// Sections to run (`--only`); empty means all.
    pub only: Vec<String>,
    /// Measured seconds per object and disk load run.
    pub object_secs: f64,
    /// Disk-store sizes for list pages, ascending.
    pub disks: Vec<usize>,
    /// Object-store sizes for list pages and memory, ascending.
    pub objects: Vec<usize>,
    pub startup_files: usize,
    pub startup_file_bytes: usize,
    pub startup_runs: usize,
    pub grep_files: usize,
    pub grep_file_bytes: usize,
    pub grep_runs: usize,
    moto: Option<PathBuf>,
    s3s: Option<PathBuf>,
    rg: Option<PathBuf>,
}

/// Every section, in the order they run.
const SECTIONS: [&str; 6] = ["tokens", "objects", "disks", "scale", "startup", "grep"];

impl Args {
    /// Whether `--only` asks for `section` (everything runs without it).
    pub fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

/// The servers the load scenarios run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Floor,
    /// archil-mock with 10 tokens in the `default` account.
    Mock10,
    /// The same plus 100 fault rules that match nothing it is sent.
    Mock10Faults,
}

/// One load scenario.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    key: &'static str,
    target: Target,
    post: bool,
}

const SCENARIOS: [Scenario; 5] = [
    Scenario {
        key: "floor GET",
        target: Target::Floor,
        post: false,
    },
    Scenario {
        key: "mock GET",
        target: Target::Mock10,
        post: false,
    },
    Scenario {
        key: "floor POST",
        target: Target::Floor,
        post: true,
    },
    Scenario {
        key: "mock POST",
        target: Target::Mock10,
        post: true,
    },
    Scenario {
        key: "mock GET, 100 faults",
        target: Target::Mock10Faults,
        post: false,
    },
];

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    match run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let began = Instant::now();
    let machine = Machine::probe(&args.mock);
    let work = std::env::temp_dir().join(format!("archil-mock-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = measure(args, &work);
    let _ = std::fs::remove_dir_all(&work);
    let mut figures = result?;
    figures.machine = machine;
    figures.machine.load_after = report::loadavg();
    figures.elapsed = began.elapsed();
    let table = report::table(&figures);
    println!("\n{table}");
    println!("bench took {:.0} s", figures.elapsed.as_secs_f64());
    if let Some(out) = &args.out {
        let kept = std::fs::read_to_string(out)
            .ok()
            .and_then(|old| report::kept_notes(&old));
        let text = report::markdown(&figures, args, kept.as_deref());
        std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn measure(args: &Args, work: &Path) -> Result<Figures, String> {
    let tools = surfaces::Tools {
        moto: surfaces::find_tool(args.moto.clone(), &["bench/.venv/bin"], "moto_server"),
        s3s: surfaces::find_tool(args.s3s.clone(), &["bench/.tools/bin"], "s3s-fs"),
        rg: surfaces::find_tool(args.rg.clone(), &["bench/.tools/bin"], "rg"),
    };
    let mut figures = if args.wants("tokens") {
        tokens(args, work)?
    } else {
        Figures::default()
    };
    figures.surfaces = surfaces::measure(args, &tools, work)?;
    Ok(figures)
}

/// The token figures: load, startup, memory, list pages.
fn tokens(args: &Args, work: &Path) -> Result<Figures, String> {
    let ten = work.join("tokens-10.json");
    write_fixture(&ten, 9)?; // plus the built-in key: 10 tokens

    // 1. Load: every scenario once per round, rounds repeated, so slow drift
    // in the machine's other load spreads over all scenarios alike.
    let mut runs: Vec<Run> = Vec::new();
    for round in 0..args.runs {
        for s in SCENARIOS {
            step(&format!(
                "load {}/{}: {} ({} conns, {} s)",
                round + 1,
                args.runs,
                s.key,
                args.conns,
                args.secs
            ));
            let server = start_target(args, s.target, &ten)?;
            if round == 0 && s.target != Target::Floor {
                check_ten_tokens(&server)?;
            }
            let cpu_before = server.cpu()?;
            let mut stat = loadgen(args, &server.host, s, args.secs, None)?;
            let cpu = server.cpu()?.saturating_sub(cpu_before);
            stat.cpu_us = cpu.as_secs_f64() * 1e6 / stat.total.max(1) as f64;
            println!(
                "  {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  server CPU {:>5.1} µs/req",
                stat.rps, stat.p50_us, stat.p99_us, stat.cpu_us
            );
            runs.push(Run {
                scenario: s.key.to_owned(),
                stat,
            });
        }
    }

    // 2. Startup and idle memory, archil-mock and the floor.
    step(&format!("startup x{} (archil-mock, floor)", args.startups));
    let (startup, idle) = startups(args, &args.mock, &["--port", "0"], "/_mock/health")?;
    let (floor_startup, floor_idle) = startups(args, &args.floor, &["0"], "/")?;

    // 3. Memory and scale: one server filled through POST /api/tokens,
    // measured at each size; a 10-token store for the baseline page.
    // The 100-token store is the smallest whose pages are full (50 tokens),
    // so 100 → largest compares like with like; 10 is the size the issue names.
    let mut scale = Vec::new();
    for n in [10, 100] {
        step(&format!("list pages at {n} tokens"));
        let file = work.join(format!("tokens-{n}.json"));
        write_fixture(&file, n - 1)?;
        let small = Server::spawn(&args.mock, &["--port", "0", "--fixture", path_str(&file)?])?;
        small.wait_ready("/_mock/health", Duration::from_secs(10))?;
        let (first, mid) = pages(&small, n, n / 2)?;
        scale.push(ScaleStep {
            tokens: n,
            rss: small.rss()?,
            filled: false,
            fill_secs: 0.0,
            first,
            mid,
        });
    }

    let filled = Server::spawn(&args.mock, &["--port", "0"])?;
    filled.wait_ready("/_mock/health", Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(200));
    let filled_idle = filled.rss()?;
    let mut stored = 1; // the built-in key
    for &n in &args.tokens {
        step(&format!("fill to {n} tokens through POST /api/tokens"));
        let started = Instant::now();
        let post = SCENARIOS[3];
        let added = loadgen(args, &filled.host, post, 600.0, Some((n - stored) as u64))?;
        if added.requests as usize != n - stored {
            return Err(format!(
                "asked for {} creates, {} succeeded",
                n - stored,
                added.requests
            ));
        }
        let fill_secs = started.elapsed().as_secs_f64();
        stored = n;
        std::thread::sleep(Duration::from_millis(300));
        let rss = filled.rss()?;
        step(&format!("list pages at {n} tokens"));
        let (first, mid) = pages(&filled, n, n / 2)?;
        scale.push(ScaleStep {
            tokens: n,
            rss,
            filled: true,
            fill_secs,
            first,
            mid,
        });
    }
    drop(filled);

    // 4. The largest store again, preloaded from a fixture file instead.
    let big = *args.tokens.last().expect("at least one size");
    step(&format!("preload {big} tokens from a fixture file"));
    let file = work.join("tokens-big.json");
    write_fixture(&file, big - 1)?;
    let started = Instant::now();
    let preloaded = Server::spawn(&args.mock, &["--port", "0", "--fixture", path_str(&file)?])?;
    preloaded.wait_ready("/_mock/health", Duration::from_secs(300))?;
    let preload_secs = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(300));
    let preload_rss = preloaded.rss()?;
    drop(preloaded);

    Ok(Figures {
        runs,
        startup,
        idle,
        floor_startup,
        floor_idle,
        filled_idle,
        scale,
        preload_tokens: big,
        preload_secs,
        preload_rss,
        ..Figures::default()
    })
}

pub(crate) fn step(what: &str) {
    println!("- {what}");
    let _ = std::io::stdout().flush();
}

fn start_target(args: &Args, target: Target, ten: &Path) -> Result<Server, String> {
    match target {
        Target::Floor => {
            let s = Server::spawn(&args.floor, &["0"])?;
            s.wait_ready("/", Duration::from_secs(10))?;
            Ok(s)
        }
        Target::Mock10 | Target::Mock10Faults => {
            let s = Server::spawn(&args.mock, &["--port", "0", "--fixture", path_str(ten)?])?;
            s.wait_ready("/_mock/health", Duration::from_secs(10))?;
            if target == Target::Mock10Faults {
                add_inert_faults(&s)?;
            }
            Ok(s)
        }
    }
}

/// 100 rules that match no path the load sends (`/nope/N/*`), each with an action.
fn add_inert_faults(s: &Server) -> Result<(), String> {
    let rules: Vec<serde_json::Value> = (0..FAULT_RULES)
        .map(|i| serde_json::json!({"path": format!("/nope/{i}/*"), "status": 503}))
        .collect();
    let body = serde_json::to_vec(&rules).expect("serialises");
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let a = c
        .send(
            "POST",
            "/_mock/faults",
            &[("Content-Type", "application/json")],
            &body,
        )
        .map_err(|e| format!("POST /_mock/faults: {e}"))?;
    if a.status != 201 {
        return Err(format!(
            "POST /_mock/faults answered {}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    let a = c
        .send("GET", "/_mock/faults", &[], b"")
        .map_err(|e| e.to_string())?;
    let listed = json(&a.body)?["data"]["faults"]
        .as_array()
        .map_or(0, Vec::len);
    if listed != FAULT_RULES {
        return Err(format!("{listed} fault rules live, expected {FAULT_RULES}"));
    }
    Ok(())
}

fn check_ten_tokens(s: &Server) -> Result<(), String> {
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let a = c
        .send("GET", "/api/tokens", &[("Authorization", KEY)], b"")
        .map_err(|e| e.to_string())?;
    let n = json(&a.body)?["data"]["tokens"]
        .as_array()
        .map_or(0, Vec::len);
    if a.status != 200 || n != 10 {
        return Err(format!("GET /api/tokens: status {}, {n} tokens", a.status));
    }
    Ok(())
}

/// Runs `loadgen` for one token scenario: for `secs` after a 1 s warmup, or
/// for exactly `requests` requests (then `secs` is a cap).
fn loadgen(
    args: &Args,
    host: &str,
    s: Scenario,
    secs: f64,
    requests: Option<u64>,
) -> Result<LoadStat, String> {
    let mut l = Load::get("/api/tokens")
        .header(format!("Authorization: {KEY}"))
        .conns(args.conns);
    if s.post {
        l = l
            .with("POST", Body::Text(POST_BODY.to_owned()))
            .header("Content-Type: application/json");
        if s.target != Target::Floor {
            l = l.expect(201);
        }
    }
    load::run(&args.loadgen, host, &l, secs, requests.map(|n| (n, 0)))
        .map_err(|e| format!("{}: {e}", s.key))
}

/// Spawn-to-first-200 times, and RSS 100 ms after that first answer.
fn startups(
    args: &Args,
    bin: &Path,
    argv: &[&str],
    ready: &str,
) -> Result<(Vec<Duration>, Vec<u64>), String> {
    let mut times = Vec::with_capacity(args.startups);
    let mut rss = Vec::with_capacity(args.startups);
    for _ in 0..args.startups {
        let started = Instant::now();
        let s = Server::spawn(bin, argv)?;
        s.wait_ready(ready, Duration::from_secs(10))?;
        times.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(100));
        rss.push(s.rss()?);
    }
    Ok((times, rss))
}

/// Latency of two list pages (limit 50): the first, and the one after the
/// cursor that has `skip` tokens behind it (found by walking the list, as a
/// client would). Their samples alternate, so drift hits both alike.
fn pages(s: &Server, stored: usize, skip: usize) -> Result<(PageStat, PageStat), String> {
    let mut c = Conn::open(&s.host).map_err(|e| e.to_string())?;
    let auth = [("Authorization", KEY)];
    let per = skip.clamp(1, 100);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut walked = 0;
    let mut cursor = String::new();
    while walked < skip {
        if Instant::now() > deadline {
            return Err(format!("walking {skip} tokens took over 120 s"));
        }
        let p = if walked == 0 {
            format!("/api/tokens?limit={per}")
        } else {
            format!("/api/tokens?limit={per}&cursor={cursor}")
        };
        let a = c.send("GET", &p, &auth, b"").map_err(|e| e.to_string())?;
        let v = json(&a.body)?;
        walked += v["data"]["tokens"].as_array().map_or(0, Vec::len);
        cursor = match v["nextCursor"].as_str() {
            Some(next) => next.to_owned(),
            None => return Err(format!("the list ended after {walked} of {stored} tokens")),
        };
    }
    let paths = [
        ("/api/tokens?limit=50".to_owned(), 50.min(stored)),
        (
            format!("/api/tokens?limit=50&cursor={cursor}"),
            50.min(stored - walked),
        ),
    ];
    let mut times = [
        Vec::with_capacity(PAGE_SAMPLES),
        Vec::with_capacity(PAGE_SAMPLES),
    ];
    for i in 0..20 + PAGE_SAMPLES {
        for (k, (path, expected)) in paths.iter().enumerate() {
            let started = Instant::now();
            let a = c.send("GET", path, &auth, b"").map_err(|e| e.to_string())?;
            let took = started.elapsed();
            if i == 0 {
                let n = json(&a.body)?["data"]["tokens"]
                    .as_array()
                    .map_or(0, Vec::len);
                if a.status != 200 || n != *expected {
                    return Err(format!(
                        "GET {path}: status {}, {n} tokens, expected {expected}",
                        a.status
                    ));
                }
            }
            if i >= 20 {
                times[k].push(took);
            }
        }
    }
    let [first, mid] = times;
    let [(first_path, _), (mid_path, _)] = paths;
    Ok((PageStat::of(first, first_path), PageStat::of(mid, mid_path)))
}

/// A fixture in state-file form (`id` + `tokenSuffix`, so loading it hashes
/// nothing) with `n` tokens named `bench-token-NNNNNNNN` (20 characters).
fn write_fixture(path: &Path, n: usize) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        w.write_all(br#"{"accounts":[{"name":"default","tokens":["#)?;
        for i in 0..n {
            let id = pseudo_digest(i as u64);
            let sep = if i + 1 < n { "," } else { "" };
            write!(
                w,
                r#"{{"id":"{id}","tokenSuffix":"{}","name":"bench-token-{i:08}"}}{sep}"#,
                &id[60..]
            )?;
        }
        w.write_all(b"]}]}")?;
        w.flush()
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

/// 64 hex characters, distinct for distinct `i` (splitmix64 is a bijection).
fn pseudo_digest(i: u64) -> String {
    let mut out = String::with_capacity(64);
    for k in 0..4 {
        let mut z = (i * 4 + k).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out
}

pub(crate) fn json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )
    })
}

pub(crate) fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

fn parse_args() -> Result<Args, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no executable directory")?.to_owned();
    let mut args = Args {
        mock: PathBuf::from("target/release/archil-mock"),
        floor: dir.join("floor"),
        loadgen: dir.join("loadgen"),
        out: None,
        secs: 10.0,
        runs: 3,
        conns: 64,
        startups: 20,
        tokens: vec![100_000, 1_000_000],
        only: Vec::new(),
        object_secs: 5.0,
        disks: vec![10, 100, 10_000, 100_000],
        objects: vec![10, 100, 10_000, 100_000, 1_000_000],
        startup_files: 100_000,
        startup_file_bytes: 10_240,
        startup_runs: 5,
        grep_files: 10_000,
        grep_file_bytes: 10_000,
        grep_runs: 5,
        moto: None,
        s3s: None,
        rg: None,
    };
    let sizes = |flag: &str, value: &str| -> Result<Vec<usize>, String> {
        value
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<usize>()
                    .map_err(|e| format!("{flag} {value}: {e}"))
            })
            .collect()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--mock" => args.mock = value.into(),
            "--floor" => args.floor = value.into(),
            "--loadgen" => args.loadgen = value.into(),
            "--out" => args.out = Some(value.into()),
            "--secs" => args.secs = value.parse().map_err(|e| bad(&e))?,
            "--runs" => args.runs = value.parse().map_err(|e| bad(&e))?,
            "--conns" => args.conns = value.parse().map_err(|e| bad(&e))?,
            "--startups" => args.startups = value.parse().map_err(|e| bad(&e))?,
            "--tokens" => {
                args.tokens = value
                    .split(',')
                    .map(|t| t.trim().parse::<usize>().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            "--only" => {
                args.only = value.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(bad) = args.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    return Err(format!("--only: no section {bad} (sections: {SECTIONS:?})"));
                }
            }
            "--object-secs" => args.object_secs = value.parse().map_err(|e| bad(&e))?,
            "--disks" => args.disks = sizes(&flag, &value)?,
            "--objects" => args.objects = sizes(&flag, &value)?,
            "--startup-files" => args.startup_files = value.parse().map_err(|e| bad(&e))?,
            "--startup-file-bytes" => {
                args.startup_file_bytes = value.parse().map_err(|e| bad(&e))?
            }
            "--startup-runs" => args.startup_runs = value.parse().map_err(|e| bad(&e))?,
            "--grep-files" => args.grep_files = value.parse().map_err(|e| bad(&e))?,
            "--grep-file-bytes" => args.grep_file_bytes = value.parse().map_err(|e| bad(&e))?,
            "--grep-runs" => args.grep_runs = value.parse().map_err(|e| bad(&e))?,
            "--moto" => args.moto = Some(value.into()),
            "--s3s-fs" => args.s3s = Some(value.into()),
            "--rg" => args.rg = Some(value.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let sizes_ok = !args.tokens.is_empty()
        && args.tokens.windows(2).all(|w| w[0] < w[1])
        && args.tokens[0] > 100
        && *args.tokens.last().expect("checked") <= 10_000_000;
    if !sizes_ok {
        return Err("--tokens wants ascending sizes in 101..=10000000".into());
    }
    let secs_ok = args.secs > 0.0 && args.secs <= 60.0;
    let ascending = |v: &[usize]| !v.is_empty() && v.windows(2).all(|w| w[0] < w[1]) && v[0] > 1;
    if !ascending(&args.disks) || !ascending(&args.objects) {
        return Err("--disks and --objects want ascending sizes above 1".into());
    }
    let counts_ok = [
        args.startup_files,
        args.startup_runs,
        args.grep_files,
        args.grep_runs,
    ]
    .iter()
    .all(|&n| n > 0);
    if !(counts_ok && args.object_secs > 0.0 && args.object_secs <= 60.0) {
        return Err("counts must be positive and --object-secs in (0, 60]".into());
    }
    if !secs_ok || !(1..=20).contains(&args.runs) || !(1..=100).contains(&args.startups) {
        return Err("--secs must be in (0, 60], --runs in 1..=20, --startups in 1..=100".into());
    }
    for bin in [&args.mock, &args.floor, &args.loadgen] {
        if !bin.is_file() {
            return Err(format!("{} not found (build it first)", bin.display()));
        }
    }
    Ok(args)
}
