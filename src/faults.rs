//! Fault rules: data that says which requests fail and how. One type,
//! [`FaultRule`], serves the Rust API, the admin endpoints and fixture files;
//! [`Faults`] holds the live rules and picks the one that fires. No I/O here:
//! the server does the sleeping and the dropping.

use std::time::Duration;

use hyper::header::HeaderMap;
use hyper::Method;
use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The longest delay a rule or header may ask for: ten minutes.
pub const MAX_DELAY_MS: u64 = 600_000;

/// Header: fail this one request with a status (`503`) or drop it (`reset`).
pub const FAULT_HEADER: &str = "x-archil-mock-fault";
/// Header: delay this one request by this many milliseconds.
pub const DELAY_HEADER: &str = "x-archil-mock-delay-ms";
/// Header: `after` runs the request, then applies the header fault.
pub const PHASE_HEADER: &str = "x-archil-mock-fault-phase";

/// When a fault strikes relative to the request's execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before: the request is not executed (nothing is created or deleted).
    #[default]
    Before,
    /// After: the request is executed, then its response is replaced; a lost response.
    After,
}

/// A header a request must carry for a rule to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    /// Header name, matched case-insensitively.
    pub name: String,
    /// Exact value.
    pub value: String,
}

/// One fault rule: what it matches, what it does, and for how long.
///
/// ```
/// use archil_mock::FaultRule;
/// // The next two creates fail with 500, then creates succeed again.
/// let rule = FaultRule::status(500).method("POST").path("/api/tokens").times(2);
/// assert!(rule.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Set by the server when the rule is added, unless the rule names itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Match: HTTP method, e.g. `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Match: the path, exact or with `*` (within a segment) and `**` (across segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Match: a header name and exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// Match: the account of the request's API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Action: answer with this 4xx/5xx status in the API's error envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The envelope's `error` message; a standard one for the status if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The envelope's `code`; a standard one for the status if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Action: wait this long first (alone, the request then runs normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Action: drop the connection without a response.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Limit: apply to the next N matching requests, then expire. Listings show what remains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Limit: fire with this probability (0..=1), drawn from the seeded RNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Timing: before execution (default) or after it.
    #[serde(default)]
    pub phase: Phase,
}

impl FaultRule {
    /// A rule that answers with `status` and the error envelope.
    pub fn status(status: u16) -> Self {
        FaultRule {
            status: Some(status),
            ..Default::default()
        }
    }

    /// A rule that delays requests, then lets them run normally.
    pub fn delay(delay: Duration) -> Self {
        FaultRule {
            delay_ms: Some(delay.as_millis().min(u64::MAX as u128) as u64),
            ..Default::default()
        }
    }

    /// A rule that drops the connection with no response.
    pub fn reset() -> Self {
        FaultRule {
            reset: true,
            ..Default::default()
        }
    }

    /// Names the rule, so it can be removed by a known id.
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Only requests whose path matches this pattern.
    pub fn path(mut self, pattern: &str) -> Self {
        self.path = Some(pattern.to_owned());
        self
    }

    /// Only requests carrying this header value.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.header = Some(HeaderMatch {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// Only requests whose key belongs to this account.
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    /// The envelope's `error` message.
    pub fn message(mut self, message: &str) -> Self {
        self.error = Some(message.to_owned());
        self
    }

    /// The envelope's `code`.
    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Also wait this long before the status or reset.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay_ms = Some(delay.as_millis().min(u64::MAX as u128) as u64);
        self
    }

    /// Expire after `n` matching requests.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Fire with probability `p`.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Run the request, then replace its response: a lost response.
    pub fn after(mut self) -> Self {
        self.phase = Phase::After;
        self
    }

    /// Checks the rule; the message names the field and the reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.status.is_none() && self.delay_ms.is_none() && !self.reset {
            return Err("a rule needs an action: status, delayMs or reset".into());
        }
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(format!("status must be between 400 and 599, not {status}"));
            }
            if self.reset {
                return Err("reset cannot be combined with status".into());
            }
        }
        if (self.error.is_some() || self.code.is_some()) && self.status.is_none() {
            return Err("error and code need a status".into());
        }
        if let Some(d) = self.delay_ms {
            if d > MAX_DELAY_MS {
                return Err(format!("delayMs must be at most {MAX_DELAY_MS}"));
            }
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err("probability must be between 0 and 1".into());
            }
        }
        if let Some(m) = &self.method {
            if Method::from_bytes(m.as_bytes()).is_err() || m.is_empty() {
                return Err(format!("method {m:?} is not an HTTP method"));
            }
        }
        if let Some(p) = &self.path {
            if !p.starts_with('/') {
                return Err("path must start with /".into());
            }
        }
        if let Some(h) = &self.header {
            if hyper::header::HeaderName::from_bytes(h.name.as_bytes()).is_err() {
                return Err(format!("header.name {:?} is not a header name", h.name));
            }
        }
        if let Some(id) = &self.id {
            if id.is_empty()
                || id.len() > 100
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err("id must be 1..=100 characters of A-Z a-z 0-9 - _ .".into());
            }
        }
        Ok(())
    }

    fn matches(&self, req: &RequestFacts) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(req.method.as_str()))
            && self
                .path
                .as_deref()
                .is_none_or(|p| path_matches(p, req.path))
            && self
                .account
                .as_deref()
                .is_none_or(|a| req.account == Some(a))
            && self.header.as_ref().is_none_or(|h| {
                req.headers
                    .get_all(h.name.as_str())
                    .iter()
                    .any(|v| v.as_bytes() == h.value.as_bytes())
            })
    }
}

/// What a rule matches against.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The path, without the query.
    pub path: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The account of the request's key, if the key is live.
    pub account: Option<&'a str>,
}

/// A fault that fired for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The rule's id, or `header` for the shortcut headers.
    pub rule: String,
    /// Respond with this error.
    pub error: Option<ApiError>,
    /// Wait this long first.
    pub delay: Option<Duration>,
    /// Drop the connection.
    pub reset: bool,
    /// Before or after execution.
    pub phase: Phase,
}

impl Fired {
    fn from_rule(rule: &FaultRule, id: String) -> Fired {
        Fired {
            rule: id,
            error: rule
                .status
                .map(|status| injected(status, rule.error.clone(), rule.code.clone())),
            delay: rule.delay_ms.map(Duration::from_millis),
            reset: rule.reset,
            phase: rule.phase,
        }
    }

    /// The fault the shortcut headers ask for, if any. A malformed header is a 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Fired>, ApiError> {
        let text = |name: &str| -> Result<Option<&str>, ApiError> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::trim)
                        .map_err(|_| ApiError::Validation(format!("{name} must be ASCII")))
                })
                .transpose()
        };
        let fault = text(FAULT_HEADER)?;
        let delay = text(DELAY_HEADER)?;
        let phase = match text(PHASE_HEADER)? {
            None => Phase::Before,
            Some(v) if v.eq_ignore_ascii_case("before") => Phase::Before,
            Some(v) if v.eq_ignore_ascii_case("after") => Phase::After,
            Some(_) => {
                return Err(ApiError::Validation(format!(
                    "{PHASE_HEADER} must be `before` or `after`"
                )))
            }
        };
        if fault.is_none() && delay.is_none() {
            return Ok(None);
        }
        let mut fired = Fired {
            rule: "header".to_owned(),
            error: None,
            delay: None,
            reset: false,
            phase,
        };
        match fault {
            None => {}
            Some(v) if v.eq_ignore_ascii_case("reset") => fired.reset = true,
            Some(v) => match v.parse::<u16>() {
                Ok(status) if (400..=599).contains(&status) => {
                    fired.error = Some(injected(status, None, None))
                }
                _ => {
                    return Err(ApiError::Validation(format!(
                        "{FAULT_HEADER} must be a status between 400 and 599 or `reset`"
                    )))
                }
            },
        }
        if let Some(v) = delay {
            match v.parse::<u64>() {
                Ok(ms) if ms <= MAX_DELAY_MS => fired.delay = Some(Duration::from_millis(ms)),
                _ => {
                    return Err(ApiError::Validation(format!(
                        "{DELAY_HEADER} must be an integer between 0 and {MAX_DELAY_MS}"
                    )))
                }
            }
        }
        Ok(Some(fired))
    }
}

fn injected(status: u16, message: Option<String>, code: Option<String>) -> ApiError {
    ApiError::Injected {
        status,
        message: message.unwrap_or_else(|| ApiError::default_message(status).to_owned()),
        code: code.unwrap_or_else(|| ApiError::default_code(status).to_owned()),
    }
}

/// The live rules, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    /// Adds rules atomically: all of them, or none if any is invalid (the error
    /// names the index). Returns the ids, assigning fresh ones where absent.
    pub fn add(&mut self, rules: Vec<FaultRule>) -> Result<Vec<String>, String> {
        let mut added = Vec::with_capacity(rules.len());
        for (i, mut rule) in rules.into_iter().enumerate() {
            let at = |e: String| format!("rule {i}: {e}");
            rule.validate().map_err(at)?;
            let id = rule
                .id
                .get_or_insert_with(|| format!("fault-{}", uuid::Uuid::new_v4().simple()))
                .clone();
            if self
                .rules
                .iter()
                .chain(&added)
                .any(|r| r.id.as_deref() == Some(&id))
            {
                return Err(at(format!("id {id:?} is already in use")));
            }
            added.push(rule);
        }
        let ids = added.iter().filter_map(|r| r.id.clone()).collect();
        self.rules.extend(added);
        Ok(ids)
    }

    /// Removes one rule; false if there is none with that id.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id.as_deref() != Some(id));
        self.rules.len() != before
    }

    /// Removes every rule and returns how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.rules).len()
    }

    /// The live rules, with what remains of their `times`.
    pub fn list(&self) -> &[FaultRule] {
        &self.rules
    }

    /// The first live rule matching the request that fires, counting it down.
    /// A rule whose probability draw fails is passed over without being counted.
    pub fn select(&mut self, req: &RequestFacts, rng: &mut StdRng) -> Option<Fired> {
        let index = self.rules.iter().position(|rule| {
            rule.matches(req) && rule.probability.is_none_or(|p| rng.random_bool(p))
        })?;
        let rule = &mut self.rules[index];
        let fired = Fired::from_rule(rule, rule.id.clone().unwrap_or_default());
        if let Some(times) = &mut rule.times {
            *times -= 1;
            if *times == 0 {
                self.rules.remove(index);
            }
        }
        Some(fired)
    }
}

/// Matches a path against a pattern: `*` stands for any run of characters
/// within one segment, `**` for any run at all; everything else is literal.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let p = pattern.as_bytes();
    let s = path.as_bytes();
    // Every request is checked against every rule, so rule out most pairs
    // without allocating: a pattern without stars is an equality test, and
    // the literal text before the first star and after the last must be the
    // path's prefix and suffix.
    let Some(first) = p.iter().position(|&b| b == b'*') else {
        return p == s;
    };
    let last = p.iter().rposition(|&b| b == b'*').unwrap_or(first);
    let (head, tail) = (&p[..first], &p[last + 1..]);
    if s.len() < head.len() + tail.len() || !s.starts_with(head) || !s.ends_with(tail) {
        return false;
    }
    // reachable[j]: the pattern so far can consume exactly s[..j]. O(|p|·|s|).
    let mut reachable = vec![false; s.len() + 1];
    let mut next = vec![false; s.len() + 1];
    reachable[0] = true;
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'*' {
            let globstar = p.get(i + 1) == Some(&b'*');
            let mut carried = false;
            for j in 0..=s.len() {
                if reachable[j] {
                    carried = true;
                } else if j > 0 && !globstar && s[j - 1] == b'/' {
                    carried = false;
                }
                next[j] = carried;
            }
            i += if globstar { 2 } else { 1 };
        } else {
            next[0] = false;
            for j in 0..s.len() {
                next[j + 1] = reachable[j] && s[j] == p[i];
            }
            i += 1;
        }
        std::mem::swap(&mut reachable, &mut next);
    }
    reachable[s.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn facts<'a>(method: &'a Method, path: &'a str, headers: &'a HeaderMap) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path,
            headers,
            account: Some("default"),
        }
    }

    #[test]
    fn patterns() {
        assert!(path_matches("/api/tokens", "/api/tokens"));
        assert!(!path_matches("/api/tokens", "/api/tokens/x"));
        assert!(path_matches("/api/tokens/*", "/api/tokens/abc"));
        assert!(!path_matches("/api/tokens/*", "/api/tokens/a/b"));
        assert!(path_matches("/api/tokens/*", "/api/tokens/"));
        assert!(path_matches("/api/**", "/api/tokens/a/b"));
        assert!(path_matches("/api/*/x", "/api/tokens/x"));
        assert!(path_matches("*", "anything-without-slash"));
        assert!(!path_matches("/a*c", "/abd"));
        assert!(path_matches("/a*c", "/abbbc"));
        assert!(
            !path_matches("/a*a", "/a"),
            "prefix and suffix may not overlap"
        );
        assert!(path_matches("/a*a", "/aa"));
        assert!(path_matches("/x/**/y/*", "/x/1/2/y/z"));
        assert!(!path_matches("/x/**/y/*", "/x/1/2/y/z/w"));
        assert!(path_matches("**", ""));
    }

    #[test]
    fn times_counts_down_and_expires() {
        let mut faults = Faults::default();
        faults.add(vec![FaultRule::status(500).times(2)]).unwrap();
        let (m, h) = (Method::POST, HeaderMap::new());
        let mut rng = StdRng::seed_from_u64(1);
        assert!(faults
            .select(&facts(&m, "/api/tokens", &h), &mut rng)
            .is_some());
        assert_eq!(faults.list()[0].times, Some(1));
        assert!(faults
            .select(&facts(&m, "/api/tokens", &h), &mut rng)
            .is_some());
        assert!(faults
            .select(&facts(&m, "/api/tokens", &h), &mut rng)
            .is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn first_live_match_wins() {
        let mut faults = Faults::default();
        faults
            .add(vec![
                FaultRule::status(401).method("GET"),
                FaultRule::status(503),
            ])
            .unwrap();
        let h = HeaderMap::new();
        let mut rng = StdRng::seed_from_u64(1);
        let post = Method::POST;
        let get = Method::GET;
        let status = |f: Option<Fired>| f.unwrap().error.unwrap().status().as_u16();
        assert_eq!(
            status(faults.select(&facts(&get, "/api/tokens", &h), &mut rng)),
            401
        );
        assert_eq!(
            status(faults.select(&facts(&post, "/api/tokens", &h), &mut rng)),
            503
        );
    }

    #[test]
    fn probability_is_reproducible_with_a_seed() {
        let run = |seed| {
            let mut faults = Faults::default();
            faults
                .add(vec![FaultRule::status(500).probability(0.5)])
                .unwrap();
            let (m, h) = (Method::GET, HeaderMap::new());
            let mut rng = StdRng::seed_from_u64(seed);
            (0..64)
                .map(|_| faults.select(&facts(&m, "/", &h), &mut rng).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7).iter().filter(|&&x| x).count();
        assert!((10..=54).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn invalid_rules_are_refused_whole() {
        let mut faults = Faults::default();
        let err = faults
            .add(vec![FaultRule::status(500), FaultRule::status(200)])
            .unwrap_err();
        assert!(err.contains("rule 1") && err.contains("status"), "{err}");
        assert!(faults.list().is_empty());
        for bad in [
            FaultRule::default(),
            FaultRule::status(500).probability(1.5),
            FaultRule::status(500).times(0),
            FaultRule::reset().code("x"),
            FaultRule::status(500).path("api"),
            FaultRule::delay(Duration::from_secs(601)),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_shortcuts_parse_or_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(FAULT_HEADER, "503".parse().unwrap());
        h.insert(DELAY_HEADER, "25".parse().unwrap());
        let f = Fired::from_headers(&h).unwrap().unwrap();
        assert_eq!(f.error.unwrap().status().as_u16(), 503);
        assert_eq!(f.delay, Some(Duration::from_millis(25)));
        h.insert(FAULT_HEADER, "200".parse().unwrap());
        assert!(Fired::from_headers(&h).is_err());
        h.insert(FAULT_HEADER, "reset".parse().unwrap());
        assert!(Fired::from_headers(&h).unwrap().unwrap().reset);
    }
}
