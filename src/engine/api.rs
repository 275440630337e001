//! Authenticated, rate-limited calls to the Connect API. Every request goes through here, so
//! auth, the shared limiter and error mapping are applied the same way everywhere.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::Auth;
use super::config::Config;
use super::error::Result;
use super::http::Http;
use super::limiter::{EndpointClass, Limiter};

pub struct Api {
    http: Http,
    auth: Auth,
    limiter: Limiter,
}

impl Api {
    pub fn new(config: &Config) -> Result<Self> {
        let http = Http::new(config)?;
        let limiter = Limiter::new(
            http.base_url().as_str(),
            config.project_id.as_deref(),
            &config.rate_limit,
        );
        Ok(Self {
            http,
            auth: Auth::new(&config.credentials),
            limiter,
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.call(class, || self.http.request(Method::GET, path).query(query))
            .await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        class: EndpointClass,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let body = body.to_string();
        self.call(class, || {
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
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T> {
        let mut renewed = false;
        loop {
            let token = self.auth.bearer(&self.http).await?;
            self.limiter.acquire(class).await?;
            let response = self.http.send(build().bearer_auth(token.expose())).await?;
            if response.status == StatusCode::UNAUTHORIZED
                && !renewed
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
