//! Share URLs (`POST /api/disks/{id}/share`): a token that names the disk,
//! the key and the expiry, signed with HMAC-SHA256 under a key the server
//! draws at startup, so it cannot be guessed or altered, and needs no
//! stored state. `GET /api/shared/<token>` serves the object without an
//! API key until the expiry. Tokens do not survive a restart.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::S3Error;

/// Where share URLs are served.
pub const PATH_PREFIX: &str = "/api/shared/";
/// `expiresIn` when none is given: a day.
pub const DEFAULT_EXPIRES_SECS: i64 = 86_400;
/// The longest `expiresIn`: seven days.
pub const MAX_EXPIRES_SECS: i64 = 604_800;

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The disk's 64 bits.
    pub disk: u64,
    /// The object key.
    pub key: String,
}

fn mac(secret: &[u8; 32], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length works");
    mac.update(payload.as_bytes());
    mac
}

/// A token for `key` on `disk`, valid until `expires_ms`:
/// `<disk hex>.<expiry ms>.<key hex>.<signature hex>`, URL-safe.
pub fn sign(secret: &[u8; 32], disk: u64, key: &str, expires_ms: i64) -> String {
    let payload = format!("{disk:016x}.{expires_ms}.{}", hex::encode(key));
    let sig = hex::encode(mac(secret, &payload).finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// Checks a token's signature (in constant time) and expiry.
pub fn verify(secret: &[u8; 32], token: &str, now_ms: i64) -> Result<Grant, S3Error> {
    let denied = || S3Error::access_denied("the share URL is not valid");
    let (payload, sig) = token.rsplit_once('.').ok_or_else(denied)?;
    let sig = hex::decode(sig).map_err(|_| denied())?;
    mac(secret, payload)
        .verify_slice(&sig)
        .map_err(|_| denied())?;
    let mut fields = payload.splitn(3, '.');
    let (Some(disk), Some(expires), Some(key)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(denied());
    };
    let expires: i64 = expires.parse().map_err(|_| denied())?;
    if now_ms >= expires {
        return Err(S3Error::access_denied("the share URL has expired"));
    }
    Ok(Grant {
        disk: u64::from_str_radix(disk, 16).map_err(|_| denied())?,
        key: String::from_utf8(hex::decode(key).map_err(|_| denied())?).map_err(|_| denied())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_disk_key_and_expiry() {
        let secret = [7u8; 32];
        let token = sign(&secret, 0xab, "dir/a b.txt", 2_000);
        assert_eq!(
            verify(&secret, &token, 1_000),
            Ok(Grant {
                disk: 0xab,
                key: "dir/a b.txt".into()
            })
        );
        assert!(verify(&secret, &token, 2_000)
            .unwrap_err()
            .message
            .contains("expired"));
        assert!(
            verify(&[8u8; 32], &token, 1_000).is_err(),
            "another server's key"
        );
        let tampered = token.replacen("00000000000000ab", "00000000000000ac", 1);
        assert!(verify(&secret, &tampered, 1_000).is_err());
        let later = token.replacen(".2000.", ".9000.", 1);
        assert!(verify(&secret, &later, 1_000).is_err());
        assert!(verify(&secret, "garbage", 1_000).is_err());
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.'));
    }
}
