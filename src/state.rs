//! The emulated control plane's data: accounts and, per resource, the store
//! its module owns. It holds no locks and does no I/O; the server keeps one
//! `State` behind one mutex.

use std::sync::Arc;

use crate::api::disks::DiskStore;
use crate::api::tokens::TokenStore;

/// An account's index in [`State`]; cheap to copy and to store per resource.
pub type AccountId = u32;

/// The whole emulated world. Adding a resource adds one store field here.
#[derive(Debug, Clone, Default)]
pub struct State {
    accounts: Vec<String>,
    /// How this emulated control plane is set up (from the config).
    pub settings: Settings,
    /// API tokens, owned by [`crate::api::tokens`].
    pub tokens: TokenStore,
    /// Disks and what hangs off them (users, settings, branches), owned by
    /// [`crate::api::disks`].
    pub disks: DiskStore,
    /// The scripted exec back end's rules (from fixtures and the admin API;
    /// never written to a state file).
    pub exec_rules: crate::exec::ExecRules,
}

/// The parts of the config that API operations read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The region new disks are created in, e.g. `aws-us-east-1`.
    pub region: Arc<str>,
    /// How long a new disk reports `creating` before `available`.
    pub disk_ready_ms: u64,
    /// Signs share URLs; drawn at startup.
    pub share_key: [u8; 32],
}

/// The region `--region` defaults to, as the SDK's own default.
pub const DEFAULT_REGION: &str = "aws-us-east-1";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: DEFAULT_REGION.into(),
            disk_ready_ms: 0,
            share_key: [0; 32],
        }
    }
}

/// The name of the account bare `--api-key` values and the built-in key belong to.
pub const DEFAULT_ACCOUNT: &str = "default";

impl State {
    /// An empty world with no accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty world with these settings.
    pub fn with_settings(settings: Settings) -> Self {
        State {
            settings,
            ..State::default()
        }
    }

    /// The id of the named account, creating the account if it is new.
    pub fn account(&mut self, name: &str) -> AccountId {
        match self.find_account(name) {
            Some(id) => id,
            None => {
                self.accounts.push(name.to_owned());
                (self.accounts.len() - 1) as AccountId
            }
        }
    }

    /// The id of the named account, if it exists.
    pub fn find_account(&self, name: &str) -> Option<AccountId> {
        self.accounts
            .iter()
            .position(|a| a == name)
            .map(|i| i as AccountId)
    }

    /// The name of an account.
    pub fn account_name(&self, id: AccountId) -> &str {
        &self.accounts[id as usize]
    }

    /// Every account, in the order they were made.
    pub fn accounts(&self) -> impl Iterator<Item = (AccountId, &str)> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, name)| (i as AccountId, name.as_str()))
    }
}
