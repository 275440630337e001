//! Connected accounts (`apn_…`). Seeded from `--account` at start-up, added
//! through the control API (and `POST /__emulator/connect`), deleted through
//! the API, and restored to the seeded set on reset. External users (`exu_…`)
//! are the distinct `external_id`s of the live accounts.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use serde_json::{Value, json};

use crate::catalog::{App, Catalog};
use crate::clock;
use crate::ids;
use crate::proxy_target;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
    pub external_id: String,
    pub app_slug: String,
    pub healthy: bool,
    pub dead: bool,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Fixed at creation so repeated reads agree with each other.
    pub credentials: Value,
}

pub struct NewAccount<'a> {
    pub external_user_id: &'a str,
    pub app: &'a App,
    pub name: Option<String>,
    pub healthy: bool,
    pub dead: bool,
    pub id: Option<String>,
}

impl Account {
    pub fn new(spec: NewAccount<'_>) -> Self {
        let now = clock::now_ms();
        let auth_type = spec
            .app
            .json
            .get("auth_type")
            .and_then(Value::as_str)
            .unwrap_or("oauth");
        let mut credentials = match auth_type {
            "keys" => json!({ "api_key": format!("emulated_key_{}", ids::hex(12)) }),
            "none" => json!({}),
            _ => json!({
                "oauth_client_id": format!("emulated-client-{}", spec.app.name_slug),
                "oauth_access_token": format!("emulated_access_{}", ids::hex(16)),
                "oauth_refresh_token": format!("emulated_refresh_{}", ids::hex(16)),
                "oauth_uid": format!("uid-{}", spec.external_user_id),
            }),
        };
        // The custom fields the app's proxy base URL names (zendesk's `subdomain`)
        // are part of the account, as what the user typed when connecting.
        for name in spec
            .app
            .connect
            .as_ref()
            .and_then(|c| c.base_proxy_target_url.as_deref())
            .map(proxy_target::custom_fields_in)
            .unwrap_or_default()
        {
            let value = custom_field_default(spec.app, &name)
                .unwrap_or_else(|| host_label_for(spec.external_user_id));
            credentials[name] = json!(value);
        }
        Self {
            id: spec.id.unwrap_or_else(|| ids::prefixed("apn_", 8)),
            name: spec.name,
            external_id: spec.external_user_id.to_string(),
            app_slug: spec.app.name_slug.clone(),
            healthy: spec.healthy,
            dead: spec.dead,
            created_ms: now,
            updated_ms: now,
            credentials,
        }
    }

    /// The `Authorization` value the Connect proxy inserts for this account:
    /// the OAuth access token, else the API key, as a bearer token. None for
    /// apps without credentials. The real per-app scheme (header, query
    /// parameter, Basic) is UNCONFIRMED; the emulator always uses Bearer.
    pub fn injected_authorization(&self) -> Option<String> {
        ["oauth_access_token", "api_key"]
            .into_iter()
            .find_map(|k| self.credentials.get(k).and_then(Value::as_str))
            .map(|secret| format!("Bearer {secret}"))
    }

    pub fn to_json(&self, catalog: &Catalog, include_credentials: bool) -> Value {
        let app = catalog
            .app(&self.app_slug)
            .map(|a| a.json.clone())
            .unwrap_or(Value::Null);
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "external_id": self.external_id,
            "healthy": self.healthy,
            "dead": self.dead,
            "app": app,
            "created_at": clock::iso8601_ms(self.created_ms),
            "updated_at": clock::iso8601_ms(self.updated_ms),
        });
        if include_credentials && let Value::Object(m) = &mut v {
            m.insert("credentials".into(), self.credentials.clone());
        }
        v
    }
}

/// A custom field's non-empty string `default` in the app's `custom_fields_json`.
fn custom_field_default(app: &App, name: &str) -> Option<String> {
    let fields: Vec<Value> = app
        .json
        .get("custom_fields_json")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())?;
    fields
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))?
        .get("default")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

/// A value that works as one DNS label (`d3v-user-1` for `User_1`), so a
/// filled `https://{{custom_fields.subdomain}}.zendesk.com` is a real host.
fn host_label_for(external_user_id: &str) -> String {
    let mut slug = String::new();
    for ch in external_user_id.chars().map(|c| c.to_ascii_lowercase()) {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut label = format!("d3v-{slug}");
    label.truncate(63);
    label.trim_end_matches('-').to_string()
}

/// An external user as `GET …/users` lists it.
#[derive(Debug, Clone)]
pub struct ExternalUser {
    pub id: String,
    pub external_id: String,
    /// Of the user's first (oldest) live account.
    pub created_ms: u64,
    /// The latest `updated_at` among the user's live accounts.
    pub updated_ms: u64,
}

impl ExternalUser {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "external_id": self.external_id,
            "created_at": clock::iso8601_ms(self.created_ms),
            "updated_at": clock::iso8601_ms(self.updated_ms),
        })
    }
}

pub struct AccountStore {
    seeded: Vec<Account>,
    live: RwLock<Vec<Account>>,
    /// external_id -> `exu_…`, handed out the first time a user is listed and
    /// forgotten when the user is deleted (a user who comes back is a new one).
    user_ids: RwLock<HashMap<String, String>>,
}

impl AccountStore {
    pub fn new(seeded: Vec<Account>) -> Self {
        Self {
            live: RwLock::new(seeded.clone()),
            seeded,
            user_ids: RwLock::new(HashMap::new()),
        }
    }

    /// Removes one account; None when there is no such id.
    pub fn remove(&self, id: &str) -> Option<Account> {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let i = live.iter().position(|a| a.id == id)?;
        Some(live.remove(i))
    }

    /// Removes every account `doomed` picks; returns how many went.
    pub fn remove_where(&self, doomed: impl Fn(&Account) -> bool) -> usize {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let before = live.len();
        live.retain(|a| !doomed(a));
        before - live.len()
    }

    /// Every external user with at least one live account, in the order of
    /// their first account.
    pub fn users(&self) -> Vec<ExternalUser> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        let mut order: Vec<ExternalUser> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for a in live.iter() {
            match index.get(a.external_id.as_str()) {
                Some(&i) => {
                    let u = &mut order[i];
                    u.created_ms = u.created_ms.min(a.created_ms);
                    u.updated_ms = u.updated_ms.max(a.updated_ms);
                }
                None => {
                    index.insert(&a.external_id, order.len());
                    order.push(ExternalUser {
                        id: String::new(),
                        external_id: a.external_id.clone(),
                        created_ms: a.created_ms,
                        updated_ms: a.updated_ms,
                    });
                }
            }
        }
        drop(index);
        drop(live);
        let mut ids = self.user_ids.write().unwrap_or_else(|e| e.into_inner());
        for u in &mut order {
            u.id = ids
                .entry(u.external_id.clone())
                .or_insert_with(|| ids::prefixed("exu_", 8))
                .clone();
        }
        order
    }

    /// The user's `exu_…` id, handed out now if it has none yet: a File Stash
    /// key names the user even when the user has no account (a helper action).
    pub fn user_id(&self, external_id: &str) -> String {
        self.user_ids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(external_id.to_string())
            .or_insert_with(|| ids::prefixed("exu_", 8))
            .clone()
    }

    /// Deletes every account of `external_id` and forgets the user's `exu_…`
    /// id; returns how many accounts went (0: no such user).
    pub fn remove_user(&self, external_id: &str) -> usize {
        let n = self.remove_where(|a| a.external_id == external_id);
        if n > 0 {
            self.user_ids
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(external_id);
        }
        n
    }

    /// False (and nothing stored) when the id is taken.
    pub fn insert(&self, account: Account) -> bool {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        if live.iter().any(|a| a.id == account.id) {
            return false;
        }
        live.push(account);
        true
    }

    /// Accounts with random ids (`Account::new`); one that draws an id already taken draws
    /// again, so the ids stay unique without `insert`'s scan per account.
    pub fn insert_new(&self, accounts: impl Iterator<Item = Account>) {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let mut taken: HashSet<String> = live.iter().map(|a| a.id.clone()).collect();
        for mut account in accounts {
            while !taken.insert(account.id.clone()) {
                account.id = ids::prefixed("apn_", 8);
            }
            live.push(account);
        }
    }

    pub fn clear(&self) -> usize {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let n = live.len();
        live.clear();
        n
    }

    pub fn restore_seeded(&self) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = self.seeded.clone();
    }

    pub fn find(&self, id: &str) -> Option<Account> {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|a| a.id == id)
            .cloned()
    }

    /// Creation order, filtered.
    pub fn filtered(&self, keep: impl Fn(&Account) -> bool) -> Vec<Account> {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|a| keep(a))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::host_label_for;

    #[test]
    fn host_labels_are_dns_labels() {
        assert_eq!(host_label_for("User_1"), "d3v-user-1");
        assert_eq!(host_label_for("jane@example.com"), "d3v-jane-example-com");
        assert_eq!(host_label_for("--x--"), "d3v-x");
        assert_eq!(host_label_for("!!!"), "d3v");
        assert_eq!(host_label_for(&"a".repeat(100)).len(), 63);
    }
}
