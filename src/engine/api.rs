//! Authenticated, rate-limited calls to the Connect API. Every request goes through here, so
//! auth, the shared limiter and error mapping are applied the same way everywhere.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::Auth;
use super::config::Config;
use super::error::Result;
use super::events::Sink;
use super::http::Http;
use super::limiter::{EndpointClass, Limiter};
use super::secret::Secret;

/// Whose token a request carries: the client's own credentials, or a token the caller passed
/// for this call (a node's `auth_config.token` or a workflow's `pipedream_token`).
#[derive(Debug, Clone, Default)]
pub enum Bearer {
    #[default]
    Client,
    Given(Secret),
}

pub struct Api {
    http: Http,
    auth: Auth,
    limiter: Limiter,
}

impl Api {
    pub fn new(config: &Config, events: Sink) -> Result<Self> {
        let http = Http::new(config)?;
        let limiter = Limiter::new(
            http.base_url().as_str(),
            config.project_id.as_deref(),
            &config.rate_limit,
        );
        Ok(Self {
            http,
            auth: Auth::new(&config.credentials, events),
            limiter,
        })
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
        self.call(class, bearer, || {
            self.http.request(Method::GET, path).query(query)
        })
        .await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        body: &serde_json::Value,
        bearer: &Bearer,
    ) -> Result<T> {
        let body = body.to_string();
        self.call(class, bearer, || {
            self.http
                .request(Method::POST, path)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    /// Sends the request built by `build`. A 401 on an OAuth token that may have been revoked
    /// or expired early gets one retry with a fresh token; anything else is returned as is.
    async fn call<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        bearer: &Bearer,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T> {
        let mut renewed = false;
        loop {
            let token = match bearer {
                Bearer::Client => self.auth.bearer(&self.http).await?,
                Bearer::Given(t) => t.clone(),
            };
            self.limiter.acquire(class).await?;
            let response = self.http.send(build().bearer_auth(token.expose())).await?;
            if response.status == StatusCode::UNAUTHORIZED
                && !renewed
                && matches!(bearer, Bearer::Client)
                && self.auth.invalidate(&token).await
            {
                renewed = true;
                continue;
            }
            let mut secrets = self.auth.secrets();
            secrets.push(&token);
            return response.json(&secrets);
        }
    }
}
