//! The `archil-mock` binary: maps flags and environment variables into a
//! [`Config`], binds, prints where it listens, and serves until SIGINT or
//! SIGTERM. Subcommands: `healthcheck`, `scenario`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use archil_mock::{App, Config, KeySpec, DEFAULT_KEY};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "archil-mock",
    version,
    about = "A local emulator of the Archil Control Plane API",
    long_about = "A local emulator of the Archil Control Plane API (API tokens), with scriptable \
faults, a request journal and fixtures. Every flag can also be set by the environment variable \
shown with it."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to bind. Use 0.0.0.0 to accept connections from other hosts.
    #[arg(long, env = "ARCHIL_MOCK_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (printed on the first line).
    #[arg(long, env = "ARCHIL_MOCK_PORT", default_value_t = 8080)]
    port: u16,
    /// A bootstrap API key, `key-…` for the default account or `ACCOUNT=key-…`.
    /// Repeatable; in the environment, separate several with commas. Without
    /// any, the built-in key `key-archil-mock` is accepted.
    #[arg(
        long = "api-key",
        env = "ARCHIL_MOCK_API_KEY",
        value_name = "[ACCOUNT=]KEY",
        value_delimiter = ','
    )]
    api_keys: Vec<String>,
    /// Name of the default account (bare keys and the built-in key belong to it).
    #[arg(long, env = "ARCHIL_MOCK_ACCOUNT", default_value = "default")]
    account: String,
    /// A fixture file to load at startup and on reset. Repeatable; comma-separated in the environment.
    #[arg(
        long = "fixture",
        env = "ARCHIL_MOCK_FIXTURE",
        value_name = "PATH",
        value_delimiter = ','
    )]
    fixtures: Vec<PathBuf>,
    /// Seed for fault-rule probabilities, for reproducible runs (random and logged if absent).
    #[arg(long, env = "ARCHIL_MOCK_SEED")]
    seed: Option<u64>,
    /// How many requests the journal keeps (oldest dropped first).
    #[arg(long, env = "ARCHIL_MOCK_JOURNAL_SIZE", default_value_t = archil_mock::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// Do not serve the admin API under /_mock/.
    #[arg(long, env = "ARCHIL_MOCK_NO_ADMIN")]
    no_admin: bool,
    /// Require this value in the X-Archil-Mock-Admin-Token header on /_mock/ requests.
    #[arg(long, env = "ARCHIL_MOCK_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Keep accounts, tokens and disks in this file across restarts (written atomically on every change).
    #[arg(long, env = "ARCHIL_MOCK_STATE_FILE", value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "ARCHIL_MOCK_MAX_BODY_BYTES", default_value_t = archil_mock::config::DEFAULT_MAX_BODY)]
    max_body_bytes: usize,
    /// Seconds a client may take to send request headers, and again the body (then 408 or
    /// close); also how long an idle keep-alive connection is kept.
    #[arg(long, env = "ARCHIL_MOCK_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// The region disks are created in (their `region`; `provider` is its prefix).
    #[arg(long, env = "ARCHIL_MOCK_REGION", default_value = archil_mock::state::DEFAULT_REGION)]
    region: String,
    /// Milliseconds a new disk reports `creating` before `available` (0: available at once).
    #[arg(long, env = "ARCHIL_MOCK_DISK_READY_MS", default_value_t = 0)]
    disk_ready_ms: u64,
    /// Keep objects, and accounts, tokens and disks (as DIR/state.json unless --state-file
    /// says otherwise), in this directory; every acknowledged write is durable.
    #[arg(long, env = "ARCHIL_MOCK_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The largest object (a put, a part, a completed upload), in bytes (larger: 400 EntityTooLarge).
    #[arg(long, env = "ARCHIL_MOCK_MAX_OBJECT_BYTES", default_value_t = archil_mock::config::DEFAULT_MAX_OBJECT)]
    max_object_bytes: u64,
    /// The most object bytes held in memory without --data-dir (more: 507 InsufficientStorage).
    #[arg(long, env = "ARCHIL_MOCK_MAX_MEMORY_BYTES", default_value_t = archil_mock::config::DEFAULT_MAX_MEMORY)]
    max_memory_bytes: u64,
    /// The smallest part but the last that CompleteMultipartUpload accepts (0 relaxes the rule).
    #[arg(long, env = "ARCHIL_MOCK_MIN_PART_SIZE", default_value_t = archil_mock::config::DEFAULT_MIN_PART)]
    min_part_size: u64,
    /// The exec back end. `scripted` runs nothing: execs are answered by rules (fixtures'
    /// execRules, POST /_mock/exec-rules), or exit code 127. `bwrap` runs commands no
    /// rule answers with `bash -c` in bubblewrap over the disks' files.
    #[arg(long = "exec", env = "ARCHIL_MOCK_EXEC", value_enum, default_value_t = ExecBackend::Scripted)]
    exec: ExecBackend,
    /// The image `--exec docker` runs commands in (never pulled by the mock; it needs `sh`).
    #[arg(
        long,
        env = "ARCHIL_MOCK_EXEC_IMAGE",
        default_value = "archil-mock-exec:local"
    )]
    exec_image: String,
    /// Allow a real exec back end on a non-loopback --host (anyone who can reach the port
    /// and holds a key can then run commands on this machine).
    #[arg(long, env = "ARCHIL_MOCK_EXEC_ALLOW_REMOTE")]
    exec_allow_remote: bool,
    /// Seconds an exec may run before it is answered 504 "Command timed out".
    #[arg(long, env = "ARCHIL_MOCK_EXEC_TIMEOUT", default_value_t = 30)]
    exec_timeout: u64,
    /// Log format on stderr.
    #[arg(long, env = "ARCHIL_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log only warnings and errors (no access log).
    #[arg(long, env = "ARCHIL_MOCK_QUIET")]
    quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ExecBackend {
    Scripted,
    Bwrap,
    Docker,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Exit 0 if a server answers GET /_mock/health, 1 otherwise (for container HEALTHCHECKs).
    Healthcheck {
        /// Base URL of the server; defaults to http://127.0.0.1:$ARCHIL_MOCK_PORT (or 8080).
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 2)]
        timeout: u64,
    },
    /// Run scenario files (see fixtures/scenarios/README.md): one line per step,
    /// then `N passed, M failed`. Exits 0 if every step passed, 1 if any
    /// failed, 2 if a file is invalid.
    Scenario {
        /// Scenario files (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Run against this running instance (e.g. http://127.0.0.1:8080)
        /// instead of a fresh in-process server per scenario; the scenarios'
        /// fixtures are then ignored (start the target with them).
        #[arg(long, env = "ARCHIL_MOCK_SCENARIO_TARGET", value_name = "URL")]
        target: Option<String>,
        /// With --target: POST /_mock/reset before each scenario.
        #[arg(long, env = "ARCHIL_MOCK_SCENARIO_RESET", requires = "target")]
        reset: bool,
        /// Sent as X-Archil-Mock-Admin-Token on /_mock/ requests (for a target
        /// started with --admin-token).
        #[arg(
            long = "admin-token",
            env = "ARCHIL_MOCK_ADMIN_TOKEN",
            value_name = "TOKEN"
        )]
        scenario_admin_token: Option<String>,
        /// Also write a JUnit XML report here: one testsuite per scenario,
        /// one testcase per step.
        #[arg(long, env = "ARCHIL_MOCK_SCENARIO_JUNIT", value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    match cli.command {
        Some(Command::Healthcheck { url, timeout }) => {
            let url = url.unwrap_or_else(|| format!("http://127.0.0.1:{}", cli.serve.port));
            runtime.block_on(healthcheck(&url, Duration::from_secs(timeout)))
        }
        Some(Command::Scenario {
            files,
            target,
            reset,
            scenario_admin_token,
            junit,
        }) => {
            let options = archil_mock::scenario::Options {
                target,
                reset,
                admin_token: scenario_admin_token,
                junit,
            };
            runtime.block_on(scenario(&files, &options))
        }
        None => runtime.block_on(serve(cli.serve)),
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let _log_guard = init_logging(args.log_format, args.quiet);
    let config = match config_from(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("archil-mock: {e}");
            return ExitCode::from(2);
        }
    };
    let loopback = args
        .host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(args.host == "localhost");
    if args.exec != ExecBackend::Scripted && !loopback {
        if !args.exec_allow_remote {
            eprintln!(
                "archil-mock: --exec bwrap on --host {} would let anyone who reaches the port \
run commands on this machine; pass --exec-allow-remote to accept that",
                args.host
            );
            return ExitCode::from(2);
        }
        tracing::warn!(
            "REAL EXEC ON A NON-LOOPBACK ADDRESS: --exec bwrap with --host {}: anyone who can \
reach this port with an API key can run commands on this machine",
            args.host
        );
    }
    let keys = describe_keys(&config);
    let app = match App::new(config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("archil-mock: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("archil-mock: cannot bind {}:{}: {e}", args.host, args.port);
            return ExitCode::from(2);
        }
    };
    let addr: SocketAddr = listener
        .local_addr()
        .expect("a bound socket has an address");
    let shutdown = shutdown_signal();
    // A reader that closes our stdout early (`| head -1`) must not kill the
    // server, so these writes ignore errors instead of panicking like println!.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "archil-mock listening on http://{addr}");
    let _ = writeln!(stdout, "accepting API keys: {keys}");
    let _ = stdout.flush();
    tracing::info!("fault probability seed: {}", app.seed());
    archil_mock::run(listener, app, shutdown).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

fn config_from(args: &ServeArgs) -> Result<Config, archil_mock::ConfigError> {
    let keys = args
        .api_keys
        .iter()
        .filter(|k| !k.is_empty())
        .map(|k| KeySpec::parse(k, &args.account))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Config {
        keys,
        default_account: args.account.clone(),
        fixtures: args.fixtures.clone(),
        seed: args.seed,
        journal_capacity: args.journal_size,
        admin: !args.no_admin,
        admin_token: args.admin_token.clone(),
        state_file: args.state_file.clone(),
        max_body: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        region: args.region.clone(),
        disk_ready: Duration::from_millis(args.disk_ready_ms),
        data_dir: args.data_dir.clone(),
        max_object_bytes: args.max_object_bytes,
        max_memory_bytes: args.max_memory_bytes,
        min_part_size: args.min_part_size,
        exec_timeout: Duration::from_secs(args.exec_timeout.max(1)),
        exec_backend: match args.exec {
            ExecBackend::Scripted => archil_mock::exec::Backend::Scripted,
            ExecBackend::Bwrap => archil_mock::exec::Backend::Bwrap,
            ExecBackend::Docker => archil_mock::exec::Backend::Docker(args.exec_image.clone()),
        },
        ..Config::default()
    })
}

/// The built-in key is public, so it is shown whole; configured keys only by
/// account and last four characters.
fn describe_keys(config: &Config) -> String {
    if config.keys.is_empty() {
        return format!(
            "{DEFAULT_KEY} (built-in, account {})",
            config.default_account
        );
    }
    config
        .keys
        .iter()
        .map(|k| format!("{} {}", k.account, archil_mock::journal::redact(&k.secret)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Logs go through a background writer thread, so a request never waits on
/// a write to stderr; the returned guard flushes what is queued when dropped.
fn init_logging(format: LogFormat, quiet: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let level = if quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    // Colour only on a terminal: `docker logs` and CI logs get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // The default queue preallocates 128k line slots (~5 MB of idle RSS);
    // 16k still absorbs bursts, and past that lines are dropped rather than
    // making requests wait on the terminal.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(16 * 1024)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}

/// Installs the SIGINT and SIGTERM handlers now, before the address is
/// printed, so a signal sent as soon as the first line appears still drains
/// and exits 0 instead of killing the process; the future completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: draining in-flight requests");
    }
}

async fn scenario(files: &[PathBuf], options: &archil_mock::scenario::Options) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match archil_mock::scenario::run_files(files, options, &mut out).await {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("archil-mock scenario: {line}");
            }
            ExitCode::from(2)
        }
    }
}

async fn healthcheck(url: &str, timeout: Duration) -> ExitCode {
    match tokio::time::timeout(
        timeout,
        archil_mock::client::get(&format!("{}/_mock/health", url.trim_end_matches('/'))),
    )
    .await
    {
        Ok(Ok((200, _))) => ExitCode::SUCCESS,
        Ok(Ok((status, _))) => {
            eprintln!("healthcheck: {url} answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("healthcheck: {url}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("healthcheck: {url}: no answer within {timeout:?}");
            ExitCode::FAILURE
        }
    }
}
