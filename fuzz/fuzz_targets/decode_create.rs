//! Arbitrary bytes through the request-decoding and validation path of
//! `POST /api/tokens` and `GET /api/tokens`: `api::json_object`, then
//! `NewToken::parse`, and `ListQuery::parse` on the same bytes as a query.
//! Beyond "never panics", whatever is accepted must be valid by the spec and
//! agree with a plain `serde_json` reading of the same body.
#![no_main]

use archil_mock::api::tokens::{ListQuery, NewToken, DESCRIPTION_MAX, MAX_LIMIT, NAME_MAX};
use archil_mock::api::{json_object, Input};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn create(body: &[u8]) -> Option<NewToken> {
    let input = Input {
        body,
        ..Input::default()
    };
    json_object(input).and_then(NewToken::parse).ok()
}

fn check_accepted(token: &NewToken, body: &[u8]) {
    assert!((1..=NAME_MAX).contains(&token.name.chars().count()));
    if let Some(d) = &token.description {
        assert!(d.chars().count() <= DESCRIPTION_MAX);
    }
    // A body the server accepts is one object that plain serde_json reads
    // the same way (it keeps the last of duplicate keys; the server refuses them).
    let plain: Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
    assert_eq!(plain["name"].as_str(), Some(token.name.as_str()));
    assert_eq!(
        plain.get("description").and_then(Value::as_str),
        token.description.as_deref()
    );
}

fuzz_target!(|data: &[u8]| {
    // The whole input as a body (read as JSON whatever its Content-Type).
    if let Some(token) = create(data) {
        check_accepted(&token, data);
    }
    // The input as a query string.
    let query = String::from_utf8_lossy(data);
    if let Ok(q) = ListQuery::parse(Some(&query)) {
        assert!((1..=MAX_LIMIT).contains(&q.limit));
    }
});
