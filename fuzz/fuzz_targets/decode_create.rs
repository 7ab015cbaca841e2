//! Arbitrary bytes through the request-decoding and validation path of
//! `POST /api/tokens` and `GET /api/tokens`: `api::json_object`, then
//! `NewToken::parse`, and `ListQuery::parse` on the same bytes as a query.
//! Beyond "never panics", whatever is accepted must be valid by the spec and
//! agree with a plain `serde_json` reading of the same body (`checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::decode_create(data));
