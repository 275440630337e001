//! Shared server state. The catalog and config are immutable after start-up;
//! everything mutable sits behind its own small lock so unrelated requests
//! never contend (the request log is the only lock every request touches).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::accounts::AccountStore;
use crate::auth::TokenStore;
use crate::catalog::Catalog;
use crate::faults::FaultStore;
use crate::journal::Journal;
use crate::stash::StashStore;
use crate::triggers::{DeliveryLog, TriggerStore};
use crate::webhooks::WebhookLog;

#[derive(Debug, Clone)]
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl_secs: u64,
    pub project_id: String,
    pub max_page_size: usize,
    /// `--list-without-props`: list items leave out `configurable_props`.
    pub list_without_props: bool,
    /// `--dynamic-props-ttl-secs`: how long a `dyp_…` id stays usable (None = forever).
    pub dynamic_props_ttl_secs: Option<u64>,
    /// `--deploy-emits`: fixture samples a trigger emits on deploy (0: none).
    pub deploy_emits: usize,
    pub verbose: bool,
}

/// What `POST …/props` produced, so a later configure/run can name it.
#[derive(Debug, Clone)]
pub struct DynamicProps {
    pub component_key: String,
    pub external_user_id: String,
    pub created_ms: u64,
    pub props: Vec<Value>,
}

/// A minted Connect token and the options it was created with, so
/// `GET /v1/connect/tokens/{ctok}/validate` and `POST /__emulator/connect`
/// (a user finishing the Connect Link) can act on them.
#[derive(Debug, Clone)]
pub struct ConnectToken {
    pub external_user_id: String,
    /// `x-pd-environment` of the create request: the token's environment.
    pub environment: String,
    pub expires_at_ms: u64,
    pub app_id: Option<String>,
    pub oauth_app_id: Option<String>,
    pub success_redirect_uri: Option<String>,
    pub error_redirect_uri: Option<String>,
    pub webhook_uri: Option<String>,
    /// Kept as sent; nothing in the emulator enforces them.
    #[allow(dead_code)]
    pub allowed_origins: Vec<String>,
    #[allow(dead_code)]
    pub scope: Option<String>,
    #[allow(dead_code)]
    pub allow_progressive_scopes: bool,
    /// Connect tokens are single-use: set once an account was connected with it.
    pub used: bool,
}

impl ConnectToken {
    pub fn expired(&self) -> bool {
        crate::clock::now_ms() >= self.expires_at_ms
    }
}

pub struct AppState {
    pub cfg: Config,
    pub catalog: Catalog,
    pub tokens: TokenStore,
    pub accounts: AccountStore,
    pub journal: Journal,
    pub faults: FaultStore,
    pub dynamic_props: Mutex<HashMap<String, DynamicProps>>,
    pub connect_tokens: Mutex<HashMap<String, ConnectToken>>,
    /// Connection webhooks sent (`GET /__emulator/webhooks`).
    pub webhooks: WebhookLog,
    /// Last `connect_session_id` handed out by `POST /__emulator/connect`.
    pub connect_sessions: AtomicU64,
    /// TCP connections (`GET /__emulator/connections`).
    pub connections: Arc<crate::server::Connections>,
    /// File Stash stashes, files and presigned URLs.
    pub stash: StashStore,
    /// Deployed triggers, their webhooks and events.
    pub triggers: TriggerStore,
    /// Deployed-trigger webhook deliveries (`GET /__emulator/trigger-deliveries`).
    pub trigger_deliveries: DeliveryLog,
    /// Where the Connect proxy forwards to: the echo upstream (`upstream.rs`).
    pub upstream: std::net::SocketAddr,
    /// `http://host:port` of this emulator, for the URLs it hands out.
    pub base_url: String,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// `POST /__emulator/reset`: back to the start-up picture, except that
    /// issued access tokens stay as they are (clients keep their cached token);
    /// `--api-key` tokens get a fresh lifetime.
    pub fn reset(&self) {
        self.tokens.rearm_api_keys();
        self.faults.clear_and_reseed();
        self.journal.clear();
        lock(&self.dynamic_props).clear();
        lock(&self.connect_tokens).clear();
        self.webhooks.clear();
        self.stash.clear();
        self.triggers.clear();
        self.trigger_deliveries.clear();
        self.connect_sessions.store(0, Ordering::Relaxed);
        self.accounts.restore_seeded();
    }

    pub fn next_connect_session(&self) -> u64 {
        self.connect_sessions.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A poisoned lock only means another request panicked mid-update; the data
/// is plain bookkeeping, so keep serving rather than cascade the panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
