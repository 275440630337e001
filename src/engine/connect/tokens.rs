//! Connect tokens: what Director's frontend needs to let a user connect an account (a Connect
//! Link, or Pipedream's frontend SDK), limited per external user as the API limits them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::accounts::with_app;
use super::{Connect, segment};
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::secret::Secret;
use crate::engine::transport::api::Bearer;

/// The longest a Connect token may live, in seconds (the API's maximum).
const MAX_EXPIRES_IN: u64 = 14_400;

/// `createConnectToken` arguments, as the API's body takes them.
#[derive(Debug, Clone)]
pub struct CreateTokenArgs {
    pub external_user_id: String,
    pub app: Option<String>,
    body: Map<String, Value>,
}

impl CreateTokenArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "createConnectToken expects { external_user_id: string, app?: string, success_redirect_uri?: string, error_redirect_uri?: string, webhook_uri?: string, allowed_origins?: string[], expires_in?: number }",
        )?;
        let external_user_id = a.required_string("external_user_id", 250, "\"user-123\"")?;
        let app = match a.raw("app") {
            None => None,
            Some(_) => Some(a.id("app", "\"slack\"")?),
        };
        let mut body = Map::new();
        body.insert("external_user_id".into(), json!(external_user_id));
        if let Some(app) = &app {
            body.insert("app_id".into(), json!(app));
        }
        for field in ["success_redirect_uri", "error_redirect_uri", "webhook_uri"] {
            if let Some(uri) = a.string(field, 2_000)? {
                if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                    return Err(a.fail(format!("`{field}` must be an http(s) URL")));
                }
                body.insert(field.into(), json!(uri));
            }
        }
        if let Some(origins) = a.raw("allowed_origins") {
            let list = origins
                .as_array()
                .filter(|l| l.iter().all(Value::is_string) && l.len() <= 100)
                .ok_or_else(|| a.fail("`allowed_origins` must be an array of origin strings such as \"https://app.example.com\"".into()))?;
            body.insert("allowed_origins".into(), Value::Array(list.clone()));
        }
        if let Some(seconds) = a.integer("expires_in", 1, MAX_EXPIRES_IN)? {
            body.insert("expires_in".into(), json!(seconds));
        }
        Ok(Self {
            external_user_id,
            app,
            body,
        })
    }
}

/// A Connect token as `createConnectToken` answers it.
#[derive(Debug, Deserialize, Serialize)]
struct Token {
    token: String,
    expires_at: String,
    connect_link_url: String,
}

/// `validateConnectToken` arguments.
#[derive(Debug, Clone)]
pub struct ValidateTokenArgs {
    pub token: String,
    pub app: Option<String>,
}

impl ValidateTokenArgs {
    pub fn parse(token: &Value, options: &Value) -> Result<Self> {
        let token = token
            .as_str()
            .filter(|t| !t.is_empty() && t.len() <= 200 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .ok_or_else(|| Error::InvalidArgs("validateConnectToken expects the token string a createConnectToken answered (ctok_…)".into()))?
            .to_owned();
        let app = match options {
            Value::Null => None,
            v => {
                let a = Args::new(v, "validateConnectToken options are { app?: string }")?;
                match a.raw("app") {
                    None => None,
                    Some(_) => Some(a.id("app", "\"slack\"")?),
                }
            }
        };
        Ok(Self { token, app })
    }
}

impl Connect {
    /// A Connect token for one external user, with the Connect Link opening on `app` when one
    /// is named. Limited per user (`rateLimit.tokens`): when spent, it fails at once.
    pub async fn create_connect_token(
        &self,
        args: &CreateTokenArgs,
    ) -> Result<String, ErrorReport> {
        let created = async {
            self.enabled()?;
            if !self.api.try_user_token(&args.external_user_id).await {
                return Err(Error::LocalRateLimit {
                    class: EndpointClass::Tokens.as_str(),
                    retry_after: self.config.rate_limit.tokens_period(),
                });
            }
            let path = self.project_path("tokens")?;
            let mut token: Token = self
                .api
                .post(
                    EndpointClass::Tokens,
                    &path,
                    &Value::Object(args.body.clone()),
                    &Bearer::Client,
                )
                .await?;
            if let Some(app) = &args.app {
                token.connect_link_url = with_app(token.connect_link_url, app);
            }
            Ok(to_json(&token))
        };
        created.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// Whether a Connect token is still good (for `app`, when named): `valid`, the API's
    /// `reason` when it is not, and the token's project and redirect URIs.
    pub async fn validate_connect_token(
        &self,
        args: &ValidateTokenArgs,
    ) -> Result<String, ErrorReport> {
        let checked = async {
            self.enabled()?;
            let path = format!("/v1/connect/tokens/{}/validate", segment(&args.token));
            let query: Vec<(&str, String)> =
                args.app.iter().map(|a| ("app_id", a.clone())).collect();
            let answer: Value = self
                .api
                .get(EndpointClass::Tokens, &path, &query, &Bearer::Client)
                .await?;
            // `error` in this package's answers is always a PIPEDREAM_* code: the API's
            // `success` and `error` text become `valid` and `reason`; the rest is as sent.
            let mut fields = match answer {
                Value::Object(map) => map,
                _ => {
                    return Err(Error::BadResponse(
                        "the token validation is not an object".into(),
                    ));
                }
            };
            let valid = fields
                .remove("success")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let reason = fields.remove("error");
            fields.insert("valid".into(), json!(valid));
            if let Some(reason) = reason.filter(|r| !r.is_null()) {
                fields.insert("reason".into(), reason);
            }
            Ok(self.api.scrub(to_json(&fields), &Bearer::Client).await)
        };
        // A Connect token is a credential (for the Connect UI): a server that quotes it back
        // does not get it into a message.
        let token = Secret::new(args.token.clone());
        checked
            .await
            .map_err(|e| ErrorReport::plain(&e.redacting(&token)))
    }
}
