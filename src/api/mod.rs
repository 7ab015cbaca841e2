//! The emulated control plane: one module per API resource, plus the request
//! decoding they share. Handlers are plain synchronous functions over
//! [`State`]; they see no hyper types, take no locks and do no I/O.

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
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a [u8]>,
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
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    data: &'a T,
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

impl Reply {
    /// Wraps `data` in the success envelope; `next_cursor` goes at the top level,
    /// where the official SDK reads it.
    pub fn new<T: Serialize>(status: StatusCode, data: &T, next_cursor: Option<&str>) -> Reply {
        // A list page of 50 is ~15 KiB; start big enough that most answers
        // never regrow.
        let mut body = Vec::with_capacity(1024);
        serde_json::to_writer(
            &mut body,
            &Envelope {
                success: true,
                data,
                next_cursor,
            },
        )
        .expect("API data always serialises");
        Reply { status, body }
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
        Route::Admin(_) => unreachable!("admin routes are served by crate::admin"),
    }
}

/// A `{"message": …}` payload, as deletes answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    /// What happened.
    pub message: String,
}

/// Decodes a request body that must be one JSON object.
///
/// Rejects, naming the reason: a declared non-JSON content type, an empty
/// body, invalid UTF-8, invalid JSON, a non-object, and duplicate keys at the
/// top level (JSON leaves them undefined; we refuse to guess which one wins).
pub fn json_object(input: Input) -> Result<Map<String, Value>, ApiError> {
    if let Some(ct) = input.content_type {
        if !is_json_content_type(ct) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type must be application/json, not {}",
                String::from_utf8_lossy(ct)
                    .chars()
                    .take(100)
                    .collect::<String>()
            )));
        }
    }
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

fn is_json_content_type(ct: &[u8]) -> bool {
    let ct = String::from_utf8_lossy(ct).to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
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
            let value: Value = access.next_value()?;
            if map.contains_key(&key) {
                let shown: String = key.chars().take(100).collect();
                return Err(de::Error::custom(format_args!("duplicate field `{shown}`")));
            }
            map.insert(key, value);
        }
        Ok(map)
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
    fn content_type_must_be_json_when_declared() {
        let input = |ct: &'static [u8]| Input {
            content_type: Some(ct),
            body: b"{}",
            ..Input::default()
        };
        assert!(json_object(input(b"application/json")).is_ok());
        assert!(json_object(input(b"Application/JSON; charset=utf-8")).is_ok());
        assert!(json_object(input(b"application/merge-patch+json")).is_ok());
        assert!(matches!(
            json_object(input(b"text/plain")),
            Err(ApiError::UnsupportedMediaType(_))
        ));
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
