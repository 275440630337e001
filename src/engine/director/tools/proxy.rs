//! `pipedream_proxy_request`: the LLM's way to any endpoint of an app's API when no prebuilt
//! action does what is needed, with the user's connected account resolved as for actions and
//! the client's own credentials. Answers are data in both cases: the app's answer, or the
//! failure with its code.

use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use crate::engine::args::Args;
use crate::engine::connect::proxy::ProxySpec;
use crate::engine::director::Director;
use crate::engine::error::{Error, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;

/// The most of an app's answer an LLM is shown: a larger body is cut (`truncated: true`).
const TOOL_MAX_BYTES: u64 = 32 * 1024;
const SHAPE: &str = "pipedream_proxy_request expects { app_slug, method, url, body?, headers?, external_user_id?, account_id? }";

pub struct ProxyToolArgs {
    spec: ProxySpec,
    external_user_id: Option<String>,
    account_id: Option<String>,
}

impl ProxyToolArgs {
    /// Not a GET or a HEAD: sent once, and `maybe_executed` when unsure.
    pub fn may_write(&self) -> bool {
        !self.spec.is_read()
    }

    /// Strict tool schemas cannot declare free-form objects, so `body` and `headers` come as
    /// JSON text: a body that parses as JSON is sent as JSON, anything else as text.
    pub fn parse(args: &Value) -> Result<Self> {
        let a = Args::new(args, SHAPE)?;
        let mut request = json!({
            "app": a.id("app_slug", "\"slack\"")?,
            "method": a.raw("method").cloned().unwrap_or(Value::Null),
            "url": a.raw("url").cloned().unwrap_or(Value::Null),
            "max_bytes": TOOL_MAX_BYTES,
        });
        if let Some(body) = a.string("body", 1_000_000)? {
            request["body"] = serde_json::from_str(&body).unwrap_or(Value::String(body));
        }
        if let Some(headers) = a.object("headers")? {
            request["headers"] = Value::Object(headers);
        }
        let account_id = a.string("account_id", 100)?;
        if let Some(id) = &account_id {
            crate::engine::connect::accounts::check_account_id(id)?;
        }
        Ok(Self {
            spec: ProxySpec::parse(&request)?,
            external_user_id: a.user_id("external_user_id")?,
            account_id,
        })
    }
}

impl Director {
    /// Sends the request; the app's answer, or the failure, as JSON text. `sent` is set while
    /// its bytes may have reached the app.
    pub async fn proxy_tool(&self, args: ProxyToolArgs, ids: &Value, sent: &AtomicBool) -> String {
        let sending = async {
            if self.connect.api.client_token_source().is_none() {
                return Err(Error::AuthMissing);
            }
            let user = self
                .connect
                .external_user(args.external_user_id.clone(), "pipedream_proxy_request")?;
            self.connect
                .proxy(
                    &args.spec,
                    &user,
                    args.account_id.as_deref(),
                    &Bearer::Client,
                    sent,
                )
                .await
        };
        match sending.await {
            Ok(outcome) => {
                #[derive(serde::Serialize)]
                struct Answer<'a> {
                    #[serde(flatten)]
                    answer: &'a crate::engine::connect::proxy::ProxyAnswer,
                    message: String,
                }
                let answer = &outcome.value;
                let message = format!(
                    "{} {} answered {}{}",
                    args.spec.method,
                    answer.url,
                    answer.status,
                    if answer.truncated {
                        " (the body is cut at 32 KB)"
                    } else {
                        ""
                    }
                );
                to_json(&Answer { answer, message })
            }
            Err(e) => super::Op::ProxyRequest.failed(ids, &e),
        }
    }
}
