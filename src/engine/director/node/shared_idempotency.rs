//! Idempotency keys shared by every instance through the store (`store.redis`): the second
//! level under the in-process `Runs`, so that one key runs once across all the processes that
//! share a Pipedream project.
//!
//! Keys, under the store's prefix, for a key `k` of project `p`:
//! - `idem:{p}:<sha256(k)>`: `claim:<owner>` while a run is under way, then the run's answer
//!   (`ok:<the answer's JSON, exactly>` or `err:<the error report's JSON>`), with PX = the
//!   idempotency TTL. A failure that is not kept deletes it, so a retry runs again.
//! - `idem:{p}:<sha256(k)>:alive`: the claimer's lease, `claim:<owner>` with PX = `LEASE`,
//!   renewed every `RENEW_EVERY` while it runs. An instance that dies mid-run stops renewing
//!   it; the first waiter to find the claim without its lease answers `maybe_executed` for the
//!   key (the run may have happened) and no one runs it.
//!
//! Every step is one Lua script, so a claim, a lapsed lease's answer and the run's own answer
//! can never overwrite one another.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::idempotency::ReplayAnswer;
use crate::engine::error::{Error, ErrorReport};
use crate::engine::hash::{hex, sha256_hex};
use crate::engine::transport::store::{Missed, Store};

/// How long a claim lives without its claimer renewing it.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often a claimer renews its lease while its run is under way.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How soon a claimer asks again when a renewal got no answer.
pub const RENEW_RETRY: Duration = Duration::from_millis(200);
/// How often a waiter asks whether the claimer has answered.
pub const POLL_EVERY: Duration = Duration::from_millis(75);

const CLAIM_PREFIX: &str = "claim:";

/// Claims the key when it is free; otherwise answers what is there.
///
/// KEYS: the key, its lease. ARGV: this claim's value, the TTL (ms), the lease (ms), the answer
/// to keep when a claim has lost its lease. Answers `mine` (claimed now), `busy` (claimed by a
/// live run elsewhere), or a kept answer (`ok:…` / `err:…`), which may be the lapsed one just
/// written.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  return 'mine'
end
if string.sub(v, 1, 6) ~= 'claim:' then return v end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'busy' end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[2])
return ARGV[4]
",
    )
});

/// The claimer's answer: kept (ARGV[2] not empty, PX ARGV[3]) or the claim deleted, and the
/// lease ended, only while the key still holds this claim (ARGV[1]). Answers 1 when it did.
static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
",
    )
});

/// Renews the lease while it is still this claim's.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
",
    )
});

/// Forgets a kept answer; a claim under way stays.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 6) ~= 'claim:' then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// What the shared key says.
#[derive(Debug)]
pub enum Claimed {
    /// This instance holds the key now: run, renew, then `finish`.
    Mine(Claim),
    /// Another instance's run is under way: ask again later.
    Busy,
    /// The key's kept answer.
    Answer(ReplayAnswer),
}

impl Claimed {
    /// The answer kept under a key. Text this version cannot read (another version's, or
    /// anything else written there) says the key may have run, and it is never run.
    fn kept(text: &str) -> Self {
        Self::Answer(decode(text).unwrap_or_else(|| Err(unreadable_report())))
    }
}

/// A claim held by this instance.
#[derive(Debug)]
pub struct Claim {
    key: String,
    alive: String,
    value: String,
}

#[derive(Clone)]
pub struct SharedIdempotency {
    store: Store,
    project: String,
    ttl: Duration,
}

/// An answer as the store keeps it: the exact JSON of a success, or the error's report.
pub fn encode(answer: &ReplayAnswer) -> String {
    match answer {
        Ok(json) => format!("ok:{json}"),
        Err(report) => format!(
            "err:{}",
            serde_json::to_string(report).unwrap_or_else(|_| "{}".into())
        ),
    }
}

/// A kept answer read back; `None` when it is not one (a claim, text of another version, or
/// anything else written there: an answer is handed to JS as it is, so a success must be a
/// node's answer, an object with its `meta`).
pub fn decode(text: &str) -> Option<ReplayAnswer> {
    if let Some(json) = text.strip_prefix("ok:") {
        let answer = serde_json::from_str::<serde_json::Value>(json).ok()?;
        answer.get("meta")?.as_object()?;
        return Some(Ok(json.to_owned()));
    }
    text.strip_prefix("err:")
        .and_then(ErrorReport::from_json)
        .map(Err)
}

impl SharedIdempotency {
    pub fn new(store: Store, project: Option<&str>, ttl: Duration) -> Self {
        Self {
            store,
            project: project.unwrap_or("-").to_owned(),
            ttl,
        }
    }

    /// The store key for an idempotency key: its hash, never the key itself.
    pub fn key_of(&self, key: &str) -> String {
        self.store.key(&format!(
            "idem:{{{}}}:{}",
            self.project,
            sha256_hex(key.as_bytes())
        ))
    }

    /// Claims `key`, or answers who holds it or its kept answer. `lapsed` is the answer kept
    /// when the claim found has lost its lease. `None`: the store did not answer.
    pub async fn claim(&self, key: &str, lapsed: &ReplayAnswer) -> Option<Claimed> {
        let key = self.key_of(key);
        let alive = format!("{key}:alive");
        let mut owner = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut owner).ok()?;
        let value = format!("{CLAIM_PREFIX}{}", hex(&owner));
        let lapsed = encode(lapsed);
        let (ttl, lease) = (Store::px(self.ttl), Store::px(LEASE));
        let claimed: Result<String, Missed> = self
            .store
            .try_call(|mut connection| {
                let (key, alive, value, lapsed) = (&key, &alive, &value, &lapsed);
                async move {
                    CLAIM
                        .key(key)
                        .key(alive)
                        .arg(value)
                        .arg(ttl)
                        .arg(lease)
                        .arg(lapsed)
                        .invoke_async(&mut connection)
                        .await
                }
            })
            .await;
        let answer = match claimed {
            Ok(answer) => answer,
            Err(Missed::Away) => return None,
            // Redis refused the claim (out of memory refuses every script that writes) but
            // is there: what the key holds still decides, so a key answered elsewhere is
            // replayed and one under way is waited for. Free, it is run as without a store.
            Err(Missed::Refused) => {
                let held: Option<String> = self
                    .store
                    .call(|mut connection| {
                        let key = &key;
                        async move {
                            redis::cmd("GET")
                                .arg(key)
                                .query_async(&mut connection)
                                .await
                        }
                    })
                    .await?;
                let held = held?;
                return Some(match held.starts_with(CLAIM_PREFIX) {
                    true => Claimed::Busy,
                    false => Claimed::kept(&held),
                });
            }
        };
        Some(match answer.as_str() {
            "mine" => Claimed::Mine(Claim { key, alive, value }),
            "busy" => Claimed::Busy,
            other => Claimed::kept(other),
        })
    }

    /// Keeps the run's answer under the claimed key (`None`: deletes the claim, so a retry
    /// runs again). False when the store did not take it, or the claim was no longer this one.
    /// Asked even while the store is away, as the lease is: an answer not kept would leave
    /// the key to lapse into `maybe_executed` although the run answered.
    pub async fn finish(&self, claim: &Claim, answer: Option<&ReplayAnswer>) -> bool {
        let kept = answer.map(encode).unwrap_or_default();
        let ttl = Store::px(self.ttl);
        let done: Option<i64> = self
            .store
            .call_now(|mut connection| {
                let kept = &kept;
                async move {
                    FINISH
                        .key(&claim.key)
                        .key(&claim.alive)
                        .arg(&claim.value)
                        .arg(kept)
                        .arg(ttl)
                        .invoke_async(&mut connection)
                        .await
                }
            })
            .await;
        done == Some(1)
    }

    /// Renews the claim's lease: `Some(false)` when it was lost, `None` when the store did not
    /// answer. Asked even while the store is away: the lease lapses before the probe would
    /// let it through, and a live run would be taken for a dead one.
    pub async fn renew(&self, claim: &Claim) -> Option<bool> {
        let lease = Store::px(LEASE);
        let renewed: Option<i64> = self
            .store
            .call_now(|mut connection| async move {
                RENEW
                    .key(&claim.alive)
                    .arg(&claim.value)
                    .arg(lease)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
        renewed.map(|n| n == 1)
    }

    /// Deletes the kept answer for `key` (a claim under way stays).
    pub async fn forget(&self, key: &str) {
        let key = self.key_of(key);
        let _: Option<i64> = self
            .store
            .call(|mut connection| {
                let key = &key;
                async move { FORGET.key(key).invoke_async(&mut connection).await }
            })
            .await;
    }
}

/// The failure for a key whose claimer stopped renewing its lease mid-run.
pub fn lapsed_error() -> Error {
    Error::MaybeExecuted(Box::new(Error::ClaimLapsed))
}

/// The failure for a key whose kept value is no answer this version can read.
fn unreadable_report() -> ErrorReport {
    ErrorReport::plain(&Error::MaybeExecuted(Box::new(Error::UnreadableKept)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::transport::store::tests::{TestRedis, closed_port, config};

    fn shared(url: &str, ttl: Duration) -> SharedIdempotency {
        SharedIdempotency::new(Store::new(&config(url), None).unwrap(), Some("proj_i"), ttl)
    }

    fn lapsed() -> ReplayAnswer {
        Err(ErrorReport::plain(&lapsed_error()))
    }

    #[test]
    fn answers_round_trip_exactly() {
        let ok: ReplayAnswer = Ok(r#"{"ok":true,"data":{"a":1},"meta":{"replayed":false}}"#.into());
        assert_eq!(decode(&encode(&ok)), Some(ok.clone()));
        let e = ErrorReport::of(
            "slack-send",
            &Error::MaybeExecuted(Box::new(Error::Api {
                status: 502,
                body: "bad gateway".into(),
                retry_after: None,
            })),
        );
        let back = decode(&encode(&Err(e.clone()))).unwrap().unwrap_err();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&e).unwrap()
        );
        assert!(back.maybe_executed);
        let aborted = ErrorReport::of("x", &Error::MaybeExecuted(Box::new(Error::Aborted)));
        let back = decode(&encode(&Err(aborted.clone()))).unwrap().unwrap_err();
        assert_eq!((back.name, back.code), ("AbortError", "ABORT_ERR"));
        assert!(decode("claim:abc").is_none());
        assert!(decode("err:{\"name\":\"Nope\"}").is_none());
        // Whatever else is written under the key is no answer to hand to JS.
        for planted in [
            "ok:",
            "ok:{not json",
            "ok:[]",
            "ok:123",
            "ok:\"str\"",
            "ok:{}",
            "ok:{\"meta\":[]}",
        ] {
            assert!(decode(planted).is_none(), "{planted}");
        }
    }

    /// One claim per key; the others see it busy, then the kept answer. A failure that is not
    /// kept frees the key for the next claim. Keys hold the hash, never the key.
    #[tokio::test]
    async fn one_claim_then_the_answer_or_a_free_key() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let (a, b) = (
            shared(&redis.url(), Duration::from_secs(60)),
            shared(&redis.url(), Duration::from_secs(60)),
        );
        let Some(Claimed::Mine(claim)) = a.claim("order-1", &lapsed()).await else {
            panic!("first claim");
        };
        assert!(matches!(
            b.claim("order-1", &lapsed()).await,
            Some(Claimed::Busy)
        ));
        assert_eq!(a.renew(&claim).await, Some(true));
        let answer: ReplayAnswer = Ok(r#"{"ok":true,"meta":{}}"#.into());
        assert!(a.finish(&claim, Some(&answer)).await);
        match b.claim("order-1", &lapsed()).await {
            Some(Claimed::Answer(got)) => assert_eq!(got, answer),
            other => panic!("{other:?}"),
        }
        let key = a.key_of("order-1");
        assert!(key.starts_with("pdc-test:idem:{proj_i}:") && !key.contains("order-1"));
        let mut c = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut c).unwrap();
        assert!(ttl > 59_000 && ttl <= 60_000, "{ttl}");
        let alive: bool = redis::cmd("EXISTS")
            .arg(format!("{key}:alive"))
            .query(&mut c)
            .unwrap();
        assert!(!alive);

        // Not kept: the claim goes, and the next caller claims it.
        let Some(Claimed::Mine(claim)) = a.claim("order-2", &lapsed()).await else {
            panic!("claim order-2");
        };
        assert!(a.finish(&claim, None).await);
        assert!(matches!(
            b.claim("order-2", &lapsed()).await,
            Some(Claimed::Mine(_))
        ));

        // Forgetting drops an answer, never a claim under way.
        a.forget("order-1").await;
        assert!(matches!(
            b.claim("order-1", &lapsed()).await,
            Some(Claimed::Mine(_))
        ));
        a.forget("order-2").await;
        assert!(matches!(
            a.claim("order-2", &lapsed()).await,
            Some(Claimed::Busy)
        ));
    }

    /// A claimer that stops renewing loses its lease: the next waiter keeps `maybe_executed`
    /// for the key, and the late claimer's own answer no longer replaces it.
    #[tokio::test]
    async fn a_lapsed_lease_answers_maybe_executed_once() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let (a, b) = (
            shared(&redis.url(), Duration::from_secs(60)),
            shared(&redis.url(), Duration::from_secs(60)),
        );
        let Some(Claimed::Mine(claim)) = a.claim("order-3", &lapsed()).await else {
            panic!("claim");
        };
        let mut c = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        // The lease expiring, without waiting LEASE.
        let _: i64 = redis::cmd("DEL").arg(&claim.alive).query(&mut c).unwrap();
        match b.claim("order-3", &lapsed()).await {
            Some(Claimed::Answer(Err(report))) => {
                assert!(report.maybe_executed);
                assert_eq!(report.code, "PIPEDREAM_NETWORK");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.renew(&claim).await, Some(false));
        assert!(!a.finish(&claim, Some(&Ok("{}".into()))).await);
        assert!(matches!(
            b.claim("order-3", &lapsed()).await,
            Some(Claimed::Answer(Err(r))) if r.maybe_executed
        ));
    }

    #[tokio::test]
    async fn no_store_no_answer() {
        let a = shared(
            &format!("redis://127.0.0.1:{}", closed_port()),
            Duration::from_secs(60),
        );
        assert!(a.claim("order-4", &lapsed()).await.is_none());
    }
}
