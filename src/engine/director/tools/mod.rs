//! The discovery tools. This file is the dispatch: the operations as data, what the binding and `handleToolCall` dispatch on. Each
//! call is split in two: what can be answered at once without I/O (disabled, bad arguments,
//! a fresh cache hit), and the checked request for the async path otherwise.

pub mod budget;
pub mod components;
pub mod configure;
pub mod definitions;
pub mod proxy;
pub mod rank;
pub mod rendered;
pub mod respell;
pub mod schema;
pub mod search;
pub mod views;
pub mod word_index;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use serde_json::{Value, json};

use crate::engine::args::kind;
use crate::engine::director::Director;
use crate::engine::director::tools::components::{GetComponentArgs, GetComponentsArgs};
use crate::engine::director::tools::configure::{ConfigurePropArgs, ReloadPropsArgs};
use crate::engine::director::tools::proxy::ProxyToolArgs;
use crate::engine::director::tools::search::{SearchServicesArgs, SearchServicesResult};
use crate::engine::error::Error;
use crate::engine::error::panic_text;
use crate::engine::events;
use crate::engine::json::to_json;
use crate::engine::transport::cache::Ticket;
use crate::engine::transport::deadline;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    SearchServices,
    GetComponents,
    GetComponent,
    ConfigureProp,
    ReloadProps,
    ProxyRequest,
}

pub enum Request {
    SearchServices(SearchServicesArgs),
    GetComponents(GetComponentsArgs),
    GetComponent(GetComponentArgs),
    ConfigureProp(ConfigurePropArgs),
    ReloadProps(ReloadPropsArgs),
    Proxy(Box<ProxyToolArgs>, Value),
}

pub enum Prepared {
    Ready(String),
    Pending(Request),
}

impl Request {
    /// The operation and its identifying arguments, for events.
    fn identity(&self) -> (Op, Value) {
        match self {
            Self::SearchServices(a) => (Op::SearchServices, json!({ "query": a.query })),
            Self::GetComponents(a) => (Op::GetComponents, json!({ "app_slug": a.app_slug })),
            Self::GetComponent(a) => (Op::GetComponent, json!({ "component_id": a.component_id })),
            Self::ConfigureProp(a) => (
                Op::ConfigureProp,
                json!({ "component_id": a.component.component_id, "prop_name": a.prop_name }),
            ),
            Self::ReloadProps(a) => (
                Op::ReloadProps,
                json!({ "component_id": a.component.component_id }),
            ),
            Self::Proxy(_, ids) => (Op::ProxyRequest, ids.clone()),
        }
    }

    /// Whether it may change something in an app: a proxied request other than GET or HEAD.
    fn may_write(&self) -> bool {
        matches!(self, Self::Proxy(a, _) if a.may_write())
    }
}

impl Op {
    pub fn named(name: &str) -> Option<Self> {
        [
            Self::SearchServices,
            Self::GetComponents,
            Self::GetComponent,
            Self::ConfigureProp,
            Self::ReloadProps,
            Self::ProxyRequest,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::SearchServices => "searchServices",
            Self::GetComponents => "getComponents",
            Self::GetComponent => "getComponent",
            Self::ConfigureProp => "configureProp",
            Self::ReloadProps => "reloadProps",
            Self::ProxyRequest => "pipedream_proxy_request",
        }
    }

    /// The answer for a failed call, in the operation's own result shape (so a tool loop can
    /// read it like a success), echoing what identifies the call.
    pub fn failed(self, args: &Value, error: &Error) -> String {
        // Echoed fields come from the caller: cut, so a refused huge value is not repeated.
        let field = |name: &str| {
            crate::engine::error::cut(
                args.get(name).and_then(Value::as_str).unwrap_or_default(),
                200,
            )
        };
        let mut out = match self {
            Self::SearchServices => {
                return to_json(&SearchServicesResult::failed(field("query"), error));
            }
            Self::GetComponents => json!({
                "app_slug": field("app_slug"),
                "service_name": null,
                "components": [],
                "total_found": 0,
            }),
            Self::GetComponent => json!({ "component_id": field("component_id") }),
            Self::ConfigureProp => json!({
                "component_id": field("component_id"),
                "prop_name": field("prop_name"),
                "options": [],
                "next_page": null,
                "errors": [],
            }),
            Self::ReloadProps => json!({
                "component_id": field("component_id"),
                "dynamic_props_id": null,
                "errors": [],
            }),
            Self::ProxyRequest => json!({
                "app_slug": field("app_slug"),
                "method": field("method"),
                "url": field("url"),
                "status": error.status(),
                "body": null,
            }),
        };
        for (key, value) in error.fields().into_iter().flatten() {
            out[key] = value;
        }
        if matches!(error, Error::MaybeExecuted(_)) {
            out["maybe_executed"] = json!(true);
        }
        out["error"] = json!(error.code().as_str());
        out["message"] = json!(format!("{} failed: {error}", self.name()));
        out.to_string()
    }

    /// The answer when the JS arguments could not even be read as JSON.
    pub fn unreadable(self, reason: &str) -> String {
        self.failed(
            &Value::Null,
            &Error::InvalidArgs(format!(
                "{} takes an object of plain JSON values: {reason}",
                self.name()
            )),
        )
    }
}

impl Director {
    pub fn prepare(&self, op: Op, args: &Value) -> Prepared {
        // LLM SDKs hand a tool call's arguments over as JSON text (OpenAI's `arguments`): an
        // object given that way is read as the object.
        let parsed;
        let (args, not_an_object) = match args {
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(object @ Value::Object(_)) => {
                    parsed = object;
                    (&parsed, None)
                }
                Ok(other) => (args, Some(format!("its JSON text is {}", kind(&other)))),
                // Meant as an object's JSON text (cut off, say); serde_json's message names
                // the line and column, never the text. Other text gets the shape's message.
                Err(e) if text.trim_start().starts_with('{') => {
                    (args, Some(format!("its text is not valid JSON ({e})")))
                }
                Err(_) => (args, None),
            },
            _ => (args, None),
        };
        if !self.connect.config.enabled {
            self.discovery_event(
                op,
                args,
                Error::Disabled.code().as_str(),
                None,
                Duration::ZERO,
            );
            return Prepared::Ready(op.failed(args, &Error::Disabled));
        }
        let checked = match not_an_object {
            Some(why) => Err(Error::InvalidArgs(format!(
                "{} takes an object, or the JSON text of one, as its arguments: {why}",
                op.name()
            ))),
            None => match op {
                Op::SearchServices => SearchServicesArgs::parse(args).map(Request::SearchServices),
                Op::GetComponents => GetComponentsArgs::parse(args).map(Request::GetComponents),
                Op::GetComponent => GetComponentArgs::parse(args).map(Request::GetComponent),
                Op::ConfigureProp => ConfigurePropArgs::parse(args).map(Request::ConfigureProp),
                Op::ReloadProps => ReloadPropsArgs::parse(args).map(Request::ReloadProps),
                Op::ProxyRequest => ProxyToolArgs::parse(args).map(|a| {
                    let ids = json!({
                        "app_slug": args.get("app_slug"),
                        "method": args.get("method"),
                        "url": args.get("url"),
                    });
                    Request::Proxy(Box::new(a), ids)
                }),
            },
        };
        let request = match checked {
            Ok(r) => r,
            Err(e) => {
                self.stats.error(e.code().as_str());
                self.discovery_event(op, args, e.code().as_str(), None, Duration::ZERO);
                return Prepared::Ready(op.failed(args, &e));
            }
        };
        match self.hit(op, args, &request) {
            Some(json) => Prepared::Ready(json),
            None => Prepared::Pending(request),
        }
    }

    /// A fresh cache hit for arguments given as JSON text, or `None`: what `index.js` asks
    /// synchronously before it takes the async path, which costs tens of microseconds more.
    /// Only hits are answered here; a miss, bad arguments or a disabled client go the async
    /// way, which answers them as usual.
    ///
    /// The text of a hit is kept (`rendered`), so the same call again only checks that the
    /// cache still holds the entry it came from. With a logger the arguments are parsed
    /// every time, for the event.
    pub fn cached_answer(&self, op: Op, args_json: &str) -> Option<Arc<str>> {
        if !self.connect.config.enabled {
            return None;
        }
        if self.events.is_none()
            && let Some(text) = self.rendered.get(op, args_json, |request, ticket| {
                self.current(request, ticket)
            })
        {
            return Some(text);
        }
        let args: Value = serde_json::from_str(args_json).ok()?;
        let request = match op {
            Op::SearchServices => Request::SearchServices(SearchServicesArgs::parse(&args).ok()?),
            Op::GetComponents => Request::GetComponents(GetComponentsArgs::parse(&args).ok()?),
            Op::GetComponent => Request::GetComponent(GetComponentArgs::parse(&args).ok()?),
            Op::ConfigureProp | Op::ReloadProps | Op::ProxyRequest => return None,
        };
        let (ticket, json) = self.cached_hit(op, &args, &request)?;
        let text: Arc<str> = json.into();
        self.rendered
            .put(op, args_json, request, ticket, text.clone());
        Some(text)
    }

    fn hit(&self, op: Op, args: &Value, request: &Request) -> Option<String> {
        self.cached_hit(op, args, request).map(|(_, json)| json)
    }

    fn cached_hit(&self, op: Op, args: &Value, request: &Request) -> Option<(Ticket, String)> {
        let found = match request {
            Request::SearchServices(a) => self.search_services_cached(a),
            Request::GetComponents(a) => self.get_components_cached(a),
            Request::GetComponent(a) => self.get_component_cached(a),
            Request::ConfigureProp(_) | Request::ReloadProps(_) | Request::Proxy(..) => None,
        }?;
        self.discovery_event(op, args, "ok", Some(true), Duration::ZERO);
        Some(found)
    }

    /// Whether the entry a kept answer to `request` was made from is still the cache's, fresh
    /// (a hit, counted).
    fn current(&self, request: &Request, ticket: &Ticket) -> bool {
        match request {
            Request::SearchServices(_) => self.searches.redeem(ticket),
            Request::GetComponents(_) => self.connect.app_components.redeem(ticket),
            Request::GetComponent(_) => self.connect.components.redeem(ticket),
            Request::ConfigureProp(_) | Request::ReloadProps(_) | Request::Proxy(..) => false,
        }
    }

    /// The answer to `request`, as JSON text, failures included. It is an `Err` only when
    /// `cancel` fires first: `Aborted`, under `MaybeExecuted` when it was a proxied write whose
    /// bytes may have left (as when the deadline passes or a panic ends it).
    pub async fn run(
        &self,
        request: Request,
        cancel: Option<&CancellationToken>,
    ) -> std::result::Result<String, Error> {
        let started = Instant::now();
        let (op, ids) = request.identity();
        let writes = request.may_write();
        let sent = AtomicBool::new(false);
        let unsure = |e: Error| e.maybe_executed_if(writes && sent.load(Ordering::SeqCst));
        // A panic below becomes a coded answer here rather than a rejection JS cannot read.
        let answer = AssertUnwindSafe(self.answer(request, &sent)).catch_unwind();
        // One instant for the timeout and for the retries that must end before it.
        let limit = self.connect.config.deadline;
        let ends = tokio::time::Instant::now() + limit;
        let answer = tokio::time::timeout_at(ends, deadline::within(ends, answer));
        let answered = match cancel {
            None => Some(answer.await),
            Some(cancel) => tokio::select! {
                answered = answer => Some(answered),
                () = cancel.cancelled() => None,
            },
        };
        let json = match answered {
            None => return Err(unsure(Error::Aborted)),
            Some(Ok(Ok(json))) => json,
            Some(Ok(Err(panic))) => op.failed(&ids, &unsure(Error::Internal(panic_text(&*panic)))),
            Some(Err(_)) => op.failed(&ids, &unsure(Error::Deadline(limit))),
        };
        if self.events.is_some() {
            #[derive(serde::Deserialize)]
            struct Peek {
                error: Option<String>,
                cached: Option<bool>,
            }
            let peek: Option<Peek> = serde_json::from_str(&json).ok();
            let outcome = peek
                .as_ref()
                .and_then(|p| p.error.clone())
                .unwrap_or_else(|| "ok".into());
            let cached = peek.and_then(|p| p.cached);
            self.discovery_event(op, &ids, &outcome, cached, started.elapsed());
        }
        Ok(json)
    }

    /// A discovery event names the call and what it was about (app, component, prop), never
    /// the query text or params.
    fn discovery_event(
        &self,
        op: Op,
        args: &Value,
        outcome: &str,
        cached: Option<bool>,
        took: Duration,
    ) {
        if self.events.is_none() {
            return;
        }
        let mut fields = json!({ "op": op.name(), "cached": cached });
        for key in ["app_slug", "component_id", "prop_name"] {
            if let Some(v) = args.get(key).and_then(Value::as_str) {
                fields[key] = events::label(v);
            }
        }
        events::emit(&self.events, "discovery", outcome, took, fields);
    }

    /// Each branch is boxed: a future is as large as its largest branch (tens of KB here), and
    /// every move of it is a memcpy of that size, several per call on the JS thread. Boxed, a
    /// call allocates only the branch it takes, and what moves is a pointer.
    async fn answer(&self, request: Request, sent: &AtomicBool) -> String {
        match request {
            Request::SearchServices(a) => Box::pin(self.search_services(a)).await,
            Request::GetComponents(a) => Box::pin(self.get_components(a)).await,
            Request::GetComponent(a) => Box::pin(self.get_component(a)).await,
            Request::ConfigureProp(a) => Box::pin(self.configure_prop(a)).await,
            Request::ReloadProps(a) => Box::pin(self.reload_props(a)).await,
            Request::Proxy(a, ids) => Box::pin(self.proxy_tool(*a, &ids, sent)).await,
        }
    }
}
