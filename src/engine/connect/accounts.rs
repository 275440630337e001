//! Which connected account an action runs with. The rule is "never guess": an explicit
//! account id wins; otherwise the external user must have exactly one healthy account for the
//! app. None → an error carrying a Connect Link the user can open; several → an error listing
//! them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::One;
use super::{Connect, names_only_the_project};
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;
use crate::engine::transport::http::{EMPTY_BODY, HTML_PAGE};
use crate::engine::transport::pagination::{Page, collect_whole};

/// Most accounts `listAccounts` gathers (the API serves at most 100 a page); more is an error,
/// not a cut list.
const MAX_LISTED: usize = 10_000;

#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    healthy: Option<bool>,
    #[serde(default)]
    dead: Option<bool>,
}

/// An account as `listAccounts` and `getAccount` answer it: who, which app, whether it can be
/// used; its credentials only when the caller asked for them.
#[derive(Debug, Serialize)]
pub struct AccountSummary {
    pub id: String,
    pub name: Option<String>,
    /// The app's slug (`name_slug`).
    pub app: Option<String>,
    pub healthy: Option<bool>,
    pub dead: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Value>,
}

#[derive(Deserialize)]
struct ListedAccount {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    app: Option<Value>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    healthy: Option<bool>,
    #[serde(default)]
    dead: Option<bool>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    credentials: Option<Value>,
}

impl ListedAccount {
    fn summary(self, with_credentials: bool) -> AccountSummary {
        AccountSummary {
            app: self
                .app
                .as_ref()
                .and_then(|app| app.get("name_slug"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            id: self.id,
            name: self.name,
            healthy: self.healthy,
            dead: self.dead,
            created_at: self.created_at,
            updated_at: self.updated_at,
            credentials: self.credentials.filter(|_| with_credentials),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeWrapped<T> {
    Wrapped(One<T>),
    Bare(T),
}

/// `listAccounts` arguments: whose accounts, for which app, with credentials or not.
#[derive(Debug, Clone, Default)]
pub struct ListAccountsArgs {
    pub external_user_id: Option<String>,
    pub app: Option<String>,
    pub include_credentials: bool,
}

/// An app slug or `app_…` id given as a call's only argument.
#[derive(Debug, Clone)]
pub struct AppArg(pub String);

impl AppArg {
    pub fn parse(app: &Value) -> Result<Self> {
        let v = serde_json::json!({ "app": app });
        Ok(Self(
            Args::new(&v, "deleteAccountsForApp expects the app slug")?.id("app", "\"slack\"")?,
        ))
    }
}

/// An external user id given as a call's only argument.
#[derive(Debug, Clone)]
pub struct UserArg(pub String);

impl UserArg {
    pub fn parse(user: &Value) -> Result<Self> {
        let v = serde_json::json!({ "external_user_id": user });
        Ok(Self(
            Args::new(&v, "deleteUser expects the external_user_id string")?.required_string(
                "external_user_id",
                250,
                "\"user-123\"",
            )?,
        ))
    }
}

/// `getAccount` / `deleteAccount` arguments.
#[derive(Debug, Clone)]
pub struct AccountArgs {
    pub id: String,
    pub include_credentials: bool,
}

impl AccountArgs {
    pub fn parse(id: &Value, options: &Value) -> Result<Self> {
        let Some(id) = id.as_str() else {
            return Err(Error::InvalidArgs(
                "the account id must be a string such as apn_abc123".into(),
            ));
        };
        check_account_id(id)?;
        let include_credentials = match options {
            Value::Null => false,
            v => Args::new(v, "account options are { include_credentials?: boolean }")?
                .boolean("include_credentials")?
                .unwrap_or(false),
        };
        Ok(Self {
            id: id.to_owned(),
            include_credentials,
        })
    }
}

impl ListAccountsArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        if v.is_null() {
            return Ok(Self::default());
        }
        let a = Args::new(
            v,
            "listAccounts expects { external_user_id?: string, app?: string, include_credentials?: boolean }",
        )?;
        Ok(Self {
            external_user_id: a.user_id("external_user_id")?,
            app: match a.raw("app") {
                None => None,
                Some(_) => Some(a.id("app", "\"slack\"")?),
            },
            include_credentials: a.boolean("include_credentials")?.unwrap_or(false),
        })
    }
}

#[derive(Deserialize)]
struct ConnectToken {
    connect_link_url: Option<String>,
}

/// Account ids go into request bodies as `{authProvisionId}`; the API's pattern is
/// `^apn_[a-zA-Z0-9]+$`.
pub fn check_account_id(id: &str) -> Result<()> {
    let rest = id.strip_prefix("apn_").unwrap_or("");
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::InvalidArgs(format!(
            "account_id {:?} is not a Pipedream account id (they look like apn_abc123)",
            crate::engine::error::cut(id, 60)
        )));
    }
    Ok(())
}

/// The docs have the caller append `&app={slug}` to `connect_link_url`, so the link opens on
/// that app; the API does not add it.
pub fn with_app(url: String, app: &str) -> String {
    if url.contains("app=") {
        return url;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}app={app}")
}

impl Connect {
    /// Every connected account of the project, of one external user, or of one app: all
    /// pages, as summaries without credentials.
    pub async fn list_accounts(&self, args: &ListAccountsArgs) -> Result<String, ErrorReport> {
        self.list_accounts_inner(args)
            .await
            .map(|accounts| to_json(&accounts))
            .map_err(|e| ErrorReport::plain(&e))
    }

    async fn list_accounts_inner(&self, args: &ListAccountsArgs) -> Result<Vec<AccountSummary>> {
        self.enabled()?;
        let path = self.project_path("accounts")?;
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(user) = &args.external_user_id {
            query.push(("external_user_id", user.clone()));
        }
        if let Some(app) = &args.app {
            query.push(("app", app.clone()));
        }
        if args.include_credentials {
            query.push(("include_credentials", "true".to_owned()));
        }
        let narrow = || {
            format!(
                "more than {MAX_LISTED} connected accounts match, and listAccounts lists them all or none: pass external_user_id or app to list fewer"
            )
        };
        let collected = collect_whole(MAX_LISTED, narrow, |after, _| {
            let mut query = query.clone();
            if let Some(after) = after {
                query.push(("after", after));
            }
            let path = path.clone();
            async move {
                self.api
                    .get::<Page<ListedAccount>>(
                        EndpointClass::Accounts,
                        &path,
                        &query,
                        &Bearer::Client,
                    )
                    .await
            }
        })
        .await
        .map_err(|e| e.unquoted_if(args.include_credentials))?;
        Ok(collected
            .into_iter()
            .map(|a| a.summary(args.include_credentials))
            .collect())
    }

    /// One account, by id.
    pub async fn get_account(&self, args: &AccountArgs) -> Result<String, ErrorReport> {
        let found = async {
            self.enabled()?;
            let path = self.project_path(&format!("accounts/{}", args.id))?;
            let query: Vec<(&str, String)> = match args.include_credentials {
                true => vec![("include_credentials", "true".to_owned())],
                false => vec![],
            };
            // The SDK reads the bare account (`accounts.retrieve` parses `Account`); older docs
            // show it wrapped in `data`. Either is read.
            let answer: MaybeWrapped<ListedAccount> = self
                .api
                .get(EndpointClass::Accounts, &path, &query, &Bearer::Client)
                .await
                .map_err(|e| {
                    let e = e.unquoted_if(args.include_credentials);
                    self.explain_not_found(e, || format!("there is no account {}", args.id))
                })?;
            let account = match answer {
                MaybeWrapped::Wrapped(one) => one.data,
                MaybeWrapped::Bare(account) => account,
            };
            Ok(to_json(&account.summary(args.include_credentials)))
        };
        found.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// Removes one account (the user disconnects it). Removing one already gone is not an
    /// error.
    pub async fn delete_account(&self, id: &str) -> Result<String, ErrorReport> {
        let deleted = async {
            self.enabled()?;
            check_account_id(id)?;
            let path = self.project_path(&format!("accounts/{id}"))?;
            self.gone_is_fine(
                self.api
                    .delete(EndpointClass::Accounts, &path, &[], &Bearer::Client)
                    .await,
            )?;
            let id = id.to_owned();
            let _ = self
                .account_choices
                .invalidate_entries_if(move |_, chosen| *chosen == id);
            Ok("null".to_owned())
        };
        deleted.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// Removes every account of one app, for every user.
    pub async fn delete_accounts_for_app(&self, app: &str) -> Result<String, ErrorReport> {
        let deleted = async {
            self.enabled()?;
            let path = self.project_path(&format!("apps/{app}/accounts"))?;
            self.gone_is_fine(
                self.api
                    .delete(EndpointClass::Accounts, &path, &[], &Bearer::Client)
                    .await,
            )?;
            let app = app.to_owned();
            let _ = self
                .account_choices
                .invalidate_entries_if(move |(_, a), _| *a == app);
            Ok("null".to_owned())
        };
        deleted.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// The app of account `id`, which must be `external_user_id`'s.
    pub async fn account_app(
        &self,
        id: &str,
        external_user_id: &str,
        bearer: &Bearer,
    ) -> Result<String> {
        check_account_id(id)?;
        let path = self.project_path(&format!("accounts/{id}"))?;
        let found: Result<MaybeWrapped<ListedAccount>> = self
            .api
            .get(EndpointClass::Accounts, &path, &[], bearer)
            .await;
        let account = match found.map_err(|e| {
            self.explain_not_found(e, || {
                format!("there is no account {id}; listAccounts shows the user's accounts")
            })
        })? {
            MaybeWrapped::Wrapped(one) => one.data,
            MaybeWrapped::Bare(a) => a,
        };
        if account
            .external_id
            .as_deref()
            .is_some_and(|owner| owner != external_user_id)
        {
            return Err(Error::InvalidArgs(format!(
                "account {id} belongs to another external user than {external_user_id:?}; pass that user's external_user_id or one of this user's accounts"
            )));
        }
        account
            .summary(false)
            .app
            .ok_or_else(|| Error::BadResponse(format!("account {id} came without its app")))
    }

    /// The account to use for `app` on behalf of `external_user_id`.
    pub async fn resolve_account(
        &self,
        app: &str,
        external_user_id: &str,
        explicit: Option<&str>,
        bearer: &Bearer,
    ) -> Result<String> {
        match self
            .choose_account(app, external_user_id, explicit, bearer)
            .await?
        {
            Some(id) => Ok(id),
            None => Err(self.missing_account(app, external_user_id, bearer).await),
        }
    }

    /// `resolve_account` for a component's app prop: `None` when the user has no account and
    /// the app takes none (`auth_type: none`: helper functions, data stores), so the prop is
    /// left unset rather than answered with a Connect Link nobody could use.
    pub async fn prop_account(
        &self,
        app: &str,
        external_user_id: &str,
        explicit: Option<&str>,
        bearer: &Bearer,
    ) -> Result<Option<String>> {
        match self
            .choose_account(app, external_user_id, explicit, bearer)
            .await?
        {
            Some(id) => Ok(Some(id)),
            None if self
                .app_record(app, bearer)
                .await
                .is_ok_and(|r| !r.needs_account()) =>
            {
                Ok(None)
            }
            None => Err(self.missing_account(app, external_user_id, bearer).await),
        }
    }

    /// `explicit`, or the user's one usable account for `app`; `None` when they have none.
    /// Several are `ACCOUNT_AMBIGUOUS`.
    async fn choose_account(
        &self,
        app: &str,
        external_user_id: &str,
        explicit: Option<&str>,
        bearer: &Bearer,
    ) -> Result<Option<String>> {
        if let Some(id) = explicit {
            check_account_id(id)?;
            return Ok(Some(id.to_owned()));
        }
        let key = (external_user_id.to_owned(), app.to_owned());
        if let Some(id) = self.account_choices.get(&key) {
            return Ok(Some(id));
        }
        let path = self.project_path("accounts")?;
        let query = [
            ("external_user_id", external_user_id.to_owned()),
            ("app", app.to_owned()),
            ("limit", "100".to_owned()),
        ];
        let page: Page<Account> = self
            .api
            .get(EndpointClass::Accounts, &path, &query, bearer)
            .await?;
        let usable: Vec<Account> = page
            .data
            .into_iter()
            .filter(|a| a.healthy != Some(false) && a.dead != Some(true))
            .collect();
        match usable.as_slice() {
            [one] => {
                self.account_choices.insert(key, one.id.clone());
                Ok(Some(one.id.clone()))
            }
            [] => Ok(None),
            several => Err(Error::AccountAmbiguous {
                app: app.to_owned(),
                external_user_id: external_user_id.to_owned(),
                accounts: several
                    .iter()
                    .map(|a| (a.id.clone(), a.name.clone()))
                    .collect(),
            }),
        }
    }

    /// No account of `app` for the user: with a Connect Link to connect one, when one can be
    /// made.
    async fn missing_account(&self, app: &str, external_user_id: &str, bearer: &Bearer) -> Error {
        Error::AccountMissing {
            app: app.to_owned(),
            external_user_id: external_user_id.to_owned(),
            connect_link: self.connect_link(app, external_user_id, bearer).await,
        }
    }

    /// A 404 from a DELETE means it is gone already: what the caller wanted. Not a 404 for
    /// the project itself ("project … not found", naming nothing else): a wrong `projectId`
    /// deleted nothing, and saying so matters most for an offboarding call.
    /// A 404 says the thing is gone when the API said so: an empty one, or a gateway's HTML
    /// page (a wrong base URL, a proxy), says nothing was found to delete, and offboarding
    /// must not be told it was done.
    pub(crate) fn gone_is_fine(&self, result: Result<()>) -> Result<()> {
        match result {
            Err(Error::Api {
                status: 404,
                ref body,
                ..
            }) if !names_only_the_project(&body.to_ascii_lowercase()) && from_the_api(body) => {
                Ok(())
            }
            Err(e) => Err(self.explain_not_found(e, String::new)),
            ok => ok,
        }
    }

    /// Forgets which accounts `external_user_id` resolved to (all apps): after a run or deploy
    /// was refused (a 4xx but 429), or when an account was connected or removed.
    pub fn forget_account_choices(&self, external_user_id: &str) {
        let user = external_user_id.to_owned();
        let _ = self
            .account_choices
            .invalidate_entries_if(move |(u, _), _| *u == user);
    }

    /// A Connect Link for the user to connect `app`. Best effort: the missing-account error
    /// is still right without it.
    async fn connect_link(
        &self,
        app: &str,
        external_user_id: &str,
        bearer: &Bearer,
    ) -> Option<String> {
        if !self.api.try_user_token(external_user_id).await {
            return None;
        }
        let path = self.project_path("tokens").ok()?;
        let body = json!({ "external_user_id": external_user_id, "app_id": app });
        let token: ConnectToken = self
            .api
            .post(EndpointClass::Tokens, &path, &body, bearer)
            .await
            .ok()?;
        token.connect_link_url.map(|url| with_app(url, app))
    }
}

/// Whether a 404's quoted body (`Error::Api`'s) is the API's own: not empty, and not the HTML
/// page a gateway answers.
fn from_the_api(body: &str) -> bool {
    !body.trim().is_empty() && body != EMPTY_BODY && !body.starts_with(HTML_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_links_name_the_app() {
        assert_eq!(
            with_app(
                "https://pipedream.com/_static/connect.html?token=ctok_1&connectLink=true".into(),
                "gmail"
            ),
            "https://pipedream.com/_static/connect.html?token=ctok_1&connectLink=true&app=gmail"
        );
        assert_eq!(
            with_app("https://x/c?app=gmail".into(), "gmail"),
            "https://x/c?app=gmail"
        );
    }

    #[test]
    fn account_ids_are_checked() {
        assert!(check_account_id("apn_abc123").is_ok());
        for bad in ["abc", "apn_", "apn_a/b", "apn_../x", "APN_x"] {
            assert!(check_account_id(bad).is_err(), "{bad}");
        }
    }
}
