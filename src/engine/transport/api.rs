//! Authenticated, rate-limited, retried calls to the Connect API. Every request goes through
//! here, so auth, the shared limiter, retries and error mapping are the same everywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::Auth;
use super::cache::Dated;
use super::http::{Http, RawResponse};
use super::limiter::Limiter;
use super::request::Request;
use super::retry::{Replay, backoff, honour_retry_after, may_retry, noted};
use super::shared_cache::SharedCache;
use super::store::Store;
use crate::engine::config::EndpointClass;
use crate::engine::config::{Config, RetryConfig};
use crate::engine::error::{Error, Result};
use crate::engine::events::Sink;
use crate::engine::secret::Secret;
use crate::engine::stats::{Stats, StoreCounts};

/// Connect takes OAuth access tokens (they expire after an hour) and Connect tokens; user API
/// keys are not supported on `/v1/connect`. A static token that starts to answer 401 has
/// most likely expired.
const STATIC_TOKEN_HINT: &str = " (a static token: Connect accepts OAuth access tokens, which expire after an hour, and Connect tokens, not user API keys; use OAuth client credentials, clientId + clientSecret or PIPEDREAM_CLIENT_ID + PIPEDREAM_CLIENT_SECRET, so tokens are fetched and refreshed for you)";

/// Whose token a request carries: the client's own credentials, or a token the caller passed
/// for this call (a node's `auth_config.token` or a workflow's `pipedream_token`).
#[derive(Debug, Clone, Default)]
pub enum Bearer {
    #[default]
    Client,
    Given(Secret),
}

/// A value and what it took to get it.
pub struct Outcome<T> {
    pub value: T,
    pub attempts: u32,
    pub rate_limit_wait: Duration,
}

impl<T> Outcome<T> {
    /// The same outcome with its value made into another.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        Outcome {
            value: f(self.value),
            attempts: self.attempts,
            rate_limit_wait: self.rate_limit_wait,
        }
    }
}

pub struct Api {
    http: Http,
    auth: Auth,
    limiter: Limiter,
    /// The discovery cache's second level, with a store and a cache TTL.
    shared_cache: Option<SharedCache>,
    retry: RetryConfig,
    events: Sink,
    stats: Arc<Stats>,
}

impl Api {
    /// Whether `text` holds this client's credentials: its client secret or static token, or
    /// the access token it sends now. For text handed on whole, not quoted in an error, which
    /// a server could fill with them.
    pub async fn holds_credentials(&self, text: &str) -> bool {
        let secrets = self.credentials(&Bearer::Client).await;
        secrets.iter().any(|s| text.contains(s.expose()))
    }

    /// `text` from a success answer (an action's error, an options call's errors) with this
    /// client's credentials and `bearer`'s token taken out: the server's words become a
    /// message, which must hold no secret whatever the server echoed.
    pub async fn scrub(&self, text: String, bearer: &Bearer) -> String {
        let secrets = self.credentials(bearer).await;
        secrets
            .iter()
            .fold(text, |text, s| match text.contains(s.expose()) {
                true => s.redact_in(&text),
                false => text,
            })
    }

    /// The client's own secrets (`Auth::secrets`) and the token `bearer` sends now.
    async fn credentials(&self, bearer: &Bearer) -> Vec<Secret> {
        let current = match bearer {
            Bearer::Client => self.auth.bearer(&self.http).await.ok(),
            Bearer::Given(t) => Some(t.clone()),
        };
        let mut secrets: Vec<Secret> = self.auth.secrets().into_iter().cloned().collect();
        secrets.extend(current);
        secrets
    }

    pub fn new(config: &Config, events: Sink, stats: Arc<Stats>) -> Result<Self> {
        let http = Http::new(config)?;
        let store = config
            .store
            .as_ref()
            .map(|c| Store::new(c, events.clone()))
            .transpose()?;
        let limiter = Limiter::new(
            http.base_url().as_str(),
            config.project_id.as_deref(),
            &config.rate_limit,
            store.as_ref(),
        );
        let auth = Auth::new(
            &config.credentials,
            config.retry,
            events.clone(),
            stats.clone(),
            store.as_ref(),
            http.base_url().as_str(),
        );
        let shared_cache = store.filter(|_| !config.cache_ttl.is_zero()).map(|store| {
            SharedCache::new(
                store,
                http.base_url().as_str(),
                config.cache_ttl,
                config.cache_stale,
            )
        });
        Ok(Self {
            http,
            auth,
            limiter,
            shared_cache,
            retry: config.retry,
            events,
            stats,
        })
    }

    /// The shared store's state for `getStats()` and `metrics()`; the local backend's without one.
    pub fn store_counts(&self) -> StoreCounts {
        let mut counts = self
            .limiter
            .store()
            .map_or_else(StoreCounts::default, Store::counts);
        if let Some(shared) = &self.shared_cache {
            (counts.cache_hits, counts.cache_fills) = shared.counts();
        }
        counts
    }

    /// The shared store (`store.redis`), when there is one.
    pub fn store(&self) -> Option<&Store> {
        self.limiter.store()
    }

    /// Whether `external_user_id` may have another Connect token now (per-user budget).
    pub async fn try_user_token(&self, external_user_id: &str) -> bool {
        self.limiter.try_user_token(external_user_id).await
    }

    /// Which layer the client's own credentials come from, for `meta.token_source`; `None`
    /// when it has none.
    pub fn client_token_source(&self) -> Option<&'static str> {
        self.auth.source()
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        query: &[(&str, String)],
        bearer: &Bearer,
    ) -> Result<T> {
        let build = || self.http.request(Method::GET, path).query(query);
        let sent = AtomicBool::new(false);
        Ok(self
            .call(class, bearer, Replay::Safe, &sent, build, &Read::Json)
            .await?
            .value)
    }

    /// A catalog read, through the shared store's cache when there is one: the answer another
    /// instance fetched within the TTL, or one fetch for all of them. The value says how old it
    /// is when it came from the store.
    pub async fn get_shared<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        query: &[(&str, String)],
        bearer: &Bearer,
    ) -> Result<Dated<T>> {
        let Some(shared) = &self.shared_cache else {
            return self.get(class, path, query, bearer).await.map(Dated::now);
        };
        // Only a name for the entry: the pairs as JSON cannot run into each other.
        let target = format!("{path} {}", json!(query));
        let fetch = || async {
            let build = || self.http.request(Method::GET, path).query(query);
            let sent = AtomicBool::new(false);
            let Texted { text, value } = self
                .call(class, bearer, Replay::Safe, &sent, build, &Read::Json)
                .await?
                .value;
            Ok((text, value))
        };
        shared.read(&target, fetch).await
    }

    /// Drops the shared cache's entries (see `SharedCache::clear`).
    pub fn clear_shared_cache(&self) {
        if let Some(shared) = &self.shared_cache {
            shared.clear();
        }
    }

    /// A DELETE: removing what is already gone changes nothing, so it is retried like a read.
    pub async fn delete(
        &self,
        class: EndpointClass,
        path: &str,
        query: &[(&str, String)],
        bearer: &Bearer,
    ) -> Result<()> {
        let build = || self.http.request(Method::DELETE, path).query(query);
        let sent = AtomicBool::new(false);
        self.call::<serde::de::IgnoredAny>(class, bearer, Replay::Safe, &sent, build, &Read::Json)
            .await
            .map(|_| ())
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        body: &(impl Serialize + ?Sized),
        bearer: &Bearer,
    ) -> Result<T> {
        let sent = AtomicBool::new(false);
        Ok(self
            .post_counted(class, path, body, bearer, Replay::Safe, &sent)
            .await?
            .value)
    }

    /// A POST. `sent` is set while the request bytes may have reached the server and no
    /// answer has said they were refused: for a run, whether the action may have run.
    pub async fn post_counted<T: Answer>(
        &self,
        class: EndpointClass,
        path: &str,
        body: &(impl Serialize + ?Sized),
        bearer: &Bearer,
        replay: Replay,
        sent: &AtomicBool,
    ) -> Result<Outcome<T>> {
        let body = json_body(body)?;
        let build = || {
            self.http
                .request(Method::POST, path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        };
        self.call(class, bearer, replay, sent, build, &Read::Json)
            .await
    }

    /// A request whose answer is returned as it came: a 2xx with its status, headers and body
    /// (at most `keep` bytes of it, `read` says), anything else as the error it is: an app's
    /// (`Error::AppAnswered`) when `read` is `Relayed`. `build` makes the request (from
    /// `Api::request`); `replay` and `sent` as for `post_counted`.
    pub async fn send_raw<T: Answer>(
        &self,
        class: EndpointClass,
        bearer: &Bearer,
        replay: Replay,
        sent: &AtomicBool,
        read: Read,
        build: impl Fn() -> Request,
    ) -> Result<Outcome<T>> {
        let relayed = read.is_relayed();
        let answer = self.call(class, bearer, replay, sent, build, &read).await;
        answer.map_err(|e| if relayed { e.relayed() } else { e })
    }

    /// A request `build` makes (from `Api::request`), retried like a read, its answer decoded:
    /// for the PUTs and POSTs that leave the same state when sent twice.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        bearer: &Bearer,
        build: impl Fn() -> Request,
    ) -> Result<T> {
        let sent = AtomicBool::new(false);
        Ok(self
            .call(class, bearer, Replay::Safe, &sent, build, &Read::Json)
            .await?
            .value)
    }

    /// A PUT of `body`: it leaves the same state when sent twice, so it is retried like a read.
    pub async fn put<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        query: &[(&str, String)],
        body: &(impl Serialize + ?Sized),
        bearer: &Bearer,
    ) -> Result<T> {
        let body = json_body(body)?;
        let build = || {
            self.http
                .request(Method::PUT, path)
                .query(query)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        };
        self.send_json(class, bearer, build).await
    }

    /// A request to `path` on the API, with the headers every call carries.
    pub fn request(&self, method: Method, path: &str) -> Request {
        self.http.request(method, path)
    }

    /// Sends with retries: exponential backoff with jitter, the server's `Retry-After` when it
    /// gives one, and only the failures `replay` allows. A run that fails in any way after
    /// its bytes may have left (an unreadable answer, a 5xx, a redirect, a reset, a timeout)
    /// is `MaybeExecuted`.
    async fn call<T>(
        &self,
        class: EndpointClass,
        bearer: &Bearer,
        replay: Replay,
        sent: &AtomicBool,
        build: impl Fn() -> Request,
        read: &Read,
    ) -> Result<Outcome<T>>
    where
        T: Answer,
    {
        let attempts = AtomicU32::new(0);
        let waited_ns = AtomicU64::new(0);
        let backoff = backoff(&self.retry);
        let value = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            // Boxed: see `Client::answer`.
            let (value, waited) =
                Box::pin(self.once(class, bearer, sent, &build, read, &attempts)).await?;
            waited_ns.fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
            Ok(value)
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &Error| may_retry(e, replay))
        .adjust(honour_retry_after(self.retry.max_delay))
        .notify(noted(&self.stats, &self.events, class.as_str(), &attempts))
        .await
        .map_err(|e| {
            self.stats.error(e.code().as_str());
            e.maybe_executed_if(matches!(replay, Replay::RunOnce) && sent.load(Ordering::SeqCst))
        })?;
        Ok(Outcome {
            value,
            attempts: attempts.load(Ordering::Relaxed),
            rate_limit_wait: Duration::from_nanos(waited_ns.load(Ordering::Relaxed)),
        })
    }

    /// One attempt: limiter, token, send. A 401 on an OAuth token that may have been revoked
    /// or expired early gets one more try with a fresh token (counted in `attempts`), unless
    /// an app relayed it. A 429 pauses the whole class.
    async fn once<T: Answer>(
        &self,
        class: EndpointClass,
        bearer: &Bearer,
        sent: &AtomicBool,
        build: &impl Fn() -> Request,
        read: &Read,
        attempts: &AtomicU32,
    ) -> Result<(T, Duration)> {
        let mut renewed = false;
        let mut waited = Duration::ZERO;
        loop {
            let token = match bearer {
                // The token request retries on its own; its failure is final here.
                Bearer::Client => Box::pin(self.auth.bearer(&self.http))
                    .await
                    .map_err(|e| Error::NotSent(Box::new(e)))?,
                Bearer::Given(t) => t.clone(),
            };
            let wait = self.limiter.acquire(class).await?;
            self.stats.waited(wait);
            waited += wait;
            // Waiting for a connection is neither "sent" nor part of the request's latency.
            let connection = self.http.connection().await;
            let started = Instant::now();
            sent.store(true, Ordering::SeqCst);
            let keep = read.keep();
            let response = self
                .http
                .send_on(connection, build().bearer_auth(token.expose()), keep)
                .await;
            if refused(&response) {
                sent.store(false, Ordering::SeqCst);
            }
            let status = response.as_ref().map_or(0, |r| r.status.as_u16());
            self.stats
                .request(class.as_str(), status, started.elapsed());
            let response = response?;
            if response.status == StatusCode::UNAUTHORIZED
                && !renewed
                && matches!(bearer, Bearer::Client)
                && !read.is_relayed()
                && self.auth.invalidate(&token).await
            {
                renewed = true;
                attempts.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let mut secrets = self.auth.secrets();
            secrets.push(&token);
            let parsed = T::read(response, &secrets).map_err(|e| match e {
                Error::Api {
                    status: 401,
                    body,
                    retry_after,
                } if self.auth.is_static() || matches!(bearer, Bearer::Given(_)) => Error::Api {
                    status: 401,
                    body: format!("{body}{STATIC_TOKEN_HINT}"),
                    retry_after,
                },
                other => other,
            });
            match &parsed {
                // A 429 holds back the whole class, for no longer than any retry may wait, so
                // a hostile or broken `Retry-After` cannot lock every client out. Not an app's
                // 429 through the proxy: one app's limit is not every app's.
                Err(Error::Api {
                    status: 429,
                    retry_after,
                    ..
                }) if !read.is_relayed() => {
                    self.limiter
                        .pause(
                            class,
                            retry_after
                                .unwrap_or(self.retry.min_delay)
                                .min(self.retry.max_delay),
                        )
                        .await
                }
                Ok(_) => self.limiter.resume(class, started).await,
                Err(_) => {}
            }
            return parsed.map(|v| (v, waited));
        }
    }
}

/// `body` as JSON text, written once for every attempt (`Value`'s `Display` went through
/// `fmt` and was about 3 % of a run's CPU in the runtime).
fn json_body(body: &(impl Serialize + ?Sized)) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("a request body could not be written as JSON ({e})")))
}

/// How an answer's body is read.
pub enum Read {
    /// Decoded as JSON; one larger than `maxResponseBytes` is an error.
    Json,
    /// Kept as it came, up to `keep` bytes.
    Raw { keep: usize },
    /// `Raw`, from an app through Pipedream's proxy: the app answers, so a 401 is not taken
    /// for an expired Pipedream token (renewing it would send the request again).
    Relayed { keep: usize },
}

impl Read {
    /// How much of the body is kept as it came; `None` when it is decoded whole.
    fn keep(&self) -> Option<usize> {
        match self {
            Self::Json => None,
            Self::Raw { keep } | Self::Relayed { keep } => Some(*keep),
        }
    }

    /// Whether an app answers (through Pipedream's proxy), not Pipedream.
    fn is_relayed(&self) -> bool {
        matches!(self, Self::Relayed { .. })
    }
}

/// What a call answers: a decoded JSON body, or the response itself.
pub trait Answer: Sized {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self>;
}

impl<T: DeserializeOwned> Answer for T {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self> {
        response.json(secrets)
    }
}

/// A decoded JSON body with the text it was decoded from, to share that text.
pub struct Texted<T> {
    pub text: bytes::Bytes,
    pub value: T,
}

impl<T: DeserializeOwned> Answer for Texted<T> {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self> {
        let value = response.json(secrets)?;
        Ok(Self {
            text: response.body,
            value,
        })
    }
}

/// A proxied answer: a 2xx as it came, anything else the error it is.
impl Answer for RawResponse {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self> {
        match response.status.is_success() {
            true => Ok(response),
            false => Err(response.api_error(secrets)),
        }
    }
}

/// Whether an attempt's outcome proves the server did not act on it: no connection was made,
/// nothing could be sent, or a 4xx (except 408) refused it.
fn refused(response: &Result<super::http::RawResponse>) -> bool {
    match response {
        Ok(r) => r.status.is_client_error() && r.status != StatusCode::REQUEST_TIMEOUT,
        Err(e) => matches!(e, Error::Connect(_) | Error::NotSent(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_retried_only_when_they_certainly_did_not_run() {
        let api = |status| Error::Api {
            status,
            body: String::new(),
            retry_after: None,
        };
        assert!(may_retry(
            &Error::Connect("refused".into()),
            Replay::RunOnce
        ));
        assert!(may_retry(&api(429), Replay::RunOnce));
        for e in [
            api(500),
            api(503),
            Error::Timeout(Duration::from_secs(1)),
            Error::Network("reset".into()),
        ] {
            assert!(!may_retry(&e, Replay::RunOnce), "{e:?}");
            assert!(may_retry(&e, Replay::Safe), "{e:?}");
            assert!(!refused(&Err(e)));
        }
        assert!(!may_retry(&api(404), Replay::Safe));
        // A token failure was retried where it happened, and nothing was sent.
        let token_down = Error::NotSent(Box::new(api(503)));
        assert!(!may_retry(&token_down, Replay::Safe));
        assert!(refused(&Err(token_down.clone())));
        assert_eq!(token_down.code().as_str(), "PIPEDREAM_SERVER_ERROR");
        assert!(refused(&Err(Error::Connect("refused".into()))));
    }
}
