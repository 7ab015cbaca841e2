//! Property tests of create-request validation against a plain oracle: a
//! `name` is accepted exactly when it is a JSON string of 1..=100 code points,
//! a `description` when it is absent or a JSON string of at most 500. Most
//! cases run through the pure decoding path (`api::json_object` then
//! `NewToken::parse`); a smaller number go over real HTTP.

mod common;

use archil_mock::api::tokens::{ListQuery, NewToken, DESCRIPTION_MAX, MAX_LIMIT, NAME_MAX};
use archil_mock::api::{json_object, Input};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestRunner};
use serde_json::{Map, Value};

/// What the spec says about a create body, with nothing clever in it.
fn oracle(name: Option<&Value>, description: Option<&Value>) -> Option<NewToken> {
    let name = match name {
        Some(Value::String(s)) if (1..=NAME_MAX).contains(&s.chars().count()) => s.clone(),
        _ => return None,
    };
    let description = match description {
        None => None,
        Some(Value::String(s)) if s.chars().count() <= DESCRIPTION_MAX => Some(s.clone()),
        Some(_) => return None,
    };
    Some(NewToken { name, description })
}

/// The server's decoding path, without HTTP.
fn decode(body: &[u8]) -> Option<NewToken> {
    let input = Input {
        body,
        ..Input::default()
    };
    json_object(input).and_then(NewToken::parse).ok()
}

/// Arbitrary Unicode, with lengths clustered at the edges of `max`.
fn unicode(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![0usize..=2, max - 2..=max + 2, 0usize..=max + max / 5,]
        .prop_flat_map(|len| proptest::collection::vec(any::<char>(), len))
        .prop_map(|chars| chars.into_iter().collect())
}

/// Any JSON value, a few levels deep; strings as in [`unicode`].
fn json_value(string_max: usize) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        unicode(string_max).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A create body: name and description each absent, a string, or any JSON
/// value, plus maybe an unknown field (which the schema allows).
fn create_body() -> impl Strategy<Value = (Option<Value>, Option<Value>, Option<Value>)> {
    let field = |max: usize| {
        prop_oneof![
            1 => Just(None),
            6 => unicode(max).prop_map(|s| Some(Value::String(s))),
            3 => json_value(max).prop_map(Some),
        ]
    };
    (
        field(NAME_MAX),
        field(DESCRIPTION_MAX),
        proptest::option::of(json_value(10)),
    )
}

fn body_of(name: &Option<Value>, description: &Option<Value>, extra: &Option<Value>) -> Value {
    let mut map = Map::new();
    if let Some(v) = name {
        map.insert("name".into(), v.clone());
    }
    if let Some(v) = description {
        map.insert("description".into(), v.clone());
    }
    if let Some(v) = extra {
        map.insert("labels".into(), v.clone());
    }
    Value::Object(map)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_a_create_body_agrees_with_the_oracle(
        (name, description, extra) in create_body(),
        pretty in any::<bool>(),
    ) {
        let body = body_of(&name, &description, &extra);
        let bytes = if pretty {
            serde_json::to_vec_pretty(&body).unwrap()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        prop_assert_eq!(decode(&bytes), oracle(name.as_ref(), description.as_ref()));
    }

    #[test]
    fn a_name_is_accepted_exactly_when_it_has_1_to_100_code_points(name in unicode(NAME_MAX)) {
        let bytes = serde_json::to_vec(&serde_json::json!({ "name": name })).unwrap();
        let len = name.chars().count();
        let decoded = decode(&bytes);
        prop_assert_eq!(decoded.is_some(), (1..=100).contains(&len), "{} code points", len);
        if let Some(token) = decoded {
            prop_assert_eq!(token.name, name);
        }
    }

    #[test]
    fn a_description_is_accepted_exactly_when_it_has_at_most_500_code_points(
        description in unicode(DESCRIPTION_MAX),
    ) {
        let body = serde_json::json!({ "name": "n", "description": description });
        let len = description.chars().count();
        let decoded = decode(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(decoded.is_some(), len <= 500, "{} code points", len);
        if let Some(token) = decoded {
            prop_assert_eq!(token.description, Some(description));
        }
    }

    #[test]
    fn a_repeated_key_is_always_refused(
        key in prop_oneof![Just("name".to_owned()), Just("description".to_owned()), ".{0,8}"],
        first in json_value(10),
        second in json_value(10),
    ) {
        let key = serde_json::to_string(&key).unwrap();
        let text = format!(
            r#"{{{key}:{},"name":"n",{key}:{}}}"#,
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&second).unwrap(),
        );
        let input = Input { body: text.as_bytes(), ..Input::default() };
        prop_assert!(json_object(input).is_err(), "{}", text);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_passes_is_valid(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            // Near-valid bodies: a valid prefix, then anything.
            (unicode(12), proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(s, tail)| {
                let mut b = format!(r#"{{"name":"{s}""#).into_bytes();
                b.extend(tail);
                b
            }),
        ],
    ) {
        if let Some(token) = decode(&bytes) {
            prop_assert!((1..=NAME_MAX).contains(&token.name.chars().count()));
            prop_assert!(token
                .description
                .is_none_or(|d| d.chars().count() <= DESCRIPTION_MAX));
        }
    }

    #[test]
    fn a_limit_is_accepted_exactly_when_it_is_an_integer_from_1_to_100(
        limit in prop_oneof![-5i128..=110, any::<i128>()],
    ) {
        let parsed = ListQuery::parse(Some(&format!("limit={limit}")));
        prop_assert_eq!(parsed.is_ok(), (1..=MAX_LIMIT as i128).contains(&limit));
        if let Ok(q) = parsed {
            prop_assert_eq!(q.limit as i128, limit);
        }
    }

    #[test]
    fn any_query_string_parses_or_is_refused_without_panicking(query in ".{0,40}") {
        if let Ok(q) = ListQuery::parse(Some(&query)) {
            prop_assert!((1..=MAX_LIMIT).contains(&q.limit));
        }
    }
}

/// Over real HTTP: a 201 exactly when the oracle accepts, with the name and
/// description stored as sent; otherwise a 400 envelope and no new token.
#[test]
fn creates_over_http_agree_with_the_oracle() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start());
    let mut runner = TestRunner::new(Cases {
        cases: 48,
        failure_persistence: None,
        ..Cases::default()
    });
    runner
        .run(&create_body(), |(name, description, extra)| {
            let body = body_of(&name, &description, &extra);
            let expected = oracle(name.as_ref(), description.as_ref());
            let (status, reply, count_before, count_after) = runtime.block_on(async {
                let before = server.list_all(KEY, 100).await.len();
                let (status, reply) = server
                    .call("POST", "/api/tokens", Some(KEY), Some(body.clone()))
                    .await;
                let after = server.list_all(KEY, 100).await.len();
                (status, reply, before, after)
            });
            match expected {
                Some(token) => {
                    prop_assert_eq!(status, 201, "{}", reply);
                    prop_assert_eq!(&reply["data"]["name"], &Value::String(token.name));
                    prop_assert_eq!(
                        reply["data"].get("description").cloned(),
                        token.description.map(Value::String)
                    );
                    prop_assert_eq!(count_after, count_before + 1);
                }
                None => {
                    prop_assert_eq!(status, 400, "{} for {}", reply, body);
                    prop_assert_eq!(&reply["success"], &Value::Bool(false));
                    prop_assert!(reply["error"].is_string());
                    prop_assert_eq!(count_after, count_before);
                }
            }
            Ok(())
        })
        .unwrap();
    runtime.block_on(server.stop());
}
