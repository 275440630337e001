//! Deployed triggers (`dc_…`): what `POST …/triggers/deploy` creates and the
//! `…/deployed-triggers/*` routes read and change (`routes/triggers.rs`), the
//! events they emit, and the signed POSTs of those events to the triggers'
//! webhook URLs, kept for `GET /__emulator/trigger-deliveries`. Events come
//! from the fixture's `x_emulator.samples` (on deploy) or from
//! `POST /__emulator/triggers/{id}/emit` (control.rs). Everything here is
//! cleared by reset.
//!
//! What a delivery looks like on the wire is UNCONFIRMED (see the research
//! notes, B.2 and B.3): the body is the event payload `e` as-is, and the
//! signature is the Stripe-style candidate in [`signature_header`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::catalog::Component;
use crate::clock;
use crate::ids;
use crate::placeholders;
use crate::state::lock;
use crate::webhooks::{self, Failure};

/// The header a delivery's signature goes in (UNCONFIRMED, see [`signature_header`]).
pub const SIGNATURE_HEADER: &str = "x-pd-signature";
const AGENT: &str = "pipedream-emulator (trigger webhook)";
/// Pauses before the retries: a non-2xx or a connection failure is tried up
/// to three more times. Pipedream's own schedule is UNCONFIRMED; these are
/// short so tests stay fast.
const RETRY_BACKOFF_MS: [u64; 3] = [50, 100, 200];
/// Events kept per trigger: `GET …/events` shows at most 100 (`n` ≤ 100).
pub const MAX_EVENTS: usize = 100;
/// Oldest deliveries are dropped past this.
const MAX_DELIVERIES: usize = 10_000;
/// `faults.delay_ms` is capped here.
pub const MAX_DELAY_MS: u64 = 60_000;

/// One webhook of a trigger: where its events go and the key they are signed with.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub signing_key: String,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Webhook {
    pub fn new(url: &str) -> Self {
        let now = clock::now_ms();
        Self {
            id: ids::prefixed("wh_", 10),
            url: url.to_string(),
            signing_key: new_signing_key(),
            created_ms: now,
            updated_ms: now,
        }
    }

    pub fn regenerate(&mut self) {
        self.signing_key = new_signing_key();
        self.updated_ms = clock::now_ms();
    }

    /// A `TriggerWebhook` (the items of `…/webhooks`): no timestamps, and the
    /// key only for OAuth callers.
    pub fn to_list_json(&self, with_key: bool) -> Value {
        let mut v = json!({ "id": self.id, "url": self.url, "signing_key_set": true });
        if with_key {
            v["signing_key"] = json!(self.signing_key);
        }
        v
    }

    /// A `WebhookWithSigningKey` (`…/webhooks/{id}` and its regenerate).
    /// Epoch seconds, as the SDK documents for the project `Webhook`
    /// (UNCONFIRMED for trigger webhooks).
    pub fn to_full_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "signing_key": self.signing_key,
            "signing_key_set": true,
            "created_at": self.created_ms / 1000,
            "updated_at": self.updated_ms / 1000,
        })
    }
}

/// 32 random bytes, base64url: 43 URL-safe characters.
fn new_signing_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An emitted event as `GET …/events` lists it.
#[derive(Debug, Clone)]
pub struct Event {
    pub payload: Value,
    pub ts_ms: u64,
    /// Numbers the events of one millisecond, like a Redis stream id, so
    /// `id` (`<ts>-<seq>`, the docs' `1734028283123-0`) is unique and ordered.
    pub seq: u64,
    pub summary: Option<String>,
}

impl Event {
    pub fn id(&self) -> String {
        format!("{}-{}", self.ts_ms, self.seq)
    }

    /// `EmittedEvent`: `{e, k: "emit", ts, id, sum?}` (`sum` is optional in the SDK).
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "e": self.payload, "k": "emit", "ts": self.ts_ms, "id": self.id() });
        if let Some(s) = &self.summary {
            v["sum"] = json!(s);
        }
        v
    }
}

#[derive(Debug, Clone)]
pub struct Trigger {
    pub id: String,
    pub external_user_id: String,
    /// The user's `exu_…`, as `GET …/users` shows it.
    pub owner_id: String,
    /// `x-pd-environment` of the deploy: the trigger lives in that environment.
    pub environment: String,
    pub component_key: String,
    pub component_id: String,
    /// The props the deploy was checked against (the static ones, or those of
    /// its `dynamic_props_id`); a PUT's configured_props are checked against them too.
    pub configurable_props: Vec<Value>,
    /// As the API shows them: as sent, plus the server-filled entries.
    pub configured_props: Map<String, Value>,
    /// Of the `$.interface.http` prop, kept across PUTs.
    pub endpoint_url: Option<String>,
    pub active: bool,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub name: String,
    pub name_slug: String,
    pub emit_on_deploy: bool,
    pub workflow_ids: Vec<String>,
    pub webhooks: Vec<Webhook>,
    /// Oldest first, at most [`MAX_EVENTS`].
    pub events: VecDeque<Event>,
    /// Index of the fixture sample the next emit without a payload sends.
    pub next_sample: usize,
}

impl Trigger {
    /// `DeployedComponent`. `created_at` / `updated_at` are epoch SECONDS, as
    /// in the docs' example (`1734028283`); the SDK's doc string says
    /// milliseconds. UNCONFIRMED.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "owner_id": self.owner_id,
            "component_id": self.component_id,
            "component_key": self.component_key,
            "configurable_props": self.configurable_props,
            "configured_props": self.configured_props,
            "active": self.active,
            "created_at": self.created_ms / 1000,
            "updated_at": self.updated_ms / 1000,
            "name": self.name,
            "name_slug": self.name_slug,
            "emit_on_deploy": self.emit_on_deploy,
            "type": "DeployedComponent",
        })
    }

    pub fn webhook_urls(&self) -> Vec<String> {
        self.webhooks.iter().map(|w| w.url.clone()).collect()
    }

    /// Records one event (dropping the oldest past [`MAX_EVENTS`]).
    pub fn record(&mut self, payload: Value, summary: Option<String>) -> Event {
        let now = clock::now_ms();
        let (ts_ms, seq) = match self.events.back() {
            // Ids never go backwards, even if the clock does.
            Some(last) if last.ts_ms >= now => (last.ts_ms, last.seq + 1),
            _ => (now, 0),
        };
        let event = Event {
            payload,
            ts_ms,
            seq,
            summary,
        };
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        event
    }

    /// The fixture sample an emit without a payload sends next (they go round
    /// in turn); None when the component has none.
    pub fn next_sample(&mut self, c: &Component) -> Option<Value> {
        if c.emu.samples.is_empty() {
            return None;
        }
        let sample = c.emu.samples[self.next_sample % c.emu.samples.len()].clone();
        self.next_sample = (self.next_sample + 1) % c.emu.samples.len();
        Some(sample)
    }

    /// The component's `summary` template filled from the payload and the
    /// configured props (account values left out); None without a template.
    pub fn summary_for(&self, c: &Component, payload: &Value) -> Option<String> {
        let template = c.emu.summary.as_deref()?;
        let props: Map<String, Value> = self
            .configured_props
            .iter()
            .filter(|(_, v)| v.get("authProvisionId").is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(placeholders::fill_event_text(template, payload, &props))
    }

    /// What `GET /__emulator/triggers` shows of it.
    pub fn to_control_json(&self) -> Value {
        json!({
            "id": self.id,
            "external_user_id": self.external_user_id,
            "owner_id": self.owner_id,
            "environment": self.environment,
            "component_key": self.component_key,
            "name": self.name,
            "active": self.active,
            "emit_on_deploy": self.emit_on_deploy,
            "webhook_urls": self.webhook_urls(),
            "workflow_ids": self.workflow_ids,
            "events": self.events.len(),
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
        })
    }

    /// Where an event goes now: every webhook, with its current key.
    pub fn targets(&self) -> Vec<Target> {
        self.webhooks
            .iter()
            .map(|w| Target {
                trigger_id: self.id.clone(),
                webhook_id: w.id.clone(),
                url: w.url.clone(),
                signing_key: w.signing_key.clone(),
            })
            .collect()
    }
}

/// `sc_…` for a component key: the same key always gets the same id (the real
/// id names the registry component; its format beyond the prefix is unknown).
pub fn component_id(key: &str) -> String {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::from("sc_");
    for _ in 0..7 {
        out.push(DIGITS[(h % 62) as usize] as char);
        h /= 62;
    }
    out
}

/// `My first project - exu_oedidz` -> `my-first-project---exu-oedidz`: the
/// docs' example, where every character but a-z0-9 becomes `-`, uncollapsed.
pub fn slugify(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[derive(Default)]
struct Inner {
    /// Deploy order.
    triggers: Vec<Trigger>,
    /// Every trigger's name_slug.
    slugs: HashSet<String>,
    /// Per slug, a suffix below which every `{slug}-{n}` (n ≥ 2) is taken: where the search
    /// for a free one starts. Every trigger of a user shares one name, so a search from 2 made
    /// 10,000 deploys cost billions of comparisons.
    free_from: HashMap<String, u64>,
}

impl Inner {
    /// A name_slug no other trigger has, now taken: the slug, then `-2`, `-3`, … (the docs'
    /// example ends in `-2`; the real numbering is UNCONFIRMED).
    fn claim_slug(&mut self, name: &str) -> String {
        let base = slugify(name);
        if self.slugs.insert(base.clone()) {
            return base;
        }
        let mut n = self.free_from.get(&base).copied().unwrap_or(2);
        while !self.slugs.insert(format!("{base}-{n}")) {
            n += 1;
        }
        self.free_from.insert(base.clone(), n + 1);
        format!("{base}-{n}")
    }

    /// Frees a slug. Lowering the search start of what may be its base is always safe: a start
    /// too low only costs a longer search.
    fn release_slug(&mut self, slug: &str) {
        self.slugs.remove(slug);
        if let Some((base, n)) = slug.rsplit_once('-')
            && let Ok(n) = n.parse::<u64>()
            && let Some(from) = self.free_from.get_mut(base)
        {
            *from = (*from).min(n.max(2));
        }
    }
}

#[derive(Default)]
pub struct TriggerStore {
    inner: Mutex<Inner>,
}

impl TriggerStore {
    /// Stores a new trigger, giving it a free name_slug; returns it as stored.
    pub fn insert(&self, mut t: Trigger) -> Trigger {
        let mut inner = lock(&self.inner);
        t.name_slug = inner.claim_slug(&t.name);
        inner.triggers.push(t.clone());
        t
    }

    /// Runs `f` on the trigger `id` if `visible` admits it.
    pub fn update<R>(
        &self,
        id: &str,
        visible: impl Fn(&Trigger) -> bool,
        f: impl FnOnce(&mut Trigger) -> R,
    ) -> Option<R> {
        let mut inner = lock(&self.inner);
        inner
            .triggers
            .iter_mut()
            .find(|t| t.id == id && visible(t))
            .map(f)
    }

    /// Renames a trigger: a new name gets a new free slug (UNCONFIRMED: whether
    /// the real API re-slugs on rename).
    pub fn rename(&self, id: &str, name: &str) {
        let mut inner = lock(&self.inner);
        let Some(i) = inner.triggers.iter().position(|t| t.id == id) else {
            return;
        };
        let old = std::mem::take(&mut inner.triggers[i].name_slug);
        inner.release_slug(&old);
        let slug = inner.claim_slug(name);
        let t = &mut inner.triggers[i];
        t.name = name.to_string();
        t.name_slug = slug;
    }

    pub fn remove(&self, id: &str, visible: impl Fn(&Trigger) -> bool) -> Option<Trigger> {
        let mut inner = lock(&self.inner);
        let i = inner
            .triggers
            .iter()
            .position(|t| t.id == id && visible(t))?;
        let t = inner.triggers.remove(i);
        inner.release_slug(&t.name_slug);
        Some(t)
    }

    /// Deploy order, filtered.
    pub fn filtered(&self, keep: impl Fn(&Trigger) -> bool) -> Vec<Trigger> {
        lock(&self.inner)
            .triggers
            .iter()
            .filter(|t| keep(t))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}

/// One webhook an event is delivered to, as it was when the delivery started.
#[derive(Debug, Clone)]
pub struct Target {
    pub trigger_id: String,
    pub webhook_id: String,
    pub url: String,
    pub signing_key: String,
}

/// `faults` of an emit: ways a delivery can be wrong, so a receiver can prove
/// it refuses each.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Signed with a random key instead of the webhook's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bad_signature: bool,
    /// No signature header at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_signature: bool,
    /// `t` is this many seconds in the past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_secs: Option<u64>,
    /// After a 2xx, the identical request (bytes and headers) once more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay: bool,
    /// Wait this long before the first delivery of the emit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// THE delivery signature, in one place because all of it is UNCONFIRMED:
/// Pipedream says it "signs webhook emits for deployed triggers using
/// HMAC-SHA256", but its "Validating signatures" section could not be read.
/// This is the only concrete candidate found (research notes B.2, from a third
/// party; Stripe-style): header `x-pd-signature: t=<unix seconds>,v1=<hex>`,
/// where hex is lowercase HMAC-SHA256 with the `signing_key` string's UTF-8
/// bytes as key (not base64-decoded) over `"<t>" + "." + raw body bytes`.
pub fn signature_header(signing_key: &str, t: u64, body: &[u8]) -> String {
    let hex = hmac_sha256_hex(
        signing_key.as_bytes(),
        &[t.to_string().as_bytes(), b".", body],
    );
    format!("t={t},v1={hex}")
}

/// Lowercase hex of HMAC-SHA256 with `key` over `parts`, one after the other.
fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length");
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub ts_ms: u64,
    /// The signature's `t` (null with `no_signature`).
    pub t: Option<u64>,
    /// The `x-pd-signature` value sent (null with `no_signature`).
    pub signature: Option<String>,
    /// 0 when no HTTP answer came (refused, timeout, https).
    pub status: u16,
    pub error: Option<String>,
    /// The `replay` fault's second copy of a delivered request.
    pub replay: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub seq: u64,
    pub ts_ms: u64,
    pub trigger_id: String,
    pub webhook_id: String,
    pub url: String,
    pub event_id: String,
    /// Status of the last attempt that was not a replay (0: no HTTP answer).
    pub status: u16,
    /// Some attempt got a 2xx.
    pub ok: bool,
    pub attempts: Vec<Attempt>,
    pub faults: Faults,
    /// The body sent: the event payload.
    pub payload: Value,
}

/// Every trigger delivery, for `GET /__emulator/trigger-deliveries`.
#[derive(Default)]
pub struct DeliveryLog {
    inner: Mutex<(Vec<Delivery>, u64)>,
    /// Bumped by reset, so a delivery that was under way then is not logged after it.
    generation: AtomicU64,
}

impl DeliveryLog {
    pub fn all(&self) -> Vec<Delivery> {
        lock(&self.inner).0.clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn clear(&self) {
        let mut g = lock(&self.inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        *g = (Vec::new(), 0);
    }

    fn record(&self, mut d: Delivery, generation: u64) -> Delivery {
        let mut g = lock(&self.inner);
        if generation != self.generation() {
            return d;
        }
        g.1 += 1;
        d.seq = g.1;
        if g.0.len() >= MAX_DELIVERIES {
            g.0.remove(0);
        }
        g.0.push(d.clone());
        d
    }
}

/// Delivers `events` to `targets`, one after another (each event to every
/// target, in order), and logs each delivery unless a reset came since
/// `generation`.
pub async fn deliver_all(
    log: &DeliveryLog,
    generation: u64,
    targets: &[Target],
    events: &[Event],
    faults: &Faults,
) -> Vec<Delivery> {
    if targets.is_empty() || events.is_empty() {
        return Vec::new();
    }
    if let Some(ms) = faults.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms.min(MAX_DELAY_MS))).await;
    }
    let mut out = Vec::new();
    for event in events {
        for target in targets {
            out.push(deliver(log, generation, target, event, faults).await);
        }
    }
    out
}

/// One event to one webhook: POST, retried with a fresh `t` (same body bytes)
/// on a non-2xx or a connection failure, then the `replay` copy if asked.
async fn deliver(
    log: &DeliveryLog,
    generation: u64,
    target: &Target,
    event: &Event,
    faults: &Faults,
) -> Delivery {
    let ts_ms = clock::now_ms();
    let body = serde_json::to_vec(&event.payload).unwrap_or_default();
    let key = if faults.bad_signature {
        new_signing_key()
    } else {
        target.signing_key.clone()
    };
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut delivered: Option<HeaderMap> = None;
    for i in 0..=RETRY_BACKOFF_MS.len() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS[i - 1])).await;
        }
        let at = clock::now_ms();
        let t = (!faults.no_signature)
            .then(|| (at / 1000).saturating_sub(faults.stale_secs.unwrap_or(0)));
        let signature = t.map(|t| signature_header(&key, t, &body));
        let mut headers = HeaderMap::new();
        if let Some(v) = signature
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert(HeaderName::from_static(SIGNATURE_HEADER), v);
        }
        let (outcome, fatal) = send(&target.url, &body, &headers).await;
        let ok = (200..300).contains(&outcome.0);
        attempts.push(Attempt {
            ts_ms: at,
            t,
            signature,
            status: outcome.0,
            error: outcome.1,
            replay: false,
        });
        if ok {
            delivered = Some(headers);
            break;
        }
        if fatal {
            break;
        }
    }
    let last = attempts.last().map_or(0, |a| a.status);
    if faults.replay
        && let Some(headers) = delivered
    {
        let at = clock::now_ms();
        let ((status, error), _) = send(&target.url, &body, &headers).await;
        let first = &attempts[attempts.len() - 1];
        let (t, signature) = (first.t, first.signature.clone());
        attempts.push(Attempt {
            ts_ms: at,
            t,
            signature,
            status,
            error,
            replay: true,
        });
    }
    log.record(
        Delivery {
            seq: 0,
            ts_ms,
            trigger_id: target.trigger_id.clone(),
            webhook_id: target.webhook_id.clone(),
            url: target.url.clone(),
            event_id: event.id(),
            status: last,
            ok: (200..300).contains(&last),
            attempts,
            faults: faults.clone(),
            payload: event.payload.clone(),
        },
        generation,
    )
}

/// `((status, error), fatal)`: fatal when no retry could help.
async fn send(url: &str, body: &[u8], headers: &HeaderMap) -> ((u16, Option<String>), bool) {
    match webhooks::post(url, body, headers, AGENT).await {
        Ok(status) => ((status, None), false),
        Err(Failure::Fatal(e)) => ((0, Some(e)), true),
        Err(Failure::Retry(e)) => ((0, Some(e)), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // RFC 4231 test case 2 ("Jefe") shape, with our message layout: the
        // key's UTF-8 bytes over "<t>.<body>".
        let sig = signature_header("Jefe", 1_700_000_000, b"{\"a\":1}");
        let want = hmac_sha256_hex(b"Jefe", &[b"1700000000.{\"a\":1}"]);
        assert_eq!(sig, format!("t=1700000000,v1={want}"));
        // A published vector: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya want for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn slugs_and_component_ids() {
        assert_eq!(
            slugify("My first project - exu_oedidz"),
            "my-first-project---exu-oedidz"
        );
        let a = component_id("gitlab-new-issue");
        assert_eq!(a, component_id("gitlab-new-issue"));
        assert_ne!(a, component_id("gitlab-new-issue2"));
        assert!(a.starts_with("sc_") && a.len() == 10, "{a}");
        let key = new_signing_key();
        assert!(key.len() >= 32, "{key}");
        assert!(
            key.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn event_ids_are_unique_and_ordered() {
        let mut t = Trigger {
            id: "dc_x".into(),
            external_user_id: "u".into(),
            owner_id: "exu_x".into(),
            environment: "development".into(),
            component_key: "a-b".into(),
            component_id: component_id("a-b"),
            configurable_props: Vec::new(),
            configured_props: Map::new(),
            endpoint_url: None,
            active: true,
            created_ms: 0,
            updated_ms: 0,
            name: "n".into(),
            name_slug: "n".into(),
            emit_on_deploy: true,
            workflow_ids: Vec::new(),
            webhooks: Vec::new(),
            events: VecDeque::new(),
            next_sample: 0,
        };
        let ids: Vec<String> = (0..MAX_EVENTS + 5)
            .map(|i| t.record(json!({ "i": i }), None).id())
            .collect();
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "unique");
        assert_eq!(t.events.len(), MAX_EVENTS);
        assert_eq!(t.events[0].payload, json!({"i": 5}), "oldest dropped");
    }

    #[test]
    fn slugs_are_the_first_free_ones_however_many_share_a_name() {
        let mut inner = Inner::default();
        let slugs: Vec<String> = (0..4).map(|_| inner.claim_slug("P - u")).collect();
        assert_eq!(slugs, ["p---u", "p---u-2", "p---u-3", "p---u-4"]);
        inner.release_slug("p---u-2");
        inner.release_slug("p---u");
        assert_eq!(inner.claim_slug("P - u"), "p---u");
        assert_eq!(inner.claim_slug("P - u"), "p---u-2");
        assert_eq!(inner.claim_slug("P - u"), "p---u-5");
        // A name whose own slug ends in a number is its own base.
        assert_eq!(inner.claim_slug("p---u 7"), "p---u-7");
        assert_eq!(inner.claim_slug("P - u"), "p---u-6");
        assert_eq!(inner.claim_slug("P - u"), "p---u-8");
        // Many of one name stay quick: each search starts where the last ended.
        for _ in 0..20_000 {
            inner.claim_slug("P - u");
        }
        assert_eq!(inner.claim_slug("P - u"), "p---u-20009");
    }
}
