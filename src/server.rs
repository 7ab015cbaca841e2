//! The HTTP server: [`App`] (the state behind its one lock, plus what it was
//! started with) and [`run`], which serves an already-bound listener until a
//! shutdown future completes. The binary, the library handle and the tests
//! all go through `run`.
//!
//! A request's path is short and one-way: buffer the body once → admin routes
//! (no faults, no auth) → faults → auth → route → a plain function over the
//! state → persist if it wrote → journal → response.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::TcpListener;

use crate::api::{self, tokens, Ctx, Input, Reply};
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::faults::{FaultRule, Faults, Fired, Phase, RequestFacts};
use crate::fixture::Fixture;
use crate::journal::{Journal, Record, RecordedBody};
use crate::persist::StateFile;
use crate::router::{self, Route, ADMIN_PREFIX};
use crate::state::State;
use crate::store::dir::{DirStore, ObjectLog};
use crate::store::memory::MemoryStore;
use crate::store::SharedStore;

/// Everything mutable, behind one lock. A `parking_lot` mutex is right here:
/// every critical section is a short in-memory read-modify-write, it is never
/// held across an `.await`, and one lock per step means no lost updates.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) state: State,
    pub(crate) faults: Faults,
    pub(crate) journal: Journal,
    pub(crate) rng: StdRng,
    /// Bumped on every write, to order state-file snapshots.
    pub(crate) generation: u64,
    /// Bumped on every object-index change, to order the object log.
    pub(crate) object_seq: u64,
}

/// A running emulator's state and settings, shared by every connection.
#[derive(Debug)]
pub struct App {
    pub(crate) core: Mutex<Core>,
    /// What `POST /_mock/reset` returns to.
    startup: Startup,
    pub(crate) config: Config,
    pub(crate) state_file: Option<StateFile>,
    seed: u64,
    /// Object bytes.
    pub(crate) store: SharedStore,
    /// The object index's log, with `--data-dir`.
    pub(crate) object_log: Option<ObjectLog>,
    /// Signs share URLs; new on every start.
    pub(crate) share_key: [u8; 32],
    /// One async lock per `disk/key` being appended to, so concurrent
    /// appends of a key queue rather than retry against each other.
    pub(crate) append_locks: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl App {
    /// Builds the startup state from the config: bootstrap keys, fixtures and,
    /// if it exists, the state file (which then stands in for keys and
    /// fixture tokens, having been seeded from them on the first run).
    pub fn new(config: Config) -> Result<Arc<App>, ConfigError> {
        let now = clock::now_ms();
        let (mut state, mut fault_rules) = load_startup(&config, now)?;
        let io = |what: &str, e: std::io::Error| ConfigError::Io(format!("{what}: {e}"));
        if let Some(dir) = &config.data_dir {
            std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), e))?;
        }
        let state_path = config
            .state_file
            .clone()
            .or_else(|| config.data_dir.as_ref().map(|d| d.join("state.json")));
        let state_file = state_path.map(StateFile::new);
        if let Some(file) = &state_file {
            let bad = |at: String, reason: String| ConfigError::Fixture {
                path: file.path().to_owned(),
                at,
                reason,
            };
            let bytes = file
                .read()
                .map_err(|e| bad("$".into(), format!("cannot read: {e}")))?;
            if let Some(bytes) = bytes {
                let saved = Fixture::parse(&bytes).map_err(|(at, r)| bad(at, r))?;
                // Settings come from the flags and fixtures, not the saved state.
                let mut restored = State::with_settings(state.settings.clone());
                // So do exec rules: they script the test, they are not state.
                restored.exec_rules = state.exec_rules.clone();
                saved
                    .apply(&mut restored, now)
                    .map_err(|(at, r)| bad(at, r))?;
                state = restored;
                fault_rules.extend(saved.faults);
            }
        }
        let faults = startup_faults(fault_rules)?;
        let seed = config.seed.unwrap_or_else(rand::random);
        let share_key: [u8; 32] = rand::random();
        state.settings.share_key = share_key;
        let (store, object_log, object_seq): (SharedStore, _, _) = match &config.data_dir {
            None => (Arc::new(MemoryStore::new(config.max_memory_bytes)), None, 0),
            Some(dir) => {
                let store = DirStore::open(dir).map_err(|e| io("the data directory", e))?;
                let (log, records) = ObjectLog::open(dir).map_err(|e| io("the object log", e))?;
                let seq = crate::gateway::replay(&mut state, records);
                crate::gateway::materialize(&mut state, &store)
                    .map_err(|e| ConfigError::Io(format!("the data directory: {e:?}")))?;
                let referenced = crate::gateway::file_blobs(&state);
                store
                    .sweep(&referenced)
                    .map_err(|e| io("the data directory", e))?;
                log.rewrite(&crate::gateway::log_records(&state))
                    .map_err(|e| io("the object log", e))?;
                (Arc::new(store) as SharedStore, Some(log), seq)
            }
        };
        let startup = match &state_file {
            Some(_) => Startup::Snapshot {
                state: Box::new(state.clone()),
                faults: faults.clone(),
            },
            None => Startup::Reload { at_ms: now },
        };
        let app = App {
            core: Mutex::new(Core {
                state,
                faults,
                journal: Journal::new(config.journal_capacity),
                rng: StdRng::seed_from_u64(seed),
                generation: 1,
                object_seq,
            }),
            startup,
            config,
            state_file,
            seed,
            store,
            object_log,
            share_key,
            append_locks: Mutex::new(std::collections::HashMap::new()),
        };
        if let Some(file) = &app.state_file {
            let bytes = app.snapshot_bytes(&app.core.lock());
            file.write(1, &bytes).map_err(|e| {
                ConfigError::Io(format!("{}: cannot write: {e}", file.path().display()))
            })?;
        }
        Ok(Arc::new(app))
    }

    /// The state and faults `POST /_mock/reset` returns to.
    pub(crate) fn startup(&self) -> Result<(State, Faults), ConfigError> {
        match &self.startup {
            Startup::Snapshot { state, faults } => Ok((State::clone(state), faults.clone())),
            Startup::Reload { at_ms } => {
                let (state, rules) = load_startup(&self.config, *at_ms)?;
                Ok((state, startup_faults(rules)?))
            }
        }
    }

    /// The seed fault probabilities are drawn with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The config the app was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn snapshot_bytes(&self, core: &Core) -> Vec<u8> {
        serde_json::to_vec_pretty(&Fixture::snapshot(&core.state)).expect("a snapshot serialises")
    }

    /// Writes the current state to the state file, if there is one, before returning.
    pub(crate) async fn persist(self: &Arc<Self>) {
        let Some(_) = &self.state_file else { return };
        let (generation, bytes) = {
            let mut core = self.core.lock();
            core.generation += 1;
            (core.generation, self.snapshot_bytes(&core))
        };
        let app = self.clone();
        let written = tokio::task::spawn_blocking(move || {
            let file = app.state_file.as_ref().expect("checked above");
            file.write(generation, &bytes)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("state file write failed: {e}"),
            Err(e) => tracing::error!("state file writer panicked: {e}"),
        }
    }
}

/// Where the startup state comes from on reset.
#[derive(Debug)]
enum Startup {
    /// Rebuilt from the keys and fixture files, as WireMock reloads its
    /// mappings: no second copy of a large store sits in memory, and edits to
    /// a fixture file take effect on the next reset. Tokens without a
    /// `createdAt` get the startup time again, so a reset reproduces them.
    Reload { at_ms: i64 },
    /// With a state file the state on disk moves on, so the state as loaded
    /// at startup is kept.
    Snapshot { state: Box<State>, faults: Faults },
}

/// Bootstrap keys, then each fixture in order.
fn load_startup(config: &Config, now: i64) -> Result<(State, Vec<FaultRule>), ConfigError> {
    let mut state = State::with_settings(config.settings()?);
    for key in config.effective_keys() {
        let account = state.account(&key.account);
        let stored = tokens::StoredToken::from_secret(
            &key.secret,
            "bootstrap",
            Some("Bootstrap key from the command line"),
            now,
        );
        tokens::restore(&mut state, account, stored).map_err(|reason| ConfigError::Key {
            shown: crate::journal::redact(&key.secret),
            reason,
        })?;
    }
    let mut fault_rules = Vec::new();
    for path in &config.fixtures {
        let fixture = Fixture::load(path)?;
        fixture
            .apply(&mut state, now)
            .map_err(|(at, reason)| ConfigError::Fixture {
                path: path.clone(),
                at,
                reason,
            })?;
        fault_rules.extend(fixture.faults);
    }
    for fixture in &config.inline_fixtures {
        fixture
            .apply(&mut state, now)
            .map_err(|(at, reason)| ConfigError::Fixture {
                path: "(in-process fixture)".into(),
                at,
                reason,
            })?;
        fault_rules.extend(fixture.faults.iter().cloned());
    }
    Ok((state, fault_rules))
}

fn startup_faults(rules: Vec<FaultRule>) -> Result<Faults, ConfigError> {
    let mut faults = Faults::default();
    faults.add(rules).map_err(|reason| ConfigError::Fixture {
        path: "fixtures".into(),
        at: "$.faults".into(),
        reason,
    })?;
    Ok(faults)
}

/// Why a connection was dropped without a response (a `reset` fault, or a
/// client that went away mid-body). hyper closes the connection on it.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for Dropped {}

/// Serves `listener` until `shutdown` completes, then stops accepting and
/// lets in-flight requests finish for up to the config's drain timeout.
pub async fn run(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    // Owning the connection tasks lets the drain timeout really close them:
    // a library server must not leave a delayed request sleeping on the
    // caller's runtime after `run` returns.
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let served = app.clone();
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(app.config.request_timeout)
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |req| serve(served.clone(), req)),
                    );
                let conn = graceful.watch(conn);
                connections.spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(app.config.drain_timeout) => {
            tracing::warn!("drain timeout: closing connections with requests in flight");
        }
    }
    connections.abort_all();
    app.persist().await;
}

pub(crate) type Resp = Response<Full<Bytes>>;

async fn serve(app: Arc<App>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let started = Instant::now();
    let at_ms = clock::now_ms();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();

    if path.starts_with(ADMIN_PREFIX) && app.config.admin {
        let body = match read_body(&app, &parts.headers, body).await {
            Ok(body) => body,
            Err(BodyError::Api(e)) => return Ok(e.into_response()),
            Err(BodyError::Disconnected) => return Err(Dropped),
        };
        return Ok(crate::admin::serve(&app, &parts, &body).await);
    }

    if crate::gateway::handles(path) {
        return crate::gateway::serve(app, parts, body, started, at_ms).await;
    }

    let body = read_body(&app, &parts.headers, body).await;
    let auth = auth_header(&parts);
    let shortcut = Fired::from_headers(&parts.headers);
    // With the admin API off, its paths are as unknown as any other.
    let route = router::route(&parts.method, path).and_then(|r| match r {
        Route::Admin(_) => Err(ApiError::NotFound(format!("no route for path {path}"))),
        r => Ok(r),
    });
    let input = Input {
        query: parts.uri.query(),
        idempotency_key: parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
        host: parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok()),
        body: body.as_deref().unwrap_or_default(),
    };

    // One lock: who is calling, does a fault fire, and (unless a fault must
    // strike first) run the request, all in one read-modify-write.
    let (seq, account, fired, early) = {
        let mut core = app.core.lock();
        let core = &mut *core;
        let Admitted {
            seq,
            key,
            account,
            fired,
        } = admit(core, &parts, auth, &shortcut);
        let blocked = body.is_err()
            || shortcut.is_err()
            || fired.as_ref().is_some_and(|f| f.phase == Phase::Before);
        let early =
            (!blocked).then(|| execute(&mut core.state, key, &route, input, clock::now_ms()));
        (seq, account, fired, early)
    };

    let finish = |status: Option<u16>, response: Option<Resp>| {
        let done = Done {
            seq,
            at_ms,
            started,
            fault: fired.as_ref().map(|f| f.rule.clone()),
            account: account.clone(),
            body: body.as_ref().map_or(RecordedBody::Empty, RecordedBody::of),
        };
        done.finish(&app, &parts, status, response)
    };
    let respond = |r: Resp| {
        let status = r.status().as_u16();
        finish(Some(status), Some(r))
    };

    if let Err(e) = &body {
        return match e {
            BodyError::Api(e) => respond(e.clone().into_response()),
            BodyError::Disconnected => finish(None, None),
        };
    }
    if let Err(e) = &shortcut {
        return respond(e.clone().into_response());
    }

    let result = match early {
        Some(result) => result,
        None => {
            // A before-phase fault fired: it strikes, or it delays and the
            // request runs afterwards, with the key checked again in case it
            // was revoked while the delay slept.
            match strike(fired.as_ref(), Phase::Before).await {
                Strike::Drop => return finish(None, None),
                Strike::Answer(e) => return respond(e.into_response()),
                Strike::Pass => {}
            }
            let mut core = app.core.lock();
            let key = authenticate(&core.state, auth);
            execute(&mut core.state, key, &route, input, clock::now_ms())
        }
    };
    if result.is_ok() && route.as_ref().is_ok_and(Route::writes) {
        app.persist().await;
    }
    let result = match result {
        Ok(mut reply) => match reply.deferred.take() {
            // A grep scans after the lock is released.
            Some(api::Deferred::Grep(job)) => {
                let store = app.store.clone();
                match tokio::task::spawn_blocking(move || api::grep::scan(job, &*store)).await {
                    Ok(found) => Ok(Reply::new(hyper::StatusCode::OK, &found, None)),
                    Err(e) => Err(ApiError::Injected {
                        status: 500,
                        message: format!("the grep failed: {e}"),
                        code: "internal_error".into(),
                    }),
                }
            }
            Some(api::Deferred::Exec(job)) => crate::exec::run(&app, job).await,
            None => Ok(reply),
        },
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(reply) => {
            for blob in &reply.freed {
                app.store.remove(blob);
            }
            crate::error::json_response(reply.status, reply.body)
        }
        Err(e) => e.into_response(),
    };

    match strike(fired.as_ref(), Phase::After).await {
        Strike::Drop => finish(None, None),
        Strike::Answer(e) => respond(e.into_response()),
        Strike::Pass => respond(response),
    }
}

/// The `Authorization` header's value, trimmed.
pub(crate) fn auth_header(parts: &hyper::http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Who is calling and whether a fault fires: decided under the lock, once
/// per request, for the API and the gateway alike.
pub(crate) struct Admitted {
    /// The journal sequence (and `x-request-id`).
    pub(crate) seq: u64,
    /// The caller's key, or the 401 to answer.
    pub(crate) key: Result<tokens::KeyRef, ApiError>,
    /// The key's account name.
    pub(crate) account: Option<String>,
    /// The fault that fires, if any.
    pub(crate) fired: Option<Fired>,
}

pub(crate) fn admit(
    core: &mut Core,
    parts: &hyper::http::request::Parts,
    auth: Option<&str>,
    shortcut: &Result<Option<Fired>, ApiError>,
) -> Admitted {
    let seq = core.journal.next_seq();
    let key = authenticate(&core.state, auth);
    let account = key
        .as_ref()
        .ok()
        .map(|k| core.state.account_name(k.account).to_owned());
    let fired = match shortcut {
        Ok(Some(f)) => Some(f.clone()),
        Ok(None) => {
            let facts = RequestFacts {
                method: &parts.method,
                path: parts.uri.path(),
                headers: &parts.headers,
                account: account.as_deref(),
            };
            core.faults.select(&facts, &mut core.rng)
        }
        Err(_) => None,
    };
    Admitted {
        seq,
        key,
        account,
        fired,
    }
}

/// What the access log and the journal say of a finished request.
pub(crate) struct Done {
    pub(crate) seq: u64,
    pub(crate) at_ms: i64,
    pub(crate) started: Instant,
    pub(crate) fault: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) body: RecordedBody,
}

impl Done {
    /// Logs and journals the request, and stamps `x-request-id` on the
    /// response (`None`: the connection is dropped).
    pub(crate) fn finish(
        self,
        app: &App,
        parts: &hyper::http::request::Parts,
        status: Option<u16>,
        response: Option<Resp>,
    ) -> Result<Resp, Dropped> {
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            target: "archil_mock::access",
            method = %parts.method,
            path = %crate::journal::redact_path(parts.uri.path()),
            // 0 when the connection was dropped instead of answered.
            status = status.unwrap_or(0),
            dropped = status.is_none(),
            duration_ms = (duration_ms * 100.0).round() / 100.0,
            fault = self.fault.as_deref().unwrap_or("-"),
            account = self.account.as_deref().unwrap_or("-"),
        );
        let record = Record {
            seq: self.seq,
            at_ms: self.at_ms,
            method: parts.method.clone(),
            uri: Record::own_uri(&parts.uri),
            status,
            fault: self.fault,
            account: self.account,
            duration_ms,
            headers: Record::own_headers(&parts.headers),
            body: self.body,
        };
        app.core.lock().journal.record(record);
        match response {
            Some(mut r) => {
                r.headers_mut()
                    .insert("x-request-id", HeaderValue::from(self.seq));
                Ok(r)
            }
            None => Err(Dropped),
        }
    }
}

/// What a fault does to a request at one phase.
pub(crate) enum Strike {
    /// Drop the connection.
    Drop,
    /// Answer with this error instead.
    Answer(ApiError),
    /// Carry on (no fault at this phase, or only a delay, now slept).
    Pass,
}

/// Sleeps a fault's delay if it belongs to `phase`, then says what it does.
pub(crate) async fn strike(fired: Option<&Fired>, phase: Phase) -> Strike {
    let Some(f) = fired.filter(|f| f.phase == phase) else {
        return Strike::Pass;
    };
    if let Some(delay) = f.delay {
        tokio::time::sleep(delay).await;
    }
    match (&f.error, f.reset) {
        (_, true) => Strike::Drop,
        (Some(e), false) => Strike::Answer(e.clone()),
        (None, false) => Strike::Pass,
    }
}

/// The live key an `Authorization` value names, or the 401 to answer. The
/// raw key (as the spec and the SDKs send it) and `Bearer key-…` (as the
/// generated client sends it by default) are both accepted.
pub(crate) fn authenticate(state: &State, auth: Option<&str>) -> Result<tokens::KeyRef, ApiError> {
    match auth.map(strip_bearer) {
        None | Some("") => Err(ApiError::Unauthorized(
            "missing Authorization header; send `Authorization: key-…`".into(),
        )),
        Some(a) => tokens::identify(state, a)
            .ok_or_else(|| ApiError::Unauthorized("invalid or revoked API key".into())),
    }
}

/// The credential in an `Authorization` value: after a `Bearer` scheme
/// (case-insensitive, as RFC 9110 says of scheme names), or the whole value.
pub(crate) fn strip_bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim_start(),
        _ => value,
    }
}

/// Auth, then the route, then the handler. Paths outside `/api/` are 404 for
/// everyone; inside it, an unauthenticated caller learns nothing but 401.
fn execute(
    state: &mut State,
    key: Result<tokens::KeyRef, ApiError>,
    route: &Result<Route, ApiError>,
    input: Input,
    now_ms: i64,
) -> Result<Reply, ApiError> {
    if let Err(e @ ApiError::NotFound(_)) = route {
        return Err(e.clone());
    }
    let key = key?;
    let route = route.as_ref().map_err(Clone::clone)?;
    tokens::mark_used(state, key, now_ms);
    api::dispatch(
        state,
        Ctx {
            account: key.account,
            now_ms,
        },
        route,
        input,
    )
}

enum BodyError {
    Api(ApiError),
    Disconnected,
}

/// Buffers the body once, refusing more than the limit (without reading it
/// all) and bodies that trickle in slower than the request timeout.
async fn read_body(
    app: &App,
    headers: &hyper::HeaderMap,
    body: Incoming,
) -> Result<Bytes, BodyError> {
    let limit = app.config.max_body;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::Api(ApiError::PayloadTooLarge { limit }));
    }
    match tokio::time::timeout(
        app.config.request_timeout,
        Limited::new(body, limit).collect(),
    )
    .await
    {
        Err(_) => Err(BodyError::Api(ApiError::RequestTimeout)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::Api(ApiError::PayloadTooLarge { limit }))
        }
        Ok(Err(e)) => match malformed_framing(&*e) {
            // The client is still there and owed an answer; hyper closes the
            // connection after it, since the framing cannot be trusted.
            Some(why) => Err(BodyError::Api(ApiError::Validation(format!(
                "request body framing is malformed: {why}"
            )))),
            None => Err(BodyError::Disconnected),
        },
    }
}

/// hyper reports a body it cannot decode (a bad chunk size, a chunk longer
/// than declared) as an `InvalidInput`/`InvalidData` I/O error, and a client
/// that went away as `UnexpectedEof` or a reset: only the former gets a 400.
fn malformed_framing(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
            )
            .then(|| io.to_string());
        }
        cause = err.source();
    }
    None
}
