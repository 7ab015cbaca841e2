//! The fixture format: a starting state (accounts and their tokens) plus an
//! optional fault script. State files and `GET /_mock/state` use the same
//! format, so a snapshot is a fixture. `fixtures/schema.json` is its JSON Schema.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::api::tokens::{self, check_secret, StoredToken, DESCRIPTION_MAX, NAME_MAX};
use crate::clock;
use crate::config::ConfigError;
use crate::faults::FaultRule;
use crate::state::State;

/// A whole fixture file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Editors' schema hint; ignored.
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    /// Accounts and their tokens.
    #[serde(default)]
    pub accounts: Vec<FixtureAccount>,
    /// Fault rules, added in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
}

/// One account in a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureAccount {
    /// The account's name; the same name in two fixtures is one account.
    pub name: String,
    /// Its tokens, oldest first.
    #[serde(default)]
    pub tokens: Vec<FixtureToken>,
}

/// One token: either by its secret (`token`), so tests can use a known key,
/// or by its public `id` and `tokenSuffix`, as state files store it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureToken {
    /// The full secret, `key-…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Hex SHA-256 of the secret (instead of `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The secret's last four characters (with `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_suffix: Option<String>,
    /// 1..=100 characters.
    pub name: String,
    /// At most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RFC 3339; the load time if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// A validation failure: the JSON path and the reason.
type Invalid = (String, String);

impl Fixture {
    /// Reads and parses a fixture file; errors name the file, the JSON path and the reason.
    pub fn load(path: &Path) -> Result<Fixture, ConfigError> {
        let text = std::fs::read(path).map_err(|e| ConfigError::Fixture {
            path: path.to_owned(),
            at: "$".into(),
            reason: format!("cannot read: {e}"),
        })?;
        Fixture::parse(&text).map_err(|(at, reason)| ConfigError::Fixture {
            path: path.to_owned(),
            at,
            reason,
        })
    }

    /// Parses fixture JSON; on error returns the JSON path and the reason.
    pub fn parse(text: &[u8]) -> Result<Fixture, Invalid> {
        let de = &mut serde_json::Deserializer::from_slice(text);
        let fixture: Fixture = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = json_path(&e.path().to_string());
            let mut reason = e.into_inner().to_string();
            if let Some(i) = reason.find(" at line ") {
                reason.truncate(i);
            }
            (at, reason)
        })?;
        for (i, rule) in fixture.faults.iter().enumerate() {
            rule.validate().map_err(|r| (format!("$.faults[{i}]"), r))?;
        }
        Ok(fixture)
    }

    /// Adds this fixture's accounts and tokens to `state`. Validates every token
    /// first, so a failure leaves `state` untouched.
    pub fn apply(&self, state: &mut State, now_ms: i64) -> Result<(), Invalid> {
        let mut staged = state.clone();
        for (a, account) in self.accounts.iter().enumerate() {
            let at = format!("$.accounts[{a}]");
            if account.name.is_empty() || account.name.chars().count() > 100 {
                return Err((format!("{at}.name"), "must be 1..=100 characters".into()));
            }
            let id = staged.account(&account.name);
            for (t, token) in account.tokens.iter().enumerate() {
                let at = format!("{at}.tokens[{t}]");
                let stored = token
                    .to_stored(now_ms)
                    .map_err(|(f, r)| (format!("{at}{f}"), r))?;
                // The same key in the same account (a bootstrap key in a saved
                // snapshot, say) is one token; in another account it is an error.
                match tokens::find(&staged, &stored.digest) {
                    Some(owner) if owner.account == id => continue,
                    Some(owner) => {
                        let other = staged.account_name(owner.account).to_owned();
                        return Err((at, format!("this key already belongs to account {other:?}")));
                    }
                    None => tokens::restore(&mut staged, id, stored).map_err(|r| (at, r))?,
                }
            }
        }
        *state = staged;
        Ok(())
    }

    /// A snapshot of every account and token, without secrets.
    pub fn snapshot(state: &State) -> Fixture {
        Fixture {
            schema: None,
            accounts: state
                .accounts()
                .map(|(id, name)| FixtureAccount {
                    name: name.to_owned(),
                    tokens: tokens::export(state, id)
                        .into_iter()
                        .map(FixtureToken::from_stored)
                        .collect(),
                })
                .collect(),
            faults: Vec::new(),
        }
    }
}

impl FixtureToken {
    fn to_stored(&self, now_ms: i64) -> Result<StoredToken, Invalid> {
        let field = |f: &str, r: String| (format!(".{f}"), r);
        let len = self.name.chars().count();
        if !(1..=NAME_MAX).contains(&len) {
            return Err(field(
                "name",
                format!("must be between 1 and {NAME_MAX} characters"),
            ));
        }
        if let Some(d) = &self.description {
            if d.chars().count() > DESCRIPTION_MAX {
                return Err(field(
                    "description",
                    format!("must be at most {DESCRIPTION_MAX} characters"),
                ));
            }
        }
        let time = |f: &str, v: &Option<String>| -> Result<Option<i64>, Invalid> {
            v.as_deref()
                .map(|t| {
                    clock::parse_rfc3339(t)
                        .ok_or_else(|| field(f, format!("{t:?} is not an RFC 3339 timestamp")))
                })
                .transpose()
        };
        let created_ms = time("createdAt", &self.created_at)?.unwrap_or(now_ms);
        let last_used_ms = time("lastUsedAt", &self.last_used_at)?;
        let mut stored = match (&self.token, &self.id, &self.token_suffix) {
            (Some(secret), None, None) => {
                check_secret(secret).map_err(|r| field("token", r))?;
                StoredToken::from_secret(
                    secret,
                    &self.name,
                    self.description.as_deref(),
                    created_ms,
                )
            }
            (None, Some(id), Some(suffix)) => StoredToken {
                digest: tokens::parse_id(id)
                    .ok_or_else(|| field("id", "must be 64 lowercase hex characters".into()))?,
                suffix: suffix.clone(),
                name: self.name.clone(),
                description: self.description.clone(),
                created_ms,
                last_used_ms: None,
            },
            _ => {
                return Err((
                    String::new(),
                    "give either `token`, or both `id` and `tokenSuffix`".into(),
                ))
            }
        };
        stored.last_used_ms = last_used_ms;
        Ok(stored)
    }

    fn from_stored(t: StoredToken) -> FixtureToken {
        FixtureToken {
            token: None,
            id: Some(tokens::id_of(&t.digest)),
            token_suffix: Some(t.suffix),
            name: t.name,
            description: t.description,
            created_at: Some(clock::format_ms(t.created_ms)),
            last_used_at: t.last_used_ms.map(clock::format_ms),
        }
    }
}

fn json_path(serde_path: &str) -> String {
    if serde_path == "." || serde_path.is_empty() {
        "$".to_owned()
    } else {
        format!("$.{serde_path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_json_path() {
        let (at, reason) =
            Fixture::parse(br#"{"accounts":[{"name":"a","tokens":[{"name":5}]}]}"#).unwrap_err();
        assert_eq!(at, "$.accounts[0].tokens[0].name");
        assert!(reason.contains("invalid type"), "{reason}");
        let (at, reason) = Fixture::parse(br#"{"acounts":[]}"#).unwrap_err();
        assert_eq!(at, "$.acounts");
        assert!(reason.contains("unknown field"), "{reason}");
        let (at, reason) = Fixture::parse(br#"{"faults":[{"status":700}]}"#).unwrap_err();
        assert_eq!(at, "$.faults[0]");
        assert!(reason.contains("status"));
    }

    #[test]
    fn apply_is_all_or_nothing() {
        let fixture = Fixture::parse(
            br#"{"accounts":[{"name":"a","tokens":[{"token":"key-good-0001","name":"ok"},{"token":"nokey","name":"bad"}]}]}"#,
        )
        .unwrap();
        let mut state = State::new();
        let (at, _) = fixture.apply(&mut state, 0).unwrap_err();
        assert_eq!(at, "$.accounts[0].tokens[1].token");
        assert!(state.find_account("a").is_none());
    }

    #[test]
    fn a_snapshot_is_a_loadable_fixture_that_keeps_keys_working() {
        let fixture = Fixture::parse(
            br#"{"accounts":[{"name":"a","tokens":[{"token":"key-known-0001","name":"ci","createdAt":"2026-01-02T03:04:05Z"}]}]}"#,
        )
        .unwrap();
        let mut state = State::new();
        fixture.apply(&mut state, 0).unwrap();
        let text = serde_json::to_vec(&Fixture::snapshot(&state)).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains("key-known-0001"));
        let mut reloaded = State::new();
        Fixture::parse(&text)
            .unwrap()
            .apply(&mut reloaded, 0)
            .unwrap();
        assert!(tokens::identify(&reloaded, "key-known-0001").is_some());
        assert_eq!(Fixture::snapshot(&reloaded), Fixture::snapshot(&state));
    }
}
