//! API tokens (operations `createApiToken`, `listApiTokens`, `deleteApiToken`)
//! and authentication by them. Owns the token store; knows nothing of HTTP.
//!
//! A token's secret is never stored: only its SHA-256 digest. The digest in
//! hex is the token's public `id` (the spec's "Token hash/ID"), so a state
//! file or snapshot can hold every token without holding a credential.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{optional_string, required_string, shorten, Ctx, Message};
use crate::clock;
use crate::error::ApiError;
use crate::state::{AccountId, State};

/// Every token secret starts with this.
pub const SECRET_PREFIX: &str = "key-";
/// Random characters after the prefix in a generated secret.
pub const SECRET_RANDOM_CHARS: usize = 40;
/// `name`: 1..=100 code points, as the spec's `CreateApiTokenRequest` says.
pub const NAME_MAX: usize = 100;
/// `description`: at most 500 code points.
pub const DESCRIPTION_MAX: usize = 500;
/// Token list cursors start with this.
const CURSOR_TAG: char = 't';
/// `limit` when the client gives none.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` the spec allows.
pub const MAX_LIMIT: usize = 100;

/// A SHA-256 digest of a secret.
pub type TokenDigest = [u8; 32];

/// The lookup half of a digest: auth finds the candidate by it, then compares
/// the whole digest in constant time.
type LookupKey = [u8; 16];

/// One stored token. Kept small: a million of these must fit in ~half a GB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    digest: TokenDigest,
    suffix: [u8; 4],
    name: Box<str>,
    description: Option<Box<str>>,
    created_ms: i64,
    last_used_ms: Option<i64>,
}

/// The tokens of every account, in creation order, plus the auth index.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    /// Per account (indexed by [`AccountId`]): creation sequence → token. The
    /// sequence is the pagination cursor, so a page is an O(log n) range scan.
    lists: Vec<BTreeMap<u64, Token>>,
    by_lookup: HashMap<LookupKey, (AccountId, u64)>,
    next_seq: u64,
}

/// Where a live token sits, as found by [`identify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// The token's account.
    pub account: AccountId,
    seq: u64,
}

/// A token as the API shows it: never the secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// Hex SHA-256 of the secret.
    pub id: String,
    /// The token's name.
    pub name: String,
    /// The token's description, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The secret's last four characters.
    pub token_suffix: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; absent until the token authenticates a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// The create response: the view plus the secret, shown this once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreatedToken {
    /// The token as listings will show it.
    #[serde(flatten)]
    pub view: TokenView,
    /// The full secret.
    pub token: String,
}

/// The `data` of a list response.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenList<'a> {
    /// This page's tokens, oldest first.
    pub tokens: Vec<TokenRow<'a>>,
}

/// A stored token serialised straight from the store, as [`TokenView`] would
/// be but without building its strings: a list page serialises 50 of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRow<'a>(&'a Token);

impl TokenRow<'_> {
    /// The owned view of the same token.
    pub fn view(&self) -> TokenView {
        view(self.0)
    }
}

impl Serialize for TokenRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let t = self.0;
        let id = hex_id(&t.digest);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", std::str::from_utf8(&id).expect("hex is ASCII"))?;
        map.serialize_entry("name", &*t.name)?;
        if let Some(d) = &t.description {
            map.serialize_entry("description", &**d)?;
        }
        // The suffix is checked to be visible ASCII when stored.
        map.serialize_entry(
            "tokenSuffix",
            std::str::from_utf8(&t.suffix).unwrap_or("????"),
        )?;
        map.serialize_entry("createdAt", &clock::Timestamp(t.created_ms))?;
        if let Some(used) = t.last_used_ms {
            map.serialize_entry("lastUsedAt", &clock::Timestamp(used))?;
        }
        map.end()
    }
}

/// One page of a listing and the cursor to the next, if more remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a> {
    /// The envelope's `data`.
    pub data: TokenList<'a>,
    /// The envelope's top-level `nextCursor`.
    pub next_cursor: Option<String>,
}

/// A validated `CreateApiTokenRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// 1..=100 code points.
    pub name: String,
    /// At most 500 code points.
    pub description: Option<String>,
}

impl NewToken {
    /// Validates a decoded body against the spec's schema. Unknown fields are
    /// ignored, as the schema does not forbid them.
    pub fn parse(body: Map<String, Value>) -> Result<NewToken, ApiError> {
        Ok(NewToken {
            name: required_string(&body, "name", 1, NAME_MAX)?,
            description: optional_string(&body, "description", DESCRIPTION_MAX)?,
        })
    }
}

/// The validated query of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// 1..=100.
    pub limit: usize,
    /// Continue after this creation sequence.
    pub after: Option<u64>,
}

impl ListQuery {
    /// Parses `limit` and `cursor` from a raw query string; other parameters are ignored.
    pub fn parse(query: Option<&str>) -> Result<ListQuery, ApiError> {
        let mut limit = None;
        let mut cursor = None;
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match key.as_ref() {
                "limit" => &mut limit,
                "cursor" => &mut cursor,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(ApiError::Validation(format!(
                    "{key} must be given at most once"
                )));
            }
        }
        let limit = match limit {
            None => DEFAULT_LIMIT,
            // Rust's parser takes a leading `+`; a query parameter should not.
            Some(text) if text.starts_with('+') => {
                return Err(ApiError::Validation("limit must be an integer".to_owned()))
            }
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
                Ok(_) => {
                    return Err(ApiError::Validation(format!(
                        "limit must be between 1 and {MAX_LIMIT}"
                    )))
                }
                // An integer too large for i64 is still an integer, just out of range.
                Err(_) if is_integer_text(&text) => {
                    return Err(ApiError::Validation(format!(
                        "limit must be between 1 and {MAX_LIMIT}"
                    )))
                }
                Err(_) => return Err(ApiError::Validation("limit must be an integer".to_owned())),
            },
        };
        let after = match cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(super::decode_cursor(CURSOR_TAG, text).ok_or_else(|| {
                ApiError::Validation("cursor is not a cursor this server issued".to_owned())
            })?),
        };
        Ok(ListQuery { limit, after })
    }
}

/// A fresh secret: `key-` and 40 alphanumerics from the thread-local CSPRNG
/// (ChaCha, seeded from the OS), about 238 bits of entropy.
pub fn new_secret() -> String {
    let mut secret = String::with_capacity(SECRET_PREFIX.len() + SECRET_RANDOM_CHARS);
    secret.push_str(SECRET_PREFIX);
    Alphanumeric.append_string(&mut rand::rng(), &mut secret, SECRET_RANDOM_CHARS);
    secret
}

/// The SHA-256 digest of a secret.
pub fn digest(secret: &str) -> TokenDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Checks that a caller-chosen secret (a `--api-key` or a fixture's `token`)
/// could be sent in an `Authorization` header and has a four-character suffix.
pub fn check_secret(secret: &str) -> Result<(), String> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Err(format!("a key must start with `{SECRET_PREFIX}`"));
    }
    if secret.len() < SECRET_PREFIX.len() + 4 {
        return Err("a key needs at least 4 characters after `key-`".to_owned());
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a key may hold only visible ASCII characters".to_owned());
    }
    Ok(())
}

/// The token a presented `Authorization` value names, if it is live.
///
/// The secret is hashed first and only digests are compared: see [`find`].
pub fn identify(state: &State, presented: &str) -> Option<KeyRef> {
    find(state, &digest(presented))
}

/// The live token with this digest: the map lookup uses half the digest, and
/// the full digest is compared in constant time.
pub fn find(state: &State, digest: &TokenDigest) -> Option<KeyRef> {
    let &(account, seq) = state.tokens.by_lookup.get(&lookup_key(digest))?;
    let token = state.tokens.lists[account as usize].get(&seq)?;
    bool::from(token.digest.ct_eq(digest)).then_some(KeyRef { account, seq })
}

/// Records that a token authenticated a request now.
pub fn mark_used(state: &mut State, key: KeyRef, now_ms: i64) {
    if let Some(token) = state.tokens.lists[key.account as usize].get_mut(&key.seq) {
        token.last_used_ms = Some(now_ms);
    }
}

/// `POST /api/tokens`: stores a token for `secret` in the caller's account.
pub fn create(state: &mut State, ctx: Ctx, new: NewToken, secret: String) -> CreatedToken {
    let token = Token {
        digest: digest(&secret),
        suffix: suffix_of(&secret),
        name: new.name.into(),
        description: new.description.map(Into::into),
        created_ms: ctx.now_ms,
        last_used_ms: None,
    };
    let view = view(&token);
    state
        .tokens
        .insert(ctx.account, token)
        .expect("a fresh 238-bit secret never collides");
    CreatedToken {
        view,
        token: secret,
    }
}

/// `GET /api/tokens`: one page of the caller's tokens, oldest first.
pub fn list<'a>(state: &'a State, ctx: Ctx, query: &ListQuery) -> Result<Page<'a>, ApiError> {
    let Some(tokens) = state.tokens.lists.get(ctx.account as usize) else {
        return Ok(Page {
            data: TokenList { tokens: Vec::new() },
            next_cursor: None,
        });
    };
    let start = match query.after {
        Some(seq) => Bound::Excluded(seq),
        None => Bound::Unbounded,
    };
    let mut range = tokens.range((start, Bound::Unbounded));
    let page: Vec<(&u64, &Token)> = range.by_ref().take(query.limit).collect();
    let next_cursor = match (page.last(), range.next()) {
        (Some((&seq, _)), Some(_)) => Some(super::encode_cursor(CURSOR_TAG, seq)),
        _ => None,
    };
    Ok(Page {
        data: TokenList {
            tokens: page.into_iter().map(|(_, t)| TokenRow(t)).collect(),
        },
        next_cursor,
    })
}

/// `DELETE /api/tokens/{id}`: revokes a token of the caller's account. Another
/// account's id is as unknown as a made-up one.
pub fn delete(state: &mut State, ctx: Ctx, id: &str) -> Result<Message, ApiError> {
    let not_found = || ApiError::NotFound(format!("API token {} not found", shorten(id)));
    let d = parse_id(id).ok_or_else(not_found)?;
    let key = find(state, &d)
        .filter(|k| k.account == ctx.account)
        .ok_or_else(not_found)?;
    state.tokens.lists[key.account as usize].remove(&key.seq);
    state.tokens.by_lookup.remove(&lookup_key(&d));
    Ok(Message {
        message: "API token deleted".to_owned(),
    })
}

/// A token as fixtures and state files describe it: by digest, never by secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// SHA-256 of the secret.
    pub digest: TokenDigest,
    /// The secret's last four characters.
    pub suffix: String,
    /// 1..=100 code points.
    pub name: String,
    /// At most 500 code points.
    pub description: Option<String>,
    /// Epoch milliseconds.
    pub created_ms: i64,
    /// Epoch milliseconds.
    pub last_used_ms: Option<i64>,
}

impl StoredToken {
    /// The stored form of a known secret.
    pub fn from_secret(
        secret: &str,
        name: &str,
        description: Option<&str>,
        created_ms: i64,
    ) -> Self {
        StoredToken {
            digest: digest(secret),
            suffix: String::from_utf8_lossy(&suffix_of(secret)).into_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_ms,
            last_used_ms: None,
        }
    }
}

/// Adds a token loaded from a fixture or state file, after every token the
/// account already has. Fails if a live token has the same secret.
pub fn restore(state: &mut State, account: AccountId, stored: StoredToken) -> Result<(), String> {
    let suffix: [u8; 4] = stored
        .suffix
        .as_bytes()
        .try_into()
        .ok()
        .filter(|s: &[u8; 4]| s.iter().all(u8::is_ascii_graphic))
        .ok_or("tokenSuffix must be 4 visible ASCII characters")?;
    let token = Token {
        digest: stored.digest,
        suffix,
        name: stored.name.into(),
        description: stored.description.map(Into::into),
        created_ms: stored.created_ms,
        last_used_ms: stored.last_used_ms,
    };
    state.tokens.insert(account, token)
}

/// Every token of an account, oldest first, in stored form.
pub fn export(state: &State, account: AccountId) -> Vec<StoredToken> {
    state
        .tokens
        .lists
        .get(account as usize)
        .into_iter()
        .flat_map(|l| l.values())
        .map(|t| StoredToken {
            digest: t.digest,
            suffix: String::from_utf8_lossy(&t.suffix).into_owned(),
            name: t.name.to_string(),
            description: t.description.as_deref().map(str::to_owned),
            created_ms: t.created_ms,
            last_used_ms: t.last_used_ms,
        })
        .collect()
}

/// The public id of a token digest.
pub fn id_of(digest: &TokenDigest) -> String {
    std::str::from_utf8(&hex_id(digest))
        .expect("hex is ASCII")
        .to_owned()
}

/// The id in a fixed buffer: `hex::encode` builds a string a char at a time,
/// which showed in list profiles.
fn hex_id(digest: &TokenDigest) -> [u8; 64] {
    let mut buf = [0u8; 64];
    hex::encode_to_slice(digest, &mut buf).expect("64 bytes hold 32 in hex");
    buf
}

/// The digest a public id names, if it is one.
pub fn parse_id(id: &str) -> Option<TokenDigest> {
    let mut d = [0u8; 32];
    (id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| hex::decode_to_slice(id, &mut d).ok())
    .flatten()
    .map(|()| d)
}

impl TokenStore {
    fn insert(&mut self, account: AccountId, token: Token) -> Result<(), String> {
        let key = lookup_key(&token.digest);
        if self.by_lookup.contains_key(&key) {
            return Err(format!("token {} is already present", id_of(&token.digest)));
        }
        let idx = account as usize;
        if self.lists.len() <= idx {
            self.lists.resize_with(idx + 1, BTreeMap::new);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.lists[idx].insert(seq, token);
        self.by_lookup.insert(key, (account, seq));
        Ok(())
    }
}

fn view(t: &Token) -> TokenView {
    TokenView {
        id: id_of(&t.digest),
        name: t.name.to_string(),
        description: t.description.as_deref().map(str::to_owned),
        token_suffix: String::from_utf8_lossy(&t.suffix).into_owned(),
        created_at: clock::format_ms(t.created_ms),
        last_used_at: t.last_used_ms.map(clock::format_ms),
    }
}

fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn suffix_of(secret: &str) -> [u8; 4] {
    let b = secret.as_bytes();
    let mut s = [b'?'; 4];
    if b.len() >= 4 {
        s.copy_from_slice(&b[b.len() - 4..]);
    }
    s
}

fn lookup_key(d: &TokenDigest) -> LookupKey {
    d[..16].try_into().expect("16 of 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(state: &mut State, account: &str) -> Ctx {
        Ctx {
            account: state.account(account),
            now_ms: 1_800_000_000_000,
        }
    }

    fn new(name: &str) -> NewToken {
        NewToken {
            name: name.into(),
            description: None,
        }
    }

    #[test]
    fn secrets_are_prefixed_long_and_unique() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with("key-") && a.len() == 44);
        assert_ne!(a, b);
        assert!(check_secret(&a).is_ok());
    }

    #[test]
    fn created_token_authenticates_until_deleted() {
        let mut state = State::new();
        let c = ctx(&mut state, "a");
        let created = create(&mut state, c, new("ci"), new_secret());
        assert_eq!(created.view.id, id_of(&digest(&created.token)));
        assert_eq!(&created.token[40..], created.view.token_suffix);
        let key = identify(&state, &created.token).expect("live");
        assert_eq!(key.account, c.account);
        delete(&mut state, c, &created.view.id).unwrap();
        assert_eq!(identify(&state, &created.token), None);
        assert!(matches!(
            delete(&mut state, c, &created.view.id),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn other_accounts_cannot_see_or_delete() {
        let mut state = State::new();
        let a = ctx(&mut state, "a");
        let b = ctx(&mut state, "b");
        let created = create(&mut state, a, new("mine"), new_secret());
        let q = ListQuery {
            limit: 50,
            after: None,
        };
        assert!(list(&state, b, &q).unwrap().data.tokens.is_empty());
        assert!(delete(&mut state, b, &created.view.id).is_err());
        assert_eq!(list(&state, a, &q).unwrap().data.tokens.len(), 1);
    }

    #[test]
    fn pages_follow_creation_order_and_end_without_a_cursor() {
        let mut state = State::new();
        let c = ctx(&mut state, "a");
        for i in 0..5 {
            create(&mut state, c, new(&format!("t{i}")), new_secret());
        }
        let first = list(
            &state,
            c,
            &ListQuery {
                limit: 2,
                after: None,
            },
        )
        .unwrap();
        assert_eq!(first.data.tokens[0].view().name, "t0");
        let cursor = first.next_cursor.expect("more remain");
        let q = ListQuery::parse(Some(&format!("limit=3&cursor={cursor}"))).unwrap();
        let second = list(&state, c, &q).unwrap();
        let names: Vec<_> = second.data.tokens.iter().map(|t| t.view().name).collect();
        assert_eq!(names, ["t2", "t3", "t4"]);
        assert_eq!(second.next_cursor, None);
    }

    #[test]
    fn list_query_rejects_bad_limits_and_cursors() {
        for q in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=abc",
            "limit=1.5",
            "limit=",
            "cursor=zzz",
            "cursor=t",
            "limit=1&limit=2",
        ] {
            assert!(ListQuery::parse(Some(q)).is_err(), "{q}");
        }
        assert_eq!(ListQuery::parse(Some("limit=100")).unwrap().limit, 100);
        let huge = ListQuery::parse(Some("limit=99999999999999999999999")).unwrap_err();
        assert_eq!(huge.message(), "limit must be between 1 and 100");
        assert_eq!(ListQuery::parse(None).unwrap().limit, 50);
    }

    #[test]
    fn a_listed_row_serialises_exactly_as_its_view() {
        let mut state = State::new();
        let c = ctx(&mut state, "a");
        let plain = create(&mut state, c, new("plain"), new_secret());
        let described = NewToken {
            name: "d\"é😀".into(),
            description: Some("why".into()),
        };
        create(&mut state, c, described, new_secret());
        let key = identify(&state, &plain.token).unwrap();
        mark_used(&mut state, key, 1_800_000_000_500);
        let page = list(
            &state,
            c,
            &ListQuery {
                limit: 50,
                after: None,
            },
        )
        .unwrap();
        for row in &page.data.tokens {
            let direct = serde_json::to_value(row).unwrap();
            assert_eq!(direct, serde_json::to_value(row.view()).unwrap());
        }
        let first = serde_json::to_value(page.data.tokens[0]).unwrap();
        assert_eq!(first["lastUsedAt"], "2027-01-15T08:00:00.5Z");
        assert!(first.get("description").is_none());
    }

    #[test]
    fn ids_must_be_64_lowercase_hex() {
        assert!(parse_id(&"a".repeat(64)).is_some());
        assert!(parse_id(&"A".repeat(64)).is_none());
        assert!(parse_id(&"a".repeat(63)).is_none());
        assert!(parse_id("").is_none());
    }

    #[test]
    fn restore_refuses_a_duplicate_secret() {
        let mut state = State::new();
        let a = state.account("a");
        let stored = StoredToken::from_secret("key-fixed-0001", "x", None, 0);
        restore(&mut state, a, stored.clone()).unwrap();
        assert!(restore(&mut state, a, stored).is_err());
        assert!(identify(&state, "key-fixed-0001").is_some());
    }
}
