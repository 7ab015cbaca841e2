//! Share URLs (operation `createShareUrl`): a URL on this server that
//! serves one object of a disk without an API key until it expires. The
//! token is signed ([`crate::gateway::share`]); nothing is stored.

use serde::Serialize;

use super::disks::{self, Malformed};
use super::{optional_integer, Ctx, Input};
use crate::error::ApiError;
use crate::gateway::route::check_key;
use crate::gateway::share::{self, DEFAULT_EXPIRES_SECS, MAX_EXPIRES_SECS, PATH_PREFIX};
use crate::state::State;

/// `data` of `createShareUrl`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShareUrl {
    /// `http://HOST/api/shared/<token>`.
    pub url: String,
    /// Seconds it stays valid.
    pub expires_in: i64,
}

/// `POST /api/disks/{id}/share` with `{key, expiresIn?}`. The object must
/// exist now (404 otherwise), so a typo fails here rather than when the URL
/// is opened.
pub fn create(state: &mut State, ctx: Ctx, id: &str, input: Input) -> Result<ShareUrl, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::BadRequest)?;
    let body = super::json_object(input)?;
    let key = super::string_field(&body, "key")?
        .ok_or_else(|| super::missing("key"))?
        .trim_start_matches('/')
        .to_owned();
    check_key(&key).map_err(|e| ApiError::Validation(format!("key: {}", e.message)))?;
    let expires_in =
        optional_integer(&body, "expiresIn", 1, MAX_EXPIRES_SECS)?.unwrap_or(DEFAULT_EXPIRES_SECS);
    disk.objects.file(&key).map_err(|_| {
        ApiError::NotFound(format!("no object {} on this disk", super::shorten(&key)))
    })?;
    let token = share::sign(
        &state.settings.share_key,
        disk.id,
        &key,
        ctx.now_ms.saturating_add(expires_in * 1000),
    );
    let host = input.host.unwrap_or("127.0.0.1");
    Ok(ShareUrl {
        url: format!("http://{host}{PATH_PREFIX}{token}"),
        expires_in,
    })
}
