//! Field paths ([`JsonPath`]), `{{var}}` templates ([`substitute`] and
//! friends) and captures: how a scenario names parts of a response and
//! carries values from one step to the next.

use std::fmt;

use serde_json::{Map, Value};

use super::matching::Outcome;

// ---------------------------------------------------------------------------
// Paths

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array element; negative counts from the end (`-1` is the last).
    Index(i64),
}

/// A path to a field of a JSON document: `data.tokens[0].name`,
/// `data.tokens[-1]`, `["odd.key"]`, or `""`/`$` for the whole document.
///
/// ```
/// use archil_mock::scenario::JsonPath;
/// use serde_json::json;
/// let body = json!({"data": {"tokens": [{"name": "a"}, {"name": "b"}]}});
/// let path: JsonPath = "data.tokens[-1].name".parse().unwrap();
/// assert_eq!(path.lookup(&body), Some(&json!("b")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

impl JsonPath {
    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The field the path names, if the document has it.
    pub fn lookup<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(document, |value, segment| match (segment, value) {
                (Segment::Key(k), Value::Object(map)) => map.get(k),
                (Segment::Index(i), Value::Array(items)) => {
                    let i = if *i < 0 {
                        items.len().checked_sub(i.unsigned_abs() as usize)?
                    } else {
                        *i as usize
                    };
                    items.get(i)
                }
                _ => None,
            })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str("$")
        } else {
            f.write_str(&self.text)
        }
    }
}

impl std::str::FromStr for JsonPath {
    type Err = String;

    fn from_str(text: &str) -> Result<JsonPath, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        if chars.first() == Some(&'$') && matches!(chars.get(1), None | Some('.') | Some('[')) {
            i = 1;
            if chars.get(1) == Some(&'.') {
                i = 2;
                if chars.len() == 2 {
                    return Err("a path cannot end with `.`".into());
                }
            }
        }
        let mut segments = Vec::new();
        let mut expect_key = false; // after a `.`
        while i < chars.len() {
            if chars[i] == '[' && !expect_key {
                if chars.get(i + 1) == Some(&'"') {
                    // ["key"], with JSON string escapes.
                    let start = i + 1;
                    let mut j = start + 1;
                    while j < chars.len() && chars[j] != '"' {
                        j += if chars[j] == '\\' { 2 } else { 1 };
                    }
                    if j >= chars.len() || chars.get(j + 1) != Some(&']') {
                        return Err(format!("unterminated [\"…\"] at character {}", i + 1));
                    }
                    let quoted: String = chars[start..=j].iter().collect();
                    let key: String = serde_json::from_str(&quoted)
                        .map_err(|e| format!("bad quoted key {quoted}: {e}"))?;
                    segments.push(Segment::Key(key));
                    i = j + 2;
                } else {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("unclosed [ at character {}", i + 1))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let index = inner
                        .parse::<i64>()
                        .ok()
                        .filter(|_| !inner.starts_with('+'))
                        .ok_or_else(|| {
                            format!("[{inner}] is not an array index (use [\"{inner}\"] for a key)")
                        })?;
                    segments.push(Segment::Index(index));
                    i = close + 1;
                }
            } else {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ']' | '"') {
                    i += 1;
                }
                if i == start {
                    return Err(match chars.get(i) {
                        Some(c) => format!("expected a key at character {}, found `{c}`", i + 1),
                        None => "a path cannot end with `.`".into(),
                    });
                }
                segments.push(Segment::Key(chars[start..i].iter().collect()));
            }
            expect_key = false;
            match chars.get(i) {
                None | Some('[') => {}
                Some('.') => {
                    expect_key = true;
                    i += 1;
                    if i == chars.len() {
                        return Err("a path cannot end with `.`".into());
                    }
                }
                Some(c) => return Err(format!("unexpected `{c}` at character {}", i + 1)),
            }
        }
        Ok(JsonPath {
            text: text.to_owned(),
            segments,
        })
    }
}

// ---------------------------------------------------------------------------
// Templates

/// Variables: scenario `vars` plus everything captured so far.
pub type Vars = Map<String, Value>;

/// The `{{name}}` references in `text`, in order. A name is a letter or `_`
/// followed by letters, digits, `_` or `-`; spaces inside the braces are
/// allowed. Anything else between braces is literal text.
pub fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    scan(text, |piece| {
        if let Piece::Var(name) = piece {
            found.push(name.to_owned());
        }
    });
    found
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn scan<'a>(text: &'a str, mut each: impl FnMut(Piece<'a>)) {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let name = after[..close].trim();
        if is_var_name(name) {
            each(Piece::Text(&rest[..open]));
            each(Piece::Var(name));
            rest = &after[close + 2..];
        } else {
            each(Piece::Text(&rest[..open + 2]));
            rest = after;
        }
    }
    each(Piece::Text(rest));
}

/// Whether `name` can be a variable (and so a capture) name.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Replaces every `{{name}}` in `text`. A string that is exactly one reference
/// becomes the variable's value with its JSON type (so `"{{count}}"` can stand
/// for a number); inside longer text, strings are inserted as they are and
/// other values as compact JSON.
///
/// ```
/// use archil_mock::scenario::substitute;
/// use serde_json::json;
/// let vars = json!({"id": "abc", "n": 3}).as_object().unwrap().clone();
/// assert_eq!(substitute("/api/tokens/{{id}}", &vars).unwrap(), json!("/api/tokens/abc"));
/// assert_eq!(substitute("{{n}}", &vars).unwrap(), json!(3));
/// ```
pub fn substitute(text: &str, vars: &Vars) -> Result<Value, String> {
    let refs = references(text);
    if refs.len() == 1 {
        let whole = text.trim_start_matches("{{").trim_end_matches("}}").trim();
        if text.starts_with("{{") && text.ends_with("}}") && whole == refs[0] {
            return lookup_var(&refs[0], vars).cloned();
        }
    }
    substitute_str(text, vars).map(Value::String)
}

/// Like [`substitute`], but always a string.
pub fn substitute_str(text: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut error = None;
    scan(text, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Var(name) => match lookup_var(name, vars) {
            Ok(Value::String(s)) => out.push_str(s),
            Ok(other) => out.push_str(&other.to_string()),
            Err(e) => {
                error.get_or_insert(e);
            }
        },
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// [`substitute`] applied to every string inside a JSON value (object keys
/// are left as they are).
pub fn substitute_value(value: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => substitute(s, vars)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_value(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_value(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn lookup_var<'a>(name: &str, vars: &'a Vars) -> Result<&'a Value, String> {
    vars.get(name).ok_or_else(|| {
        format!("variable {{{{{name}}}}} has no value (did the step that captures it fail?)")
    })
}

// ---------------------------------------------------------------------------
// Captures

/// Stores each captured field in `vars`; returns a line per field that is missing.
pub fn capture(captures: &[(String, JsonPath)], outcome: &Outcome, vars: &mut Vars) -> Vec<String> {
    if captures.is_empty() {
        return Vec::new();
    }
    let body = match outcome.json() {
        Some(Ok(body)) => body,
        Some(Err(e)) => {
            return vec![format!("capture: cannot capture, {e}")];
        }
        None => return vec!["capture: cannot capture without a response".to_owned()],
    };
    let mut problems = Vec::new();
    for (name, path) in captures {
        match path.lookup(&body) {
            Some(v) => {
                vars.insert(name.clone(), v.clone());
            }
            None => problems.push(format!("capture {name}: {path} is not in the response")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::test_support::{path, response, vars};
    use serde_json::json;

    #[test]
    fn paths_parse_keys_indexes_and_quoted_keys() {
        use Segment::*;
        assert_eq!(path("").segments(), &[]);
        assert_eq!(path("$").segments(), &[]);
        assert_eq!(
            path("data.tokens[0].name").segments(),
            &[
                Key("data".into()),
                Key("tokens".into()),
                Index(0),
                Key("name".into())
            ]
        );
        assert_eq!(path("$.a[-1]").segments(), &[Key("a".into()), Index(-1)]);
        assert_eq!(path("$[2]").segments(), &[Index(2)]);
        assert_eq!(
            path(r#"a["x.y"]["q\"uote"].b"#).segments(),
            &[
                Key("a".into()),
                Key("x.y".into()),
                Key("q\"uote".into()),
                Key("b".into())
            ]
        );
        assert_eq!(path("$schema").segments(), &[Key("$schema".into())]);
        for bad in [
            "a.", "a..b", "a[", "a[x]", "a[+1]", "a]", r#"a["x"#, ".a", "$.", "a.[0]",
        ] {
            assert!(bad.parse::<JsonPath>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn lookup_follows_the_path_and_counts_negative_indexes_from_the_end() {
        let doc = json!({"data": {"tokens": [{"name": "a"}, {"name": "b"}]}, "x.y": 1});
        assert_eq!(path("data.tokens[1].name").lookup(&doc), Some(&json!("b")));
        assert_eq!(path("data.tokens[-2].name").lookup(&doc), Some(&json!("a")));
        assert_eq!(path("data.tokens[-3]").lookup(&doc), None);
        assert_eq!(path("data.tokens[2]").lookup(&doc), None);
        assert_eq!(path(r#"["x.y"]"#).lookup(&doc), Some(&json!(1)));
        assert_eq!(path("data.tokens.name").lookup(&doc), None);
        assert_eq!(path("").lookup(&doc), Some(&doc));
    }

    #[test]
    fn templates_fill_in_text_and_keep_types_for_whole_references() {
        let v = vars(json!({"id": "abc", "n": 3, "obj": {"a": 1}}));
        assert_eq!(
            substitute_str("/api/tokens/{{id}}?n={{ n }}", &v).unwrap(),
            "/api/tokens/abc?n=3"
        );
        assert_eq!(substitute("{{n}}", &v).unwrap(), json!(3));
        assert_eq!(substitute("{{obj}}", &v).unwrap(), json!({"a": 1}));
        assert_eq!(substitute("x{{obj}}", &v).unwrap(), json!("x{\"a\":1}"));
        assert_eq!(substitute("{{id}}{{id}}", &v).unwrap(), json!("abcabc"));
        // Not a reference: left alone.
        assert_eq!(
            substitute_str("{{not a name}} {{}} {{", &v).unwrap(),
            "{{not a name}} {{}} {{"
        );
        let err = substitute_str("{{missing}}", &v).unwrap_err();
        assert!(err.contains("{{missing}}"), "{err}");
        assert_eq!(
            substitute_value(&json!({"name": "{{id}}", "list": ["{{n}}"]}), &v).unwrap(),
            json!({"name": "abc", "list": [3]})
        );
        assert_eq!(references("a {{x}} b {{ y-2 }} {{3}}"), ["x", "y-2"]);
    }

    #[test]
    fn captures_store_values_and_report_missing_fields() {
        let mut v = Vars::new();
        let outcome = response(201, json!({"data": {"token": "key-new", "id": "abc"}}));
        let problems = capture(
            &[
                ("newKey".into(), path("data.token")),
                ("nope".into(), path("data.nope")),
            ],
            &outcome,
            &mut v,
        );
        assert_eq!(v["newKey"], json!("key-new"));
        assert_eq!(problems, ["capture nope: data.nope is not in the response"]);
    }
}
