//! Deployed triggers: a trigger component deployed for a user, which emits events to a webhook
//! URL (`POST …/triggers/deploy`, `…/deployed-triggers/{id}` and its events and webhooks).
//! Deploying goes through the node's path (`Director::execute`, for the account, the params
//! check and sending once); the calls here manage what was deployed. `external_user_id` is a
//! query parameter on every one of them, as the SDK sends it.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Connect;
use super::One;
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::{Bearer, Outcome};
use crate::engine::transport::pagination::{Page, collect_whole};
use crate::engine::transport::retry::Replay;

/// Most deployed triggers `listDeployedTriggers` gathers; more is an error, not a cut list.
const MAX_LISTED: usize = 10_000;
const MAX_WEBHOOKS: usize = 20;

/// A deployed trigger as the API sends it (`DeployedComponent`; only what we answer).
#[derive(Debug, Deserialize)]
pub struct DeployedComponent {
    id: String,
    #[serde(default)]
    component_id: Option<String>,
    #[serde(default)]
    component_key: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    configured_props: Option<Value>,
    #[serde(default)]
    created_at: Option<f64>,
    #[serde(default)]
    updated_at: Option<f64>,
    #[serde(default)]
    webhook_signing_key: Option<String>,
}

/// A deployed trigger as we answer it.
#[derive(Debug, Serialize)]
pub struct DeployedTrigger {
    pub id: String,
    /// The trigger's key (`gmail-new-email-received`); the API's `sc_…` id when it gives none.
    pub component_id: Option<String>,
    pub name: Option<String>,
    pub active: bool,
    pub configured_props: Value,
    pub created_at_ms: Option<u64>,
    pub updated_at_ms: Option<u64>,
    /// Only on deploy with a `webhook_url`, and only to OAuth-authenticated callers: keep it
    /// with Director's secrets, for `verifyTriggerWebhook`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_signing_key: Option<String>,
}

/// The docs' example shows epoch seconds; the SDK says milliseconds. Either way, milliseconds.
fn millis(t: Option<f64>) -> Option<u64> {
    t.filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| if t < 1e12 { t * 1000.0 } else { t } as u64)
}

impl From<DeployedComponent> for DeployedTrigger {
    fn from(d: DeployedComponent) -> Self {
        Self {
            id: d.id,
            component_id: d.component_key.or(d.component_id),
            name: d.name,
            active: d.active.unwrap_or(true),
            configured_props: d.configured_props.unwrap_or_else(|| json!({})),
            created_at_ms: millis(d.created_at),
            updated_at_ms: millis(d.updated_at),
            webhook_signing_key: d.webhook_signing_key,
        }
    }
}

/// The arguments of the calls on one deployed trigger (each takes the fields it needs).
#[derive(Debug, Clone, Default)]
pub struct TriggerArgs {
    pub id: String,
    pub external_user_id: Option<String>,
    active: Option<bool>,
    configured_props: Option<Map<String, Value>>,
    name: Option<String>,
    ignore_hook_errors: bool,
    n: Option<u64>,
    webhook_urls: Option<Vec<String>>,
    webhook_id: Option<String>,
}

/// A deployed trigger's id: `dc_…` (other emitters have other prefixes); nothing that could
/// change the path.
fn trigger_id(a: &Args, name: &str) -> Result<String> {
    a.id(
        name,
        "\"dc_abc123\" (from deployTrigger or listDeployedTriggers)",
    )
}

/// An absolute http(s) URL for Pipedream to POST to.
pub fn webhook_url(a: &Args, url: &str) -> Result<String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => Ok(url.to_owned()),
        _ => Err(a.fail(format!(
            "webhook URL {:?} must be an absolute http(s) URL Pipedream can reach (see triggerWebhookUrl)",
            crate::engine::error::cut(url, 100)
        ))),
    }
}

impl TriggerArgs {
    /// `call`'s arguments: `{ id, external_user_id?, … }`.
    pub fn parse(call: &'static str, v: &Value) -> Result<Self> {
        let a = Args::new(v, call)?;
        let mut out = Self {
            id: trigger_id(&a, "id")?,
            external_user_id: a.user_id("external_user_id")?,
            ..Self::default()
        };
        out.active = a.boolean("active")?;
        out.name = a.string("name", 500)?;
        out.configured_props = a.object("params")?;
        out.ignore_hook_errors = a.boolean("ignore_hook_errors")?.unwrap_or(false);
        out.n = a.integer("n", 1, 100)?;
        out.webhook_id = match a.raw("webhook_id") {
            None => None,
            Some(_) => Some(a.id("webhook_id", "\"wh_abc123\" (from listTriggerWebhooks)")?),
        };
        if let Some(urls) = a.raw("webhook_urls") {
            let list = urls
                .as_array()
                .filter(|l| l.len() <= MAX_WEBHOOKS)
                .ok_or_else(|| {
                    a.fail(format!(
                        "`webhook_urls` must be an array of at most {MAX_WEBHOOKS} URLs"
                    ))
                })?;
            let mut checked = Vec::new();
            for url in list {
                let url = url
                    .as_str()
                    .ok_or_else(|| a.fail("`webhook_urls` must hold strings".into()))?;
                checked.push(webhook_url(&a, url)?);
            }
            out.webhook_urls = Some(checked);
        }
        Ok(out)
    }
}

impl TriggerArgs {
    /// `setTriggerWebhooks` needs the new list; `listTriggerWebhooks` takes none.
    pub fn with_webhook_urls(self, wanted: bool) -> Result<Self> {
        match (wanted, self.webhook_urls.is_some()) {
            (true, false) => Err(Error::InvalidArgs(
                "setTriggerWebhooks expects { id, webhook_urls: [url, …], external_user_id? }: the list replaces the trigger's".into(),
            )),
            (false, true) => Err(Error::InvalidArgs(
                "listTriggerWebhooks takes no webhook_urls; setTriggerWebhooks sets them".into(),
            )),
            _ => Ok(self),
        }
    }
}

/// `listDeployedTriggers({ external_user_id? })`.
#[derive(Debug, Clone, Default)]
pub struct ListTriggersArgs {
    pub external_user_id: Option<String>,
}

impl ListTriggersArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        if v.is_null() {
            return Ok(Self::default());
        }
        let a = Args::new(v, "listDeployedTriggers expects { external_user_id? }")?;
        Ok(Self {
            external_user_id: a.user_id("external_user_id")?,
        })
    }
}

/// As the SDK reads it (`GetTriggerWebhooksResponse`): the URLs are required, each webhook
/// has its id and URL. An answer without them is no list: read as empty, it would tell a
/// reconciling caller the trigger delivers nowhere.
#[derive(Deserialize, Serialize)]
struct WebhookList {
    webhook_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhooks: Option<Vec<TriggerWebhook>>,
}

/// `TriggerWebhook`: its id and URL, the rest (`signing_key`, `signing_key_set`) as sent.
#[derive(Deserialize, Serialize)]
struct TriggerWebhook {
    id: String,
    url: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl Connect {
    /// Sends a deploy (the documented body). Deploying always creates a trigger, so it is
    /// sent at most once, like a run; `sent` says whether it may have been.
    pub async fn deploy_trigger(
        &self,
        body: &(impl serde::Serialize + ?Sized),
        bearer: &Bearer,
        sent: &AtomicBool,
    ) -> Result<Outcome<DeployedTrigger>> {
        let path = self.project_path("triggers/deploy")?;
        let out = self
            .api
            .post_counted::<One<DeployedComponent>>(
                EndpointClass::Execute,
                &path,
                body,
                bearer,
                Replay::RunOnce,
                sent,
            )
            .await
            .map_err(Error::unquoted)?;
        Ok(out.map(|one| one.data.into()))
    }

    fn trigger_path(&self, id: &str, rest: &str) -> Result<String> {
        self.project_path(&format!("deployed-triggers/{id}{rest}"))
    }

    fn user_query(
        &self,
        given: &Option<String>,
        call: &str,
    ) -> Result<Vec<(&'static str, String)>> {
        Ok(vec![(
            "external_user_id",
            self.external_user(given.clone(), call)?,
        )])
    }

    fn trigger_not_found(&self, e: Error, id: &str) -> Error {
        self.explain_not_found(e, || {
            format!("there is no deployed trigger {id} for this user; listDeployedTriggers shows the user's triggers")
        })
    }

    /// `listDeployedTriggers`: the user's deployed triggers, all pages.
    pub async fn list_deployed_triggers(
        &self,
        args: &ListTriggersArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let listed = async {
            let path = self.project_path("deployed-triggers")?;
            let user = self.user_query(&args.external_user_id, "listDeployedTriggers")?;
            let narrow = || {
                format!(
                    "the user has more than {MAX_LISTED} deployed triggers, and listDeployedTriggers lists them all or none: read one with getDeployedTrigger, or delete those no longer needed"
                )
            };
            let all = collect_whole(MAX_LISTED, narrow, |after, want| {
                let mut query = user.clone();
                query.push(("limit", want.min(100).to_string()));
                query.extend(after.map(|a| ("after", a)));
                let path = path.clone();
                async move {
                    self.api
                        .get::<Page<DeployedComponent>>(
                            EndpointClass::Read,
                            &path,
                            &query,
                            &Bearer::Client,
                        )
                        .await
                }
            })
            .await?;
            let triggers: Vec<DeployedTrigger> = all.into_iter().map(Into::into).collect();
            Ok(to_json(&triggers))
        };
        listed.await.map_err(|e: Error| ErrorReport::plain(&e))
    }

    /// `getDeployedTrigger`.
    pub async fn get_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.deployed_trigger(args)
            .await
            .map(|t| to_json(&t))
            .map_err(|e| ErrorReport::plain(&e))
    }

    async fn deployed_trigger(&self, args: &TriggerArgs) -> Result<DeployedTrigger> {
        let path = self.trigger_path(&args.id, "")?;
        let query = self.user_query(&args.external_user_id, "getDeployedTrigger")?;
        let one: One<DeployedComponent> = self
            .api
            .get(EndpointClass::Read, &path, &query, &Bearer::Client)
            .await
            .map_err(|e| self.trigger_not_found(e, &args.id))?;
        Ok(one.data.into())
    }

    /// `updateDeployedTrigger`: `active`, `name` and `params`. Pipedream replaces the
    /// configured props as a whole, so new `params` keep the trigger's account props (the
    /// `authProvisionId` ones) unless they name others. A PUT of the same body twice leaves
    /// the same trigger, so it is retried like a read.
    pub async fn update_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let updated = async {
            let mut body = Map::new();
            if let Some(active) = args.active {
                body.insert("active".into(), json!(active));
            }
            if let Some(name) = &args.name {
                body.insert("name".into(), json!(name));
            }
            if let Some(params) = &args.configured_props {
                let current = self.deployed_trigger(args).await?;
                let mut configured = params.clone();
                for (name, value) in current.configured_props.as_object().into_iter().flatten() {
                    if value.get("authProvisionId").is_some() && !configured.contains_key(name) {
                        configured.insert(name.clone(), value.clone());
                    }
                }
                body.insert("configured_props".into(), Value::Object(configured));
            }
            if body.is_empty() {
                return Err(Error::InvalidArgs(
                    "updateDeployedTrigger needs at least one of active, name or params".into(),
                ));
            }
            let path = self.trigger_path(&args.id, "")?;
            let query = self.user_query(&args.external_user_id, "updateDeployedTrigger")?;
            let one: One<DeployedComponent> = self
                .api
                .put(
                    EndpointClass::Read,
                    &path,
                    &query,
                    &Value::Object(body),
                    &Bearer::Client,
                )
                .await
                .map_err(|e| self.trigger_not_found(e, &args.id))?;
            Ok(to_json(&DeployedTrigger::from(one.data)))
        };
        updated.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// `deleteDeployedTrigger`: one that is already gone is not an error.
    pub async fn delete_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let deleted = async {
            let path = self.trigger_path(&args.id, "")?;
            let mut query = self.user_query(&args.external_user_id, "deleteDeployedTrigger")?;
            if args.ignore_hook_errors {
                query.push(("ignore_hook_errors", "true".into()));
            }
            self.gone_is_fine(
                self.api
                    .delete(EndpointClass::Read, &path, &query, &Bearer::Client)
                    .await,
            )?;
            Ok("null".to_owned())
        };
        deleted.await.map_err(|e: Error| ErrorReport::plain(&e))
    }

    /// `listTriggerEvents`: the most recent events, newest first: `{ id, ts_ms, summary, payload }`.
    pub async fn list_trigger_events(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let listed = async {
            #[derive(Deserialize)]
            struct Emitted {
                #[serde(default)]
                id: Option<String>,
                #[serde(default)]
                ts: Option<f64>,
                #[serde(default)]
                sum: Option<String>,
                #[serde(default)]
                e: Value,
            }
            let path = self.trigger_path(&args.id, "/events")?;
            let mut query = self.user_query(&args.external_user_id, "listTriggerEvents")?;
            if let Some(n) = args.n {
                query.push(("n", n.to_string()));
            }
            let page: Page<Emitted> = self
                .api
                .get(EndpointClass::Read, &path, &query, &Bearer::Client)
                .await
                .map_err(|e| self.trigger_not_found(e, &args.id))?;
            let events: Vec<Value> = page
                .data
                .into_iter()
                .map(|e| json!({ "id": e.id, "ts_ms": millis(e.ts), "summary": e.sum, "payload": e.e }))
                .collect();
            Ok(to_json(&events))
        };
        listed.await.map_err(|e: Error| ErrorReport::plain(&e))
    }

    /// `listTriggerWebhooks` (no `webhook_urls`) and `setTriggerWebhooks` (with them: the list
    /// replaces the trigger's, so sending it twice is harmless).
    pub async fn trigger_webhooks(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let found = async {
            let path = self.trigger_path(&args.id, "/webhooks")?;
            let query = self.user_query(&args.external_user_id, "triggerWebhooks")?;
            let list: WebhookList = match &args.webhook_urls {
                None => {
                    self.api
                        .get(EndpointClass::Read, &path, &query, &Bearer::Client)
                        .await
                }
                Some(urls) => {
                    let body = json!({ "webhook_urls": urls });
                    self.api
                        .put(EndpointClass::Read, &path, &query, &body, &Bearer::Client)
                        .await
                }
            }
            .map_err(|e| self.trigger_not_found(e.unquoted(), &args.id))?;
            Ok(to_json(&list))
        };
        found.await.map_err(|e: Error| ErrorReport::plain(&e))
    }

    /// `regenerateTriggerSigningKey`: a new signing key for one webhook of the trigger; the old
    /// one stops verifying. Retried like a read: the last key answered is the one in force.
    pub async fn regenerate_trigger_signing_key(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        let made = async {
            let webhook = args.webhook_id.as_deref().ok_or_else(|| {
                Error::InvalidArgs(
                    "regenerateTriggerSigningKey needs `webhook_id` (from listTriggerWebhooks)"
                        .into(),
                )
            })?;
            let path = self.trigger_path(
                &args.id,
                &format!("/webhooks/{webhook}/regenerate_signing_key"),
            )?;
            let query = self.user_query(&args.external_user_id, "regenerateTriggerSigningKey")?;
            let build = || self.api.request(http::Method::POST, &path).query(&query);
            let one: One<Value> = self
                .api
                .send_json(EndpointClass::Read, &Bearer::Client, build)
                .await
                .map_err(|e| {
                    // The trigger may be there and the webhook not: the 404 names both.
                    self.explain_not_found(e.unquoted(), || format!(
                        "there is no webhook {webhook} of a deployed trigger {} for this user; listTriggerWebhooks shows the trigger's webhooks",
                        args.id
                    ))
                })?;
            // The old key stops verifying now: an answer without the new one is no answer.
            if !one.data.get("signing_key").is_some_and(Value::is_string) {
                return Err(Error::BadResponse(
                    "the answer holds no signing_key (text); the webhook's old key may no longer verify: call regenerateTriggerSigningKey again".into(),
                ));
            }
            Ok(to_json(&one.data))
        };
        made.await.map_err(|e: Error| ErrorReport::plain(&e))
    }
}
