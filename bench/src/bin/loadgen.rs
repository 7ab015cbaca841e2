//! A small closed-loop HTTP/1.1 load generator: N keep-alive connections,
//! each sending one request after another (no pipelining) and timing each
//! from send to the last body byte. Prints one JSON line: throughput and
//! latency percentiles over the measured window.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8080/api/tokens [--method GET] [--body TEXT]
//!         [--header 'Name: value']... [--conns 64] [--secs 10] [--warmup 1]
//!         [--requests N] [--expect 200]
//! ```
//!
//! With `--requests N` it sends exactly N requests in total (no warmup,
//! `--secs` is then only a cap), which is how the bench fills the store.
//!
//! The path and the body may hold placeholders filled from one counter that
//! every connection shares (0, 1, 2, … in send order): `{i}` is the counter,
//! `{i%M}` the counter modulo M, `{i/D}` the counter divided by D. So
//! `--url http://h/dsk/k{i%1000}` cycles over 1000 keys and
//! `--body '{"name":"d{i}"}'` gives every request a new name.
//! `--start N` starts that counter at N (to add to a store already filled).
//! `--body-bytes N` sends N bytes of a fixed pattern instead of `--body`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

struct Opts {
    host: String,
    uri: hyper::Uri,
    host_value: HeaderValue,
    method: Method,
    body: Bytes,
    /// Set when the path holds a placeholder.
    path_template: Option<Template>,
    /// Set when the body holds a placeholder.
    body_template: Option<Template>,
    headers: Vec<(HeaderName, HeaderValue)>,
    conns: usize,
    secs: f64,
    warmup: f64,
    requests: Option<i64>,
    expect: u16,
    /// Where the placeholder counter starts.
    start: u64,
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    /// Latencies (ns) of the expected-status answers that finished in the window.
    latencies: Vec<u64>,
    /// Answers with another status (any time).
    unexpected: u64,
    /// Every expected-status answer, warmup included (for CPU time per request).
    total: u64,
    /// Connection or protocol failures; the connection stops at the first.
    errors: u64,
    /// The first unexpected answer, for the report.
    sample: Option<String>,
}

struct Window {
    start: Instant,
    end: Instant,
    /// In `--requests` mode: how many requests are still to be sent.
    remaining: Option<AtomicI64>,
    /// The placeholder counter.
    counter: AtomicU64,
}

/// Text with `{i}`, `{i%M}` and `{i/D}` placeholders.
struct Template(Vec<Piece>);

enum Piece {
    Text(String),
    Counter,
    Modulo(u64),
    Divided(u64),
}

impl Template {
    /// `None` when `text` has no placeholder.
    fn parse(text: &str) -> Result<Option<Template>, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("{i") {
            let Some(end) = rest[at..].find('}') else {
                break;
            };
            let inner = &rest[at + 2..at + end];
            let number = |s: &str| {
                s.parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("bad placeholder {{i{inner}}}"))
            };
            let piece = if inner.is_empty() {
                Piece::Counter
            } else if let Some(m) = inner.strip_prefix('%') {
                Piece::Modulo(number(m)?)
            } else if let Some(d) = inner.strip_prefix('/') {
                Piece::Divided(number(d)?)
            } else {
                // Not ours (JSON braces, say): keep it as text.
                pieces.push(Piece::Text(rest[..at + 2].to_owned()));
                rest = &rest[at + 2..];
                continue;
            };
            pieces.push(Piece::Text(rest[..at].to_owned()));
            pieces.push(piece);
            rest = &rest[at + end + 1..];
        }
        pieces.push(Piece::Text(rest.to_owned()));
        let any = pieces.iter().any(|p| !matches!(p, Piece::Text(_)));
        Ok(any.then_some(Template(pieces)))
    }

    fn fill(&self, i: u64) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Counter => out.push_str(&i.to_string()),
                Piece::Modulo(m) => out.push_str(&(i % m).to_string()),
                Piece::Divided(d) => out.push_str(&(i / d).to_string()),
            }
        }
        out
    }
}

fn main() {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    match runtime.block_on(run(opts)) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(opts: Arc<Opts>) -> Result<serde_json::Value, String> {
    // Connect everything first, so the window measures requests, not handshakes.
    let mut senders = Vec::with_capacity(opts.conns);
    for _ in 0..opts.conns {
        senders.push(connect(&opts.host).await?);
    }
    let now = Instant::now();
    let (warmup, remaining) = match opts.requests {
        Some(n) => (0.0, Some(AtomicI64::new(n))),
        None => (opts.warmup, None),
    };
    let start = now + Duration::from_secs_f64(warmup);
    let window = Arc::new(Window {
        start,
        end: start + Duration::from_secs_f64(opts.secs),
        remaining,
        counter: AtomicU64::new(opts.start),
    });
    let workers: Vec<_> = senders
        .into_iter()
        .map(|s| tokio::spawn(worker(s, opts.clone(), window.clone())))
        .collect();
    let mut all = Tally::default();
    for w in workers {
        let t = w.await.map_err(|e| format!("worker panicked: {e}"))?;
        all.latencies.extend(t.latencies);
        all.unexpected += t.unexpected;
        all.total += t.total;
        all.errors += t.errors;
        all.sample = all.sample.or(t.sample);
    }
    let finished = Instant::now().min(window.end);
    let secs = finished
        .saturating_duration_since(window.start)
        .as_secs_f64();
    let mut lat = all.latencies;
    lat.sort_unstable();
    let pct = |p: usize| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        lat[(lat.len() - 1) * p / 100] as f64 / 1000.0
    };
    Ok(serde_json::json!({
        "requests": lat.len(),
        "secs": secs,
        "rps": if secs > 0.0 { lat.len() as f64 / secs } else { 0.0 },
        "p50_us": pct(50),
        "p99_us": pct(99),
        "max_us": lat.last().map_or(0.0, |&n| n as f64 / 1000.0),
        "unexpected": all.unexpected,
        "total": all.total,
        "errors": all.errors,
        "sample": all.sample,
    }))
}

/// One HTTP/1.1 connection.
async fn connect(host: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(host)
        .await
        .map_err(|e| format!("connect {host}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn worker(mut sender: SendRequest<Full<Bytes>>, opts: Arc<Opts>, w: Arc<Window>) -> Tally {
    let mut t = Tally {
        latencies: Vec::with_capacity(1 << 16),
        ..Tally::default()
    };
    // Bounded by time always, and by count in `--requests` mode.
    while Instant::now() < w.end {
        if let Some(left) = &w.remaining {
            if left.fetch_sub(1, Ordering::Relaxed) <= 0 {
                break;
            }
        }
        if sender.ready().await.is_err() {
            t.errors += 1;
            break;
        }
        let templated = opts.path_template.is_some() || opts.body_template.is_some();
        let i = if templated {
            w.counter.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let body = match &opts.body_template {
            Some(tpl) => Bytes::from(tpl.fill(i)),
            None => opts.body.clone(),
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = opts.method.clone();
        *req.uri_mut() = match &opts.path_template {
            Some(tpl) => match tpl.fill(i).parse() {
                Ok(uri) => uri,
                Err(_) => {
                    t.errors += 1;
                    break;
                }
            },
            None => opts.uri.clone(),
        };
        let headers = req.headers_mut();
        headers.insert(HOST, opts.host_value.clone());
        for (name, value) in &opts.headers {
            headers.insert(name.clone(), value.clone());
        }
        let sent = Instant::now();
        let response = match sender.send_request(req).await {
            Ok(r) => r,
            Err(_) => {
                t.errors += 1;
                break;
            }
        };
        let status = response.status().as_u16();
        // A server that closes after each answer (moto's Werkzeug does) is
        // reconnected to before the next request: throughput pays for the
        // handshake, latency (send to last byte) does not.
        let closing = response
            .headers()
            .get(hyper::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = match response.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                t.errors += 1;
                break;
            }
        };
        let done = Instant::now();
        if status != opts.expect {
            t.unexpected += 1;
            if t.sample.is_none() {
                let text = String::from_utf8_lossy(&body);
                t.sample = Some(format!(
                    "{status} {}",
                    text.chars().take(200).collect::<String>()
                ));
            }
        } else {
            t.total += 1;
            if done >= w.start && done < w.end {
                t.latencies.push((done - sent).as_nanos() as u64);
            }
        }
        if closing {
            match connect(&opts.host).await {
                Ok(s) => sender = s,
                Err(_) => {
                    t.errors += 1;
                    break;
                }
            }
        }
    }
    t
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Opts, String> {
    let mut url = None;
    let mut opts = Opts {
        host: String::new(),
        uri: hyper::Uri::from_static("/"),
        host_value: HeaderValue::from_static("localhost"),
        method: Method::GET,
        body: Bytes::new(),
        path_template: None,
        body_template: None,
        headers: Vec::new(),
        conns: 64,
        secs: 10.0,
        warmup: 1.0,
        requests: None,
        expect: 200,
        start: 0,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--method" => {
                opts.method = Method::from_bytes(value()?.as_bytes()).map_err(|e| e.to_string())?
            }
            "--body" => {
                let text = value()?;
                opts.body_template = Template::parse(&text)?;
                opts.body = Bytes::from(text);
            }
            "--body-bytes" => {
                let n = number(value()?)? as usize;
                opts.body = (0..n).map(|k| b"archil-mock bench "[k % 18]).collect();
            }
            "--header" => {
                let h = value()?;
                let (name, v) = h.split_once(':').ok_or("--header wants `Name: value`")?;
                opts.headers.push((
                    HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?,
                    HeaderValue::from_str(v.trim()).map_err(|e| e.to_string())?,
                ));
            }
            "--conns" => opts.conns = number(value()?)? as usize,
            "--secs" => opts.secs = number(value()?)?,
            "--warmup" => opts.warmup = number(value()?)?,
            "--requests" => opts.requests = Some(number(value()?)? as i64),
            "--expect" => opts.expect = number(value()?)? as u16,
            "--start" => opts.start = number(value()?)? as u64,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    opts.path_template = Template::parse(path)?;
    let plain = opts
        .path_template
        .as_ref()
        .map_or(path.to_owned(), |t| t.fill(0));
    opts.uri = plain.parse().map_err(|e| format!("bad path {path}: {e}"))?;
    opts.host_value = HeaderValue::from_str(host).map_err(|e| format!("bad host {host}: {e}"))?;
    let secs_ok = opts.secs > 0.0 && opts.secs <= 3600.0;
    if !(1..=10_000).contains(&opts.conns) || !secs_ok {
        return Err("--conns must be 1..=10000 and --secs 0..=3600".into());
    }
    opts.host = host.to_owned();
    Ok(opts)
}
