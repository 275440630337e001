//! Connected accounts (`apn_…`). Seeded from `--account` at start-up, added
//! through the control API, and restored to the seeded set on reset.

use std::sync::RwLock;

use serde_json::{Value, json};

use crate::catalog::{App, Catalog};
use crate::clock;
use crate::ids;

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
        let credentials = match auth_type {
            "keys" => json!({ "api_key": format!("emulated_key_{}", ids::hex(12)) }),
            "none" => json!({}),
            _ => json!({
                "oauth_client_id": format!("emulated-client-{}", spec.app.name_slug),
                "oauth_access_token": format!("emulated_access_{}", ids::hex(16)),
                "oauth_refresh_token": format!("emulated_refresh_{}", ids::hex(16)),
                "oauth_uid": format!("uid-{}", spec.external_user_id),
            }),
        };
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

pub struct AccountStore {
    seeded: Vec<Account>,
    live: RwLock<Vec<Account>>,
}

impl AccountStore {
    pub fn new(seeded: Vec<Account>) -> Self {
        Self {
            live: RwLock::new(seeded.clone()),
            seeded,
        }
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
