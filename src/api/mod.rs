//! The emulated control plane: one module per API resource, plus the request
//! decoding they share. Handlers are plain synchronous functions over
//! [`State`]; they see no hyper types, take no locks and do no I/O.

pub mod branches;
pub mod disk_settings;
pub mod disk_users;
pub mod disks;
pub mod exec;
pub mod grep;
pub mod shares;
pub mod tokens;

use hyper::StatusCode;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::router::Route;
use crate::state::{AccountId, State};

/// Who is calling and when: what every handler needs beyond its input.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The caller's account, from its API key.
    pub account: AccountId,
    /// The request's time, in milliseconds since the Unix epoch.
    pub now_ms: i64,
}

/// The parts of a request a handler may read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<&'a str>,
    /// The `Host` header, for URLs the server hands out.
    pub host: Option<&'a str>,
    /// The whole body.
    pub body: &'a [u8],
}

/// A successful answer: its status and its serialised `{success: true, …}` envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON envelope.
    pub body: Vec<u8>,
    /// Object bytes nothing refers to any more (a deleted disk's), for the
    /// server to free outside the lock.
    pub freed: Vec<crate::store::Blob>,
    /// Work to finish outside the lock (a grep's scan); the server replaces
    /// this reply with its result.
    pub deferred: Option<Deferred>,
}

/// Work an operation leaves for after the state lock is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deferred {
    /// Scan the files of a grep.
    Grep(grep::GrepJob),
    /// Run an exec on its back end.
    Exec(exec::ExecJob),
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    data: &'a T,
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<usize>,
}

#[derive(Serialize)]
struct Bare {
    success: bool,
}

impl Reply {
    /// Wraps `data` in the success envelope; `next_cursor` goes at the top level,
    /// where the official SDK reads it.
    pub fn new<T: Serialize>(status: StatusCode, data: &T, next_cursor: Option<&str>) -> Reply {
        Reply::page(status, data, next_cursor, None)
    }

    /// A list page: `next_cursor` and `total` go at the top level, beside `data`.
    pub fn page<T: Serialize>(
        status: StatusCode,
        data: &T,
        next_cursor: Option<&str>,
        total: Option<usize>,
    ) -> Reply {
        // A list page of 50 is ~15 KiB; start big enough that most answers
        // never regrow.
        let mut body = Vec::with_capacity(1024);
        serde_json::to_writer(
            &mut body,
            &Envelope {
                success: true,
                data,
                next_cursor,
                total,
            },
        )
        .expect("API data always serialises");
        Reply {
            status,
            body,
            freed: Vec::new(),
            deferred: None,
        }
    }

    /// `{"success": true}` with no `data`, as `deleteDisk` answers.
    pub fn empty() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: serde_json::to_vec(&Bare { success: true }).expect("serialises"),
            freed: Vec::new(),
            deferred: None,
        }
    }
}

/// Runs one API operation against the state.
pub fn dispatch(
    state: &mut State,
    ctx: Ctx,
    route: &Route,
    input: Input,
) -> Result<Reply, ApiError> {
    match route {
        Route::ListTokens => {
            let query = tokens::ListQuery::parse(input.query)?;
            let page = tokens::list(state, ctx, &query)?;
            Ok(Reply::new(
                StatusCode::OK,
                &page.data,
                page.next_cursor.as_deref(),
            ))
        }
        Route::CreateToken => {
            let new = tokens::NewToken::parse(json_object(input)?)?;
            let created = tokens::create(state, ctx, new, tokens::new_secret());
            Ok(Reply::new(StatusCode::CREATED, &created, None))
        }
        Route::DeleteToken(id) => {
            let message = tokens::delete(state, ctx, id)?;
            Ok(Reply::new(StatusCode::OK, &message, None))
        }
        Route::ListDisks => {
            let query = disks::ListQuery::parse(input.query)?;
            let page = disks::list(state, ctx, &query);
            Ok(Reply::page(
                StatusCode::OK,
                &page.data,
                page.next_cursor.as_deref(),
                page.total,
            ))
        }
        Route::CreateDisk => {
            let new = disks::NewDisk::parse(&json_object(input)?, ctx.now_ms)?;
            let outcome = disks::create(state, ctx, new)?;
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(Reply::new(status, &outcome.data, None))
        }
        Route::GetDisk(id) => ok(&disks::get(state, ctx, id)?),
        Route::DeleteDisk(id) => {
            let disk = disks::delete(state, ctx, id)?;
            let mut reply = Reply::empty();
            reply.freed = disk.objects.blobs().cloned().collect();
            Ok(reply)
        }
        Route::AddDiskUser(id) => Ok(Reply::new(
            StatusCode::CREATED,
            &disk_users::add(state, ctx, id, input)?,
            None,
        )),
        Route::RemoveDiskUser(id, user_type) => {
            ok(&disk_users::remove(state, ctx, id, user_type, input.query)?)
        }
        Route::GetAllowedIps(id) => ok(&disk_settings::get_allowed_ips(state, ctx, id)?),
        Route::SetAllowedIps(id) => ok(&disk_settings::set_allowed_ips(state, ctx, id, input)?),
        Route::ListDelegations(id) => ok(&disk_settings::list_delegations(state, ctx, id)?),
        Route::RevokeDelegation(id) => {
            ok(&disk_settings::revoke_delegation(state, ctx, id, input)?)
        }
        Route::ShareObject(id) => ok(&shares::create(state, ctx, id, input)?),
        Route::ExecDisk(id) => {
            let job = exec::plan_disk(state, ctx, id, input, std::time::Instant::now())?;
            let mut reply = Reply::empty();
            reply.deferred = Some(Deferred::Exec(job));
            Ok(reply)
        }
        Route::Exec => {
            let job = exec::plan_multi(state, ctx, input, std::time::Instant::now())?;
            let mut reply = Reply::empty();
            reply.deferred = Some(Deferred::Exec(job));
            Ok(reply)
        }
        Route::GrepDisk(id) => {
            let job = grep::plan(state, ctx, id, input, std::time::Instant::now())?;
            let mut reply = Reply::empty();
            reply.deferred = Some(Deferred::Grep(job));
            Ok(reply)
        }
        Route::ListBranches(id) => ok(&branches::list(state, ctx, id)?),
        Route::GetBranch(id, name) => ok(&branches::get(state, ctx, id, name)?),
        Route::CreateBranch(id) => Ok(Reply::new(
            StatusCode::CREATED,
            &branches::create(state, ctx, id, input)?,
            None,
        )),
        Route::Admin(_) => unreachable!("admin routes are served by crate::admin"),
    }
}

fn ok<T: Serialize>(data: &T) -> Result<Reply, ApiError> {
    Ok(Reply::new(StatusCode::OK, data, None))
}

/// A `{"message": …}` payload, as deletes answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    /// What happened.
    pub message: String,
}

/// Decodes a request body that must be one JSON object.
///
/// The body is read as JSON whatever `Content-Type` it declares, as the real
/// (Go) backend does: `curl -d '{…}'` sends a form content type.
///
/// Rejects, naming the reason: an empty body, invalid UTF-8, invalid JSON, a
/// non-object, and duplicate keys at the top level (JSON leaves them
/// undefined; we refuse to guess which one wins).
pub fn json_object(input: Input) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(input.body)
        .map_err(|_| ApiError::Validation("request body is not valid UTF-8".into()))?;
    if text.trim().is_empty() {
        return Err(ApiError::Validation(
            "request body is required and must be a JSON object".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let object = de
        .deserialize_any(UniqueObjectVisitor)
        .and_then(|o| de.end().map(|()| o))
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(if e.to_string().starts_with("duplicate field") {
                    format!("request body has a {}", strip_position(&e))
                } else {
                    "request body must be a JSON object".into()
                })
            }
            _ => ApiError::Validation(format!("request body is not valid JSON: {e}")),
        })?;
    Ok(object)
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

struct UniqueObjectVisitor;

impl<'de> Visitor<'de> for UniqueObjectVisitor {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            if map.contains_key(&key) {
                let shown: String = key.chars().take(100).collect();
                return Err(de::Error::custom(format_args!("duplicate field `{shown}`")));
            }
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// A JSON value whose objects, at any depth, have no duplicate keys (exec's
/// `disks` must not name one mount path twice, and serde_json would keep
/// the last silently).
struct StrictValue(Value);

impl<'de> de::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
        Ok(StrictValue(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<StrictValue, A::Error> {
        UniqueObjectVisitor
            .visit_map(access)
            .map(|m| StrictValue(Value::Object(m)))
    }
}

/// Reads a required string field with a length range in Unicode code points,
/// as JSON Schema counts them.
pub fn required_string(
    object: &Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
) -> Result<String, ApiError> {
    match object.get(field) {
        None => Err(ApiError::Validation(format!("{field} is required"))),
        Some(value) => string_in_range(value, field, min, max),
    }
}

/// Reads an optional string field; present means it must be a string (an
/// explicit `null` is not one).
pub fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    object
        .get(field)
        .map(|value| string_in_range(value, field, 0, max))
        .transpose()
}

fn string_in_range(value: &Value, field: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::Validation(format!(
            "{field} must be a string, not {}",
            json_type_name(value)
        )));
    };
    let len = s.chars().count();
    if len < min || len > max {
        return Err(ApiError::Validation(if min == 0 {
            format!("{field} must be at most {max} characters")
        } else {
            format!("{field} must be between {min} and {max} characters")
        }));
    }
    Ok(s.clone())
}

/// Reads a field that, when present, must be a string (of any length).
pub fn string_field<'o>(
    object: &'o Map<String, Value>,
    field: &str,
) -> Result<Option<&'o str>, ApiError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::Validation(format!(
            "{field} must be a string, not {}",
            json_type_name(other)
        ))),
    }
}

/// The error for a required field that is missing.
pub fn missing(field: &str) -> ApiError {
    ApiError::Validation(format!("{field} is required"))
}

/// Reads an optional boolean field; present means it must be `true` or `false`.
pub fn optional_bool(object: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::Validation(format!(
            "{field} must be a boolean, not {}",
            json_type_name(other)
        ))),
    }
}

/// Reads an optional integer field in `min..=max`; `1.0` is not an integer.
pub fn optional_integer(
    object: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    let Some(value) = object.get(field) else {
        return Ok(None);
    };
    let n = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64(),
        _ => {
            return Err(ApiError::Validation(format!(
                "{field} must be an integer, not {}",
                match value {
                    Value::Number(_) => "a fraction or an exponent",
                    other => json_type_name(other),
                }
            )))
        }
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::Validation(format!(
            "{field} must be between {min} and {max}"
        ))),
    }
}

/// Reads an optional array of strings, each checked by `each` (which names
/// the element in its error).
pub fn optional_strings(
    object: &Map<String, Value>,
    field: &str,
    mut each: impl FnMut(&str) -> Result<(), String>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = object.get(field) else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(ApiError::Validation(format!(
            "{field} must be an array, not {}",
            json_type_name(value)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => each(s)
                .map(|()| s.clone())
                .map_err(|why| ApiError::Validation(format!("{field}[{i}] {why}"))),
            other => Err(ApiError::Validation(format!(
                "{field}[{i}] must be a string, not {}",
                json_type_name(other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The query string's parameters, each at most once; unknown names are
/// ignored, as the real API ignores them.
pub fn query_params<const N: usize>(
    query: Option<&str>,
    known: [&str; N],
) -> Result<[Option<String>; N], ApiError> {
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let Some(i) = known.iter().position(|k| *k == key) else {
            continue;
        };
        if found[i].replace(value.into_owned()).is_some() {
            return Err(ApiError::Validation(format!(
                "{key} must be given at most once"
            )));
        }
    }
    Ok(found)
}

/// An opaque list cursor: a resource's tag and the hex creation sequence of
/// the last item on the page. Sequences only grow, so a walk sees every item
/// that lives through it exactly once, whatever is created or deleted.
pub fn encode_cursor(tag: char, seq: u64) -> String {
    format!("{tag}{seq:x}")
}

/// The sequence in a cursor [`encode_cursor`] made with this tag.
pub fn decode_cursor(tag: char, text: &str) -> Option<u64> {
    let hex = text.strip_prefix(tag)?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Shows at most 80 characters of client input in an error message.
pub fn shorten(text: &str) -> String {
    let shown: String = text.chars().take(80).collect();
    if shown.len() < text.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// The JSON Schema name of a value's type, for error messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(b: &[u8]) -> Result<Map<String, Value>, ApiError> {
        json_object(Input {
            body: b,
            ..Input::default()
        })
    }

    fn message(r: Result<Map<String, Value>, ApiError>) -> String {
        r.unwrap_err().message()
    }

    #[test]
    fn decodes_an_object() {
        assert_eq!(body(br#"{"name":"x"}"#).unwrap()["name"], "x");
    }

    #[test]
    fn rejects_each_kind_of_bad_body_with_its_reason() {
        assert!(message(body(b"")).contains("required"));
        assert!(message(body(b"  \n")).contains("required"));
        assert!(message(body(b"\xff\xfe")).contains("UTF-8"));
        assert!(message(body(b"{\"name\":")).contains("not valid JSON"));
        assert!(message(body(b"[1]")).contains("must be a JSON object"));
        assert!(message(body(b"\"x\"")).contains("must be a JSON object"));
        assert!(message(body(b"null")).contains("must be a JSON object"));
        assert!(message(body(b"{} {}")).contains("not valid JSON"));
        assert_eq!(
            message(body(br#"{"name":"a","name":"b"}"#)),
            "request body has a duplicate field `name`"
        );
    }

    #[test]
    fn deep_nesting_is_a_validation_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let text = format!("{{\"x\":{deep}");
        assert!(message(body(text.as_bytes())).contains("not valid JSON"));
    }

    #[test]
    fn lengths_count_code_points() {
        let obj = |s: String| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(s));
            m
        };
        assert!(required_string(&obj("é".repeat(100)), "name", 1, 100).is_ok());
        assert!(required_string(&obj("😀".repeat(100)), "name", 1, 100).is_ok());
        assert!(required_string(&obj("😀".repeat(101)), "name", 1, 100).is_err());
        assert!(required_string(&obj(String::new()), "name", 1, 100).is_err());
    }
}
