//! `configureProp` and `reloadProps`: the loops that let an LLM fill props whose choices
//! depend on the user's account (channels, sheets, bases) and props that appear only once
//! another is set. Both call the real configure/props endpoints with the user's account.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::views::Parameter;
use crate::engine::args::Args;
use crate::engine::connect::components::{Component, OptionItem, Prop};
use crate::engine::connect::props::OptionsTarget;
use crate::engine::director::Director;
use crate::engine::director::tools::Op;
use crate::engine::director::tools::components::GetComponentArgs;
use crate::engine::director::tools::schema::input_schema;
use crate::engine::error::{Error, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;

const MAX_PAGE: u64 = 1_000;
#[derive(Debug, Clone)]
pub struct ConfigurePropArgs {
    pub component: GetComponentArgs,
    pub prop_name: String,
    pub params: Map<String, Value>,
    pub external_user_id: Option<String>,
    pub account_id: Option<String>,
    pub query: Option<String>,
    pub page: u64,
    /// From an earlier `reloadProps`: configure then sees the reloaded props.
    pub dynamic_props_id: Option<String>,
}

impl ConfigurePropArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "configureProp expects { component_id: string, prop_name: string, params?: object, external_user_id?: string, account_id?: string, query?: string, page?: number, dynamic_props_id?: string }",
        )?;
        Ok(Self {
            component: GetComponentArgs {
                component_id: a.id("component_id", "\"slack-send-message\"")?,
                version: None,
            },
            prop_name: a.required_string("prop_name", 200, "\"conversation\"")?,
            params: a.object("params")?.unwrap_or_default(),
            external_user_id: a.user_id("external_user_id")?,
            account_id: a.string("account_id", 100)?,
            query: a.string("query", 200)?,
            page: a.integer("page", 0, MAX_PAGE)?.unwrap_or(0),
            dynamic_props_id: dynamic_props_id(&a)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ReloadPropsArgs {
    pub component: GetComponentArgs,
    pub params: Map<String, Value>,
    pub external_user_id: Option<String>,
    pub account_id: Option<String>,
    /// From an earlier reload: a reload after the first names it.
    pub dynamic_props_id: Option<String>,
}

impl ReloadPropsArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "reloadProps expects { component_id: string, params?: object, external_user_id?: string, account_id?: string, dynamic_props_id?: string }",
        )?;
        Ok(Self {
            component: GetComponentArgs {
                component_id: a.id("component_id", "\"google_sheets-add-single-row\"")?,
                version: None,
            },
            params: a.object("params")?.unwrap_or_default(),
            external_user_id: a.user_id("external_user_id")?,
            account_id: a.string("account_id", 100)?,
            dynamic_props_id: dynamic_props_id(&a)?,
        })
    }
}

/// `dynamic_props_id` as a reload returned it (`dyp_…`): it goes into a request body only.
fn dynamic_props_id(a: &Args) -> Result<Option<String>> {
    let id = a.string("dynamic_props_id", 100)?;
    if let Some(id) = &id
        && !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(a.fail(
            "`dynamic_props_id` must be the id a reload returned, such as dyp_abc123".into(),
        ));
    }
    Ok(id)
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
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_props_id: Option<&'a str>,
}

impl Director {
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
        let component = args
            .component
            .fetch(&self.connect, &Bearer::Client)
            .await?
            .value;
        // A prop that appears only after a reload is found in the reloaded props, and the
        // configure names their `dynamic_props_id`; without it the API sees static props only.
        let reloads = component.props.iter().any(|p| p.reloads_props());
        let statically = find_prop(&component.props, &component.key, &args.prop_name);
        if !reloads {
            statically.clone()?;
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
        let reloaded;
        let remembered = self
            .connect
            .dynamic_props
            .get(&(component.key.clone(), user.clone()));
        let (prop, dynamic_props_id) = match statically {
            Ok(prop) => (prop, args.dynamic_props_id.clone().or(remembered.clone())),
            Err(e) => {
                reloaded = self
                    .connect
                    .reload(
                        &component,
                        &configured,
                        &user,
                        &Bearer::Client,
                        args.dynamic_props_id.as_deref(),
                    )
                    .await?;
                match find_prop(&reloaded.props, &component.key, &args.prop_name) {
                    Ok(prop) => (prop, reloaded.id.clone()),
                    Err(_) if !reloaded.errors.is_empty() => {
                        let errors = reloaded.errors.join("; ");
                        let errors = self.connect.api.scrub(errors, &Bearer::Client).await;
                        return Err(Error::InvalidArgs(format!(
                            "{} has no prop {:?} yet, and reloading its props with these params failed: {errors}",
                            component.key, args.prop_name,
                        )));
                    }
                    Err(_) => return Err(e),
                }
            }
        };
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
        let mut target = OptionsTarget {
            component: &component,
            prop_name: &args.prop_name,
            query: args.query.as_deref(),
            configured: &configured,
            user: &user,
            dynamic_props_id: dynamic_props_id.as_deref(),
        };
        let mut answer = self.connect.options_page(&target, args.page).await;
        // A remembered reload id may have expired on the server: forget it, ask without.
        if let Err(Error::Api {
            status: 400 | 404, ..
        }) = &answer
            && args.dynamic_props_id.is_none()
            && target.dynamic_props_id.is_some()
            && target.dynamic_props_id == remembered.as_deref()
        {
            self.connect
                .dynamic_props
                .invalidate(&(component.key.clone(), user.clone()));
            target.dynamic_props_id = None;
            answer = self.connect.options_page(&target, args.page).await;
        }
        let dynamic_props_id = target.dynamic_props_id;
        let (page, cached) = answer?;
        let next_page = page.more.then_some(args.page + 1);
        let n = page.options.len();
        let message = if n == 0 && page.errors.is_empty() {
            format!("No more options for {} on this page.", args.prop_name)
        } else if n == 0 {
            format!(
                "Pipedream could not list options for {}: {}",
                args.prop_name,
                page.errors.join("; ")
            )
        } else {
            let more = next_page
                .map(|p| format!(" More may be available: call again with page {p}."))
                .unwrap_or_default();
            format!(
                "{n} options for {}. Use an option's value in params.{}.{more}",
                args.prop_name, args.prop_name
            )
        };
        // The component's errors are the server's words: no credential it echoed goes on.
        let answer = to_json(&ConfigurePropResult {
            component_id: &component.key,
            prop_name: &args.prop_name,
            options: &page.options,
            next_page,
            errors: &page.errors,
            message,
            cached,
            dynamic_props_id,
        });
        Ok(self.connect.api.scrub(answer, &Bearer::Client).await)
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
        let component = args
            .component
            .fetch(&self.connect, &Bearer::Client)
            .await?
            .value;
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
            .connect
            .reload(
                &component,
                &configured,
                &user,
                &Bearer::Client,
                args.dynamic_props_id.as_deref(),
            )
            .await?;
        let message = match (&reloaded.id, reloaded.errors.is_empty()) {
            (Some(id), true) => format!(
                "Props reloaded. Run with dynamic_props_id {id} and params per input_schema."
            ),
            (None, true) => {
                "The reload added no props; run with params per the component's own input_schema."
                    .to_owned()
            }
            (_, false) => format!(
                "Props could not be reloaded with these params: {}. Fix the params named and reload again.",
                reloaded.errors.join("; ")
            ),
        };
        let answer = to_json(&json!({
            "component_id": component.key,
            "dynamic_props_id": reloaded.id,
            "parameters": reloaded.props.iter().filter(|p| p.is_param()).map(Parameter::compact).collect::<Vec<_>>(),
            "input_schema": input_schema(&reloaded.props),
            "configurable_props": reloaded.raw_props,
            "errors": reloaded.errors,
            "message": message,
        }));
        Ok(self.connect.api.scrub(answer, &Bearer::Client).await)
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
        let user = self.connect.external_user(external_user_id, call)?;
        let configured = self
            .connect
            .configured_props(component, params, &user, account_id, &Bearer::Client)
            .await?;
        Ok((user, configured))
    }
}

/// The user-input prop `name` among `props` (a component's, or a reload's).
fn find_prop<'a>(props: &'a [Prop], component: &str, name: &str) -> Result<&'a Prop> {
    let mut params = props.iter().filter(|p| p.is_param());
    params.clone().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = params.by_ref().map(|p| p.name.as_str()).collect();
        Error::InvalidArgs(format!(
            "{component} has no prop {:?}; its props are: {}",
            crate::engine::error::cut(name, 80),
            names.join(", ")
        ))
    })
}
