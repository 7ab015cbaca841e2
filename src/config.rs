//! Everything a server is started with, and the errors that stop it from
//! starting. The binary fills [`Config`] from flags and environment variables;
//! the library never reads the environment itself.

use std::path::PathBuf;
use std::time::Duration;

use crate::api::disks::check_region;
use crate::api::tokens::check_secret;
use crate::fixture::Fixture;
use crate::journal;
use crate::state::{Settings, DEFAULT_ACCOUNT, DEFAULT_REGION};

/// The key accepted when no `--api-key` is given. It is public by design.
pub const DEFAULT_KEY: &str = "key-archil-mock";
/// The largest request body accepted: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// The largest object: 5 GiB, S3's single-PUT limit.
pub const DEFAULT_MAX_OBJECT: u64 = 5 << 30;
/// The most object bytes the memory store holds: 2 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 2 << 30;
/// The smallest part but the last of a multipart upload: 5 MiB, as S3.
pub const DEFAULT_MIN_PART: u64 = 5 << 20;

/// A bootstrap key and the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// The account's name.
    pub account: String,
    /// The full secret, `key-…`.
    pub secret: String,
}

impl KeySpec {
    /// Parses `ACCOUNT=key-…`, or a bare `key-…` for `default_account`.
    pub fn parse(arg: &str, default_account: &str) -> Result<KeySpec, ConfigError> {
        let (account, secret) = if arg.starts_with("key-") {
            (default_account, arg)
        } else {
            match arg.split_once('=') {
                Some((account, secret)) => (account, secret),
                None => (default_account, arg),
            }
        };
        KeySpec::new(account.to_owned(), secret.to_owned())
    }

    /// A checked key: the account 1..=100 characters, the secret a `key-…`
    /// that fits in a header. Errors show the secret redacted.
    pub fn new(account: String, secret: String) -> Result<KeySpec, ConfigError> {
        let bad = |reason: String| ConfigError::Key {
            shown: crate::journal::redact(&secret),
            reason,
        };
        if account.is_empty() || account.len() > 100 {
            return Err(bad("the account name must be 1..=100 characters".into()));
        }
        check_secret(&secret).map_err(bad)?;
        Ok(KeySpec { account, secret })
    }
}

/// How a server starts. `Config::default()` is what `archil-mock` runs with no flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bootstrap keys; empty means the built-in [`DEFAULT_KEY`] for `default_account`.
    pub keys: Vec<KeySpec>,
    /// The account of the built-in key (bare `--api-key` values name it themselves).
    pub default_account: String,
    /// Fixture files loaded at startup and on reset, in order.
    pub fixtures: Vec<PathBuf>,
    /// Fixtures given in-process (the library builder's disks), loaded after
    /// the files, at startup and on reset.
    pub inline_fixtures: Vec<Fixture>,
    /// Seed for fault probabilities; random (and logged) if absent.
    pub seed: Option<u64>,
    /// How many requests the journal keeps.
    pub journal_capacity: usize,
    /// Whether `/_mock/` is served.
    pub admin: bool,
    /// If set, `/_mock/` requires `X-Archil-Mock-Admin-Token` with this value.
    pub admin_token: Option<String>,
    /// Keep state in this file across restarts.
    pub state_file: Option<PathBuf>,
    /// The largest request body accepted.
    pub max_body: usize,
    /// How long a client may take to send request headers, and then the body;
    /// hyper also closes keep-alive connections idle for this long.
    pub request_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
    /// The region disks are created in (`aws-us-east-1`); the disk's
    /// `provider` is its prefix.
    pub region: String,
    /// How long a new disk reports `creating` before `available` (0: at once).
    pub disk_ready: Duration,
    /// Keep objects, and the control-plane state, in this directory.
    pub data_dir: Option<PathBuf>,
    /// The largest object (a put, a part, a completed upload), in bytes.
    pub max_object_bytes: u64,
    /// The most object bytes held in memory (without `data_dir`).
    pub max_memory_bytes: u64,
    /// The smallest part but the last that Complete accepts (0 relaxes it).
    pub min_part_size: u64,
    /// How long an exec may run before it is a 504.
    pub exec_timeout: Duration,
    /// Where execs run.
    pub exec_backend: crate::exec::Backend,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: Vec::new(),
            default_account: DEFAULT_ACCOUNT.to_owned(),
            fixtures: Vec::new(),
            inline_fixtures: Vec::new(),
            seed: None,
            journal_capacity: journal::DEFAULT_CAPACITY,
            admin: true,
            admin_token: None,
            state_file: None,
            max_body: DEFAULT_MAX_BODY,
            request_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(5),
            region: DEFAULT_REGION.to_owned(),
            disk_ready: Duration::ZERO,
            data_dir: None,
            max_object_bytes: DEFAULT_MAX_OBJECT,
            max_memory_bytes: DEFAULT_MAX_MEMORY,
            min_part_size: DEFAULT_MIN_PART,
            exec_timeout: Duration::from_secs(30),
            exec_backend: crate::exec::Backend::Scripted,
        }
    }
}

impl Config {
    /// What API operations read of the config; checks the region.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        check_region(&self.region).map_err(|reason| ConfigError::Setting {
            name: "region",
            reason,
        })?;
        Ok(Settings {
            region: self.region.as_str().into(),
            disk_ready_ms: self.disk_ready.as_millis().min(u64::MAX as u128) as u64,
            share_key: [0; 32],
        })
    }

    /// The bootstrap keys in force: the configured ones, or the built-in key.
    pub fn effective_keys(&self) -> Vec<KeySpec> {
        if self.keys.is_empty() {
            vec![KeySpec {
                account: self.default_account.clone(),
                secret: DEFAULT_KEY.to_owned(),
            }]
        } else {
            self.keys.clone()
        }
    }
}

/// Why a server could not start. Never sent over HTTP.
#[derive(Debug)]
pub enum ConfigError {
    /// A `--api-key` value is malformed (shown redacted).
    Key {
        /// The argument, redacted.
        shown: String,
        /// What is wrong.
        reason: String,
    },
    /// A fixture or state file is unreadable or invalid.
    Fixture {
        /// The file.
        path: PathBuf,
        /// Where in it, as a JSON path (`$.accounts[0].tokens[2].name`).
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A setting's value is invalid.
    Setting {
        /// The setting (as its flag is named, without `--`).
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Some other I/O failure, e.g. binding the port.
    Io(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Key { shown, reason } => write!(f, "invalid --api-key {shown}: {reason}"),
            ConfigError::Fixture { path, at, reason } => {
                write!(f, "{}: at {at}: {reason}", path.display())
            }
            ConfigError::Setting { name, reason } => write!(f, "invalid --{name}: {reason}"),
            ConfigError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_specs() {
        assert_eq!(
            KeySpec::parse("key-abcd", "default").unwrap().account,
            "default"
        );
        let k = KeySpec::parse("alice=key-aaaa", "default").unwrap();
        assert_eq!(
            (k.account.as_str(), k.secret.as_str()),
            ("alice", "key-aaaa")
        );
        assert!(KeySpec::parse("alice=nokey", "default").is_err());
        assert!(KeySpec::parse("=key-aaaa", "default").is_err());
        assert!(KeySpec::parse("key-ab", "default").is_err());
        let err = KeySpec::parse("bob=key-secretvalue with space", "default")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secretvalue"), "{err}");
    }
}
