//! Receiving a deployed trigger's events: what Pipedream POSTs to a trigger's `webhook_url`.
//!
//! Confirmed: Pipedream signs these deliveries with HMAC-SHA256 and a per-webhook signing key
//! (`webhook_signing_key` on deploy, `signing_key` from the webhook endpoints). NOT confirmed:
//! the header and the signed bytes; Pipedream's "Validating signatures" section could not be
//! read. The scheme here is the one several independent integrations use,
//! `x-pd-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>`; all of it
//! (the header's name, its parsing, the signed bytes) is the three items marked "The scheme"
//! below, so a correction touches nothing else.
//!
//! A second check does not depend on that scheme: `triggerWebhookUrl` puts a token derived
//! from a secret of the caller's into the URL path, and verification checks it too. Event ids
//! are remembered for an hour in this process, which outlasts any tolerance allowed (at most
//! 30 minutes either side of now).

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;
use serde::Serialize;
use serde_json::Value;

use crate::engine::args::Args;
use crate::engine::error::{Error, Result, cut};
use crate::engine::hash::{hex, sha256_hex};
use crate::engine::json::to_json;
use crate::engine::secret::Secret;

// The scheme (unconfirmed): SIGNATURE_HEADER, signature() and parse_header().

/// The header the signature comes in.
pub const SIGNATURE_HEADER: &str = "x-pd-signature";
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The longest tolerance taken. A delivery is accepted for up to twice this (its time may be
/// ahead of ours or behind), which `SEEN_FOR` must outlast.
const MAX_TOLERANCE: Duration = Duration::from_secs(1_800);
/// How long an event id is remembered.
const SEEN_FOR: Duration = Duration::from_secs(3_600);
const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
const SHAPE: &str = "verifyTriggerWebhook expects { rawBody, headers, signingKey, toleranceMs?, path?, pathSecret?, dedupe? }";

/// Event ids seen in the last hour, per signing key: a second delivery of one is a replay.
static SEEN: LazyLock<moka::sync::Cache<String, ()>> = LazyLock::new(|| {
    moka::sync::Cache::builder()
        .max_capacity(200_000)
        .time_to_live(SEEN_FOR)
        .build()
});

/// The (unconfirmed) signature of `body` signed at `t` (unix seconds): lowercase hex of
/// HMAC-SHA256 over `"<t>." + body`, keyed with the signing key's UTF-8 bytes.
pub fn signature(signing_key: &str, t: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, signing_key.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{t}.").as_bytes());
    ctx.update(body);
    hex(ctx.sign().as_ref())
}

/// Equal, in a time that does not depend on where they differ (the length is no secret).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && std::hint::black_box(
            a.bytes()
                .zip(b.bytes())
                .fold(0u8, |diff, (x, y)| diff | (x ^ y)),
        ) == 0
}

/// The token `triggerWebhookUrl` puts in the path for `id`: 32 hex characters of
/// HMAC-SHA256(secret, "pipedream-trigger-webhook:" + id).
fn path_token(secret: &Secret, id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = hmac::sign(&key, format!("pipedream-trigger-webhook:{id}").as_bytes());
    hex(&tag.as_ref()[..16])
}

fn check_route_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    match ok {
        true => Ok(()),
        false => Err(Error::InvalidArgs(format!(
            "triggerWebhookUrl: `id` {:?} must be letters, digits, '-', '_' or '.' (a workflow id, say)",
            cut(id, 60)
        ))),
    }
}

fn check_secret(secret: &Secret, call: &str) -> Result<()> {
    match secret.expose().len() >= 16 {
        true => Ok(()),
        false => Err(Error::InvalidArgs(format!(
            "{call}: the path secret must be at least 16 characters (a random one, kept with Director's secrets)"
        ))),
    }
}

/// `triggerWebhookUrl(base, { id, secret })`: `<base>/<id>/<token>`, the URL to deploy a
/// trigger with. `id` says which workflow the events are for; the token proves the URL was made
/// with `secret`, whoever else learns the base.
pub fn webhook_url(base: &str, id: &str, secret: &Secret) -> Result<String> {
    let url = url::Url::parse(base).map_err(|e| {
        Error::InvalidArgs(format!(
            "triggerWebhookUrl: `base` {:?} is not a URL ({e})",
            cut(base, 100)
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(Error::InvalidArgs(
            "triggerWebhookUrl: `base` must be an http(s) URL without a query or fragment, such as https://director.example.com/hooks/pipedream".into(),
        ));
    }
    check_route_id(id)?;
    check_secret(secret, "triggerWebhookUrl")?;
    Ok(format!(
        "{}/{id}/{}",
        base.trim_end_matches('/'),
        path_token(secret, id)
    ))
}

/// A delivery to check, read from `verifyTriggerWebhook`'s argument.
pub struct Delivery {
    pub body: Vec<u8>,
    signature: Option<String>,
    signing_key: Secret,
    tolerance: Duration,
    path: Option<(String, Secret)>,
    dedupe: bool,
}

impl Delivery {
    /// `args` without `rawBody` (read by the binding as bytes).
    pub fn parse(args: &Value, body: Vec<u8>) -> Result<Self> {
        let a = Args::new(args, SHAPE)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(a.fail(format!("the body is larger than {MAX_BODY_BYTES} bytes")));
        }
        let signing_key = a.required_string(
            "signingKey",
            1_000,
            "the webhook_signing_key a deploy answered",
        )?;
        let headers = a.nested("headers")?.and_then(Value::as_object);
        let signature = headers.and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE_HEADER))
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
        });
        let tolerance = a
            .integer("toleranceMs", 1_000, MAX_TOLERANCE.as_millis() as u64)?
            .map_or(DEFAULT_TOLERANCE, Duration::from_millis);
        let path = match (a.string("path", 4_000)?, a.string("pathSecret", 1_000)?) {
            (Some(p), Some(s)) => Some((p, Secret::new(s))),
            (None, None) => None,
            _ => return Err(a.fail("`path` and `pathSecret` go together: the request's path, and the secret triggerWebhookUrl was given".into())),
        };
        Ok(Self {
            body,
            signature,
            signing_key: Secret::new(signing_key),
            tolerance,
            path,
            dedupe: a.boolean("dedupe")?.unwrap_or(true),
        })
    }
}

/// A verified delivery, as `verifyTriggerWebhook` answers it.
#[derive(Serialize)]
struct Verified<'a> {
    /// The event's id: the envelope's `id` when the body is one, else `sha256:` of the body
    /// (the same for every retry of one delivery).
    id: String,
    /// The `<id>` of `triggerWebhookUrl`, when a path was checked.
    route_id: Option<&'a str>,
    /// The event as the trigger emitted it.
    payload: &'a Value,
    signed_at_ms: u64,
}

/// Checks `d` at `now`: the path token (when given), then the signature, then its age, then
/// whether it was seen. Every failure is coded and names no secret.
pub fn verify(d: &Delivery, now: SystemTime) -> Result<String> {
    let route_id = match &d.path {
        Some((path, secret)) => Some(check_path(path, secret)?),
        None => None,
    };
    let header = d.signature.as_deref().ok_or_else(|| {
        Error::WebhookSignature(format!(
            "the delivery has no {SIGNATURE_HEADER} header; answer 401 and start nothing"
        ))
    })?;
    let (t, candidates) = parse_header(header)?;
    let expected = signature(d.signing_key.expose(), t, &d.body);
    // Hex is hex in either case; `expected` is lower-case.
    if !candidates
        .iter()
        .any(|c| same(&c.to_ascii_lowercase(), &expected))
    {
        return Err(Error::WebhookSignature(
            "the delivery's signature does not match the signing key (a forged or altered delivery, or a key that was regenerated); answer 401 and start nothing".into(),
        ));
    }
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let age = now_s.abs_diff(t);
    if age > d.tolerance.as_secs() {
        return Err(Error::WebhookStale(format!(
            "the delivery was signed {age} s from now, outside the {} s tolerance (an old delivery replayed, or a clock far off); answer 401",
            d.tolerance.as_secs()
        )));
    }
    let body: Value = serde_json::from_slice(&d.body).map_err(|e| {
        Error::InvalidArgs(format!(
            "the delivery is signed but its body is not JSON ({e})"
        ))
    })?;
    let (id, payload) = match (&body, body.get("e"), body.get("id").and_then(Value::as_str)) {
        (Value::Object(_), Some(e), Some(id)) if body.get("ts").is_some() => (id.to_owned(), e),
        _ => (format!("sha256:{}", sha256_hex(&d.body)), &body),
    };
    if d.dedupe {
        let key = format!(
            "{}:{id}",
            &sha256_hex(d.signing_key.expose().as_bytes())[..16]
        );
        let entry = SEEN.entry(key).or_insert(());
        if !entry.is_fresh() {
            return Err(Error::WebhookReplay(format!(
                "event {} was delivered and verified before; answer 2xx and start nothing (the first delivery is the one to act on)",
                cut(&id, 80)
            )));
        }
    }
    Ok(to_json(&Verified {
        id,
        route_id,
        payload,
        signed_at_ms: t.saturating_mul(1000),
    }))
}

/// `t` and the `v1` signatures of the header.
fn parse_header(header: &str) -> Result<(u64, Vec<&str>)> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.trim().parse::<u64>().ok(),
            Some(("v1", value)) => v1.push(value.trim()),
            _ => {}
        }
    }
    match (t, v1.is_empty()) {
        (Some(t), false) => Ok((t, v1)),
        _ => Err(Error::WebhookSignature(format!(
            "the {SIGNATURE_HEADER} header is not t=<unix seconds>,v1=<hex>; answer 401 and start nothing"
        ))),
    }
}

/// The `<id>` of a `triggerWebhookUrl` path whose token is right.
fn check_path<'a>(path: &'a str, secret: &Secret) -> Result<&'a str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let (token, id) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
    let right = check_route_id(id).is_ok() && same(token, &path_token(secret, id));
    match right {
        true => Ok(id),
        false => Err(Error::WebhookSignature(
            "the delivery's URL path does not carry the token triggerWebhookUrl made for it; answer 401 and start nothing".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(body: &str, header: Option<String>, key: &str) -> Delivery {
        let mut args = json!({ "signingKey": key });
        if let Some(h) = header {
            args["headers"] = json!({ "X-PD-Signature": h });
        }
        Delivery::parse(&args, body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn a_signed_delivery_verifies_once() {
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let body = r#"{"subject":"hi","n":1}"#;
        let header = format!("t={t},v1={}", signature("key-1", t, body.as_bytes()));
        let d = delivery(body, Some(header.clone()), "key-1");
        let v: Value = serde_json::from_str(&verify(&d, now).unwrap()).unwrap();
        assert_eq!(v["payload"], json!({"subject": "hi", "n": 1}));
        assert!(v["id"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(
            verify(&d, now).unwrap_err().code().as_str(),
            "PIPEDREAM_WEBHOOK_REPLAY"
        );
        // Another key, another webhook: not a replay of the first.
        let other = format!("t={t},v1={}", signature("key-2", t, body.as_bytes()));
        assert!(verify(&delivery(body, Some(other), "key-2"), now).is_ok());
    }

    /// A sender that writes its hex in capitals signs the same bytes.
    #[test]
    fn an_upper_case_signature_verifies() {
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let body = r#"{"unique":"upper-case-test"}"#;
        let hex = signature("key-u", t, body.as_bytes()).to_ascii_uppercase();
        let d = delivery(body, Some(format!("t={t},v1={hex}")), "key-u");
        assert!(verify(&d, now).is_ok());
    }

    #[test]
    fn forged_missing_and_stale_signatures_are_refused() {
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let body = r#"{"unique":"forged-test"}"#;
        let code = |d: Delivery| verify(&d, now).unwrap_err().code().as_str();
        let forged = format!("t={t},v1={}", signature("wrong", t, body.as_bytes()));
        assert_eq!(
            code(delivery(body, Some(forged), "key")),
            "PIPEDREAM_WEBHOOK_SIGNATURE"
        );
        assert_eq!(
            code(delivery(body, None, "key")),
            "PIPEDREAM_WEBHOOK_SIGNATURE"
        );
        assert_eq!(
            code(delivery(body, Some("v1=abc".into()), "key")),
            "PIPEDREAM_WEBHOOK_SIGNATURE"
        );
        let old = t - 3_600;
        let stale = format!("t={old},v1={}", signature("key", old, body.as_bytes()));
        let e = verify(&delivery(body, Some(stale), "key"), now).unwrap_err();
        assert_eq!(e.code().as_str(), "PIPEDREAM_WEBHOOK_STALE");
        assert!(!e.to_string().contains("key"), "{e}");
    }

    #[test]
    fn path_tokens_come_from_the_secret() {
        let secret = Secret::new("a-long-path-secret-123");
        let url = webhook_url("https://d.example/hooks/", "wf_1", &secret).unwrap();
        assert!(url.starts_with("https://d.example/hooks/wf_1/"));
        let path = url.trim_start_matches("https://d.example");
        assert_eq!(check_path(path, &secret).unwrap(), "wf_1");
        assert!(check_path(&path.replace("wf_1", "wf_2"), &secret).is_err());
        assert!(check_path(path, &Secret::new("another-secret-of-16")).is_err());
        assert!(webhook_url("https://d.example", "a/b", &secret).is_err());
        assert!(webhook_url("https://d.example", "a", &Secret::new("short")).is_err());
    }
}
