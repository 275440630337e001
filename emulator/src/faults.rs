//! Fault rules: how the emulator misbehaves on purpose. This file holds the
//! rule model and the choice of rule; `gateway.rs` carries the effect out.

use std::sync::Mutex;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock;
use crate::error::{ApiError, reason_for};
use crate::state::lock;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    #[default]
    Before,
    After,
}

/// A rule as posted. Unknown fields are refused so a typo (`retryAfter`)
/// fails loudly instead of silently injecting nothing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The body as this exact text, for what `body` (a tree this server writes again) loses:
    /// the key order, escapes and numbers of a real server's JSON, or repeated keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<bool>,
    /// `true`/`false` or a [`MalformedKind`] name; checked in [`FaultStore::add`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oversize_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_body_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Echoed by GET; accepted (and ignored) so a listed rule can be re-posted.
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    id: Option<Value>,
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    hits: Option<Value>,
}

/// Largest `oversize_bytes`: big enough for any client limit, small enough
/// that a stray rule cannot stream forever.
pub const MAX_OVERSIZE: u64 = 256 * 1024 * 1024;
/// Largest `stall_body_ms` (one hour).
pub const MAX_STALL_MS: u64 = 3_600_000;
const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// The kinds of unreadable 200 body `malformed` can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedKind {
    /// JSON cut off mid-way (`malformed: true`).
    Truncated,
    /// An HTML proxy error page as `text/html`.
    Html,
    /// JSON-looking bytes with invalid UTF-8 inside a string.
    InvalidUtf8,
    /// Valid JSON nested far beyond serde_json's recursion limit.
    Deep,
    /// No body at all, still `application/json`.
    Empty,
    /// Plain text.
    NotJson,
}

impl MalformedKind {
    const NAMES: &'static str = "truncated, html, invalid_utf8, deep, empty, not_json";

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "truncated" => Self::Truncated,
            "html" => Self::Html,
            "invalid_utf8" => Self::InvalidUtf8,
            "deep" => Self::Deep,
            "empty" => Self::Empty,
            "not_json" => Self::NotJson,
            _ => return None,
        })
    }
}

/// What a chosen rule does to the response, decided once per request.
#[derive(Debug, Clone)]
pub enum Effect {
    Reset,
    /// Replace the response with an unreadable body of this kind.
    Malformed(StatusCode, MalformedKind),
    /// Replace the response with valid JSON of at least this many bytes.
    Oversize(StatusCode, u64),
    /// Replace the response with an empty-bodied redirect.
    Redirect(StatusCode, String),
    /// Replace the response with this status + JSON body (its bytes).
    Respond(StatusCode, Vec<u8>),
    /// Keep the real response (a pure delay, or extra headers only).
    PassThrough,
}

impl RuleSpec {
    pub fn when(&self) -> When {
        self.when.unwrap_or_default()
    }

    /// `None` for absent or `false`; `Err` for a value that names no kind.
    pub fn malformed_kind(&self) -> Result<Option<MalformedKind>, String> {
        match &self.malformed {
            None | Some(Value::Bool(false)) => Ok(None),
            Some(Value::Bool(true)) => Ok(Some(MalformedKind::Truncated)),
            Some(Value::String(s)) => MalformedKind::from_name(s).map(Some).ok_or_else(|| {
                format!(
                    "malformed must be true, false or one of {}, not {s:?}",
                    MalformedKind::NAMES
                )
            }),
            Some(other) => Err(format!(
                "malformed must be true, false or one of {}, not {other}",
                MalformedKind::NAMES
            )),
        }
    }

    /// Checks everything serde cannot: value ranges and combinations that
    /// would otherwise be silently ignored.
    fn validate(&self) -> Result<(), String> {
        if let Some(s) = self.status
            && !(100..=599).contains(&s)
        {
            return Err("status must be 100..599".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("probability must be within 0..1".into());
        }
        let malformed = self.malformed_kind()?;
        if let Some(n) = self.oversize_bytes
            && !(1..=MAX_OVERSIZE).contains(&n)
        {
            return Err(format!("oversize_bytes must be 1..={MAX_OVERSIZE}"));
        }
        if let Some(ms) = self.stall_body_ms
            && !(1..=MAX_STALL_MS).contains(&ms)
        {
            return Err(format!("stall_body_ms must be 1..={MAX_STALL_MS}"));
        }
        if let Some(url) = &self.redirect {
            let uri: axum::http::Uri = url
                .parse()
                .map_err(|e| format!("redirect must be an absolute URL: {e}"))?;
            if uri.scheme().is_none() || uri.authority().is_none() {
                return Err(format!(
                    "redirect must be an absolute URL (scheme://host/...), not {url:?}"
                ));
            }
            let status = self.status.unwrap_or(307);
            if !REDIRECT_STATUSES.contains(&status) {
                return Err(format!(
                    "status with redirect must be one of 301, 302, 303, 307, 308, not {status}"
                ));
            }
        }
        let replacements: Vec<&str> = [
            (self.reset == Some(true), "reset"),
            (malformed.is_some(), "malformed"),
            (self.oversize_bytes.is_some(), "oversize_bytes"),
            (self.redirect.is_some(), "redirect"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        if replacements.len() > 1 {
            return Err(format!(
                "{} cannot be combined (pick one)",
                replacements.join(" and ")
            ));
        }
        if self.body.is_some() && self.body_text.is_some() {
            return Err("body and body_text cannot be combined (pick one)".into());
        }
        let body = match (&self.body, &self.body_text) {
            (Some(_), _) => Some("body"),
            (_, Some(_)) => Some("body_text"),
            _ => None,
        };
        if let (Some(what), Some(body)) = (replacements.first(), body) {
            return Err(format!("{body} cannot be combined with {what}"));
        }
        if self.stall_body_ms.is_some() {
            let empty = match replacements.first() {
                Some(&"reset") => Some("reset (nothing is sent)"),
                Some(&"redirect") => Some("redirect (the body is empty)"),
                _ if malformed == Some(MalformedKind::Empty) => {
                    Some("malformed \"empty\" (the body is empty)")
                }
                _ => None,
            };
            if let Some(what) = empty {
                return Err(format!("stall_body_ms cannot be combined with {what}"));
            }
        }
        for (name, value) in self.headers.iter().flatten() {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: {name:?} is not a valid header name"))?;
            HeaderValue::from_bytes(header_text(value).as_bytes()).map_err(|_| {
                format!("headers: the value of {name:?} cannot be sent (control characters)")
            })?;
        }
        Ok(())
    }

    pub fn effect(&self) -> Effect {
        if self.reset == Some(true) {
            return Effect::Reset;
        }
        let status_or = |default: u16| {
            self.status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::from_u16(default).expect("valid default status"))
        };
        if let Some(url) = &self.redirect {
            return Effect::Redirect(status_or(307), url.clone());
        }
        if let Ok(Some(kind)) = self.malformed_kind() {
            return Effect::Malformed(status_or(200), kind);
        }
        if let Some(n) = self.oversize_bytes {
            return Effect::Oversize(status_or(200), n);
        }
        // A rule with a body or Retry-After but no status still has to answer
        // something: 429 is what Retry-After goes with, 500 otherwise.
        let status = self.status.or(if self.retry_after.is_some() {
            Some(429)
        } else if self.body.is_some() || self.body_text.is_some() {
            Some(500)
        } else {
            None
        });
        match status.and_then(|s| StatusCode::from_u16(s).ok()) {
            Some(code) => {
                let body = match (&self.body, &self.body_text) {
                    (_, Some(text)) => text.clone().into_bytes(),
                    (Some(b), _) if !b.is_null() => serde_json::to_vec(b).unwrap_or_default(),
                    _ => serde_json::to_vec(&json!({ "error": reason_for(code) }))
                        .unwrap_or_default(),
                };
                Effect::Respond(code, body)
            }
            None => Effect::PassThrough,
        }
    }

    /// Custom headers plus the rate-limit set that goes with Retry-After.
    pub fn apply_headers(&self, resp: &mut Response) {
        let h = resp.headers_mut();
        if let Some(secs) = self.retry_after {
            let secs = secs.max(0.0).ceil() as u64;
            let reset = clock::now_secs() + secs;
            for (name, value) in [
                ("retry-after", secs.to_string()),
                ("x-ratelimit-limit", "100".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(HeaderName::from_static(name), v);
                }
            }
        }
        // Last, so a rule's own `headers` override the set above (and any
        // header of the response itself, e.g. content-type or location).
        for (name, value) in self.headers.iter().flatten() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(header_text(value).as_bytes()),
            ) {
                h.insert(n, v);
            }
        }
    }
}

/// A header value as sent: strings verbatim (any bytes but control
/// characters, so non-ASCII garbage too), other JSON as its text.
fn header_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Rule {
    id: String,
    spec: RuleSpec,
    regex: Regex,
    hits: u64,
}

impl Rule {
    fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.spec).unwrap_or_else(|_| json!({}));
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), json!(self.id));
            m.insert("hits".into(), json!(self.hits));
        }
        v
    }
}

struct Rules {
    list: Vec<Rule>,
    next_id: u64,
    rng: StdRng,
}

pub struct FaultStore {
    seed: u64,
    inner: Mutex<Rules>,
}

impl FaultStore {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: Mutex::new(Rules {
                list: Vec::new(),
                next_id: 1,
                rng: StdRng::seed_from_u64(seed),
            }),
        }
    }

    /// Validates every rule before adding any, so a bad batch changes nothing.
    pub fn add(&self, body: Value) -> Result<Vec<Value>, ApiError> {
        let specs: Vec<Value> = match body {
            Value::Object(mut m) if m.contains_key("rules") && !m.contains_key("path") => {
                match m.remove("rules") {
                    Some(Value::Array(a)) => a,
                    _ => return Err(ApiError::bad_request("rules must be an array")),
                }
            }
            Value::Array(a) => a,
            other => vec![other],
        };
        let mut parsed = Vec::with_capacity(specs.len());
        for (i, raw) in specs.into_iter().enumerate() {
            let spec: RuleSpec = serde_json::from_value(raw)
                .map_err(|e| ApiError::bad_request(format!("rule {i}: {e}")))?;
            let regex = Regex::new(&spec.path)
                .map_err(|e| ApiError::bad_request(format!("rule {i}: bad path regex: {e}")))?;
            spec.validate()
                .map_err(|e| ApiError::bad_request(format!("rule {i}: {e}")))?;
            parsed.push((spec, regex));
        }
        let mut rules = lock(&self.inner);
        let mut out = Vec::with_capacity(parsed.len());
        for (spec, regex) in parsed {
            let rule = Rule {
                id: format!("flt_{}", rules.next_id),
                spec,
                regex,
                hits: 0,
            };
            rules.next_id += 1;
            out.push(rule.to_json());
            rules.list.push(rule);
        }
        Ok(out)
    }

    pub fn list(&self) -> Vec<Value> {
        lock(&self.inner).list.iter().map(Rule::to_json).collect()
    }

    pub fn clear(&self) -> usize {
        let mut rules = lock(&self.inner);
        let n = rules.list.len();
        rules.list.clear();
        n
    }

    /// Also rewinds the probability generator, so a reset test run replays
    /// exactly the same fault pattern as a fresh process with the same seed.
    pub fn clear_and_reseed(&self) {
        let mut rules = lock(&self.inner);
        rules.list.clear();
        rules.next_id = 1;
        rules.rng = StdRng::seed_from_u64(self.seed);
    }

    /// First matching rule with count left wins. A rule that loses its
    /// probability roll is skipped (its count is not spent) and later rules
    /// still get their chance.
    pub fn pick(&self, method: &str, path: &str) -> Option<RuleSpec> {
        let mut guard = lock(&self.inner);
        let rules = &mut *guard;
        for rule in rules.list.iter_mut() {
            if rule.spec.count.is_some_and(|c| rule.hits >= c) {
                continue;
            }
            if rule
                .spec
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                continue;
            }
            if !rule.regex.is_match(path) {
                continue;
            }
            if let Some(p) = rule.spec.probability
                && p < 1.0
                && rules.rng.random::<f64>() >= p
            {
                continue;
            }
            rule.hits += 1;
            return Some(rule.spec.clone());
        }
        None
    }
}
