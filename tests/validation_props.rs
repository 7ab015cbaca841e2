//! Property tests of `createDisk`'s name and mount validation and of
//! `exec`'s mount paths and subdirectories, against oracles written here
//! from the spec (`CreateDiskRequest`, `MountConfig`) and the README
//! ("`createDisk` body", "Exec"), never by calling the code under test:
//!
//! - a disk `name` is a string of 1..=100 characters of `[a-zA-Z0-9_-]`;
//! - `mounts` is an array of at most one `MountConfig`, an object whose
//!   `type` is one of five, with that type's required fields present as
//!   non-empty strings and every field of the type that is given a string;
//!   unknown fields are ignored; `bucketPrefix` and the others are opaque
//!   strings (a `..` is not a path escape in a bucket) stored as given;
//!   credentials are accepted and never shown;
//! - an exec mount path is relative, with no empty, `.` or `..` segment (and,
//!   by `api::exec`'s rule, no NUL or `\`); a `subdirectory` is the same after
//!   its trailing `/`s, and must be a directory of the disk.
//!
//! Pure properties call `NewDisk::parse` directly (1024 names, 512 mounts,
//! 512 name-and-mounts bodies); the HTTP properties go through a server on
//! port 0 (128 names, 128 mount bodies, 256 execs) and also check that a
//! refusal is a 400 naming the field and creates nothing. Each property also
//! asserts that its generator reached both outcomes often enough. About 4 s
//! in all (debug build).

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use archil_mock::api::disks::NewDisk;
use archil_mock::api::{json_object, Input};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestRunner};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------- oracles

/// The spec's `name`: `^[a-zA-Z0-9_-]+$`, `minLength: 1`, `maxLength: 100`.
fn name_is_valid(name: Option<&Value>) -> bool {
    match name {
        Some(Value::String(s)) => {
            (1..=100).contains(&s.chars().count())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
        _ => false,
    }
}

/// The five `MountConfig` variants: (type, required fields beyond `type`,
/// optional fields). `bucketRegion` is the mock's addition (the README lists
/// it on `s3`; the mock takes it on every bucket type).
const TYPES: [(&str, &[&str], &[&str]); 5] = [
    (
        "s3",
        &["bucketName"],
        &[
            "accessKeyId",
            "secretAccessKey",
            "sessionToken",
            "bucketPrefix",
            "bucketRegion",
        ],
    ),
    (
        "gcs",
        &["bucketName", "accessKeyId", "secretAccessKey"],
        &["bucketPrefix", "bucketRegion"],
    ),
    (
        "r2",
        &[
            "bucketName",
            "bucketEndpoint",
            "accessKeyId",
            "secretAccessKey",
        ],
        &["bucketPrefix", "bucketRegion"],
    ),
    (
        "s3-compatible",
        &[
            "bucketName",
            "bucketEndpoint",
            "accessKeyId",
            "secretAccessKey",
        ],
        &["bucketPrefix", "bucketRegion"],
    ),
    (
        "azure-blob",
        &["containerName", "tenantId", "clientId", "clientSecret"],
        &["endpoint", "storageAccountName", "bucketPrefix"],
    ),
];

/// Every field any variant has.
const FIELDS: [&str; 13] = [
    "bucketName",
    "bucketEndpoint",
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "bucketPrefix",
    "bucketRegion",
    "containerName",
    "tenantId",
    "clientId",
    "clientSecret",
    "endpoint",
    "storageAccountName",
];

/// Credentials (README, "Credentials"): validated, never stored or shown.
const SECRETS: [&str; 4] = [
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "clientSecret",
];

/// The longest string field the mock takes, in characters. Not in the spec
/// or the README: `api::disks::parse_mount`'s own limit.
const FIELD_MAX: usize = 2048;

/// An accepted mount as the oracle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    kind: &'static str,
    /// The non-secret fields of the type that were given.
    fields: BTreeMap<String, String>,
    /// `iam`, `accessKeys` or `oauth`.
    authorization: &'static str,
}

/// One `MountConfig`: the mount, or the fields (relative to the mount; ""
/// for the mount itself) an error may name.
fn mount_oracle(value: &Value) -> Result<Mount, Vec<String>> {
    let Value::Object(m) = value else {
        return Err(vec![String::new()]);
    };
    let Some(Value::String(t)) = m.get("type") else {
        return Err(vec!["type".into()]);
    };
    let Some(&(kind, required, optional)) = TYPES.iter().find(|(k, _, _)| k == t) else {
        return Err(vec!["type".into()]);
    };
    let mut bad = Vec::new();
    for field in required {
        match m.get(*field) {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= FIELD_MAX => {}
            _ => bad.push(field.to_string()),
        }
    }
    for field in optional {
        match m.get(*field) {
            None => {}
            Some(Value::String(s)) if s.chars().count() <= FIELD_MAX => {}
            _ => bad.push(field.to_string()),
        }
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    let given: Vec<&str> = required
        .iter()
        .chain(optional.iter())
        .copied()
        .filter(|f| m.contains_key(*f))
        .collect();
    let fields = given
        .iter()
        .filter(|f| !SECRETS.contains(f))
        .map(|f| (f.to_string(), m[*f].as_str().unwrap().to_owned()))
        .collect();
    let credentials = given.iter().any(|f| SECRETS.contains(f));
    let authorization = match kind {
        "azure-blob" => "oauth",
        "s3" if !credentials => "iam",
        _ => "accessKeys",
    };
    Ok(Mount {
        kind,
        fields,
        authorization,
    })
}

/// The whole `mounts` field: the mounts, or what an error may name.
fn mounts_oracle(mounts: Option<&Value>) -> Result<Vec<Mount>, Vec<String>> {
    let Some(value) = mounts else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(vec!["mounts".into()]);
    };
    if items.len() > 1 {
        return Err(vec!["mounts".into()]);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            mount_oracle(m).map_err(|fields| {
                fields
                    .into_iter()
                    .map(|f| match f.as_str() {
                        "" => format!("mounts[{i}]"),
                        f => format!("mounts[{i}].{f}"),
                    })
                    .collect()
            })
        })
        .collect()
}

/// A create body with only `name` and `mounts` that matter: the mounts, or
/// the fields an error may name (the name is checked first).
fn create_oracle(body: &Map<String, Value>) -> Result<Vec<Mount>, Vec<String>> {
    if !name_is_valid(body.get("name")) {
        return Err(vec!["name".into()]);
    }
    mounts_oracle(body.get("mounts"))
}

/// An exec mount path (README, "Exec": relative, no `.`, `..` or empty
/// segment; `api::exec`: no NUL or `\`).
fn path_is_valid(path: &str) -> bool {
    !path.starts_with('/')
        && !path.contains('\0')
        && !path.contains('\\')
        && path.split('/').all(|s| !matches!(s, "" | "." | ".."))
}

/// A `subdirectory`: the disk's root when empty once its trailing `/`s are
/// gone; otherwise a valid relative path naming one of `dirs`.
fn subdirectory_is_valid(sub: &str, dirs: &[&str]) -> bool {
    if sub.starts_with('/') {
        return false;
    }
    let sub = sub.trim_end_matches('/');
    sub.is_empty() || (path_is_valid(sub) && dirs.contains(&sub))
}

/// Whether an error message names one of `fields` (it starts with the
/// field, as every validation message does).
fn names_one_of(message: &str, fields: &[String]) -> bool {
    fields.iter().any(|f| message.starts_with(&format!("{f} ")))
}

// ---------------------------------------------------------------- strategies

const VALID_NAME_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

/// Characters a name may not hold: ASCII punctuation and controls, and
/// letters and digits that are not ASCII (some look like it, or case-fold
/// to it: fullwidth A, Kelvin sign, Cyrillic a, Arabic-Indic one).
const INVALID_NAME_CHARS: [char; 22] = [
    ' ', '.', '/', '\\', '!', '@', '%', '+', ':', '~', '\0', '\n', '\t', 'é', 'ß', '😀', 'Ａ', 'K',
    'а', '١', '\u{200B}', '\u{301}',
];

fn valid_char() -> impl Strategy<Value = char> {
    proptest::sample::select(VALID_NAME_CHARS.chars().collect::<Vec<_>>())
}

fn invalid_char() -> impl Strategy<Value = char> {
    proptest::sample::select(INVALID_NAME_CHARS.to_vec())
}

/// Names from a mix of alphabets, with lengths clustered at 0..=2 and
/// around 100: all valid characters, valid but one, or a free mix.
fn name_text() -> impl Strategy<Value = String> {
    let len = prop_oneof![0usize..=2, 98usize..=102, 0usize..=130];
    (len, 0u8..3).prop_flat_map(|(len, mode)| match mode {
        0 => proptest::collection::vec(valid_char(), len)
            .prop_map(String::from_iter)
            .boxed(),
        1 => (
            proptest::collection::vec(valid_char(), len),
            invalid_char(),
            any::<proptest::sample::Index>(),
        )
            .prop_map(|(mut chars, bad, at)| {
                if !chars.is_empty() {
                    let i = at.index(chars.len());
                    chars[i] = bad;
                }
                String::from_iter(chars)
            })
            .boxed(),
        _ => proptest::collection::vec(prop_oneof![4 => valid_char(), 1 => invalid_char()], len)
            .prop_map(String::from_iter)
            .boxed(),
    })
}

/// A `name` field: absent, a name string, or not a string.
fn name_field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        16 => name_text().prop_map(|s| Some(Value::String(s))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!(7))),
        1 => Just(Some(json!(["data"]))),
    ]
}

/// Short strings for mount fields, escape attempts included: bucket
/// prefixes with `..`, absolute paths, encoded dots.
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "my-bucket",
            "data/",
            "../../etc",
            "a/../../b",
            "/abs/path",
            "..",
            ".",
            "%2e%2e/x",
            "a\\..\\b",
            "é😀",
            " spaced ",
            "https://s3.us-west-001.backblazeb2.com",
            "us-east-1",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9./_-]{1,24}",
    ]
}

/// A mount field's value: mostly a short string; sometimes absent, empty,
/// around the length limit (in 1- or 2-byte characters), or not a string.
fn field_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        16 => short_text().prop_map(|s| Some(Value::String(s))),
        2 => Just(None),
        1 => Just(Some(Value::String(String::new()))),
        1 => (FIELD_MAX - 2..=FIELD_MAX + 2, any::<bool>())
            .prop_map(|(n, wide)| Some(Value::String(if wide { "é" } else { "a" }.repeat(n)))),
        1 => prop_oneof![
            Just(Value::Null),
            Just(json!(5)),
            Just(json!(true)),
            Just(json!(["b"])),
            Just(json!({"b": 1})),
        ]
        .prop_map(Some),
    ]
}

/// A `type`: mostly one of the five; sometimes a near miss or not a string.
fn type_field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        20 => proptest::sample::select(TYPES.iter().map(|t| t.0).collect::<Vec<_>>())
            .prop_map(|t| Some(json!(t))),
        1 => proptest::sample::select(vec!["S3", "", "ftp", "s3 ", "azure"])
            .prop_map(|t| Some(json!(t))),
        1 => Just(Some(json!(5))),
        1 => Just(None),
    ]
}

/// A `MountConfig`-like object: a type; each field of the type mostly
/// present and valid, fields of other types sometimes present (ignored),
/// and an unknown field. Credentials carry a `SECRET-` marker.
fn mount_value() -> impl Strategy<Value = Value> {
    let object = (
        type_field(),
        proptest::collection::vec(field_value(), FIELDS.len()),
        proptest::collection::vec(any::<bool>(), FIELDS.len()),
        proptest::option::of(field_value()),
    )
        .prop_map(|(kind, values, foreign, extra)| {
            let all_of_type: Vec<&str> = match kind.as_ref().and_then(Value::as_str) {
                Some(t) => TYPES
                    .iter()
                    .find(|(k, _, _)| *k == t)
                    .map(|(_, r, o)| r.iter().chain(o.iter()).copied().collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let mut m = Map::new();
            if let Some(kind) = kind {
                m.insert("type".into(), kind);
            }
            for ((field, value), keep_foreign) in FIELDS.iter().zip(values).zip(foreign) {
                // Fields of other types appear only sometimes.
                if !all_of_type.contains(field) && !keep_foreign {
                    continue;
                }
                let Some(value) = value else { continue };
                let value = match value {
                    Value::String(s) if SECRETS.contains(field) && !s.is_empty() => {
                        Value::String(format!("SECRET-{s}"))
                    }
                    other => other,
                };
                m.insert(field.to_string(), value);
            }
            if let Some(Some(extra)) = extra {
                m.insert("labels".into(), extra);
            }
            Value::Object(m)
        });
    prop_oneof![
        12 => object,
        1 => Just(json!("s3")),
        1 => Just(Value::Null),
    ]
}

/// A `mounts` field: mostly one mount; sometimes absent, empty, two, or
/// not an array.
fn mounts_field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        12 => mount_value().prop_map(|m| Some(json!([m]))),
        1 => Just(Some(json!([]))),
        1 => (mount_value(), mount_value()).prop_map(|(a, b)| Some(json!([a, b]))),
        1 => mount_value().prop_map(Some),
    ]
}

fn body_of(name: Option<Value>, mounts: Option<Value>) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(name) = name {
        body.insert("name".into(), name);
    }
    if let Some(mounts) = mounts {
        body.insert("mounts".into(), mounts);
    }
    body
}

/// The server's decoding path, without HTTP.
fn parse(body: &Map<String, Value>) -> Result<NewDisk, String> {
    let bytes = serde_json::to_vec(body).unwrap();
    let input = Input {
        body: &bytes,
        ..Input::default()
    };
    json_object(input)
        .and_then(|b| NewDisk::parse(&b, 0))
        .map_err(|e| e.message())
}

/// Checks a parse result against the oracle.
fn agree(body: &Map<String, Value>) -> Result<(), TestCaseError> {
    let expected = create_oracle(body);
    match (parse(body), expected) {
        (Ok(new), Ok(mounts)) => {
            prop_assert_eq!(Some(&Value::String(new.name.clone())), body.get("name"));
            let got: Vec<Mount> = new
                .mounts
                .iter()
                .map(|m| Mount {
                    kind: m.kind.as_str(),
                    fields: m.fields.clone(),
                    authorization: m.authorization,
                })
                .collect();
            prop_assert_eq!(got, mounts);
        }
        (Err(message), Err(fields)) => {
            prop_assert!(
                names_one_of(&message, &fields),
                "{:?} names none of {:?}",
                message,
                fields
            );
        }
        (got, expected) => {
            prop_assert!(false, "parsed {:?}, the oracle says {:?}", got, expected);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- pure

/// Runs `agree` on `cases` bodies; asserts the generator reached both
/// outcomes often enough for the property to mean something.
fn agree_on<S: Strategy<Value = Map<String, Value>>>(cases: u32, bodies: S, min_each: usize) {
    let accepted = RefCell::new(0usize);
    let refused = RefCell::new(0usize);
    runner(cases)
        .run(&bodies, |body| {
            agree(&body)?;
            *if create_oracle(&body).is_ok() {
                accepted.borrow_mut()
            } else {
                refused.borrow_mut()
            } += 1;
            Ok(())
        })
        .unwrap();
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(
        accepted >= min_each && refused >= min_each,
        "{accepted} accepted and {refused} refused: the generator is lopsided"
    );
}

/// A name alone: accepted exactly when the spec's pattern and length allow
/// it; a refusal names `name`.
#[test]
fn a_disk_name_is_accepted_exactly_when_the_spec_allows_it() {
    agree_on(1024, name_field().prop_map(|n| body_of(n, None)), 100);
}

/// A valid name with mounts: accepted exactly when the spec's variant for
/// the type is satisfied; the fields kept are the type's non-secret ones,
/// verbatim; a refusal names the mount field at fault.
#[test]
fn mounts_are_accepted_exactly_when_their_variant_is_satisfied() {
    agree_on(
        512,
        mounts_field().prop_map(|m| body_of(Some(json!("m")), m)),
        80,
    );
}

/// Name and mounts both generated: a refusal names one of the fields at
/// fault, the name first.
#[test]
fn a_create_body_is_refused_for_the_first_field_at_fault() {
    agree_on(
        512,
        (name_field(), mounts_field()).prop_map(|(n, m)| body_of(n, m)),
        20,
    );
}

// ---------------------------------------------------------------- HTTP

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Cases {
        cases,
        failure_persistence: None,
        ..Cases::default()
    })
}

/// Posts a create and returns (status, reply, disks before, disks after).
async fn post_create(server: &TestServer, body: &Value) -> (u16, Value, usize, usize) {
    let before = server.list_all_disks(KEY, 100).await.len();
    let (status, reply) = server
        .call("POST", "/api/disks", Some(KEY), Some(body.clone()))
        .await;
    let after = server.list_all_disks(KEY, 100).await.len();
    (status, reply, before, after)
}

/// Asserts a refused create: 400, the validation envelope, an error that
/// names one of `fields`, and no new disk.
fn assert_refused(
    (status, reply, before, after): &(u16, Value, usize, usize),
    fields: &[String],
    body: &Value,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(*status, 400, "{} for {}", reply, body);
    prop_assert_eq!(&reply["success"], &json!(false));
    prop_assert_eq!(&reply["code"], &json!("validation_error"));
    let error = reply["error"].as_str().unwrap_or_default();
    prop_assert!(
        names_one_of(error, fields),
        "{:?} names none of {:?}",
        error,
        fields
    );
    prop_assert_eq!(after, before, "a refused create made a disk");
    Ok(())
}

/// Over HTTP: 201 exactly when the name is valid (200 when that name was
/// already created, as the create is then idempotent), the disk listed and
/// readable under that name; otherwise a 400 naming `name` and no disk.
#[test]
fn names_over_http_agree_with_the_oracle() {
    let runtime = runtime();
    let server = runtime.block_on(TestServer::start());
    let created = RefCell::new(HashSet::new());
    let refused = RefCell::new(0usize);
    runner(128)
        .run(&name_field(), |name| {
            let body = Value::Object(body_of(name.clone(), None));
            let outcome = runtime.block_on(post_create(&server, &body));
            if !name_is_valid(name.as_ref()) {
                *refused.borrow_mut() += 1;
                return assert_refused(&outcome, &["name".into()], &body);
            }
            let (status, reply, before, after) = outcome;
            let name = name.unwrap();
            let again = created.borrow().contains(&name);
            prop_assert_eq!(
                status,
                if again { 200 } else { 201 },
                "{} for {}",
                reply,
                body
            );
            prop_assert_eq!(after, before + usize::from(!again));
            created.borrow_mut().insert(name.clone());
            let id = reply["data"]["diskId"].as_str().unwrap().to_owned();
            let disk = runtime.block_on(server.disk(KEY, &id));
            prop_assert_eq!(&disk["name"], &name);
            Ok(())
        })
        .unwrap();
    let (accepted, refused) = (created.into_inner().len(), refused.into_inner());
    assert!(
        accepted >= 10 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
    runtime.block_on(server.stop());
}

/// Over HTTP: a create with mounts is 201 exactly when the oracle accepts
/// it, and the disk then shows each mount's type, bucket or container,
/// endpoint, prefix (verbatim, `..` and all) and authorization type, and no
/// credential anywhere; otherwise a 400 naming the field and no disk.
#[test]
fn mounts_over_http_agree_with_the_oracle() {
    let runtime = runtime();
    let server = runtime.block_on(TestServer::start());
    let counter = RefCell::new(0u32);
    let refused = RefCell::new(0u32);
    runner(128)
        .run(&mounts_field(), |mounts| {
            let name = {
                let mut n = counter.borrow_mut();
                *n += 1;
                format!("mounted-{n}")
            };
            let body = Value::Object(body_of(Some(json!(name)), mounts.clone()));
            let outcome = runtime.block_on(post_create(&server, &body));
            let expected = match mounts_oracle(mounts.as_ref()) {
                Err(fields) => {
                    *refused.borrow_mut() += 1;
                    return assert_refused(&outcome, &fields, &body);
                }
                Ok(expected) => expected,
            };
            let (status, reply, before, after) = outcome;
            prop_assert_eq!(status, 201, "{} for {}", reply, body);
            prop_assert_eq!(after, before + 1);
            let id = reply["data"]["diskId"].as_str().unwrap().to_owned();
            let disk = runtime.block_on(server.disk(KEY, &id));
            let text = disk.to_string();
            prop_assert!(!text.contains("SECRET-"), "a credential is shown: {}", text);
            for secret in SECRETS {
                prop_assert!(
                    !text.contains(&format!("\"{secret}\"")),
                    "{} in {}",
                    secret,
                    text
                );
            }
            let shown = disk["mounts"].as_array().unwrap();
            prop_assert_eq!(shown.len(), expected.len());
            let capabilities = if expected.is_empty() {
                json!(["checkpoints"])
            } else {
                json!([])
            };
            prop_assert_eq!(&disk["capabilities"], &capabilities);
            for (view, mount) in shown.iter().zip(&expected) {
                let field = |name: &str| mount.fields.get(name).map(|s| json!(s));
                prop_assert_eq!(&view["type"], &json!(mount.kind));
                prop_assert_eq!(&view["path"], &json!("/"));
                prop_assert_eq!(&view["authorizationType"], &json!(mount.authorization));
                let bucket = field("bucketName")
                    .or_else(|| field("containerName"))
                    .unwrap();
                prop_assert_eq!(&view["name"], &bucket);
                prop_assert_eq!(&view["config"]["bucketName"], &bucket);
                prop_assert_eq!(
                    view["config"].get("bucketPrefix").cloned(),
                    field("bucketPrefix")
                );
                prop_assert_eq!(
                    view["config"].get("bucketEndpoint").cloned(),
                    field("bucketEndpoint").or_else(|| field("endpoint"))
                );
            }
            Ok(())
        })
        .unwrap();
    let refused = refused.into_inner();
    // Cases (shrinking aside) are either refused or made a disk.
    let accepted = counter.into_inner() - refused;
    assert!(
        accepted >= 10 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
    runtime.block_on(server.stop());
}

/// Exec mount paths from a mix of segments (`.`, `..`, empty, encoded dots,
/// backslashes, NUL, non-ASCII), maybe with a leading or trailing `/`.
fn exec_path() -> impl Strategy<Value = String> {
    let segment = proptest::sample::select(vec![
        "a", "data", "logs", "x.y", ".", "..", "", "...", ".hidden", "é", "a b", "a\\b", "a\0b",
        "%2e%2e", "~", "-",
    ]);
    (
        proptest::collection::vec(segment, 1..=4),
        prop_oneof![5 => Just(""), 1 => Just("/")],
        prop_oneof![5 => Just(""), 1 => Just("/")],
    )
        .prop_map(|(segments, lead, trail)| format!("{lead}{}{trail}", segments.join("/")))
}

/// A `subdirectory`: segments of the test disk's tree and dot segments,
/// maybe a leading `/`, and up to two trailing `/`s.
fn subdirectory() -> impl Strategy<Value = String> {
    let segment = proptest::sample::select(vec![
        "data", "logs", "file.txt", "Data", "nope", ".", "..", "", "a\\b",
    ]);
    (
        proptest::collection::vec(segment, 0..=3),
        prop_oneof![5 => Just(""), 1 => Just("/")],
        0usize..=2,
    )
        .prop_map(|(segments, lead, trail)| {
            format!("{lead}{}{}", segments.join("/"), "/".repeat(trail))
        })
}

/// Over HTTP: `POST /api/exec` with one disk at a generated mount path
/// and a generated `subdirectory` is 200 exactly when both are valid;
/// otherwise a 400 naming the mount path or the subdirectory.
#[test]
fn exec_mount_paths_and_subdirectories_agree_with_the_oracle() {
    let runtime = runtime();
    let server = runtime.block_on(TestServer::start());
    let disk = runtime.block_on(async {
        let id = server.create_disk_named(KEY, "exec-target").await;
        server
            .put_object(KEY, &id, "data/logs/app.log", b"log")
            .await;
        server.put_object(KEY, &id, "data/file.txt", b"file").await;
        id
    });
    let dirs = ["data", "data/logs"];
    let cases = (exec_path(), proptest::option::of(subdirectory()));
    // Accepted, refused for the path, refused for the subdirectory.
    let seen = RefCell::new([0usize; 3]);
    runner(256)
        .run(&cases, |(path, sub)| {
            let spec = match &sub {
                None => json!(disk),
                Some(sub) => json!({ "disk": disk, "subdirectory": sub }),
            };
            let body = json!({ "command": "true", "disks": { path.clone(): spec } });
            let (status, reply) =
                runtime.block_on(server.call("POST", "/api/exec", Some(KEY), Some(body.clone())));
            let path_ok = path_is_valid(&path);
            let sub_ok = sub
                .as_deref()
                .is_none_or(|s| subdirectory_is_valid(s, &dirs));
            seen.borrow_mut()[if !path_ok {
                1
            } else if !sub_ok {
                2
            } else {
                0
            }] += 1;
            if path_ok && sub_ok {
                prop_assert_eq!(status, 200, "{} for {}", reply, body);
                prop_assert_eq!(&reply["data"]["exitCode"], &json!(127));
                return Ok(());
            }
            prop_assert_eq!(status, 400, "{} for {}", reply, body);
            prop_assert_eq!(&reply["code"], &json!("validation_error"));
            let error = reply["error"].as_str().unwrap_or_default();
            // The path is checked before the subdirectory.
            let needle = if path_ok {
                "subdirectory"
            } else {
                "mount path"
            };
            prop_assert!(
                error.contains(needle),
                "{:?} does not name the {}",
                error,
                needle
            );
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    assert!(
        seen.iter().all(|&n| n >= 10),
        "accepted, bad path, bad subdirectory: {seen:?}"
    );
    runtime.block_on(server.stop());
}
