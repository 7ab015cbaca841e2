//! Disk users (operations `addDiskUser`, `removeDiskUser`): who may mount a
//! disk, by a disk token or an AWS STS principal.
//!
//! A disk token is a credential: it is generated from the CSPRNG, shown once,
//! and only its SHA-256 digest is kept; a presented token is found by
//! comparing digests in constant time.

use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::disks::{self, Disk, Malformed};
use super::{json_type_name, optional_bool, query_params, shorten, Ctx, Input, Message};
use crate::clock;
use crate::error::ApiError;
use crate::state::State;

/// Every generated disk token starts with this (a mock convention: the
/// real format is not published).
pub const TOKEN_PREFIX: &str = "dtk-";
/// Random characters after the prefix.
pub const TOKEN_RANDOM_CHARS: usize = 40;
/// `nickname`: at most 255 characters.
pub const NICKNAME_MAX: usize = 255;
/// `principal`: at most 2048 characters.
pub const PRINCIPAL_MAX: usize = 2048;
/// The longest `ttl`: one year, `8760h`.
pub const TTL_MAX_MS: i64 = 8760 * 3_600_000;

/// How a user authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserKind {
    /// A disk token.
    Token,
    /// An AWS STS role, by its IAM principal ARN.
    Awssts,
}

impl UserKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Token => "token",
            UserKind::Awssts => "awssts",
        }
    }

    /// Parses the path's `{userType}`.
    pub fn parse(text: &str) -> Option<UserKind> {
        match text {
            "token" => Some(UserKind::Token),
            "awssts" => Some(UserKind::Awssts),
            _ => None,
        }
    }
}

/// One stored user of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUser {
    /// Token or AWS STS.
    pub kind: UserKind,
    /// Stable: a UUID for token users, the ARN for awssts users.
    pub identifier: String,
    /// Token users' nickname.
    pub nickname: Option<String>,
    /// Token users: SHA-256 of the token.
    pub digest: Option<[u8; 32]>,
    /// Token users: the token's last four characters.
    pub suffix: Option<String>,
    /// Epoch ms.
    pub created_ms: i64,
    /// Epoch ms after which the user no longer works.
    pub expires_ms: Option<i64>,
    /// Whether the user works for one mount only.
    pub one_use: bool,
    /// Whether mounts are read-only.
    pub read_only: bool,
    /// Epoch ms a one-use user was consumed (only from fixtures: nothing mounts here).
    pub consumed_ms: Option<i64>,
}

/// How a new user's token is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The server generates one and shows it once.
    Generated,
    /// The deprecated client-supplied token (`principal` + `tokenSuffix`).
    Supplied {
        /// The token.
        token: String,
        /// Its last four characters, as the client gave them.
        suffix: String,
    },
    /// An AWS STS principal ARN.
    Principal(String),
}

/// A validated `DiskUser` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// `nickname` (token users).
    pub nickname: Option<String>,
    /// What it authenticates with.
    pub credential: Credential,
    /// `ttl` or `expiresAt`, resolved to epoch ms.
    pub expires_ms: Option<i64>,
    /// `oneUse`.
    pub one_use: bool,
    /// `readOnly`.
    pub read_only: bool,
}

impl NewUser {
    /// A token user with a generated token and no options.
    pub fn token(nickname: &str) -> NewUser {
        NewUser {
            nickname: Some(nickname.to_owned()),
            credential: Credential::Generated,
            expires_ms: None,
            one_use: false,
            read_only: false,
        }
    }

    /// Validates a `TokenUser` or `AwsStsUser` (discriminator `type`); errors
    /// name the field and the rule. Unknown fields are ignored.
    pub fn parse(body: &Map<String, Value>, now_ms: i64) -> Result<NewUser, ApiError> {
        let bad = |m: String| ApiError::Validation(m);
        let t = super::string_field(body, "type")?
            .ok_or_else(|| bad("type is required (token or awssts)".into()))?;
        let kind = UserKind::parse(t).ok_or_else(|| {
            bad(format!(
                "type must be token or awssts, not {:?}",
                shorten(t)
            ))
        })?;
        let principal = super::optional_string(body, "principal", PRINCIPAL_MAX)?;
        let (nickname, credential) = match kind {
            UserKind::Token => {
                let nickname = super::required_string(body, "nickname", 0, NICKNAME_MAX)?;
                let credential = match principal {
                    None => Credential::Generated,
                    Some(token) => {
                        let suffix = match body.get("tokenSuffix") {
                            None => {
                                return Err(bad(
                                    "tokenSuffix is required when principal is given".into()
                                ))
                            }
                            Some(Value::String(s)) if s.chars().count() == 4 => s.clone(),
                            Some(Value::String(_)) => {
                                return Err(bad("tokenSuffix must be exactly 4 characters".into()))
                            }
                            Some(other) => {
                                return Err(bad(format!(
                                    "tokenSuffix must be a string, not {}",
                                    json_type_name(other)
                                )))
                            }
                        };
                        if token.is_empty() {
                            return Err(bad("principal must not be empty".into()));
                        }
                        if !token.ends_with(&suffix) {
                            return Err(bad(
                                "tokenSuffix must be the last 4 characters of principal".into(),
                            ));
                        }
                        Credential::Supplied { token, suffix }
                    }
                };
                (Some(nickname), credential)
            }
            UserKind::Awssts => {
                let arn = principal
                    .ok_or_else(|| bad("principal is required for an awssts user".into()))?;
                if !arn.starts_with("arn:") {
                    return Err(bad("principal must be an IAM ARN (arn:…)".into()));
                }
                (None, Credential::Principal(arn))
            }
        };
        let expires_ms = match (body.get("ttl"), body.get("expiresAt")) {
            (Some(_), Some(_)) => {
                return Err(bad("ttl and expiresAt are mutually exclusive".into()))
            }
            (Some(Value::String(ttl)), None) => {
                let ms = parse_go_duration(ttl).ok_or_else(|| {
                    bad(format!(
                        "ttl must be a duration such as \"1h\" or \"30m\", not {:?}",
                        shorten(ttl)
                    ))
                })?;
                if ms <= 0 || ms > TTL_MAX_MS {
                    return Err(bad("ttl must be positive and at most 8760h".into()));
                }
                Some(now_ms.saturating_add(ms))
            }
            (None, Some(Value::String(at))) => {
                let at_ms = clock::parse_rfc3339(at).ok_or_else(|| {
                    bad(format!(
                        "expiresAt must be an RFC 3339 timestamp, not {:?}",
                        shorten(at)
                    ))
                })?;
                if at_ms <= now_ms {
                    return Err(bad("expiresAt must be in the future".into()));
                }
                Some(at_ms)
            }
            (Some(other), None) => {
                return Err(bad(format!(
                    "ttl must be a string, not {}",
                    json_type_name(other)
                )))
            }
            (None, Some(other)) => {
                return Err(bad(format!(
                    "expiresAt must be a string, not {}",
                    json_type_name(other)
                )))
            }
            (None, None) => None,
        };
        Ok(NewUser {
            nickname,
            credential,
            expires_ms,
            one_use: optional_bool(body, "oneUse")?.unwrap_or(false),
            read_only: optional_bool(body, "readOnly")?.unwrap_or(false),
        })
    }
}

/// A Go `time.ParseDuration` string (`1h30m`, `90s`, `1.5h`, `300ms`) in
/// milliseconds, rounded down; `None` if it is not one.
pub fn parse_go_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0);
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .bytes()
            .take_while(|b| !(b.is_ascii_digit() || *b == b'.'))
            .count();
        let unit_ns = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ns += number * unit_ns;
    }
    let ms = total_ns / 1e6;
    (ms.is_finite() && ms < i64::MAX as f64).then_some(ms as i64)
}

/// `AuthorizedUser` as the API shows it. `token` only on the response that
/// made it; dates left out rather than null.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// `token` or `awssts`.
    #[serde(rename = "type")]
    pub kind: UserKind,
    /// The ARN, for awssts users only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Token users' nickname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Token users: the token's last four characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_suffix: Option<String>,
    /// The generated token, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The stable identifier removal takes.
    pub identifier: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// One mount only.
    pub one_use: bool,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_at: Option<String>,
    /// Read-only mounts.
    pub read_only: bool,
    /// `active`, `consumed` or `expired`.
    pub status: &'static str,
}

impl DiskUser {
    /// Its status at `now_ms`.
    pub fn status(&self, now_ms: i64) -> &'static str {
        if self.consumed_ms.is_some() {
            "consumed"
        } else if self.expires_ms.is_some_and(|at| at <= now_ms) {
            "expired"
        } else {
            "active"
        }
    }

    /// The API view; `token` is the one-time secret, on creation only.
    pub fn view(&self, now_ms: i64, token: Option<String>) -> UserView {
        UserView {
            kind: self.kind,
            principal: (self.kind == UserKind::Awssts).then(|| self.identifier.clone()),
            nickname: self.nickname.clone(),
            token_suffix: self.suffix.clone(),
            token,
            identifier: self.identifier.clone(),
            created_at: clock::format_ms(self.created_ms),
            expires_at: self.expires_ms.map(clock::format_ms),
            one_use: self.one_use,
            consumed_at: self.consumed_ms.map(clock::format_ms),
            read_only: self.read_only,
            status: self.status(now_ms),
        }
    }
}

/// A fresh disk token: `dtk-` and 40 alphanumerics from the thread-local
/// CSPRNG (about 238 bits).
pub fn new_token() -> String {
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_RANDOM_CHARS);
    token.push_str(TOKEN_PREFIX);
    Alphanumeric.append_string(&mut rand::rng(), &mut token, TOKEN_RANDOM_CHARS);
    token
}

/// The SHA-256 digest of a disk token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The user of `users` whose token is `token`, comparing digests in constant time.
pub fn find_by_token<'u>(users: &'u [DiskUser], token: &str) -> Option<&'u DiskUser> {
    let presented = digest(token);
    let mut found = None;
    for user in users {
        if let Some(d) = &user.digest {
            if bool::from(d.ct_eq(&presented)) {
                found = Some(user);
            }
        }
    }
    found
}

/// Turns a request into a stored user (and the token to show once, if
/// generated). Refuses an ARN or a token the disk already has.
pub fn materialise(
    new: NewUser,
    now_ms: i64,
    existing: &[DiskUser],
) -> Result<(DiskUser, Option<String>), ApiError> {
    let (kind, identifier, digest_, suffix, shown) = match new.credential {
        Credential::Generated => {
            let token = new_token();
            let suffix = token[token.len() - 4..].to_owned();
            (
                UserKind::Token,
                uuid::Uuid::new_v4().to_string(),
                Some(digest(&token)),
                Some(suffix),
                Some(token),
            )
        }
        Credential::Supplied { token, suffix } => {
            if find_by_token(existing, &token).is_some() {
                return Err(ApiError::Validation(
                    "principal: this token is already a user of the disk".into(),
                ));
            }
            (
                UserKind::Token,
                uuid::Uuid::new_v4().to_string(),
                Some(digest(&token)),
                Some(suffix),
                None,
            )
        }
        Credential::Principal(arn) => {
            if existing
                .iter()
                .any(|u| u.kind == UserKind::Awssts && u.identifier == arn)
            {
                return Err(ApiError::Validation(format!(
                    "principal {} is already a user of the disk",
                    shorten(&arn)
                )));
            }
            (UserKind::Awssts, arn, None, None, None)
        }
    };
    Ok((
        DiskUser {
            kind,
            identifier,
            nickname: new.nickname,
            digest: digest_,
            suffix,
            created_ms: now_ms,
            expires_ms: new.expires_ms,
            one_use: new.one_use,
            read_only: new.read_only,
            consumed_ms: None,
        },
        shown,
    ))
}

/// `POST /api/disks/{id}/users`: 201 with the user, its token shown once if generated.
pub fn add(state: &mut State, ctx: Ctx, id: &str, input: Input) -> Result<UserView, ApiError> {
    let disk = disks::find_mut(state, ctx, id, Malformed::BadRequest)?;
    let new = NewUser::parse(&super::json_object(input)?, ctx.now_ms)?;
    let (user, token) = materialise(new, ctx.now_ms, &disk.users)?;
    let view = user.view(ctx.now_ms, token);
    disk.users.push(user);
    Ok(view)
}

/// `DELETE /api/disks/{id}/users/{userType}?identifier=…` (or the deprecated
/// `principal`, which for a token user is the token itself).
pub fn remove(
    state: &mut State,
    ctx: Ctx,
    id: &str,
    user_type: &str,
    query: Option<&str>,
) -> Result<Message, ApiError> {
    let disk: &mut Disk = disks::find_mut(state, ctx, id, Malformed::BadRequest)?;
    let kind = UserKind::parse(user_type).ok_or_else(|| {
        ApiError::Validation(format!(
            "userType must be token or awssts, not {:?}",
            shorten(user_type)
        ))
    })?;
    let [identifier, principal] = query_params(query, ["identifier", "principal"])?;
    let at = match (
        identifier.filter(|s| !s.is_empty()),
        principal.filter(|s| !s.is_empty()),
    ) {
        (Some(identifier), _) => disk
            .users
            .iter()
            .position(|u| u.kind == kind && u.identifier == identifier)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no {} user with identifier {} on this disk",
                    kind.as_str(),
                    shorten(&identifier)
                ))
            })?,
        (None, Some(principal)) => {
            let found = match kind {
                UserKind::Awssts => disk
                    .users
                    .iter()
                    .position(|u| u.kind == kind && u.identifier == principal),
                UserKind::Token => find_by_token(&disk.users, &principal)
                    .and_then(|f| disk.users.iter().position(|u| std::ptr::eq(u, f))),
            };
            found.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no {} user with that principal on this disk",
                    kind.as_str()
                ))
            })?
        }
        (None, None) => {
            return Err(ApiError::Validation(
                "identifier is required (or the deprecated principal)".into(),
            ))
        }
    };
    disk.users.remove(at);
    Ok(disks::message("User removed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<NewUser, ApiError> {
        match v {
            Value::Object(m) => NewUser::parse(&m, 1_000),
            _ => unreachable!(),
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h"), Some(3_600_000));
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_go_duration("1.5h"), Some(5_400_000));
        assert_eq!(parse_go_duration("300ms"), Some(300));
        assert_eq!(parse_go_duration("8760h"), Some(TTL_MAX_MS));
        for bad in ["", "h", "1", "1d", "-1h", "1h-", "1 h", "1..5h"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn ttl_and_expires_at_are_exclusive_and_bounded() {
        use serde_json::json;
        assert!(parse(json!({"type":"token","nickname":"a","ttl":"1h"})).is_ok());
        assert!(parse(json!({"type":"token","nickname":"a","ttl":"8761h"})).is_err());
        assert!(parse(json!({"type":"token","nickname":"a","ttl":"0s"})).is_err());
        let both = parse(
            json!({"type":"token","nickname":"a","ttl":"1h","expiresAt":"2100-01-01T00:00:00Z"}),
        );
        assert!(both.unwrap_err().message().contains("mutually exclusive"));
        assert!(
            parse(json!({"type":"token","nickname":"a","expiresAt":"1970-01-01T00:00:00Z"}))
                .is_err()
        );
    }

    #[test]
    fn a_supplied_token_needs_its_suffix() {
        use serde_json::json;
        assert!(parse(json!({"type":"token","nickname":"a","principal":"secret-abcd"})).is_err());
        assert!(parse(
            json!({"type":"token","nickname":"a","principal":"secret-abcd","tokenSuffix":"wxyz"})
        )
        .is_err());
        assert!(parse(
            json!({"type":"token","nickname":"a","principal":"secret-abcd","tokenSuffix":"abcd"})
        )
        .is_ok());
    }

    #[test]
    fn generated_tokens_are_found_by_digest_only() {
        let (user, token) = materialise(NewUser::token("x"), 0, &[]).unwrap();
        let token = token.unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == 44);
        assert_eq!(user.suffix.as_deref(), Some(&token[40..]));
        let users = [user];
        assert!(find_by_token(&users, &token).is_some());
        assert!(find_by_token(&users, "dtk-other").is_none());
    }
}
