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
use crate::error::{ApiError, json_response, reason_for};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<bool>,
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

/// What a chosen rule does to the response, decided once per request.
#[derive(Debug, Clone)]
pub enum Effect {
    Reset,
    Malformed,
    /// Replace the response with this status + body.
    Respond(StatusCode, Value),
    /// Keep the real response (a pure delay, or extra headers only).
    PassThrough,
}

impl RuleSpec {
    pub fn when(&self) -> When {
        self.when.unwrap_or_default()
    }

    pub fn effect(&self) -> Effect {
        if self.reset == Some(true) {
            return Effect::Reset;
        }
        if self.malformed == Some(true) {
            return Effect::Malformed;
        }
        // A rule with a body or Retry-After but no status still has to answer
        // something: 429 is what Retry-After goes with, 500 otherwise.
        let status = self.status.or(if self.retry_after.is_some() {
            Some(429)
        } else if self.body.is_some() {
            Some(500)
        } else {
            None
        });
        match status.and_then(|s| StatusCode::from_u16(s).ok()) {
            Some(code) => {
                let body = match &self.body {
                    Some(b) if !b.is_null() => b.clone(),
                    _ => json!({ "error": reason_for(code) }),
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
        for (name, value) in self.headers.iter().flatten() {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&text),
            ) {
                h.insert(n, v);
            }
        }
    }

    pub fn respond(&self, status: StatusCode, body: &Value) -> Response {
        let mut resp = json_response(status, body);
        self.apply_headers(&mut resp);
        resp
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
            if let Some(s) = spec.status
                && !(100..=599).contains(&s)
            {
                return Err(ApiError::bad_request(format!(
                    "rule {i}: status must be 100..599"
                )));
            }
            if let Some(p) = spec.probability
                && !(0.0..=1.0).contains(&p)
            {
                return Err(ApiError::bad_request(format!(
                    "rule {i}: probability must be within 0..1"
                )));
            }
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
