//! `POST /api/disks` bodies: `api::json_object`, then `NewDisk::parse`; the
//! body and its first mount through `parse_mount` as a request and as a
//! fixture reads them; an accepted disk created twice in a fresh state.
//! Beyond "never panics", accepted names, mounts, IPs and root attributes
//! follow the README and the spec, credentials are never kept, and a repeated
//! create is idempotent (`checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::create_disk_body(data));
