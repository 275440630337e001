//! `configureProp` and `reloadProps`: the loops that let an LLM fill props whose choices
//! depend on the user's account (channels, sheets, bases) and props that appear only once
//! another is set. Both call the real configure/props endpoints with the user's account.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::api::Bearer;
use super::args::Args;
use super::client::{Client, to_json};
use super::components::{Component, OptionItem, Parameter, Prop};
use super::discovery::GetComponentArgs;
use super::error::{Error, Result};
use super::limiter::EndpointClass;
use super::operation::Op;
use super::schema::input_schema;

const MAX_PAGE: u64 = 1_000;
/// Most configure requests one `configureProp` call may send. Pages are reached in order
/// (each needs the previous one's context), so an LLM that writes `page: 1000` would
/// otherwise turn one tool call into a thousand requests.
const MAX_REQUESTS_PER_CALL: usize = 3;

#[derive(Debug, Clone)]
pub struct ConfigurePropArgs {
    pub component: GetComponentArgs,
    pub prop_name: String,
    pub params: Map<String, Value>,
    pub external_user_id: Option<String>,
    pub account_id: Option<String>,
    pub query: Option<String>,
    pub page: u64,
}

impl ConfigurePropArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "configureProp expects { component_id: string, prop_name: string, params?: object, external_user_id?: string, account_id?: string, query?: string, page?: number }",
        )?;
        Ok(Self {
            component: GetComponentArgs {
                component_id: a.id("component_id", "\"slack-send-message\"")?,
                version: None,
            },
            prop_name: a.required_string("prop_name", 200, "\"conversation\"")?,
            params: a.object("params")?.unwrap_or_default(),
            external_user_id: a.string("external_user_id", 250)?,
            account_id: a.string("account_id", 100)?,
            query: a.string("query", 200)?,
            page: a.integer("page", 0, MAX_PAGE)?.unwrap_or(0),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ReloadPropsArgs {
    pub component: GetComponentArgs,
    pub params: Map<String, Value>,
    pub external_user_id: Option<String>,
    pub account_id: Option<String>,
}

impl ReloadPropsArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "reloadProps expects { component_id: string, params?: object, external_user_id?: string, account_id?: string }",
        )?;
        Ok(Self {
            component: GetComponentArgs {
                component_id: a.id("component_id", "\"google_sheets-add-single-row\"")?,
                version: None,
            },
            params: a.object("params")?.unwrap_or_default(),
            external_user_id: a.string("external_user_id", 250)?,
            account_id: a.string("account_id", 100)?,
        })
    }
}

/// A component's props after a reload.
pub struct Reloaded {
    pub id: Option<String>,
    pub props: Vec<Prop>,
    pub raw_props: Vec<Value>,
    pub errors: Vec<String>,
}

/// One page of remote options, with the context the API wants back for the next page.
#[derive(Debug)]
pub struct OptionsPage {
    options: Vec<OptionItem>,
    errors: Vec<String>,
    context: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOptions {
    #[serde(default)]
    options: Option<Vec<Value>>,
    #[serde(default)]
    string_options: Option<Vec<String>>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireReload {
    #[serde(default)]
    errors: Option<Vec<Value>>,
    dynamic_props: Option<WireDynamicProps>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDynamicProps {
    id: Option<String>,
    #[serde(default)]
    configurable_props: Option<Vec<Value>>,
}

#[derive(Serialize)]
struct ConfigurePropResult<'a> {
    component_id: &'a str,
    prop_name: &'a str,
    options: &'a [OptionItem],
    next_page: Option<u64>,
    errors: &'a [String],
    message: String,
    cached: bool,
}

fn error_texts(v: Option<Vec<Value>>) -> Vec<String> {
    v.unwrap_or_default()
        .into_iter()
        .map(|e| match e {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect()
}

impl Client {
    pub(crate) async fn configure_prop(&self, args: ConfigurePropArgs) -> String {
        match self.configure_prop_inner(&args).await {
            Ok(json) => json,
            Err(e) => Op::ConfigureProp.failed(
                &json!({ "component_id": args.component.component_id, "prop_name": args.prop_name }),
                &e,
            ),
        }
    }

    async fn configure_prop_inner(&self, args: &ConfigurePropArgs) -> Result<String> {
        let (component, _, _) = self.component(&args.component, &Bearer::Client).await?;
        let prop = find_prop(&component, &args.prop_name)?;
        if !prop.has_remote_options() {
            let known = prop
                .static_options()
                .filter(|o| !o.is_empty())
                .map(|o| {
                    format!(
                        " Its choices are fixed: {}.",
                        o.iter()
                            .map(|i| i.value.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .unwrap_or_default();
            return Err(Error::InvalidArgs(format!(
                "prop {:?} of {} has no remote options; fill it directly.{known}",
                args.prop_name, component.key
            )));
        }
        let (user, configured) = self
            .on_behalf(
                &component,
                &args.params,
                args.external_user_id.clone(),
                args.account_id.as_deref(),
                "configureProp",
            )
            .await?;
        let (page, cached) = self
            .options_page(args, &component, &configured, &user, args.page)
            .await?;
        let next_page = page.context.as_ref().map(|_| args.page + 1);
        let n = page.options.len();
        let message = if n == 0 && page.errors.is_empty() {
            format!("No options for {} on this page.", args.prop_name)
        } else if n == 0 {
            format!(
                "Pipedream could not list options for {}: {}",
                args.prop_name,
                page.errors.join("; ")
            )
        } else {
            let more = next_page
                .map(|p| format!(" More are available: call again with page {p}."))
                .unwrap_or_default();
            format!(
                "{n} options for {}. Use an option's value in params.{}.{more}",
                args.prop_name, args.prop_name
            )
        };
        Ok(to_json(&ConfigurePropResult {
            component_id: &component.key,
            prop_name: &args.prop_name,
            options: &page.options,
            next_page,
            errors: &page.errors,
            message,
            cached,
        }))
    }

    /// Page `page` of a prop's options. The API pages by handing back a context for the next
    /// request, so page n needs page n-1's context: each page is cached, and a page asked for
    /// out of order is reached by walking from the last one known.
    async fn options_page(
        &self,
        args: &ConfigurePropArgs,
        component: &Component,
        configured: &Map<String, Value>,
        user: &str,
        page: u64,
    ) -> Result<(Arc<OptionsPage>, bool)> {
        let base = to_json(&json!([
            component.key,
            component.version,
            args.prop_name,
            configured,
            user,
            args.query
        ]));
        // Walk from the furthest page still cached, and refuse a walk longer than the cap.
        let start = (0..=page)
            .rev()
            .find(|n| {
                self.prop_options
                    .probe(&format!("{base}#{}", n.saturating_sub(1)))
                    .is_some()
            })
            .filter(|n| *n > 0)
            .unwrap_or(0);
        let needed = (page - start + 1) as usize;
        if needed > MAX_REQUESTS_PER_CALL {
            return Err(Error::InvalidArgs(format!(
                "configureProp pages are reached in order and one call fetches at most {MAX_REQUESTS_PER_CALL}; page {page} is too far ahead. Ask for page {start} (or 0) and follow next_page."
            )));
        }
        let mut prev: Option<Arc<OptionsPage>> = match start {
            0 => None,
            n => self.prop_options.probe(&format!("{base}#{}", n - 1)),
        };
        for n in start..=page {
            let prev_context = prev.as_ref().map(|p| p.context.clone());
            if let Some(None) = prev_context {
                // The previous page was the last one.
                let empty = OptionsPage {
                    options: vec![],
                    errors: vec![],
                    context: None,
                };
                return Ok((Arc::new(empty), false));
            }
            let prev_context = prev_context.flatten();
            let body = json!({
                "id": component.key,
                "version": component.version,
                "external_user_id": user,
                "prop_name": args.prop_name,
                "configured_props": configured,
                "page": n,
                "prev_context": prev_context,
                "query": args.query,
            });
            let path = self.project_path("components/configure")?;
            let lookup =
                self.prop_options
                    .get_or_fetch(format!("{base}#{n}"), async {
                        let wire: WireOptions = self
                            .api
                            .post(EndpointClass::Execute, &path, &body, &Bearer::Client)
                            .await?;
                        let mut options: Vec<OptionItem> = wire
                            .options
                            .unwrap_or_default()
                            .iter()
                            .filter_map(OptionItem::from_wire)
                            .collect();
                        options.extend(wire.string_options.unwrap_or_default().into_iter().map(
                            |s| OptionItem {
                                label: s.clone(),
                                value: Value::String(s),
                            },
                        ));
                        Ok(Arc::new(OptionsPage {
                            context: wire
                                .context
                                .filter(|c| !c.is_null())
                                .filter(|_| !options.is_empty()),
                            options,
                            errors: error_texts(wire.errors),
                        }))
                    })
                    .await?;
            if n == page {
                return Ok((lookup.value, lookup.cached));
            }
            prev = Some(lookup.value);
        }
        unreachable!("the loop returns on its last page")
    }

    pub(crate) async fn reload_props(&self, args: ReloadPropsArgs) -> String {
        match self.reload_props_inner(&args).await {
            Ok(json) => json,
            Err(e) => {
                Op::ReloadProps.failed(&json!({ "component_id": args.component.component_id }), &e)
            }
        }
    }

    async fn reload_props_inner(&self, args: &ReloadPropsArgs) -> Result<String> {
        let (component, _, _) = self.component(&args.component, &Bearer::Client).await?;
        let (user, configured) = self
            .on_behalf(
                &component,
                &args.params,
                args.external_user_id.clone(),
                args.account_id.as_deref(),
                "reloadProps",
            )
            .await?;
        let reloaded = self
            .reload(&component, &configured, &user, &Bearer::Client)
            .await?;
        let message = match (&reloaded.id, reloaded.errors.is_empty()) {
            (Some(id), true) => format!(
                "Props reloaded. Run with dynamic_props_id {id} and params per input_schema."
            ),
            _ => format!(
                "Props could not be fully reloaded: {}",
                reloaded.errors.join("; ")
            ),
        };
        Ok(to_json(&json!({
            "component_id": component.key,
            "dynamic_props_id": reloaded.id,
            "parameters": reloaded.props.iter().filter(|p| p.is_param()).map(Parameter::compact).collect::<Vec<_>>(),
            "input_schema": input_schema(&reloaded.props),
            "configurable_props": reloaded.raw_props,
            "errors": reloaded.errors,
            "message": message,
        })))
    }

    /// `POST …/components/props`: the props a component has once `configured` is set.
    pub(crate) async fn reload(
        &self,
        component: &Component,
        configured: &Map<String, Value>,
        user: &str,
        bearer: &Bearer,
    ) -> Result<Reloaded> {
        let body = json!({
            "id": component.key,
            "version": component.version,
            "external_user_id": user,
            "configured_props": configured,
        });
        let path = self.project_path("components/props")?;
        let wire: WireReload = self
            .api
            .post(EndpointClass::Execute, &path, &body, bearer)
            .await?;
        let dynamic = wire
            .dynamic_props
            .ok_or_else(|| Error::BadResponse("the props response has no dynamicProps".into()))?;
        let raw_props = dynamic.configurable_props.unwrap_or_default();
        let props = raw_props
            .iter()
            .map(|p| serde_json::from_value(p.clone()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::BadResponse(format!("a reloaded prop could not be read: {e}")))?;
        Ok(Reloaded {
            id: dynamic.id,
            props,
            raw_props,
            errors: error_texts(wire.errors),
        })
    }

    /// The acting user and the params with their account, for discovery calls made on a
    /// user's behalf with the client's own credentials.
    async fn on_behalf(
        &self,
        component: &Component,
        params: &Map<String, Value>,
        external_user_id: Option<String>,
        account_id: Option<&str>,
        call: &str,
    ) -> Result<(String, Map<String, Value>)> {
        let user = self.external_user(external_user_id, call)?;
        let configured = self
            .configured_props(component, params, &user, account_id, &Bearer::Client)
            .await?;
        Ok((user, configured))
    }

    /// The params as `configured_props`, with the app prop set to the user's account unless the
    /// caller set it.
    pub(crate) async fn configured_props(
        &self,
        component: &Component,
        params: &Map<String, Value>,
        user: &str,
        account_id: Option<&str>,
        bearer: &Bearer,
    ) -> Result<Map<String, Value>> {
        let mut configured = params.clone();
        let unset = component
            .app_prop()
            .filter(|p| !configured.contains_key(&p.name));
        if let Some(app_prop) = unset {
            let app = app_prop.app.as_deref().unwrap_or_default();
            let account = self.resolve_account(app, user, account_id, bearer).await?;
            configured.insert(app_prop.name.clone(), json!({ "authProvisionId": account }));
        }
        Ok(configured)
    }
}

fn find_prop<'a>(component: &'a Component, name: &str) -> Result<&'a Prop> {
    component.params().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = component.params().map(|p| p.name.as_str()).collect();
        Error::InvalidArgs(format!(
            "{} has no prop {name:?}; its props are: {}",
            component.key,
            names.join(", ")
        ))
    })
}
