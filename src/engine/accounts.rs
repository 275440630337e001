//! Which connected account an action runs with. The rule is "never guess": an explicit
//! account id wins; otherwise the external user must have exactly one healthy account for the
//! app. None → an error carrying a Connect Link the user can open; several → an error listing
//! them.

use serde::Deserialize;
use serde_json::json;

use super::api::Bearer;
use super::client::Client;
use super::error::{Error, Result};
use super::limiter::EndpointClass;
use super::pagination::Page;

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
            "account_id {id:?} is not a Pipedream account id (they look like apn_abc123)"
        )));
    }
    Ok(())
}

impl Client {
    /// The account to use for `app` on behalf of `external_user_id`.
    pub(crate) async fn resolve_account(
        &self,
        app: &str,
        external_user_id: &str,
        explicit: Option<&str>,
        bearer: &Bearer,
    ) -> Result<String> {
        if let Some(id) = explicit {
            check_account_id(id)?;
            return Ok(id.to_owned());
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
            [one] => Ok(one.id.clone()),
            [] => Err(Error::AccountMissing {
                app: app.to_owned(),
                external_user_id: external_user_id.to_owned(),
                connect_link: self.connect_link(app, external_user_id, bearer).await,
            }),
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

    /// A Connect Link for the user to connect `app`. Best effort: the missing-account error
    /// is still right without it.
    async fn connect_link(
        &self,
        app: &str,
        external_user_id: &str,
        bearer: &Bearer,
    ) -> Option<String> {
        if !self.api.try_user_token(external_user_id) {
            return None;
        }
        let path = self.project_path("tokens").ok()?;
        let body = json!({ "external_user_id": external_user_id, "app_id": app });
        let token: ConnectToken = self
            .api
            .post(EndpointClass::Tokens, &path, &body, bearer)
            .await
            .ok()?;
        token.connect_link_url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_checked() {
        assert!(check_account_id("apn_abc123").is_ok());
        for bad in ["abc", "apn_", "apn_a/b", "apn_../x", "APN_x"] {
            assert!(check_account_id(bad).is_err(), "{bad}");
        }
    }
}
