//! The gateway's request decoding: the first byte picks the method, the rest
//! is `path \n query \n body`. The path and query go through
//! `route::decode` (and the key through `route::decode_key`), the body
//! through the `CompleteMultipartUpload` and `Delete` readings the gateway
//! applies. Beyond "never panics", accepted keys, operations, parameters and
//! parts follow the README's rules, and every refusal is a 4xx whose XML
//! reads back (`checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::gateway_decode(data));
