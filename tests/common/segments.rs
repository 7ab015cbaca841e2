//! Self-identifying object bodies for the suites that must tell a torn or
//! mixed object from a whole one (`crash_objects.rs`, `concurrency_objects.rs`):
//! a body is a run of segments `<id|len>` + `len` bytes derived from `id`.

/// The bytes a segment id stands for: FNV-1a of the id seeds xorshift64.
pub fn payload(id: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        x = (x ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    x |= 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// One segment: `<id|len>` then the id's payload.
pub fn segment(id: &str, len: usize) -> Vec<u8> {
    let mut out = format!("<{id}|{len}>").into_bytes();
    out.extend(payload(id, len));
    out
}

/// Splits an object into its segments' ids, checking each payload byte for
/// byte; `Err` says where the bytes stop making sense.
pub fn segments(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest[0] != b'<' {
            return Err(format!("no segment header at byte {at}"));
        }
        let close = rest
            .iter()
            .position(|&b| b == b'>')
            .filter(|&i| i < 64)
            .ok_or(format!("an unterminated header at byte {at}"))?;
        let header = std::str::from_utf8(&rest[1..close])
            .map_err(|_| format!("a non-UTF-8 header at byte {at}"))?;
        let (id, len) = header
            .split_once('|')
            .ok_or(format!("a malformed header {header:?} at byte {at}"))?;
        let len: usize = len
            .parse()
            .map_err(|_| format!("a malformed length in {header:?} at byte {at}"))?;
        let start = close + 1;
        if rest.len() < start + len {
            return Err(format!("segment {id} is cut short at byte {at}"));
        }
        if rest[start..start + len] != payload(id, len)[..] {
            return Err(format!("segment {id} at byte {at} is not its own bytes"));
        }
        ids.push(id.to_owned());
        at += start + len;
    }
    Ok(ids)
}
