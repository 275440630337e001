//! Bearer tokens for Connect calls: a static token, or OAuth client credentials exchanged at
//! `POST /v1/oauth/token` and cached until shortly before they expire. Only one token request
//! is in flight at a time; callers that arrive during a refresh wait for its result.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use backon::Retryable;

use super::api::{Replay, backoff, honour_retry_after, may_retry};
use super::config::{Credentials, RetryConfig};
use super::error::{Error, Result};
use super::events::{self, Sink};
use super::http::Http;
use super::secret::Secret;

pub enum Auth {
    Missing,
    Static(Secret),
    Oauth(OAuthTokens),
}

pub struct OAuthTokens {
    client_id: String,
    client_secret: Secret,
    current: Mutex<Option<CachedToken>>,
    retry: RetryConfig,
    events: Sink,
}

struct CachedToken {
    token: Secret,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<f64>,
}

impl Auth {
    pub fn new(credentials: &Credentials, retry: RetryConfig, events: Sink) -> Self {
        match credentials {
            Credentials::None => Self::Missing,
            Credentials::Token(t) => Self::Static(t.clone()),
            Credentials::OauthClient {
                client_id,
                client_secret,
            } => Self::Oauth(OAuthTokens {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                current: Mutex::new(None),
                retry,
                events,
            }),
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
        if current.as_ref().is_some_and(|c| &c.token == rejected) {
            *current = None;
        }
        true
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

impl OAuthTokens {
    async fn token(&self, http: &Http) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let started = Instant::now();
        // The token request is a read like any other: retried on failures that pass.
        let fetched = (|| self.fetch(http))
            .retry(backoff(&self.retry))
            .sleep(tokio::time::sleep)
            .when(|e: &Error| may_retry(e, Replay::Safe))
            .adjust(honour_retry_after(self.retry.max_delay))
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
        let fetched = fetched?;
        let token = fetched.token.clone();
        *current = Some(fetched);
        Ok(token)
    }

    async fn fetch(&self, http: &Http) -> Result<CachedToken> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
            "scope": "*",
        });
        let request = http
            .request(reqwest::Method::POST, "/v1/oauth/token")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let started = Instant::now();
        let response = http.send(request).await?;
        let parsed: TokenResponse = response.json(&[&self.client_secret]).map_err(|e| match e {
            Error::Api { status, body, .. } if status == 400 || status == 401 => Error::Api {
                status: 401,
                body: format!(
                    "the OAuth client credentials were rejected ({body}). Check PIPEDREAM_CLIENT_ID / PIPEDREAM_CLIENT_SECRET"
                ),
                retry_after: None,
            },
            other => other,
        })?;
        if parsed.access_token.is_empty() {
            return Err(Error::BadResponse(
                "the token response has an empty access_token".into(),
            ));
        }
        let lifetime = parsed
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(3600));
        Ok(CachedToken {
            token: Secret::new(parsed.access_token),
            refresh_at: started + refresh_after(lifetime),
        })
    }
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
