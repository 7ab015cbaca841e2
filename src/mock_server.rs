//! The in-process library handle: [`MockServer`] starts the emulator on a free
//! port on the caller's tokio runtime, exposes its address and key, and drives
//! faults, the journal and reset through the same [`App`] methods as the admin
//! endpoints. It owns no HTTP handling of its own; that is [`crate::run`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, KeySpec};
use crate::faults::FaultRule;
use crate::fixture::{Fixture, FixtureAccount, FixtureDisk};
use crate::journal::{JournalEntry, JournalFilter};
use crate::server::{self, App};

/// A running emulator on `127.0.0.1` and a free port, served on the caller's
/// tokio runtime. Dropping it shuts the server down; [`MockServer::shutdown`]
/// does the same and waits for in-flight requests to finish.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use archil_mock::MockServer;
///
/// // Arrange
/// let server = MockServer::start().await;
///
/// // Act
/// let resp = reqwest::Client::new()
///     .get(format!("{}/api/tokens", server.uri()))
///     .header("Authorization", server.api_key())
///     .send()
///     .await
///     .unwrap();
///
/// // Assert
/// assert_eq!(resp.status(), 200);
/// assert_eq!(server.requests().len(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct MockServer {
    app: Arc<App>,
    addr: SocketAddr,
    api_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server with the default configuration: the built-in key
    /// [`crate::DEFAULT_KEY`] for the account `default`, no fixtures, the
    /// admin API on.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if no port on 127.0.0.1 can be bound.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    ///
    /// // Act
    /// let health = reqwest::get(format!("{}/_mock/health", server.uri())).await.unwrap();
    ///
    /// // Assert
    /// assert_eq!(health.status(), 200);
    /// # }
    /// ```
    pub async fn start() -> MockServer {
        MockServer::builder().start().await
    }

    /// A builder for a server with its own keys, accounts, fixtures and limits.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let server = MockServer::builder()
    ///     .api_key("key-team-a-secret")
    ///     .account_key("other", "key-team-b-secret")
    ///     .start()
    ///     .await;
    ///
    /// // Act
    /// let resp = reqwest::Client::new()
    ///     .get(format!("{}/api/tokens", server.uri()))
    ///     .header("Authorization", "key-team-b-secret")
    ///     .send()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(resp.status(), 200);
    /// assert_eq!(server.api_key(), "key-team-a-secret");
    /// # }
    /// ```
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Starts a server from a whole [`Config`], the type the binary fills
    /// from its flags: every setting at once, or one the builder lacks.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{Config, MockServer};
    ///
    /// // Arrange
    /// let config = Config { journal_capacity: 1, ..Config::default() };
    ///
    /// // Act
    /// let server = MockServer::with_config(config).await.unwrap();
    /// for _ in 0..3 {
    ///     reqwest::get(format!("{}/api/tokens", server.uri())).await.unwrap();
    /// }
    ///
    /// // Assert
    /// assert_eq!(server.requests().len(), 1);
    /// # }
    /// ```
    pub async fn with_config(config: Config) -> Result<MockServer, ConfigError> {
        let api_key = {
            let keys = config.effective_keys();
            keys.iter()
                .find(|k| k.account == config.default_account)
                .or(keys.first())
                .map(|k| k.secret.clone())
                .expect("effective_keys is never empty")
        };
        let app = App::new(config)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ConfigError::Io(format!("cannot bind 127.0.0.1:0: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ConfigError::Io(format!("bound socket has no address: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, app.clone(), async {
            // A dropped sender (the handle dropped) stops the server too.
            let _ = stopped.await;
        }));
        Ok(MockServer {
            app,
            addr,
            api_key,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    ///
    /// // Act
    /// let uri = server.uri();
    ///
    /// // Assert
    /// assert_eq!(uri, format!("http://{}", server.addr()));
    /// # }
    /// ```
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    ///
    /// // Act
    /// let addr = server.addr();
    ///
    /// // Assert
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0);
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The default account's bootstrap key: the built-in
    /// [`crate::DEFAULT_KEY`] unless the builder set keys, then the first key
    /// of the default account (or, if that account has none, the first key).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    ///
    /// // Act
    /// let key = server.api_key();
    ///
    /// // Assert
    /// assert_eq!(key, archil_mock::DEFAULT_KEY);
    /// # }
    /// ```
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The seed fault probabilities are drawn with (the builder's, or a random one).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().seed(7).start().await;
    ///
    /// // Act
    /// let seed = server.seed();
    ///
    /// // Assert
    /// assert_eq!(seed, 7);
    /// # }
    /// ```
    pub fn seed(&self) -> u64 {
        self.app.seed()
    }

    /// The fault rules: add, remove, list and clear them, as `/_mock/faults` does.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    /// server.faults().add(FaultRule::status(503).path("/api/tokens").times(1));
    ///
    /// // Act
    /// let url = format!("{}/api/tokens", server.uri());
    /// let client = reqwest::Client::new();
    /// let first = client.get(&url).header("Authorization", server.api_key()).send().await.unwrap();
    /// let second = client.get(&url).header("Authorization", server.api_key()).send().await.unwrap();
    ///
    /// // Assert
    /// assert_eq!(first.status(), 503);
    /// assert_eq!(second.status(), 200);
    /// assert!(server.faults().list().is_empty(), "the rule expired after one use");
    /// # }
    /// ```
    pub fn faults(&self) -> MockFaults<'_> {
        MockFaults { app: &self.app }
    }

    /// The scripted exec back end's rules: add, list, remove and clear
    /// them, as `/_mock/exec-rules` does.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::exec::ExecRule;
    /// use archil_mock::fixture::FixtureDisk;
    /// use archil_mock::MockServer;
    ///
    /// // Arrange: `make build` prints a line and writes its output file.
    /// let server = MockServer::builder()
    ///     .disk(FixtureDisk { id: Some("dsk-00000000000000f1".into()), ..FixtureDisk::new("ci") })
    ///     .start()
    ///     .await;
    /// let rule: ExecRule = serde_json::from_value(serde_json::json!({
    ///     "command": "cd /mnt && make build",
    ///     "stdout": "built\n",
    ///     "writes": [{ "path": "/mnt/out/app.bin", "content": "ELF" }]
    /// })).unwrap();
    /// server.exec_rules().add(rule);
    ///
    /// // Act
    /// let result: serde_json::Value = reqwest::Client::new()
    ///     .post(format!("{}/api/disks/dsk-00000000000000f1/exec", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .json(&serde_json::json!({ "command": "cd /mnt && make build" }))
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .json()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(result["data"]["exitCode"], 0);
    /// assert_eq!(result["data"]["stdout"], "built\n");
    /// assert_eq!(server.read_object("dsk-00000000000000f1", "out/app.bin").as_deref(), Some(&b"ELF"[..]));
    /// # }
    /// ```
    pub fn exec_rules(&self) -> MockExecRules<'_> {
        MockExecRules { app: &self.app }
    }

    /// Every journaled API request, oldest first (admin requests are not journaled).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    ///
    /// // Act
    /// reqwest::get(format!("{}/api/tokens", server.uri())).await.unwrap();
    ///
    /// // Assert
    /// let requests = server.requests();
    /// assert_eq!(requests.len(), 1);
    /// assert_eq!((requests[0].method.as_str(), requests[0].status), ("GET", Some(401)));
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.app.requests(&JournalFilter::default())
    }

    /// The journaled requests passing `filter` (method, and a path pattern
    /// with `*` and `**` as in fault rules), oldest first.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{JournalFilter, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    /// let client = reqwest::Client::new();
    ///
    /// // Act
    /// client.get(format!("{}/api/tokens", server.uri())).send().await.unwrap();
    /// client.post(format!("{}/api/tokens", server.uri())).send().await.unwrap();
    ///
    /// // Assert
    /// let posts = server.requests_matching(JournalFilter {
    ///     method: Some("POST".into()),
    ///     path: Some("/api/**".into()),
    /// });
    /// assert_eq!(posts.len(), 1);
    /// # }
    /// ```
    pub fn requests_matching(&self, filter: JournalFilter) -> Vec<JournalEntry> {
        self.app.requests(&filter)
    }

    /// Empties the journal; returns how many entries it had.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    /// reqwest::get(format!("{}/api/tokens", server.uri())).await.unwrap();
    ///
    /// // Act
    /// let removed = server.clear_requests();
    ///
    /// // Assert
    /// assert_eq!(removed, 1);
    /// assert!(server.requests().is_empty());
    /// # }
    /// ```
    pub fn clear_requests(&self) -> usize {
        self.app.clear_requests()
    }

    /// A typed snapshot of every account, token and disk (secrets left out), in
    /// the fixture format, as `GET /_mock/state` returns it.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    ///
    /// // Act
    /// let state = server.state();
    ///
    /// // Assert
    /// assert_eq!(state.accounts.len(), 1);
    /// assert_eq!(state.accounts[0].name, "default");
    /// assert_eq!(state.accounts[0].tokens[0].token, None, "no secrets in snapshots");
    /// # }
    /// ```
    pub fn state(&self) -> Fixture {
        self.app.snapshot()
    }

    /// The bytes of a file on a disk (in any account), or `None` if there is
    /// no such disk or file: to check what a client under test wrote.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::fixture::{FixtureDisk, FixtureFile};
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let server = MockServer::builder()
    ///     .disk(FixtureDisk { id: Some("dsk-00000000000000d1".into()), ..FixtureDisk::new("data") })
    ///     .start()
    ///     .await;
    ///
    /// // Act: a client writes through the S3 gateway on the same port.
    /// reqwest::Client::new()
    ///     .put(format!("{}/dsk-00000000000000d1/out/result.txt", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .body("42")
    ///     .send()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// let stored = server.read_object("dsk-00000000000000d1", "out/result.txt");
    /// assert_eq!(stored.as_deref(), Some(&b"42"[..]));
    /// assert_eq!(server.read_object("dsk-00000000000000d1", "out/other.txt"), None);
    /// # }
    /// ```
    pub fn read_object(&self, disk_id: &str, key: &str) -> Option<Vec<u8>> {
        self.app.read_object(disk_id, key).map(|b| b.to_vec())
    }

    /// Writes a file on a disk (in any account), as a `PutObject` would: to
    /// give a client under test something to read. Fixture `files` do the
    /// same at startup and on reset.
    ///
    /// # Panics
    ///
    /// If there is no such disk, or the key is invalid or conflicts with a
    /// directory.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::fixture::FixtureDisk;
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let server = MockServer::builder()
    ///     .disk(FixtureDisk { id: Some("dsk-00000000000000d2".into()), ..FixtureDisk::new("data") })
    ///     .start()
    ///     .await;
    /// server.write_object("dsk-00000000000000d2", "in/config.json", b"{}");
    ///
    /// // Act
    /// let body = reqwest::Client::new()
    ///     .get(format!("{}/dsk-00000000000000d2/in/config.json", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .bytes()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(&body[..], b"{}");
    /// # }
    /// ```
    #[track_caller]
    pub fn write_object(&self, disk_id: &str, key: &str, bytes: &[u8]) {
        if let Err(e) = self.app.write_object(disk_id, key, bytes) {
            panic!("MockServer::write_object({disk_id}, {key:?}): {e}");
        }
    }

    /// Returns to the startup state, as `POST /_mock/reset` does: keys and
    /// fixtures loaded again (with their faults only) and an empty journal.
    ///
    /// # Panics
    ///
    /// If a fixture file was changed since startup and no longer loads; the
    /// server is then left as it was.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    /// server.faults().add(FaultRule::status(500));
    /// reqwest::get(format!("{}/api/tokens", server.uri())).await.unwrap();
    ///
    /// // Act
    /// server.reset().await;
    ///
    /// // Assert
    /// assert!(server.faults().list().is_empty());
    /// assert!(server.requests().is_empty());
    /// # }
    /// ```
    pub async fn reset(&self) {
        if let Err(e) = self.app.reset().await {
            panic!("MockServer::reset: a fixture no longer loads: {e}");
        }
    }

    /// Stops accepting connections, lets in-flight requests finish (for up
    /// to the drain timeout, 5 s unless the builder changed it) and returns
    /// once the server has stopped. Dropping the handle stops it too, but
    /// without waiting.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::start().await;
    /// let addr = server.addr();
    ///
    /// // Act
    /// server.shutdown().await;
    ///
    /// // Assert
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    }
}

impl Drop for MockServer {
    /// Like wiremock's: the server stops accepting as soon as the runtime
    /// polls it again, and drains in the background.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The exec rules of one [`MockServer`], from [`MockServer::exec_rules`].
#[derive(Debug, Clone, Copy)]
pub struct MockExecRules<'a> {
    app: &'a App,
}

impl MockExecRules<'_> {
    /// Adds a rule and returns its id.
    ///
    /// # Panics
    ///
    /// If the rule is invalid (no command matcher, a bad regex, an exit
    /// code past 255) or its id is taken.
    #[track_caller]
    pub fn add(&self, rule: crate::exec::ExecRule) -> String {
        match self.app.core.lock().state.exec_rules.add(vec![rule]) {
            Ok(mut ids) => ids.pop().expect("one id per rule"),
            Err(e) => panic!("MockServer::exec_rules().add: {e}"),
        }
    }

    /// The live rules, with what remains of their `times`.
    pub fn list(&self) -> Vec<crate::exec::ExecRule> {
        self.app.core.lock().state.exec_rules.list().to_vec()
    }

    /// Removes the rule with this id; false if there is none.
    pub fn remove(&self, id: &str) -> bool {
        self.app.core.lock().state.exec_rules.remove(id)
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        self.app.core.lock().state.exec_rules.clear()
    }
}

/// The fault rules of one [`MockServer`], from [`MockServer::faults`]. The
/// same operations as the `/_mock/faults` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct MockFaults<'a> {
    app: &'a App,
}

impl MockFaults<'_> {
    /// Adds a rule and returns its id (the rule's own `id`, or a generated one).
    ///
    /// # Panics
    ///
    /// If the rule is invalid (say, status 200 or a probability above 1) or
    /// its id is taken; [`MockFaults::try_add`] returns the reason instead.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    ///
    /// // Act
    /// let id = server.faults().add(FaultRule::reset().method("DELETE"));
    ///
    /// // Assert
    /// assert_eq!(server.faults().list()[0].id.as_deref(), Some(id.as_str()));
    /// # }
    /// ```
    #[track_caller]
    pub fn add(&self, rule: FaultRule) -> String {
        match self.try_add(rule) {
            Ok(id) => id,
            Err(reason) => panic!("MockServer::faults().add: invalid fault rule: {reason}"),
        }
    }

    /// Adds a rule, or says why it is invalid.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    ///
    /// // Act
    /// let refused = server.faults().try_add(FaultRule::status(200));
    ///
    /// // Assert
    /// assert!(refused.is_err());
    /// assert!(server.faults().list().is_empty());
    /// # }
    /// ```
    pub fn try_add(&self, rule: FaultRule) -> Result<String, String> {
        let mut ids = self.app.add_faults(vec![rule])?;
        Ok(ids.pop().expect("one id per rule added"))
    }

    /// Removes the rule with this id; false if there is none.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    /// let id = server.faults().add(FaultRule::status(503));
    ///
    /// // Act
    /// let removed = server.faults().remove(&id);
    ///
    /// // Assert
    /// assert!(removed);
    /// assert!(!server.faults().remove(&id), "already gone");
    /// # }
    /// ```
    pub fn remove(&self, id: &str) -> bool {
        self.app.remove_fault(id)
    }

    /// Removes every rule; returns how many there were.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    /// server.faults().add(FaultRule::status(503));
    /// server.faults().add(FaultRule::status(429));
    ///
    /// // Act
    /// let removed = server.faults().clear();
    ///
    /// // Assert
    /// assert_eq!(removed, 2);
    /// # }
    /// ```
    pub fn clear(&self) -> usize {
        self.app.clear_faults()
    }

    /// The live rules, with what remains of their `times`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::{FaultRule, MockServer};
    ///
    /// // Arrange
    /// let server = MockServer::start().await;
    ///
    /// // Act
    /// server.faults().add(FaultRule::status(500).times(3));
    ///
    /// // Assert
    /// assert_eq!(server.faults().list()[0].times, Some(3));
    /// # }
    /// ```
    pub fn list(&self) -> Vec<FaultRule> {
        self.app.faults()
    }
}

/// Configures a [`MockServer`]: every CLI option that makes sense in-process.
/// Nothing is checked until [`start`](MockServerBuilder::start) (which panics
/// on an invalid setting, as a misuse of the test API) or
/// [`try_start`](MockServerBuilder::try_start) (which returns the error).
///
/// ```
/// # #[tokio::main] async fn main() {
/// use archil_mock::MockServer;
///
/// // Arrange
/// let server = MockServer::builder()
///     .default_account("acme")
///     .api_key("key-acme-secret")
///     .journal_size(10)
///     .seed(42)
///     .start()
///     .await;
///
/// // Act
/// let state = server.state();
///
/// // Assert
/// assert_eq!(state.accounts[0].name, "acme");
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockServerBuilder {
    /// `(account, secret)`; `None` means the default account, resolved at start.
    keys: Vec<(Option<String>, String)>,
    default_account: Option<String>,
    fixtures: Vec<PathBuf>,
    seed: Option<u64>,
    journal_size: Option<usize>,
    admin: Option<bool>,
    admin_token: Option<String>,
    state_file: Option<PathBuf>,
    drain_timeout: Option<Duration>,
    region: Option<String>,
    disk_ready: Option<Duration>,
    /// `(account, disk)`; `None` means the default account.
    disks: Vec<(Option<String>, FixtureDisk)>,
}

impl MockServerBuilder {
    /// A bootstrap key (`key-…`, at least 4 characters after the prefix) for
    /// the default account. Repeatable. Once any key is set, the built-in
    /// [`crate::DEFAULT_KEY`] is no longer accepted.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().api_key("key-mine").start().await;
    ///
    /// // Act
    /// let resp = reqwest::Client::new()
    ///     .get(format!("{}/api/tokens", server.uri()))
    ///     .header("Authorization", archil_mock::DEFAULT_KEY)
    ///     .send()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(resp.status(), 401);
    /// # }
    /// ```
    pub fn api_key(mut self, secret: impl Into<String>) -> Self {
        self.keys.push((None, secret.into()));
        self
    }

    /// A bootstrap key for a named account (created if new). Repeatable.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder()
    ///     .account_key("alice", "key-alice")
    ///     .account_key("bob", "key-bob1")
    ///     .start()
    ///     .await;
    ///
    /// // Act
    /// let state = server.state();
    ///
    /// // Assert
    /// let names: Vec<_> = state.accounts.iter().map(|a| a.name.as_str()).collect();
    /// assert_eq!(names, ["alice", "bob"]);
    /// # }
    /// ```
    pub fn account_key(mut self, account: impl Into<String>, secret: impl Into<String>) -> Self {
        self.keys.push((Some(account.into()), secret.into()));
        self
    }

    /// The account that bare keys and the built-in key belong to (`default`
    /// unless set).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().default_account("ci").start().await;
    ///
    /// // Act
    /// let state = server.state();
    ///
    /// // Assert
    /// assert_eq!(state.accounts[0].name, "ci");
    /// # }
    /// ```
    pub fn default_account(mut self, name: impl Into<String>) -> Self {
        self.default_account = Some(name.into());
        self
    }

    /// A fixture file to load at startup and on reset. Repeatable; loaded in order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seeded-tokens.json");
    ///
    /// // Act
    /// let server = archil_mock::MockServer::builder().fixture(fixture).start().await;
    ///
    /// // Assert
    /// let tokens = &server.state().accounts[0].tokens;
    /// assert!(tokens.iter().any(|t| t.name == "deploy"));
    /// # }
    /// ```
    pub fn fixture(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(path.into());
        self
    }

    /// Seed for fault probabilities, for reproducible runs (random if unset).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let builder = archil_mock::MockServer::builder().seed(1234);
    ///
    /// // Act
    /// let server = builder.start().await;
    ///
    /// // Assert
    /// assert_eq!(server.seed(), 1234);
    /// # }
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How many requests the journal keeps (oldest dropped first; 1000 unless set).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().journal_size(1).start().await;
    ///
    /// // Act
    /// for _ in 0..3 {
    ///     reqwest::get(format!("{}/api/tokens", server.uri())).await.unwrap();
    /// }
    ///
    /// // Assert
    /// assert_eq!(server.requests().len(), 1);
    /// # }
    /// ```
    pub fn journal_size(mut self, entries: usize) -> Self {
        self.journal_size = Some(entries);
        self
    }

    /// Whether the admin API under `/_mock/` is served over HTTP (on unless
    /// set). The handle's own methods work either way.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().admin(false).start().await;
    ///
    /// // Act
    /// let resp = reqwest::get(format!("{}/_mock/health", server.uri())).await.unwrap();
    ///
    /// // Assert
    /// assert_eq!(resp.status(), 404);
    /// # }
    /// ```
    pub fn admin(mut self, serve: bool) -> Self {
        self.admin = Some(serve);
        self
    }

    /// Require this value in the `X-Archil-Mock-Admin-Token` header on `/_mock/` requests.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().admin_token("s3cret").start().await;
    ///
    /// // Act
    /// let resp = reqwest::get(format!("{}/_mock/health", server.uri())).await.unwrap();
    ///
    /// // Assert
    /// assert_eq!(resp.status(), 401);
    /// # }
    /// ```
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Keep accounts, tokens and disks in this file: loaded if it exists, rewritten
    /// on every change and at shutdown.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let path = std::env::temp_dir().join(format!("archil-mock-doc-{}.json", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    ///
    /// // Act
    /// let server = archil_mock::MockServer::builder().state_file(&path).start().await;
    ///
    /// // Assert
    /// assert!(path.exists(), "written at startup");
    /// # server.shutdown().await;
    /// # std::fs::remove_file(&path).unwrap();
    /// # }
    /// ```
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// How long [`MockServer::shutdown`] waits for in-flight requests (5 s unless set).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use std::time::{Duration, Instant};
    ///
    /// // Arrange
    /// let server = archil_mock::MockServer::builder()
    ///     .drain_timeout(Duration::from_millis(100))
    ///     .start()
    ///     .await;
    /// let slow = reqwest::Client::new()
    ///     .get(format!("{}/api/tokens", server.uri()))
    ///     .header("X-Archil-Mock-Delay-Ms", "60000")
    ///     .send();
    /// let slow = tokio::spawn(slow);
    /// tokio::time::sleep(Duration::from_millis(100)).await;
    ///
    /// // Act
    /// let started = Instant::now();
    /// server.shutdown().await;
    ///
    /// // Assert
    /// assert!(started.elapsed() < Duration::from_secs(5));
    /// assert!(slow.await.unwrap().is_err(), "cut off after the drain timeout");
    /// # }
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = Some(timeout);
        self
    }

    /// The region disks are created in (`aws-us-east-1` unless set); their
    /// `provider` is its prefix.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let server = archil_mock::MockServer::builder().region("gcp-us-central1").start().await;
    ///
    /// // Act
    /// let created: serde_json::Value = reqwest::Client::new()
    ///     .post(format!("{}/api/disks", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .json(&serde_json::json!({ "name": "data" }))
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .json()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// let disk = &server.state().accounts[0].disks[0];
    /// assert_eq!(disk.id.as_deref(), created["data"]["diskId"].as_str());
    /// assert_eq!(disk.region.as_deref(), Some("gcp-us-central1"));
    /// # }
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// How long a new disk reports `creating` before `available` (at once
    /// unless set), to exercise a client's wait-until-ready path.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use std::time::Duration;
    ///
    /// // Arrange
    /// let server = archil_mock::MockServer::builder()
    ///     .disk_ready(Duration::from_secs(60))
    ///     .start()
    ///     .await;
    ///
    /// // Act
    /// let created: serde_json::Value = reqwest::Client::new()
    ///     .post(format!("{}/api/disks", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .json(&serde_json::json!({ "name": "slow" }))
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .json()
    ///     .await
    ///     .unwrap();
    /// let id = created["data"]["diskId"].as_str().unwrap();
    /// let disk: serde_json::Value = reqwest::Client::new()
    ///     .get(format!("{}/api/disks/{id}", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .json()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(disk["data"]["status"], "creating");
    /// # }
    /// ```
    pub fn disk_ready(mut self, after: Duration) -> Self {
        self.disk_ready = Some(after);
        self
    }

    /// Seeds a disk in the default account, as a fixture would (restored on
    /// reset). Repeatable.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::api::disks::Status;
    /// use archil_mock::fixture::{FixtureDisk, FixtureDiskUser};
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let server = MockServer::builder()
    ///     .disk(FixtureDisk {
    ///         id: Some("dsk-00000000000000aa".into()),
    ///         status: Some(Status::Failed),
    ///         ..FixtureDisk::new("broken")
    ///     })
    ///     .start()
    ///     .await;
    ///
    /// // Act
    /// let disk: serde_json::Value = reqwest::Client::new()
    ///     .get(format!("{}/api/disks/dsk-00000000000000aa", server.uri()))
    ///     .header("Authorization", server.api_key())
    ///     .send()
    ///     .await
    ///     .unwrap()
    ///     .json()
    ///     .await
    ///     .unwrap();
    ///
    /// // Assert
    /// assert_eq!(disk["data"]["name"], "broken");
    /// assert_eq!(disk["data"]["status"], "failed");
    /// # }
    /// ```
    pub fn disk(mut self, disk: FixtureDisk) -> Self {
        self.disks.push((None, disk));
        self
    }

    /// Seeds a disk in a named account (created if new). Repeatable.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use archil_mock::fixture::FixtureDisk;
    /// use archil_mock::MockServer;
    ///
    /// // Arrange
    /// let builder = MockServer::builder()
    ///     .account_key("alice", "key-alice")
    ///     .account_disk("alice", FixtureDisk::new("shared"));
    ///
    /// // Act
    /// let server = builder.start().await;
    ///
    /// // Assert
    /// let alice = &server.state().accounts[0];
    /// assert_eq!((alice.name.as_str(), alice.disks[0].name.as_str()), ("alice", "shared"));
    /// # }
    /// ```
    pub fn account_disk(mut self, account: impl Into<String>, disk: FixtureDisk) -> Self {
        self.disks.push((Some(account.into()), disk));
        self
    }

    /// Starts the server on `127.0.0.1:0`, on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// On an invalid setting (a malformed key, an unreadable or invalid
    /// fixture or state file), naming the problem; outside a tokio runtime;
    /// or if no port can be bound. Use [`try_start`](Self::try_start) to get
    /// the error instead.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let builder = archil_mock::MockServer::builder().api_key("key-abcd");
    ///
    /// // Act
    /// let server = builder.start().await;
    ///
    /// // Assert
    /// assert_eq!(server.api_key(), "key-abcd");
    /// # }
    /// ```
    #[track_caller]
    pub fn start(self) -> impl std::future::Future<Output = MockServer> {
        // Not an `async fn`, so that `#[track_caller]` points a panic at the test.
        let caller = std::panic::Location::caller();
        async move {
            match self.try_start().await {
                Ok(server) => server,
                Err(e) => panic!("MockServer::builder().start() at {caller}: {e}"),
            }
        }
    }

    /// Starts the server, or returns why the configuration is invalid.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// // Arrange
    /// let builder = archil_mock::MockServer::builder().api_key("not-a-key");
    ///
    /// // Act
    /// let result = builder.try_start().await;
    ///
    /// // Assert
    /// let message = result.unwrap_err().to_string();
    /// assert!(message.contains("must start with `key-`"), "{message}");
    /// # }
    /// ```
    pub async fn try_start(self) -> Result<MockServer, ConfigError> {
        MockServer::with_config(self.config()?).await
    }

    fn config(self) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(name) = self.default_account {
            config.default_account = name;
        }
        for (account, secret) in self.keys {
            let account = account.unwrap_or_else(|| config.default_account.clone());
            config.keys.push(KeySpec::new(account, secret)?);
        }
        config.fixtures = self.fixtures;
        config.seed = self.seed;
        if let Some(n) = self.journal_size {
            config.journal_capacity = n;
        }
        if let Some(admin) = self.admin {
            config.admin = admin;
        }
        config.admin_token = self.admin_token;
        config.state_file = self.state_file;
        if let Some(t) = self.drain_timeout {
            config.drain_timeout = t;
        }
        if let Some(region) = self.region {
            config.region = region;
        }
        if let Some(after) = self.disk_ready {
            config.disk_ready = after;
        }
        if !self.disks.is_empty() {
            let mut seeded = Fixture::default();
            for (account, disk) in self.disks {
                let name = account.unwrap_or_else(|| config.default_account.clone());
                match seeded.accounts.iter_mut().find(|a| a.name == name) {
                    Some(a) => a.disks.push(disk),
                    None => seeded.accounts.push(FixtureAccount {
                        name,
                        tokens: Vec::new(),
                        disks: vec![disk],
                    }),
                }
            }
            config.inline_fixtures.push(seeded);
        }
        Ok(config)
    }
}
