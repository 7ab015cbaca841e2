//! Disk settings (operations `getAllowedIPs`, `setAllowedIPs`,
//! `listDelegations`, `revokeDelegation`): which addresses may mount a disk,
//! and the file delegations its clients hold. An emulator has no FUSE
//! clients, so delegations exist only where a fixture seeds them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::disks::{self, Malformed};
use super::{Ctx, Input, Message};
use crate::error::ApiError;
use crate::state::State;

/// One file delegation a client holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delegation {
    /// The client's id (a string on the wire).
    pub client_id: String,
    /// The inode delegated.
    pub inode_id: u64,
    /// The file's path, best effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether the delegation is still being granted.
    #[serde(default)]
    pub is_pending: bool,
    /// Whether its client is gone.
    #[serde(default)]
    pub is_orphaned: bool,
}

/// `data` of the allowed-IPs operations.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AllowedIps {
    /// IPs and CIDRs; empty allows all.
    pub allowed_ips: Vec<String>,
}

/// `data` of `listDelegations`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Delegations {
    /// Always an array (the clients crash on null).
    pub delegations: Vec<Delegation>,
}

/// Checks one allowed-IP entry: an IPv4 or IPv6 address, or a CIDR block
/// whose prefix fits the address family.
pub fn check_ip(entry: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "must be an IP address or CIDR block (e.g. 203.0.113.0/24), not {:?}",
            super::shorten(entry)
        ))
    };
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return bad();
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match prefix {
        None => Ok(()),
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u8>() {
                Ok(n) if n <= max => Ok(()),
                _ => bad(),
            }
        }
        Some(_) => bad(),
    }
}

/// `GET /api/disks/{id}/allowed-ips`. No 400 is documented, so a malformed id is 404.
pub fn get_allowed_ips(state: &State, ctx: Ctx, id: &str) -> Result<AllowedIps, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::NotFound)?;
    Ok(AllowedIps {
        allowed_ips: disk.allowed_ips.clone(),
    })
}

/// `PUT /api/disks/{id}/allowed-ips`: replaces the list; `[]` allows all.
pub fn set_allowed_ips(
    state: &mut State,
    ctx: Ctx,
    id: &str,
    input: Input,
) -> Result<AllowedIps, ApiError> {
    let disk = disks::find_mut(state, ctx, id, Malformed::BadRequest)?;
    let body = super::json_object(input)?;
    let ips = super::optional_strings(&body, "allowedIps", check_ip)?
        .ok_or_else(|| ApiError::Validation("allowedIps is required".into()))?;
    disk.allowed_ips = ips;
    Ok(AllowedIps {
        allowed_ips: disk.allowed_ips.clone(),
    })
}

/// `GET /api/disks/{id}/delegations`. No 400 is documented, so a malformed id is 404.
pub fn list_delegations(state: &State, ctx: Ctx, id: &str) -> Result<Delegations, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::NotFound)?;
    Ok(Delegations {
        delegations: disk.delegations.clone(),
    })
}

/// `POST /api/disks/{id}/revoke-delegation` with `{clientId, inodeId}`.
pub fn revoke_delegation(
    state: &mut State,
    ctx: Ctx,
    id: &str,
    input: Input,
) -> Result<Message, ApiError> {
    let disk = disks::find_mut(state, ctx, id, Malformed::BadRequest)?;
    let body = super::json_object(input)?;
    let client_id = super::string_field(&body, "clientId")?
        .ok_or_else(|| super::missing("clientId"))?
        .to_owned();
    let inode_id = super::optional_integer(&body, "inodeId", 0, i64::MAX)?
        .ok_or_else(|| ApiError::Validation("inodeId is required".into()))?
        as u64;
    let at = disk
        .delegations
        .iter()
        .position(|d| d.client_id == client_id && d.inode_id == inode_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no delegation of inode {inode_id} to client {}",
                super::shorten(&client_id)
            ))
        })?;
    disk.delegations.remove(at);
    Ok(disks::message("Delegation revoked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_ip_syntax() {
        for ok in [
            "203.0.113.7",
            "203.0.113.0/24",
            "0.0.0.0/0",
            "::1",
            "2001:db8::/32",
            "10.0.0.0/32",
            "::/128",
        ] {
            assert!(check_ip(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "203.0.113",
            "203.0.113.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "host.example",
            " 10.0.0.1",
            "10.0.0.0/08x",
            "256.0.0.1",
        ] {
            assert!(check_ip(bad).is_err(), "{bad}");
        }
    }
}
