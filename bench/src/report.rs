//! The figures the driver collects, the targets they are held to, and their
//! rendering: a table for the terminal and BENCHMARKS.md around the same table.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::Args;

/// BENCHMARKS.md keeps everything from this line on across runs (hand-written notes).
pub const NOTES_MARKER: &str =
    "<!-- Notes below this line are hand-written; `make bench` keeps them. -->";

/// One load run's result.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStat {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Expected answers in the measured window.
    pub requests: u64,
    /// Expected answers in the whole run, warmup included.
    pub total: u64,
    /// Server CPU time (user + system) per request over the whole run.
    pub cpu_us: f64,
}

/// A load run of one scenario.
#[derive(Debug, Clone)]
pub struct Run {
    pub scenario: String,
    pub stat: LoadStat,
}

/// Latency of one list page, timed sequentially on one connection.
#[derive(Debug, Clone, Default)]
pub struct PageStat {
    pub p50_us: f64,
    pub p99_us: f64,
    pub path: String,
}

impl PageStat {
    pub fn of(mut times: Vec<Duration>, path: String) -> PageStat {
        times.sort_unstable();
        let at = |p: usize| times[(times.len() - 1) * p / 100].as_secs_f64() * 1e6;
        PageStat {
            p50_us: at(50),
            p99_us: at(99),
            path,
        }
    }
}

/// The store at one size.
#[derive(Debug, Clone, Default)]
pub struct ScaleStep {
    pub tokens: usize,
    pub rss: u64,
    /// Filled through POST (rather than loaded from a fixture).
    pub filled: bool,
    /// Seconds spent creating tokens to reach this size (0 for the fixture baseline).
    pub fill_secs: f64,
    pub first: PageStat,
    pub mid: PageStat,
}

/// Where the figures were taken.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub commit: String,
    pub date: String,
    pub load_before: String,
    pub load_after: String,
}

impl Machine {
    /// Reads what it can; anything unreadable is left as `?`.
    pub fn probe(mock: &Path) -> Machine {
        let cmd = |prog: &str, args: &[&str]| {
            Command::new(prog)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| "?".to_owned())
        };
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "?".to_owned());
        let version = cmd(&mock.to_string_lossy(), &["--version"]);
        let commit = cmd("git", &["rev-parse", "--short", "HEAD"]);
        let dirty = cmd("git", &["status", "--porcelain", "--", "src", "Cargo.toml"]);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "?".to_owned(), |s| s.trim().to_owned()),
            rustc: cmd("rustc", &["--version"]),
            commit: format!(
                "{version}, commit {commit}{}",
                if dirty.is_empty() || dirty == "?" {
                    ""
                } else {
                    " (src/ modified)"
                }
            ),
            date: cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            load_before: loadavg(),
            load_after: String::new(),
        }
    }
}

/// The 1/5/15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// Everything one bench run found.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub runs: Vec<Run>,
    pub startup: Vec<Duration>,
    pub idle: Vec<u64>,
    pub floor_startup: Vec<Duration>,
    pub floor_idle: Vec<u64>,
    /// RSS of the server that is then filled through POST, before filling.
    pub filled_idle: u64,
    /// 10 tokens, then each size filled through POST.
    pub scale: Vec<ScaleStep>,
    pub preload_tokens: usize,
    pub preload_secs: f64,
    pub preload_rss: u64,
    pub machine: Machine,
    pub elapsed: Duration,
    /// Objects, disks, scale, startup and grep.
    pub surfaces: crate::surfaces::Figures,
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Figures {
    /// Median throughput, p50 and p99 of a scenario's runs.
    fn load(&self, scenario: &str) -> LoadStat {
        let of = |f: fn(&LoadStat) -> f64| {
            median(
                self.runs
                    .iter()
                    .filter(|r| r.scenario == scenario)
                    .map(|r| f(&r.stat))
                    .collect(),
            )
        };
        LoadStat {
            rps: of(|s| s.rps),
            p50_us: of(|s| s.p50_us),
            p99_us: of(|s| s.p99_us),
            requests: 0,
            total: 0,
            cpu_us: of(|s| s.cpu_us),
        }
    }
}

/// One table row.
pub(crate) struct Row {
    pub figure: String,
    pub mock: String,
    pub floor: String,
    pub ratio: String,
    pub target: &'static str,
    /// `None` for rows without a target.
    pub pass: Option<bool>,
}

fn rows(f: &Figures) -> Vec<Row> {
    let mut rows = Vec::new();
    if f.runs.is_empty() {
        return rows;
    }
    let mut load_rows = |name: &str, mock: &str, floor: &str, min_ratio: f64, target| {
        let (m, fl) = (f.load(mock), f.load(floor));
        let ratio = m.rps / fl.rps;
        rows.push(Row {
            figure: format!("{name}: throughput"),
            mock: rps(m.rps),
            floor: rps(fl.rps),
            ratio: format!("{ratio:.2}×"),
            target,
            pass: Some(ratio >= min_ratio),
        });
        rows.push(Row {
            figure: format!("{name}: latency p50 / p99"),
            mock: format!("{} / {}", us(m.p50_us), us(m.p99_us)),
            floor: format!("{} / {}", us(fl.p50_us), us(fl.p99_us)),
            ratio: format!(
                "{:.2}× / {:.2}×",
                m.p50_us / fl.p50_us,
                m.p99_us / fl.p99_us
            ),
            target: "",
            pass: None,
        });
        rows.push(Row {
            figure: format!("{name}: server CPU per request"),
            mock: format!("{:.1} µs", m.cpu_us),
            floor: format!("{:.1} µs", fl.cpu_us),
            ratio: format!("{:.2}×", m.cpu_us / fl.cpu_us),
            target: "",
            pass: None,
        });
    };
    load_rows(
        "GET /api/tokens (10 tokens)",
        "mock GET",
        "floor GET",
        0.8,
        "≥ 0.8× floor",
    );
    load_rows(
        "POST /api/tokens",
        "mock POST",
        "floor POST",
        0.6,
        "≥ 0.6× floor",
    );

    let (plain, faulty) = (f.load("mock GET"), f.load("mock GET, 100 faults"));
    let slower = 1.0 - faulty.rps / plain.rps;
    rows.push(Row {
        figure: "GET with 100 inert fault rules: throughput".into(),
        mock: rps(faulty.rps),
        floor: format!("{} without", rps(plain.rps)),
        ratio: format!("{:+.1} % slower", slower * 100.0),
        target: "< 10 % slower",
        pass: Some(slower < 0.10),
    });
    rows.push(Row {
        figure: "GET with 100 inert fault rules: p50 / p99".into(),
        mock: format!("{} / {}", us(faulty.p50_us), us(faulty.p99_us)),
        floor: format!("{} / {} without", us(plain.p50_us), us(plain.p99_us)),
        ratio: format!(
            "{:.2}× / {:.2}×",
            faulty.p50_us / plain.p50_us,
            faulty.p99_us / plain.p99_us
        ),
        target: "",
        pass: None,
    });
    rows.push(Row {
        figure: "GET with 100 inert fault rules: server CPU per request".into(),
        mock: format!("{:.1} µs", faulty.cpu_us),
        floor: format!("{:.1} µs without", plain.cpu_us),
        ratio: format!("{:.2}×", faulty.cpu_us / plain.cpu_us),
        target: "",
        pass: None,
    });

    let secs = |d: &[Duration]| d.iter().map(Duration::as_secs_f64).collect::<Vec<_>>();
    let start = median(secs(&f.startup));
    let floor_start = median(secs(&f.floor_startup));
    let (lo, hi) = secs(&f.startup)
        .into_iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    rows.push(Row {
        figure: format!(
            "startup to first response (median of {}; min {:.1}, max {:.1} ms)",
            f.startup.len(),
            lo * 1e3,
            hi * 1e3
        ),
        mock: format!("{:.1} ms", start * 1e3),
        floor: format!("{:.1} ms", floor_start * 1e3),
        ratio: format!("{:.2}×", start / floor_start),
        target: "< 20 ms",
        pass: Some(start < 0.020),
    });
    let idle = median(f.idle.iter().map(|&b| b as f64).collect());
    let floor_idle = median(f.floor_idle.iter().map(|&b| b as f64).collect());
    rows.push(Row {
        figure: "idle RSS (median, after the first response)".into(),
        mock: mb(idle),
        floor: mb(floor_idle),
        ratio: format!("{:.2}×", idle / floor_idle),
        target: "< 10 MB",
        pass: Some(idle < 10e6),
    });
    for s in f.scale.iter().filter(|s| s.filled) {
        let per = (s.rss as f64 - f.filled_idle as f64) / s.tokens as f64;
        rows.push(Row {
            figure: format!(
                "RSS with {} tokens created by POST (filled in {:.0} s)",
                count(s.tokens),
                s.fill_secs
            ),
            mock: format!("{} ({per:.0} B/token)", mb(s.rss as f64)),
            floor: String::new(),
            ratio: String::new(),
            target: "< 512 B/token",
            pass: Some(per < 512.0),
        });
    }
    let per = (f.preload_rss as f64 - idle) / f.preload_tokens as f64;
    rows.push(Row {
        figure: format!(
            "RSS with {} tokens preloaded by --fixture (ready in {:.1} s)",
            count(f.preload_tokens),
            f.preload_secs
        ),
        mock: format!("{} ({per:.0} B/token)", mb(f.preload_rss as f64)),
        floor: String::new(),
        ratio: String::new(),
        target: "< 512 B/token",
        pass: Some(per < 512.0),
    });
    // Pass/miss compares full pages (the 100-token store on): at 10 tokens a
    // page holds only 10 or 5 tokens, so 10 → largest also measures page size.
    let full = f.scale.iter().find(|s| s.tokens >= 100);
    if let (Some(ten), Some(full), Some(last)) = (f.scale.first(), full, f.scale.last()) {
        let sizes: Vec<String> = f.scale.iter().map(|s| count(s.tokens)).collect();
        let largest = count(last.tokens);
        for (name, pick) in [
            (
                "first",
                (|s: &ScaleStep| &s.first) as fn(&ScaleStep) -> &PageStat,
            ),
            ("middle (cursor)", |s: &ScaleStep| &s.mid),
        ] {
            let p50s: Vec<String> = f.scale.iter().map(|s| us(pick(s).p50_us)).collect();
            let growth = pick(last).p50_us / pick(full).p50_us;
            rows.push(Row {
                figure: format!(
                    "list page (limit 50), {name}, p50 at {} tokens",
                    sizes.join(" / ")
                ),
                mock: p50s.join(" / "),
                floor: String::new(),
                ratio: format!(
                    "{growth:.2}× ({} → {largest}); {:.2}× ({} → {largest})",
                    count(full.tokens),
                    pick(last).p50_us / pick(ten).p50_us,
                    count(ten.tokens),
                ),
                target: "flat (≤ 2×)",
                pass: Some(growth <= 2.0),
            });
        }
    }
    rows
}

/// The results table, as Markdown (readable as plain text too).
pub fn table(f: &Figures) -> String {
    let mut out = String::new();
    out.push_str("| figure | archil-mock | floor / baseline | ratio | target | result |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    for r in rows(f)
        .into_iter()
        .chain(crate::surfaces::rows(&f.surfaces))
    {
        let result = match r.pass {
            Some(true) => "pass",
            Some(false) => "**MISS**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.figure, r.mock, r.floor, r.ratio, r.target, result
        );
    }
    out
}

/// BENCHMARKS.md: the table, the raw runs, the method and the caveats, then
/// any hand-written notes kept from the previous file.
pub fn markdown(f: &Figures, args: &Args, kept: Option<&str>) -> String {
    let m = &f.machine;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# archil-mock benchmarks\n\n\
         Written by `make bench` (`bench/src/main.rs`); do not edit above the notes marker. \
         Re-run it to refresh every figure.\n\n\
         - **When:** {}; the whole run took {:.0} s.\n\
         - **What:** {}, release build.\n\
         - **Machine:** {} × {}, Linux {}, {}.\n\
         - **Load average** (1/5/15 min) before: {}; after: {}.\n",
        m.date,
        f.elapsed.as_secs_f64(),
        m.commit,
        m.cores,
        m.cpu,
        m.kernel,
        m.rustc,
        m.load_before,
        m.load_after
    );
    out.push_str("## Results\n\n");
    let _ = writeln!(
        out,
        "Load figures: {} keep-alive connections, {} s measured per run after a 1 s \
         warmup, median of {} runs. The floor is a bare hyper 1 server \
         (`bench/src/bin/floor.rs`) answering every request with a fixed 40-byte JSON body, \
         measured the same way in the same rounds.\n",
        args.conns, args.secs, args.runs
    );
    out.push_str(&table(f));
    out.push_str("\n### Every load run\n\n");
    out.push_str(
        "| scenario | req/s | p50 | p99 | server CPU/request |\n|---|---:|---:|---:|---:|\n",
    );
    for r in &f.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} µs |",
            r.scenario,
            rps(r.stat.rps),
            us(r.stat.p50_us),
            us(r.stat.p99_us),
            r.stat.cpu_us
        );
    }
    out.push_str("\n### List pages: tokens\n\n");
    out.push_str("| stored tokens | RSS | page | p50 | p99 |\n|---:|---:|---|---:|---:|\n");
    for s in &f.scale {
        for p in [&s.first, &s.mid] {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                count(s.tokens),
                mb(s.rss as f64),
                p.path,
                us(p.p50_us),
                us(p.p99_us)
            );
        }
    }
    out.push_str(&crate::surfaces::details(&f.surfaces));
    let _ = write!(
        out,
        "\n## Method\n\n\
         - `make bench` builds archil-mock (`cargo build --release`) and the separate \
         `bench/` package (`floor`, `loadgen`, and this driver, `bench`), then runs the driver. \
         Every server is a fresh child process on `127.0.0.1`, port 0, started with its \
         default flags (so archil-mock writes its access log, to /dev/null) and killed \
         after its measurement.\n\
         - **Load** (`bench/src/bin/loadgen.rs`): a hyper 1 client on a multi-thread tokio \
         runtime opens N keep-alive connections, then each sends requests back to back (closed \
         loop, no pipelining) and times each from send to the last body byte. Throughput counts \
         the expected-status answers that finished inside the window; any error or unexpected \
         status fails the bench. **Server CPU per request** is the server process's user + \
         system time (`/proc/PID/stat`) over the whole run, warmup included, divided by the \
         requests it answered: it is far less sensitive to other load on the machine than \
         throughput, so it is the figure to trust when the load average is high. \
         Scenarios run interleaved (floor GET, GET, floor POST, POST, \
         GET with faults, then again), so slow drift in background load spreads over all of them.\n\
         - **GET** lists the `default` account holding 10 tokens (the built-in key plus 9 from a \
         fixture) with the built-in key; **POST** creates a token with a 20-character name \
         (`{}`); the floor receives the same requests. **Fault overhead** adds {} rules \
         through `POST /_mock/faults`, each `{{\"path\": \"/nope/N/*\", \"status\": 503}}`, \
         so none matches, then repeats the GET load.\n\
         - **Startup**: wall time from spawning `archil-mock --port 0` to the first 200 from \
         `GET /_mock/health` (the port is read from the first stdout line, then polled every \
         1 ms), median of {}. Idle RSS is `VmRSS` from `/proc/PID/status` 100 ms after that \
         first answer, median over the same processes. The floor gets the same treatment.\n\
         - **Memory per token**: one server is filled through `POST /api/tokens` (the same \
         load generator, in count mode) to each size; bytes per token is (RSS after − RSS of \
         the same process before filling) ÷ tokens. A second figure preloads the largest size \
         from a generated fixture in state-file form (`id` + `tokenSuffix`, so nothing is \
         hashed), with RSS compared to the median idle RSS.\n\
         - **List pages**: on one keep-alive connection, the first page \
         (`GET /api/tokens?limit=50`) and a page from the middle are requested alternately, \
         20 times each untimed then {} times each timed; the middle cursor comes from walking the list with `limit=100` (as a client \
         would) until half the tokens are behind it. The 10- and 100-token stores come from \
         fixtures. A page of the 10-token store holds 10 (first) or 5 (middle) tokens while \
         every larger store's holds 50, so the 10 → largest ratio also measures 5–10× more \
         tokens per page; pass/miss is judged on 100 → largest, where every page is full, \
         and both ratios are shown.\n{}\n\
         ## Caveats\n\n\
         - The machine has {} cores, and the load generator and the server share them: \
         nothing is pinned, so every load figure is a client-and-server figure, and a server \
         that needs less CPU leaves more to the client. Ratios to the floor are the figures to \
         compare across machines; absolute numbers are not.\n\
         - Other work on the machine (the load average above) adds noise; the medians damp it, \
         the per-run table shows it. Client and server talk over loopback, so there is no \
         network in these numbers.\n\
         - RSS includes what the allocator keeps after freeing, so it depends on glibc's \
         malloc as much as on the data structures.\n\n\
         {}\n",
        crate::POST_BODY,
        crate::FAULT_RULES,
        f.startup.len(),
        crate::PAGE_SAMPLES,
        crate::surfaces::method(&f.surfaces, args),
        m.cores,
        kept.unwrap_or(NOTES_MARKER),
    );
    out
}

/// The hand-written tail of an existing BENCHMARKS.md, marker included.
pub fn kept_notes(old: &str) -> Option<String> {
    old.find(NOTES_MARKER)
        .map(|i| old[i..].trim_end().to_owned())
}

pub(crate) fn rps(x: f64) -> String {
    format!("{} req/s", count(x.round() as usize))
}

pub(crate) fn us(x: f64) -> String {
    if x >= 1000.0 {
        format!("{:.2} ms", x / 1000.0)
    } else {
        format!("{x:.0} µs")
    }
}

pub(crate) fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

pub(crate) fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 10_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => {
            let s = n.to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
    }
}
