//! `executePipedreamConnect`: running one `pipedream_connect` node. Which token, which
//! account, whether the params fit: all settled before the run request, which is sent once.
//! Failures come back as `ErrorReport`s that the binding turns into `PipedreamError`s.

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::engine::args::Args;
use crate::engine::connect::accounts::check_account_id;
use crate::engine::connect::actions::RunResponse;
use crate::engine::connect::components::{Component, ComponentKind};
use crate::engine::connect::file_stash::presigned_expiry_ms;
use crate::engine::connect::proxy::{ProxyAnswer, ProxySpec};
use crate::engine::connect::triggers::DeployedTrigger;
use crate::engine::director::Director;
use crate::engine::director::node::coerce::coerced;
use crate::engine::director::node::idempotency::{Flight, Joined, Waited};
use crate::engine::director::node::results::{
    ReadExports, RecordSpec, Returned, create_records, store,
};
use crate::engine::director::node::shared_idempotency::{self, Claimed, SharedIdempotency};
use crate::engine::director::node::validate::validate;
use crate::engine::director::tools::components::GetComponentArgs;
use crate::engine::error::{Error, ErrorReport, Problem, Result, cut, panic_text};
use crate::engine::events;
use crate::engine::json::to_json;
use crate::engine::secret::Secret;
use crate::engine::transport::api::{Bearer, Outcome};
use crate::engine::transport::deadline;

const CONFIG_SHAPE: &str = "executePipedreamConnect expects config { component_id: string, version?, auth_config?, params?, store?, create_records?, store_to_record?, as?, stash? } or { proxy: { method, url, app?, headers?, body? }, auth_config?, store?, create_records?, store_to_record?, as? }";
const DEPLOY_SHAPE: &str = "deployTrigger expects { component_id, params?, version?, external_user_id?, account_id?, webhook_url?, emit_on_deploy?, token? }";
const PROXY_SHAPE: &str = "proxyRequest expects { method, url, app?, account_id?, external_user_id?, headers?, body?, max_bytes?, token? }";
/// The workflow's variables, named as the workflow names them: none is refused.
const VARIABLES_SHAPE: &str = "context.variables holds the workflow's variables";
const CONTEXT_SHAPE: &str = "executePipedreamConnect expects context { workflowId?, alias?, variables?, currentRecord?, externalUserId?, idempotencyKey?, signal? }";
pub const DEFAULT_CONCURRENCY: usize = 5;
const MAX_CONCURRENCY: u64 = 100;

/// Most characters of an action's error kept in `PIPEDREAM_ACTION_FAILED`: an action's message
/// can carry a whole HTTP response or stack (an axios error's dump), and it reaches the
/// workflow's LLM, whose context it would fill. The run's logs in Pipedream keep all of it.
const MAX_ACTION_MESSAGE_CHARS: usize = 2_000;
const MAX_ACTION_NAME_CHARS: usize = 100;

/// An action's error message within `MAX_ACTION_MESSAGE_CHARS`, saying how much was left out.
fn action_message(message: &str) -> String {
    match message.char_indices().nth(MAX_ACTION_MESSAGE_CHARS) {
        Some((at, _)) => format!(
            "{}… ({} more characters; the run's logs in Pipedream have all of it)",
            &message[..at],
            message[at..].chars().count()
        ),
        None => message.to_owned(),
    }
}

/// A node's config and context, checked.
#[derive(Debug, Clone)]
pub struct ExecuteArgs {
    target: Target,
    /// What failures name: the component id, or the proxy request's method and URL.
    label: String,
    /// `proxyRequest`: the app's answer itself rather than a node's result.
    raw_answer: bool,
    token: Option<Secret>,
    workflow_token: Option<Secret>,
    external_user_id: Option<String>,
    account_id: Option<String>,
    params: Map<String, Value>,
    store: Option<Map<String, Value>>,
    records: Option<RecordSpec>,
    record_update: Option<(String, String)>,
    workflow_id: Option<String>,
    alias: Option<String>,
    idempotency_key: Option<String>,
    /// `stash_id` for the run: "NEW" for a new File Stash, or one to reuse.
    stash: Option<String>,
}

/// What a run or a deploy answered.
enum Sent {
    Ran(RunResponse),
    Deployed(DeployedTrigger),
}

/// The body of `actions/run` and `triggers/deploy`, borrowed from what the run already holds
/// (a `json!` tree copied the configured props once more). Fields in alphabetical order, as
/// `serde_json`'s map wrote them.
#[derive(Serialize)]
struct RunBody<'a> {
    configured_props: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_props_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emit_on_deploy: Option<bool>,
    external_user_id: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stash_id: Option<&'a str>,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<&'a str>,
}

/// What a node runs: a prebuilt action, or a request to the app's API through the proxy.
#[derive(Debug, Clone)]
enum Target {
    Component(GetComponentArgs),
    Proxy(ProxySpec),
    /// `deployTrigger`: a trigger checked like an action, then deployed instead of run.
    Deploy {
        component: GetComponentArgs,
        webhook_url: Option<String>,
        emit_on_deploy: Option<bool>,
    },
}

/// A token given for one call. It goes into an HTTP header, so a value the header cannot
/// carry is refused here, naming the field and never the value: the HTTP layer would refuse
/// it later, after the run had been counted as sent.
fn secret(a: &Args, name: &str) -> Result<Option<Secret>> {
    let Some(token) = a.string(name, 10_000)? else {
        return Ok(None);
    };
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(a.fail(format!(
            "`{name}` is not a usable token: it holds spaces, control or non-ASCII characters, which an HTTP header cannot carry"
        )));
    }
    Ok(Some(Secret::new(token)))
}

/// Names a workflow assigns into a JS object (`Object.assign(variables, stored)`, a record
/// field): these would replace the object's prototype or constructor instead of adding a key.
const RESERVED_NAMES: [&str; 3] = ["__proto__", "constructor", "prototype"];

fn check_name(a: &Args, what: &str, name: &str) -> Result<()> {
    if RESERVED_NAMES.contains(&name) {
        return Err(a.fail(format!(
            "{what} {name:?} is reserved in JavaScript objects; choose another name"
        )));
    }
    Ok(())
}

impl ExecuteArgs {
    pub fn parse(config: &Value, context: &Value) -> Result<Self> {
        let a = Args::new(config, CONFIG_SHAPE)?;
        let target = match a.raw("proxy") {
            Some(_) if a.raw("component_id").is_some() => {
                return Err(a.fail(
                    "give either `component_id` (a prebuilt action) or `proxy` (a request to the app's API), not both".into(),
                ));
            }
            Some(proxy) => Target::Proxy(ProxySpec::parse(proxy)?),
            None => Target::Component(GetComponentArgs::read(&a)?),
        };
        let (mut token, mut external_user_id, mut account_id) = (None, None, None);
        if let Some(auth) = a.nested("auth_config")? {
            // Open, as the integration plan's node schema has it; a field of its own spelled
            // otherwise (`externalUserId`) is refused, or the call would act as another user.
            let auth = Args::open(
                auth,
                "auth_config expects { token?, external_user_id?, account_id?, service_auth? }",
            )?;
            token = secret(&auth, "token")?;
            external_user_id = auth.user_id("external_user_id")?;
            account_id = auth.string("account_id", 100)?;
            if let Some(service) = auth.nested("service_auth")? {
                let service = Args::open(service, "service_auth expects { authProvisionId? }")?;
                account_id = account_id.or(service.string("authProvisionId", 100)?);
            }
        }
        if let Some(id) = &account_id {
            check_account_id(id)?;
        }
        let params = a.object("params")?.unwrap_or_default();
        let store = a.object("store")?;
        for (path, var) in store.iter().flatten() {
            let Some(var) = var.as_str() else {
                return Err(a.fail(format!("`store` maps result paths to variable names; the value for {:?} must be a string", cut(path, 80))));
            };
            check_name(&a, "`store` variable name", var)?;
        }
        let records = match a.raw("create_records") {
            None => None,
            Some(Value::String(t)) => Some(RecordSpec { record_type: t.clone(), from: None, id_pattern: None }),
            Some(v @ Value::Object(_)) => {
                let r = Args::new(v, "create_records expects a type name or { type, from?, id_pattern? }")?;
                Some(RecordSpec {
                    record_type: r.required_string("type", 100, "\"email\"")?,
                    from: r.string("from", 500)?,
                    id_pattern: r.string("id_pattern", 200)?,
                })
            }
            Some(_) => return Err(a.fail("`create_records` must be a type name such as \"email\" or { type, from?, id_pattern? }".into())),
        };

        let stash = match a.raw("stash") {
            None | Some(Value::Bool(false)) => None,
            Some(_) if matches!(target, Target::Proxy(_)) => {
                return Err(a.fail(
                    "`stash` is for actions that write files; a proxy request has none".into(),
                ));
            }
            // The docs: an empty string, "NEW" or true each ask for a new stash.
            Some(Value::Bool(true)) => Some("NEW".to_owned()),
            Some(Value::String(id)) if id.is_empty() => Some("NEW".to_owned()),
            Some(Value::String(id))
                if !id.is_empty()
                    && id.len() <= 100
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(id.clone())
            }
            Some(_) => {
                return Err(a.fail(
                    "`stash` must be true (a new File Stash) or the stash_id of an earlier run to reuse".into(),
                ));
            }
        };
        let c = match context {
            Value::Null => None,
            // Open: Director's context holds more than this call reads.
            v => Some(Args::open(v, CONTEXT_SHAPE)?),
        };
        let from_context = |name: &str| -> Result<Option<String>> {
            c.as_ref().map_or(Ok(None), |c| c.string(name, 250))
        };
        let mut workflow_token = None;
        if let Some(vars) = c
            .as_ref()
            .map(|c| c.nested("variables"))
            .transpose()?
            .flatten()
        {
            workflow_token = secret(&Args::new(vars, VARIABLES_SHAPE)?, "pipedream_token")?;
        }
        if external_user_id.is_none() {
            external_user_id = c
                .as_ref()
                .map_or(Ok(None), |c| c.user_id("externalUserId"))?;
        }
        let record_update = if a.boolean("store_to_record")?.unwrap_or(false) {
            let record_id = c
                .as_ref()
                .map(|c| c.nested("currentRecord"))
                .transpose()?
                .flatten()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| a.fail("`store_to_record` needs context.currentRecord.id (it only works inside an iteration)".into()))?;
            let field = a
                .string("as", 200)?
                .or(from_context("alias")?)
                .unwrap_or_else(|| "result".to_owned());
            check_name(&a, "the record field (`as`, or the node's alias)", &field)?;
            Some((record_id.to_owned(), field))
        } else {
            None
        };
        Ok(Self {
            label: match &target {
                Target::Component(c) | Target::Deploy { component: c, .. } => {
                    c.component_id.clone()
                }
                Target::Proxy(p) => p.label(),
            },
            target,
            raw_answer: false,
            stash,
            token,
            workflow_token,
            external_user_id,
            account_id,
            params,
            store,
            records,
            record_update,
            workflow_id: from_context("workflowId")?,
            alias: from_context("alias")?,
            idempotency_key: c
                .as_ref()
                .map_or(Ok(None), |c| c.string("idempotencyKey", 500))?,
        })
    }

    /// `proxyRequest`'s arguments (`options` as a node's context: `idempotencyKey`).
    pub fn parse_proxy_request(request: &Value, options: &Value) -> Result<Self> {
        let a = Args::new(request, PROXY_SHAPE)?;
        // Checked here, where the message names this call's own fields, not `auth_config`.
        secret(&a, "token")?;
        a.user_id("external_user_id")?;
        let mut proxy = request.clone();
        let mut auth = Map::new();
        for name in ["account_id", "external_user_id", "token"] {
            if let (Some(v), Some(fields)) = (a.raw(name), proxy.as_object_mut()) {
                auth.insert(name.to_owned(), v.clone());
                fields.remove(name);
            }
        }
        let config = json!({ "proxy": proxy, "auth_config": auth });
        let mut args = Self::parse(&config, options)?;
        args.raw_answer = true;
        Ok(args)
    }

    /// `deployTrigger`'s arguments (`options` as a node's context: `idempotencyKey`).
    pub fn parse_deploy(request: &Value, options: &Value) -> Result<Self> {
        let a = Args::new(request, DEPLOY_SHAPE)?;
        secret(&a, "token")?;
        a.user_id("external_user_id")?;
        let webhook_url = match a.string("webhook_url", 2_000)? {
            Some(url) => Some(crate::engine::connect::triggers::webhook_url(&a, &url)?),
            None => None,
        };
        let emit_on_deploy = a.boolean("emit_on_deploy")?;
        let mut config = Map::new();
        let mut auth = Map::new();
        for (name, value) in request.as_object().into_iter().flatten() {
            match name.as_str() {
                "component_id" | "version" | "params" => {
                    config.insert(name.clone(), value.clone());
                }
                "account_id" | "external_user_id" | "token" => {
                    auth.insert(name.clone(), value.clone());
                }
                _ => {}
            }
        }
        config.insert("auth_config".into(), Value::Object(auth));
        let mut args = Self::parse(&Value::Object(config), options)?;
        if let Target::Component(component) = &args.target {
            args.target = Target::Deploy {
                component: component.clone(),
                webhook_url,
                emit_on_deploy,
            };
        }
        args.raw_answer = true;
        Ok(args)
    }

    /// Whether the node reads the run's return value (`store`, records, a record update)
    /// rather than only handing it on.
    fn reads_result(&self) -> bool {
        self.store.is_some() || self.records.is_some() || self.record_update.is_some()
    }

    pub fn component_id(&self) -> &str {
        &self.label
    }
}

impl Director {
    /// The whole node, or why not. With an idempotency key, a second call within the replay
    /// window gets the first call's answer without a new run, and concurrent calls share one
    /// run. Failures are not kept (a retry runs again), except "maybe executed" ones: those
    /// keep failing until the key expires or is forgotten, so the caller decides.
    ///
    /// A keyed run belongs to no single caller: it runs on its own task, each caller waits
    /// with its own signal, and aborting one caller leaves the run going for the others. Only
    /// when every caller has aborted is the run itself cancelled.
    ///
    /// One box with the arguments and the run's state, and nothing else: a pending call keeps
    /// only this in the runtime while it waits (an `async fn` here and in each caller held the
    /// arguments once per layer, several KB per pending call).
    pub fn execute(
        self: &Arc<Self>,
        args: ExecuteArgs,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, std::result::Result<String, ErrorReport>> {
        let this = Arc::clone(self);
        match args.idempotency_key.clone() {
            None => async move {
                let run_sent = AtomicBool::new(false);
                this.execute_once(&args, &cancel, &run_sent).await
            }
            .boxed(),
            Some(key) => async move { this.execute_keyed(key, args, cancel).await }.boxed(),
        }
    }

    async fn execute_keyed(
        self: &Arc<Self>,
        key: String,
        args: ExecuteArgs,
        cancel: CancellationToken,
    ) -> std::result::Result<String, ErrorReport> {
        let id = args.component_id().to_owned();
        let mut args = Some(args);
        loop {
            let (flight, fresh) = match self.runs.join(&key, &self.replays) {
                Joined::Answered(answer) => {
                    self.stats.replay();
                    return answer.as_ref().clone().map(|json| mark_replayed(&json));
                }
                Joined::Flight(flight) => (flight, false),
                Joined::Start(flight) => {
                    // The first caller's args start the run; later ones only wait.
                    let Some(args) = args.take() else {
                        return Err(ErrorReport::of(
                            &id,
                            &Error::Internal("an idempotent run was started twice".into()),
                        ));
                    };
                    self.start_flight(key.clone(), args, flight.clone());
                    (flight, true)
                }
            };
            match flight.wait(&cancel).await {
                Waited::Answer(answer) => {
                    if !fresh {
                        self.stats.replay();
                    }
                    return match answer.as_ref() {
                        Ok(json) if !fresh => Ok(mark_replayed(json)),
                        other => other.clone(),
                    };
                }
                Waited::Aborted { run_sent } => {
                    let e = Error::Aborted.maybe_executed_if(run_sent);
                    return Err(ErrorReport::of(&id, &e));
                }
                // Every other caller had given up on that run before it was sent; this one
                // has not, so it starts afresh.
                Waited::CancelledByOthers => {
                    if args.is_none() {
                        return Err(ErrorReport::of(&id, &Error::Aborted));
                    }
                }
            }
        }
    }

    fn start_flight(self: &Arc<Self>, key: String, args: ExecuteArgs, flight: Arc<Flight>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let (answer, keep) = match &this.shared_runs {
                Some(shared) => Box::pin(this.shared_flight(shared, &key, &args, &flight)).await,
                None => {
                    let answer =
                        Box::pin(this.execute_once(&args, &flight.cancel, &flight.run_sent)).await;
                    let keep = kept(&answer);
                    (answer, keep)
                }
            };
            this.runs
                .finish(&key, &flight, Arc::new(answer), keep, &this.replays);
        });
    }

    /// A keyed run with a shared store: claim the key, or wait for the instance that holds it
    /// and replay its answer. Answers the flight's answer and whether to keep it locally.
    ///
    /// When the store does not answer the first claim, the run is local only, as without a
    /// store (another instance may run the same key then). Once another instance's claim was
    /// seen, this one never runs the key: it waits for that answer, up to the deadline.
    async fn shared_flight(
        &self,
        shared: &SharedIdempotency,
        key: &str,
        args: &ExecuteArgs,
        flight: &Flight,
    ) -> (std::result::Result<String, ErrorReport>, bool) {
        let id = args.component_id();
        let limit = self.connect.config.deadline;
        let deadline = tokio::time::Instant::now() + limit;
        let lapsed = Err(ErrorReport::of(id, &shared_idempotency::lapsed_error()));
        let mut seen_busy = false;
        loop {
            match shared.claim(key, &lapsed).await {
                None if !seen_busy => {
                    let answer =
                        Box::pin(self.execute_once(args, &flight.cancel, &flight.run_sent)).await;
                    let keep = kept(&answer);
                    return (answer, keep);
                }
                // The store went away while another instance ran the key: keep asking.
                None | Some(Claimed::Busy) => seen_busy = true,
                Some(Claimed::Answer(answer)) => {
                    self.stats.replay();
                    return (answer.map(|json| mark_replayed(&json)), true);
                }
                // The key was free again after another instance's claim was seen: the store
                // lost it mid-run (Redis restarted empty, say). That run may have happened, so
                // this one is not run, and the key keeps `maybe_executed`, as after a lapse.
                Some(Claimed::Mine(claim)) if seen_busy => {
                    shared.finish(&claim, Some(&lapsed)).await;
                    return (lapsed, true);
                }
                Some(Claimed::Mine(claim)) => {
                    let run = Box::pin(self.execute_once(args, &flight.cancel, &flight.run_sent));
                    let renew = async {
                        let mut next = shared_idempotency::RENEW_EVERY;
                        loop {
                            tokio::time::sleep(next).await;
                            // Unanswered: soon again, before the lease lapses.
                            next = match shared.renew(&claim).await {
                                None => shared_idempotency::RENEW_RETRY,
                                Some(_) => shared_idempotency::RENEW_EVERY,
                            };
                        }
                    };
                    let answer = tokio::select! {
                        answer = run => answer,
                        () = renew => unreachable!("the lease is renewed until the run ends"),
                    };
                    let keep = kept(&answer);
                    // Not taken (the store away, or the lease lost): the key answers
                    // `maybe_executed` elsewhere once its lease lapses, never runs again.
                    shared.finish(&claim, keep.then_some(&answer)).await;
                    return (answer, keep);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(shared_idempotency::POLL_EVERY) => {}
                () = flight.cancel.cancelled() => {
                    return (Err(ErrorReport::of(id, &Error::Aborted)), false);
                }
                () = tokio::time::sleep_until(deadline) => {
                    // Another instance's run may have happened; it is not kept here, the next
                    // call asks the store again.
                    let e = Error::MaybeExecuted(Box::new(Error::Deadline(limit)));
                    return (Err(ErrorReport::of(id, &e)), false);
                }
            }
        }
    }

    /// Drops the stored answer for an idempotency key, so the next call with it runs again
    /// (with a shared store, the shared answer too, in the background).
    pub fn forget(&self, key: &str) {
        self.replays.invalidate(key);
        if let (Some(shared), Ok(runtime)) =
            (&self.shared_runs, tokio::runtime::Handle::try_current())
        {
            let (shared, key) = (shared.clone(), key.to_owned());
            runtime.spawn(async move { shared.forget(&key).await });
        }
    }

    async fn execute_once(
        &self,
        args: &ExecuteArgs,
        cancel: &CancellationToken,
        run_sent: &AtomicBool,
    ) -> std::result::Result<String, ErrorReport> {
        let id = args.component_id().to_owned();
        let started = Instant::now();
        // `run_sent` is set by the API layer while the run request's bytes may have reached
        // the server: an abort, the deadline or a panic past that point leaves open whether
        // the action ran, and the error says so.
        let unsure = |e: Error| e.maybe_executed_if(run_sent.load(Ordering::SeqCst));
        let limit = self.connect.config.deadline;
        let deadline = tokio::time::Instant::now() + limit;
        // Runs past `admission` wait here, holding no more than this future: the state of a run
        // under way (tens of KB with its requests) is built only once it is admitted. Nothing
        // has been sent, so an abort or the deadline here is not "maybe executed".
        let admitted = tokio::select! {
            permit = self.admission.acquire() => Ok(permit.ok()),
            _ = cancel.cancelled() => Err(Error::Aborted),
            _ = tokio::time::sleep_until(deadline) => Err(Error::Deadline(limit)),
        };
        let outcome = match admitted {
            Err(e) => Err(e),
            Ok(_permit) => {
                // Boxed for the reason `answer` gives: this future is large. A panic anywhere
                // below becomes a coded error, with `maybe_executed` when the run may have been
                // sent.
                let inner = AssertUnwindSafe(self.execute_inner(args, run_sent)).catch_unwind();
                let inner = deadline::within(deadline, inner);
                tokio::select! {
                    r = Box::pin(inner) => r.unwrap_or_else(|panic| Err(unsure(Error::Internal(panic_text(&*panic))))),
                    _ = cancel.cancelled() => Err(unsure(Error::Aborted)),
                    _ = tokio::time::sleep_until(deadline) => Err(unsure(Error::Deadline(limit))),
                }
            }
        };
        // The plan's execution log: which component (or the proxy request's method and
        // origin), the param NAMES, how it went.
        let mut fields = json!({
            "component_id": events::label(match &args.target {
                Target::Proxy(_) => "proxy",
                Target::Component(c) | Target::Deploy { component: c, .. } => &c.component_id,
            }),
            "params": args.params.keys().map(|k| events::label(k)).collect::<Vec<_>>(),
            "attempts": outcome.as_ref().ok().map(|(_, attempts)| attempts),
            "token_source": self.node_bearer(args).ok().map(|(_, source)| source),
            "workflow_id": args.workflow_id.as_deref().map(events::label),
            "alias": args.alias.as_deref().map(events::label),
        });
        if let Target::Proxy(spec) = &args.target {
            fields["proxy"] =
                json!({ "method": spec.method.as_str(), "origin": events::label(&spec.origin()) });
        }
        events::emit(
            &self.events,
            "execution",
            outcome
                .as_ref()
                .map_or_else(|e| e.code().as_str(), |_| "ok"),
            started.elapsed(),
            fields,
        );
        self.stats.run(match &outcome {
            Ok(_) => "ok",
            Err(Error::MaybeExecuted(_)) => "maybe_executed",
            Err(_) => "failed",
        });
        if let Err(e) = &outcome {
            // Failures of API requests were counted where they happened.
            if !e.is_api_failure() {
                self.stats.error(e.code().as_str());
            }
        }
        outcome
            .map(|(json, _)| json)
            .map_err(|e| ErrorReport::of(&id, &e))
    }

    /// Items run with at most `concurrency` in flight, a new one started as soon as any
    /// finishes; each outcome goes to `settled` with the item's index as it comes, and one
    /// failure never stops the others.
    pub async fn execute_batch(
        self: &Arc<Self>,
        items: Vec<BatchItem>,
        concurrency: usize,
        cancel: CancellationToken,
        mut settled: impl FnMut(usize, std::result::Result<String, ErrorReport>),
    ) {
        // Unordered: in order, a slow item kept the finished ones after it counted as in
        // flight, and no new item started until it was done.
        futures::stream::iter(items.into_iter().enumerate())
            .map(|(i, item)| {
                let parsed = parse_item(&item);
                // The item's JSON goes now, not when the whole batch is done.
                drop(item);
                let cancel = cancel.clone();
                async move {
                    let outcome = match parsed {
                        Ok(args) => self.execute(args, cancel).await,
                        Err(report) => Err(report),
                    };
                    (i, outcome)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .for_each(|(i, outcome)| {
                settled(i, outcome);
                std::future::ready(())
            })
            .await
    }

    /// The answer and how many attempts the run took.
    async fn execute_inner(
        &self,
        args: &ExecuteArgs,
        run_sent: &AtomicBool,
    ) -> Result<(String, u32)> {
        if !self.connect.config.enabled {
            return Err(Error::Disabled);
        }
        let started = Instant::now();
        let (bearer, token_source) = self.node_bearer(args)?;
        let (request, deploy) = match &args.target {
            Target::Component(request) => (request, None),
            Target::Deploy {
                component,
                webhook_url,
                emit_on_deploy,
            } => (component, Some((webhook_url, emit_on_deploy))),
            Target::Proxy(spec) => {
                let user = self
                    .connect
                    .external_user(args.external_user_id.clone(), "a proxy request")?;
                let sent = self
                    .connect
                    .proxy(spec, &user, args.account_id.as_deref(), &bearer, run_sent)
                    .await?;
                let meta =
                    ExecuteMeta::new(sent.attempts, sent.rate_limit_wait, started, token_source);
                return Ok((proxied(args, spec, &sent.value, meta), sent.attempts));
            }
        };
        let component = request.fetch(&self.connect, &bearer).await?.value;
        // Refused here only when the definition says what it is (`component_type` is
        // optional): otherwise the API's own answer decides.
        let kind = component.kind();
        if deploy.is_some() && kind == Some(ComponentKind::Action) {
            return Err(Error::InvalidArgs(format!(
                "{} is an action, not a trigger: actions run (executePipedreamConnect), triggers are deployed. Use a trigger of {} (getComponents with type \"trigger\").",
                component.key,
                component
                    .app_prop()
                    .and_then(|p| p.app.as_deref())
                    .unwrap_or("the app")
            )));
        }
        if deploy.is_none() && kind == Some(ComponentKind::Trigger) {
            return Err(Error::InvalidArgs(format!(
                "{} is a trigger, not an action: triggers are deployed to emit events, not run. Use an action of {} (getComponents with type \"action\").",
                component.key,
                component
                    .app_prop()
                    .and_then(|p| p.app.as_deref())
                    .unwrap_or("the app")
            )));
        }
        let user = self
            .connect
            .external_user(args.external_user_id.clone(), "executePipedreamConnect")?;
        let reloads = component.props.iter().any(|p| p.reloads_props());

        // Everything that can be known from the definition is checked before any account
        // lookup; a component whose props grow on reload is checked again after it.
        let params = coerced(&component.props, &args.params);
        let problems = validate(&component.props, &params, reloads);
        if !problems.is_empty() {
            return Err(Error::InvalidParams(problems));
        }
        let (webhook_url, emit_on_deploy) = match deploy {
            Some((url, emit)) => (url.as_deref(), *emit),
            None => (None, None),
        };
        // What every send of this call has; `configure_and_send` fills in the props.
        let no_props = Map::new();
        let fixed = RunBody {
            configured_props: &no_props,
            dynamic_props_id: None,
            emit_on_deploy,
            external_user_id: &user,
            id: &component.key,
            stash_id: args.stash.as_deref(),
            version: &component.version,
            webhook_url,
        };
        let (configured, dynamic_props_id, sent) = self
            .configure_and_send(
                &component,
                args,
                &params,
                &fixed,
                deploy.is_some(),
                &bearer,
                run_sent,
            )
            .await?;
        let mut meta = ExecuteMeta {
            account_id: account_of(&component, &configured),
            dynamic_props_id: dynamic_props_id.as_deref(),
            ..ExecuteMeta::new(sent.attempts, sent.rate_limit_wait, started, token_source)
        };
        let attempts = sent.attempts;
        let run = match sent.value {
            Sent::Deployed(trigger) => {
                #[derive(Serialize)]
                struct Deployed<'a> {
                    #[serde(flatten)]
                    trigger: &'a DeployedTrigger,
                    meta: ExecuteMeta<'a>,
                }
                let json = to_json(&Deployed {
                    trigger: &trigger,
                    meta,
                });
                return Ok((json, attempts));
            }
            Sent::Ran(run) => run,
        };
        if let Some(err) = run
            .os
            .iter()
            .flatten()
            .find(|o| o.get("k").and_then(Value::as_str) == Some("error"))
        {
            let err = err.get("err").unwrap_or(&Value::Null);
            let text = |k: &str| {
                err.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            // The server's words become the message: no credential it echoed goes with them.
            let api = &self.connect.api;
            let name = api.scrub(text("name"), &bearer).await;
            return Err(Error::ActionFailed {
                name: Some(cut(&name, MAX_ACTION_NAME_CHARS))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "Error".into()),
                message: action_message(&api.scrub(text("message"), &bearer).await),
            });
        }

        // Handed on as the API wrote it, and read into a tree only for a node that reads it.
        // What cannot be read is no result, of a run that happened.
        let ran = |e: Error| e.maybe_executed_if(true);
        let ret = Returned::written(run.ret.as_deref());
        let mut ret_tree = None;
        let read = match args.reads_result() {
            true => ret.read(&mut ret_tree).map_err(ran)?,
            false => &Value::Null,
        };
        // The answer's types say an object of exports and a text summary; the run happened
        // whatever they hold, so what is not is left out, and said.
        let no_exports = Value::Object(Map::new());
        let (exports, picked) = match run.exports.as_deref() {
            None => (Returned::Tree(&no_exports), ReadExports::default()),
            Some(e) if e.get().starts_with('{') => {
                (Returned::Text(e), ReadExports::from_object(e).map_err(ran)?)
            }
            Some(other) => {
                let kind = serde_json::from_str(other.get())
                    .map_or("unreadable", |v: Value| crate::engine::args::kind(&v));
                meta.warnings.push(format!(
                    "the run's exports were {kind}, not an object: left out"
                ));
                (Returned::Tree(&no_exports), ReadExports::default())
            }
        };
        let summary = picked
            .summary
            .filter(Value::is_string)
            .unwrap_or(Value::Null);
        let stashed = args
            .stash
            .as_ref()
            .map(|_| Stashed::from_run(run.stash_id.as_deref(), picked.uploads.as_ref()));
        let answer = node_result(args, &component.key, ret, read, &summary, exports, meta);
        Ok((answer.with_stash(stashed.as_ref()).json(), attempts))
    }

    /// Sets the accounts and defaults (`configured_props`), reloads when the component asks,
    /// and sends `fixed` with them as a run or a deploy.
    ///
    /// A send refused with a 4xx other than 429 ran nothing, and may have been refused
    /// because the account chosen a moment ago is gone (disconnected in Pipedream's own UI,
    /// say; a server may answer 400 as well as 404). So the user's accounts are looked up
    /// afresh: none left is `ACCOUNT_MISSING` with a Connect Link, a different one is sent
    /// once more, the same one leaves the refusal as the answer.
    #[allow(clippy::too_many_arguments)]
    async fn configure_and_send(
        &self,
        component: &Component,
        args: &ExecuteArgs,
        params: &Map<String, Value>,
        fixed: &RunBody<'_>,
        deploy: bool,
        bearer: &Bearer,
        run_sent: &AtomicBool,
    ) -> Result<(Map<String, Value>, Option<String>, Outcome<Sent>)> {
        let user = fixed.external_user_id;
        let configure = || {
            self.connect.configured_props(
                component,
                params,
                user,
                args.account_id.as_deref(),
                bearer,
            )
        };
        let reloads = component.props.iter().any(|p| p.reloads_props());
        let mut configured = configure().await?;
        let mut refused_before = 0;
        loop {
            let dynamic_props_id = if reloads {
                self.reload_and_validate(component, &mut configured, params, user, bearer)
                    .await?
            } else {
                None
            };
            let body = RunBody {
                configured_props: &configured,
                dynamic_props_id: dynamic_props_id.as_deref(),
                ..*fixed
            };
            let sent = if deploy {
                let deployed = self.connect.deploy_trigger(&body, bearer, run_sent).await;
                deployed.map(|d| d.map(Sent::Deployed))
            } else {
                let ran = self.connect.run(&body, bearer, run_sent).await;
                ran.map(|r| r.map(Sent::Ran))
            };
            let refusal = match sent {
                Ok(sent) => {
                    let sent = Outcome {
                        attempts: sent.attempts + refused_before,
                        ..sent
                    };
                    return Ok((configured, dynamic_props_id, sent));
                }
                Err(e)
                    if e.status()
                        .is_some_and(|s| (400..500).contains(&s) && s != 429) =>
                {
                    e
                }
                Err(e) => return Err(e),
            };
            // Answered, so not "maybe executed" if an abort or the deadline comes next.
            run_sent.store(false, Ordering::SeqCst);
            self.connect.forget_account_choices(user);
            if refused_before > 0 {
                return Err(refusal);
            }
            let fresh = configure().await?;
            if component
                .app_props()
                .all(|p| fresh.get(&p.name) == configured.get(&p.name))
            {
                return Err(refusal);
            }
            configured = fresh;
            refused_before = 1;
        }
    }

    /// The integration plan's token chain, then the upgrade path: the node's token, the
    /// workflow's `pipedream_token`, the client's static token, OAuth client credentials.
    fn node_bearer(&self, args: &ExecuteArgs) -> Result<(Bearer, &'static str)> {
        if let Some(t) = &args.token {
            return Ok((Bearer::Given(t.clone()), "auth_config"));
        }
        if let Some(t) = &args.workflow_token {
            return Ok((Bearer::Given(t.clone()), "workflow_variable"));
        }
        match self.connect.api.client_token_source() {
            Some(source) => Ok((Bearer::Client, source)),
            None => Err(Error::AuthMissing),
        }
    }

    /// Reloads with the params set and checks them against the props that gives (params of
    /// props the reload added are read as their types, `coerce`, and sent so); the
    /// `dynamic_props_id` to run with, or none when the reload added no props (then the static
    /// props are the whole definition).
    async fn reload_and_validate(
        &self,
        component: &Component,
        configured: &mut Map<String, Value>,
        params: &Map<String, Value>,
        user: &str,
        bearer: &Bearer,
    ) -> Result<Option<String>> {
        let reloaded = self
            .connect
            .reload(component, configured, user, bearer, None)
            .await?;
        let mut problems: Vec<Problem> = reloaded
            .errors
            .iter()
            .map(|e| Problem {
                param: "(reloaded props)".into(),
                problem: e.clone(),
            })
            .collect();
        let props = match reloaded.id {
            Some(_) => &reloaded.props,
            None => &component.props,
        };
        // Only what the reading changed: `configured` holds the other params as sent (wrapped
        // `withLabel` values, an `sql` object).
        let read = coerced(props, params);
        if let Cow::Owned(read) = &read {
            for (name, value) in read {
                if params.get(name) != Some(value) {
                    configured.insert(name.clone(), value.clone());
                }
            }
        }
        problems.extend(validate(props, &read, false));
        match problems.is_empty() {
            true => Ok(reloaded.id),
            false => Err(Error::InvalidParams(problems)),
        }
    }
}

/// The account the component's app prop was configured with.
fn account_of<'a>(component: &Component, configured: &'a Map<String, Value>) -> Option<&'a str> {
    component
        .app_prop()
        .and_then(|p| configured.get(&p.name))
        .and_then(|v| v.get("authProvisionId"))
        .and_then(Value::as_str)
}

/// A node's answer: the run's return value with `store`, `create_records` and
/// `store_to_record` applied.
fn node_result<'a>(
    args: &'a ExecuteArgs,
    component_id: &'a str,
    ret: Returned<'a>,
    read: &Value,
    summary: &'a Value,
    exports: Returned<'a>,
    mut meta: ExecuteMeta<'a>,
) -> ExecuteResult<'a> {
    let stored = args
        .store
        .as_ref()
        .map(|s| store(s, read, Some(summary), &mut meta.warnings))
        .unwrap_or_default();
    let records = args
        .records
        .as_ref()
        .map(|r| create_records(r, read, &mut meta.warnings))
        .unwrap_or_default();
    let record_update = args
        .record_update
        .as_ref()
        .map(|(record_id, field)| RecordUpdate {
            record_id,
            field,
            value: ret,
        });
    ExecuteResult {
        component_id,
        result: ret,
        summary,
        exports,
        stored,
        records,
        record_update,
        stashed: None,
        meta,
    }
}

impl<'a> ExecuteResult<'a> {
    fn with_stash(self, stashed: Option<&'a Stashed>) -> Self {
        Self { stashed, ..self }
    }

    fn json(&self) -> String {
        to_json(self)
    }
}

/// A proxy request's answer: for `proxyRequest` the app's answer and `meta`; for a node, the
/// body is the result (what `store` paths and records read) and the rest is in `exports`.
fn proxied<'a>(
    args: &ExecuteArgs,
    spec: &ProxySpec,
    answer: &'a ProxyAnswer,
    mut meta: ExecuteMeta<'a>,
) -> String {
    meta.account_id = Some(&answer.account_id);
    if args.raw_answer {
        #[derive(Serialize)]
        struct Raw<'a> {
            #[serde(flatten)]
            answer: &'a ProxyAnswer,
            meta: ExecuteMeta<'a>,
        }
        return to_json(&Raw { answer, meta });
    }
    let summary = json!(format!(
        "{} {} answered {}",
        spec.method,
        cut(&answer.url, 200),
        answer.status
    ));
    let exports = json!({
        "status": answer.status,
        "headers": answer.headers,
        "body_encoding": answer.body_encoding,
        "truncated": answer.truncated,
        "url": answer.url,
    });
    node_result(
        args,
        "proxy",
        Returned::Tree(&answer.body),
        &answer.body,
        &summary,
        Returned::Tree(&exports),
        meta,
    )
    .json()
}

/// The files a run with `stash` left in File Stash: `exports.$filestash_uploads`, as the docs
/// show it (`localPath`, `s3Key`, `get_url`, mixed case), renamed for the answer.
#[derive(Serialize)]
struct Stashed {
    stash_id: Option<String>,
    files: Vec<StashedFile>,
}

#[derive(Serialize)]
struct StashedFile {
    path: Option<String>,
    s3_key: Option<String>,
    /// Presigned; valid for 30 minutes from the run (then `downloadStashedFile(s3_key)`).
    url: Option<String>,
    /// When `url` stops working, in ms since the epoch.
    url_expires_at_ms: u64,
}

impl Stashed {
    fn from_run(stash_id: Option<&str>, uploads: Option<&Value>) -> Self {
        let expires = presigned_expiry_ms();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let files = uploads
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|f| StashedFile {
                path: text(f, "localPath"),
                s3_key: text(f, "s3Key"),
                url: text(f, "get_url"),
                url_expires_at_ms: expires,
            })
            .collect();
        Self {
            stash_id: stash_id.map(str::to_owned),
            files,
        }
    }
}

/// What a node answers (`ExecuteResult` in index.d.ts), serialized once.
#[derive(Serialize)]
struct ExecuteResult<'a> {
    component_id: &'a str,
    result: Returned<'a>,
    summary: &'a Value,
    exports: Returned<'a>,
    stored: Map<String, Value>,
    records: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_update: Option<RecordUpdate<'a>>,
    /// `stash_id` and `files`, for a run with `stash`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    stashed: Option<&'a Stashed>,
    meta: ExecuteMeta<'a>,
}

#[derive(Serialize)]
struct RecordUpdate<'a> {
    record_id: &'a str,
    field: &'a str,
    value: Returned<'a>,
}

#[derive(Serialize)]
struct ExecuteMeta<'a> {
    attempts: u32,
    replayed: bool,
    rate_limit_wait_ms: u64,
    duration_ms: u64,
    token_source: &'static str,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_props_id: Option<&'a str>,
}

/// Whether a run's answer is kept for its key: successes, and failures that may have run the
/// action.
fn kept(answer: &std::result::Result<String, ErrorReport>) -> bool {
    match answer {
        Ok(_) => true,
        Err(report) => report.maybe_executed,
    }
}

impl ExecuteMeta<'_> {
    /// What a request that was answered took: its attempts, its waits, the time since
    /// `started`. No account, reload or warnings yet.
    fn new(
        attempts: u32,
        rate_limit_wait: std::time::Duration,
        started: Instant,
        token_source: &'static str,
    ) -> Self {
        Self {
            attempts,
            replayed: false,
            rate_limit_wait_ms: rate_limit_wait.as_millis() as u64,
            duration_ms: started.elapsed().as_millis() as u64,
            token_source,
            warnings: Vec::new(),
            account_id: None,
            dynamic_props_id: None,
        }
    }
}

/// A stored answer handed out again: `meta.replayed` says so.
///
/// Every answer is written with `meta` last, and what follows `replayed` in it is numbers and
/// JSON strings (where a quote is escaped), so the last `"replayed":false` is meta's own
/// whatever the result holds: the answer keeps the API's text and key order. One not written
/// so (by another version, through a shared store) is read as a tree.
fn mark_replayed(json: &str) -> String {
    const FRESH: &str = r#""replayed":false"#;
    if let Some(at) = json.rfind(FRESH) {
        return [&json[..at], r#""replayed":true"#, &json[at + FRESH.len()..]].concat();
    }
    let mut v = match serde_json::from_str::<Value>(json) {
        Ok(v) => v,
        Err(_) => return json.to_owned(),
    };
    // Not by index: a `meta` that is no object would panic there.
    match v.get_mut("meta").and_then(Value::as_object_mut) {
        Some(meta) => {
            meta.insert("replayed".into(), json!(true));
            to_json(&v)
        }
        None => json.to_owned(),
    }
}

/// One `executeBatch` item as it was read: its JSON, or why it could not be read (a value JSON
/// cannot carry), which rejects that item only.
pub type BatchItem = std::result::Result<Value, String>;

/// `executeBatch`'s items, `[{ config, context? }, …]`, each as it is. Only a batch that is no
/// array is an error here; each item is parsed as its turn to run comes (`parse_item`), so a
/// bad item becomes that item's rejection and parsing a large batch delays no run.
pub fn batch_items(items: Value) -> std::result::Result<Vec<BatchItem>, ErrorReport> {
    match items {
        Value::Array(items) => Ok(items.into_iter().map(Ok).collect()),
        _ => Err(ErrorReport::plain(&Error::InvalidArgs(
            "executeBatch expects an array of { config, context? } items".into(),
        ))),
    }
}

/// `executeBatch`'s options, `{ concurrency? }`: the concurrency.
pub fn batch_concurrency(options: &Value) -> std::result::Result<usize, ErrorReport> {
    match options {
        Value::Null => Ok(DEFAULT_CONCURRENCY),
        v => Args::new(v, "executeBatch expects options { concurrency?, signal? }")
            .and_then(|a| a.integer("concurrency", 1, MAX_CONCURRENCY))
            .map_err(|e| ErrorReport::plain(&e))
            .map(|c| c.map_or(DEFAULT_CONCURRENCY, |c| c as usize)),
    }
}

/// One `executeBatch` item, `{ config, context? }`, as its run's arguments.
pub fn parse_item(item: &BatchItem) -> std::result::Result<ExecuteArgs, ErrorReport> {
    let item = item.as_ref().map_err(|reason| {
        ErrorReport::plain(&Error::InvalidArgs(format!("executeBatch: {reason}")))
    })?;
    let config = item.get("config").unwrap_or(&Value::Null);
    let context = item.get("context").unwrap_or(&Value::Null);
    let id = config
        .get("component_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ExecuteArgs::parse(config, context).map_err(|e| ErrorReport::of(id, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_answer_says_so_in_its_meta_and_keeps_its_text() {
        let fresh = r#"{"result":{"z":{"replayed":false},"a":1e400},"meta":{"attempts":1,"replayed":false,"warnings":["\"replayed\":false"]}}"#;
        assert_eq!(
            mark_replayed(fresh),
            r#"{"result":{"z":{"replayed":false},"a":1e400},"meta":{"attempts":1,"replayed":true,"warnings":["\"replayed\":false"]}}"#
        );
        // Written otherwise (spaced, by another version): read as a tree.
        let spaced = r#"{"meta": {"replayed": false}, "result": 1}"#;
        assert_eq!(
            serde_json::from_str::<Value>(&mark_replayed(spaced)).unwrap(),
            json!({"meta": {"replayed": true}, "result": 1})
        );
        for odd in [r#"{"meta": 5}"#, "not json"] {
            assert_eq!(mark_replayed(odd), odd);
        }
    }

    #[test]
    fn an_action_message_is_cut_at_its_limit_and_says_how_much_was_left_out() {
        let fits = "é".repeat(MAX_ACTION_MESSAGE_CHARS);
        assert_eq!(action_message(&fits), fits);
        let long = format!("{fits}abc");
        let cut = action_message(&long);
        assert!(cut.starts_with(&format!("{fits}…")));
        assert!(cut.ends_with("(3 more characters; the run's logs in Pipedream have all of it)"));
    }

    #[test]
    fn parses_the_plan_node_config() {
        let a = ExecuteArgs::parse(
            &json!({
                "component_id": "airtable-create-record",
                "auth_config": { "token": "tok", "service_auth": { "authProvisionId": "apn_abc" } },
                "params": { "base_id": "appX" },
                "store": { "id": "recordId" },
                "create_records": { "type": "row", "from": "rows" },
                "store_to_record": true,
                "as": "airtable"
            }),
            &json!({ "alias": "save", "currentRecord": { "id": "investor_001" }, "variables": { "pipedream_token": "wf" } }),
        )
        .unwrap();
        assert_eq!(a.account_id.as_deref(), Some("apn_abc"));
        assert_eq!(a.token.as_ref().map(Secret::expose), Some("tok"));
        assert_eq!(a.workflow_token.as_ref().map(Secret::expose), Some("wf"));
        assert_eq!(
            a.record_update,
            Some(("investor_001".into(), "airtable".into()))
        );
        assert_eq!(a.records.unwrap().from.as_deref(), Some("rows"));
        assert!(!format!("{:?}", a.token).contains("tok\""));
    }

    #[test]
    fn bad_configs_are_invalid_args() {
        for (config, context, needle) in [
            (
                json!({"component_id": "../x"}),
                Value::Null,
                "not a valid id",
            ),
            (
                json!({"component_id": "a", "store": {"x": 1}}),
                Value::Null,
                "must be a string",
            ),
            (
                json!({"component_id": "a", "store_to_record": true}),
                json!({}),
                "currentRecord.id",
            ),
            (
                json!({"component_id": "a", "auth_config": {"account_id": "acct_1"}}),
                Value::Null,
                "apn_",
            ),
            (
                json!({"component_id": "a", "create_records": 5}),
                Value::Null,
                "type name",
            ),
        ] {
            let e = ExecuteArgs::parse(&config, &context).unwrap_err();
            assert_eq!(e.code().as_str(), "PIPEDREAM_INVALID_ARGS");
            assert!(e.to_string().contains(needle), "{config}: {e}");
        }
    }

    #[test]
    fn reports_carry_the_plan_prefix_and_fields() {
        let r = ErrorReport::of(
            "gmail-x",
            &Error::Api {
                status: 429,
                body: "Throttled".into(),
                retry_after: Some(std::time::Duration::from_secs(2)),
            },
        );
        assert_eq!(r.name, "PipedreamError");
        assert!(
            r.message
                .starts_with("Pipedream component 'gmail-x' failed: ")
        );
        assert_eq!((r.status, r.retry_after_ms), (Some(429), Some(2000)));
        let r = ErrorReport::of("x", &Error::Aborted);
        assert_eq!((r.name, r.code), ("AbortError", "ABORT_ERR"));
    }
}
