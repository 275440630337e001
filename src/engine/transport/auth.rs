//! Bearer tokens for Connect calls: a static token, or OAuth client credentials exchanged at
//! `POST /v1/oauth/token` and cached until shortly before they expire. Only one token request
//! is in flight at a time; callers that arrive during a refresh wait for its result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use backon::Retryable;

use super::http::Http;
use super::retry::{Replay, backoff, honour_retry_after, may_retry, noted};
use super::shared_token::{self, SharedToken};
use super::store::Store;
use crate::engine::config::{Credentials, RetryConfig};
use crate::engine::error::{Error, Result};
use crate::engine::events::{self, Sink};
use crate::engine::secret::Secret;
use crate::engine::stats::Stats;

/// The token requests' class in `getStats()`, `metrics()` and `retry` events (they are no
/// `EndpointClass`: no budget of Connect's limits them).
const CLASS: &str = "oauth";

pub enum Auth {
    Missing,
    Static(Secret),
    Oauth(Box<OAuthTokens>),
}

pub struct OAuthTokens {
    client_id: String,
    client_secret: Secret,
    current: Mutex<TokenState>,
    retry: RetryConfig,
    events: Sink,
    stats: Arc<Stats>,
    /// With a store: the token every instance shares.
    shared: Option<SharedToken>,
}

/// How long a failed token request is answered from memory: callers that arrive during an
/// outage fail at once instead of each retrying the token endpoint in turn.
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Default)]
struct TokenState {
    token: Option<CachedToken>,
    failure: Option<Failure>,
}

/// The last failed refresh (after its retries): when it ended and why.
struct Failure {
    at: Instant,
    error: Error,
}

struct CachedToken {
    token: Secret,
    refresh_at: Instant,
    /// The token as the store keeps it, when it is the shared one.
    sealed: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<f64>,
}

impl Auth {
    pub fn new(
        credentials: &Credentials,
        retry: RetryConfig,
        events: Sink,
        stats: Arc<Stats>,
        store: Option<&Store>,
        base_url: &str,
    ) -> Self {
        match credentials {
            Credentials::None => Self::Missing,
            Credentials::Token(t) => Self::Static(t.clone()),
            Credentials::OauthClient {
                client_id,
                client_secret,
            } => Self::Oauth(Box::new(OAuthTokens {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                current: Mutex::new(TokenState::default()),
                retry,
                events,
                stats,
                shared: store.map(|store| {
                    SharedToken::new(store.clone(), base_url, client_id, client_secret)
                }),
            })),
        }
    }

    pub async fn bearer(&self, http: &Http) -> Result<Secret> {
        match self {
            Self::Missing => Err(Error::AuthMissing),
            Self::Static(t) => Ok(t.clone()),
            Self::Oauth(o) => o.token(http).await,
        }
    }

    /// Forgets `rejected` if it is still the cached token, so the next `bearer()` fetches a new
    /// one. Returns whether a fresh token can be tried (only OAuth tokens can be renewed).
    pub async fn invalidate(&self, rejected: &Secret) -> bool {
        let Self::Oauth(o) = self else { return false };
        let mut current = o.current.lock().await;
        if current.token.as_ref().is_some_and(|c| &c.token == rejected)
            && let Some(cached) = current.token.take()
            && let (Some(shared), Some(sealed)) = (&o.shared, cached.sealed)
        {
            // The shared token only while it is still this one.
            shared.forget(&sealed).await;
        }
        true
    }

    /// A token given as is, which nothing here can renew.
    pub fn is_static(&self) -> bool {
        matches!(self, Self::Static(_))
    }

    pub fn source(&self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::Static(_) => Some("env"),
            Self::Oauth(_) => Some("oauth"),
        }
    }

    /// Credentials that must never be quoted back, for redacting server text.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Self::Missing => vec![],
            Self::Static(t) => vec![t],
            Self::Oauth(o) => vec![&o.client_secret],
        }
    }
}

impl TokenState {
    /// Takes the shared token as this process's.
    fn share(&mut self, found: shared_token::Found) -> Secret {
        let token = found.token.clone();
        self.token = Some(CachedToken {
            token: found.token,
            refresh_at: Instant::now() + found.left,
            sealed: Some(found.sealed),
        });
        self.failure = None;
        token
    }
}

impl OAuthTokens {
    /// The cached token, or one refresh for everyone: callers that waited on a refresh get
    /// its outcome, failure included, and for `FAILURE_BACKOFF` after a failure new callers
    /// get that failure too instead of starting another round of retries.
    async fn token(&self, http: &Http) -> Result<Secret> {
        let arrived = Instant::now();
        let mut current = self.current.lock().await;
        if let Some(c) = current
            .token
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
        {
            return Ok(c.token.clone());
        }
        if let Some(f) = current
            .failure
            .as_ref()
            .filter(|f| f.at >= arrived || f.at.elapsed() < FAILURE_BACKOFF)
        {
            return Err(f.error.clone());
        }
        let mut owner = None;
        if let Some(shared) = &self.shared {
            let waited = Instant::now();
            loop {
                let held = match shared.read().await {
                    // The store away: this instance fetches its own, as without one.
                    None => break,
                    Some(Some(found)) => return Ok(current.share(found)),
                    Some(None) => match shared.lock().await {
                        Some(Some(held)) => held,
                        Some(None) if waited.elapsed() < shared_token::LOCK_FOR => {
                            tokio::time::sleep(shared_token::POLL_EVERY).await;
                            continue;
                        }
                        // The holder did not deliver within its lock's life, or the store
                        // went away: fetch one of our own.
                        _ => break,
                    },
                };
                // Another instance may have shared one between the read and the lock.
                if let Some(Some(found)) = shared.read().await {
                    shared.unlock(&held).await;
                    return Ok(current.share(found));
                }
                owner = Some(held);
                break;
            }
        }
        let started = Instant::now();
        // The token request is a read like any other: retried on failures that pass, and
        // counted and logged as the API layer counts and logs its own.
        let attempt = AtomicU32::new(0);
        let fetched = (|| {
            attempt.fetch_add(1, Ordering::Relaxed);
            self.fetch(http)
        })
        .retry(backoff(&self.retry))
        .sleep(tokio::time::sleep)
        .when(|e: &Error| may_retry(e, Replay::Safe))
        .adjust(honour_retry_after(self.retry.max_delay))
        .notify(noted(&self.stats, &self.events, CLASS, &attempt))
        .await;
        let outcome = fetched
            .as_ref()
            .map_or_else(|e| e.code().as_str(), |_| "ok");
        events::emit(
            &self.events,
            "auth",
            outcome,
            started.elapsed(),
            json!({ "method": "oauth_client_credentials" }),
        );
        match fetched {
            Ok(mut fetched) => {
                if let Some(shared) = &self.shared {
                    let left = fetched.refresh_at.saturating_duration_since(Instant::now());
                    if !left.is_zero() {
                        fetched.sealed = shared.write(&fetched.token, left, owner.as_deref()).await;
                    }
                }
                let token = fetched.token.clone();
                *current = TokenState {
                    token: Some(fetched),
                    failure: None,
                };
                Ok(token)
            }
            Err(error) => {
                if let (Some(shared), Some(owner)) = (&self.shared, &owner) {
                    shared.unlock(owner).await;
                }
                current.failure = Some(Failure {
                    at: Instant::now(),
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    async fn fetch(&self, http: &Http) -> Result<CachedToken> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
            "scope": "*",
        });
        let request = http
            .request(http::Method::POST, "/v1/oauth/token")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let started = Instant::now();
        let response = http.send(request).await;
        let status = response.as_ref().map_or(0, |r| r.status.as_u16());
        self.stats.request(CLASS, status, started.elapsed());
        let response = response?;
        // The token endpoint's body is never quoted: a success carries the access token, and
        // an error may echo what was sent. Only a bare OAuth error code is repeated.
        if !response.status.is_success() {
            let oauth_code = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
                .filter(|c| {
                    c.len() <= 64 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                });
            return Err(match response.api_error(&[]) {
                Error::Api { status, .. } if status == 400 || status == 401 => {
                    Error::CredentialsRejected {
                        status,
                        reason: oauth_code,
                    }
                }
                Error::Api {
                    status,
                    retry_after,
                    ..
                } => Error::Api {
                    status,
                    body: format!(
                        "the OAuth token request failed{}",
                        oauth_code.map(|c| format!(" ({c})")).unwrap_or_default()
                    ),
                    retry_after,
                },
                other => other,
            });
        }
        let parsed: TokenResponse = response.decode(|_| {
            format!("the OAuth token response (status {status}) is not the expected JSON; its body is not shown, as it may hold a token")
        })?;
        if parsed.access_token.is_empty()
            || !parsed.access_token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::BadResponse(
                "the token response's access_token is empty or holds characters an HTTP header cannot carry".into(),
            ));
        }
        Ok(CachedToken {
            token: Secret::new(parsed.access_token),
            refresh_at: started + refresh_after(lifetime(parsed.expires_in)),
            sealed: None,
        })
    }
}

/// The longest a token is kept, whatever the token endpoint says.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);

/// A token's lifetime from `expires_in`: an hour when it is missing or not a positive number,
/// at most a day (a huge value overflowed the clock and panicked; a token renewed after a day
/// costs one request).
fn lifetime(expires_in: Option<f64>) -> Duration {
    expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64())))
        .unwrap_or(Duration::from_secs(3600))
}

/// Refresh two minutes before expiry, or at half-life for short-lived tokens (as the official
/// SDK does), so a token is never sent in its last moments.
fn refresh_after(lifetime: Duration) -> Duration {
    let margin = Duration::from_secs(120).min(lifetime / 2);
    lifetime - margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_expires_in_is_a_lifetime_of_at_most_a_day() {
        for (given, lasts) in [
            (Some(600.0), 600),
            (None, 3600),
            (Some(0.0), 3600),
            (Some(-5.0), 3600),
            (Some(f64::NAN), 3600),
            (Some(1e19), 86_400),
            (Some(f64::MAX), 86_400),
        ] {
            assert_eq!(lifetime(given), Duration::from_secs(lasts), "{given:?}");
            // Added to now without overflow.
            let _ = Instant::now() + refresh_after(lifetime(given));
        }
    }

    #[test]
    fn refresh_margin() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3480)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
    }
}
