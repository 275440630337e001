//! Connection webhooks: what Pipedream POSTs to a Connect token's `webhook_uri` when a user
//! finishes (or fails) connecting an account. The payload carries no documented signature, so
//! it is read strictly and trusted only as far as its shape: Director should treat it as a
//! hint and read the account back (`getAccount`) before relying on it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Connect;
use crate::engine::error::{Error, Result};
use crate::engine::json::to_json;

/// The largest webhook body read (a real one is a few KB).
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
struct WireEvent {
    event: String,
    connect_token: Option<String>,
    environment: Option<String>,
    connect_session_id: Option<Value>,
    account: Option<WireAccount>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct WireAccount {
    id: String,
    name: Option<String>,
    external_id: String,
    healthy: Option<bool>,
    dead: Option<bool>,
    app: Option<Value>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// A connection event as `parseConnectionWebhook` answers it.
#[derive(Serialize)]
#[serde(tag = "event")]
enum ConnectionEvent {
    #[serde(rename = "CONNECTION_SUCCESS")]
    Success {
        connect_token: Option<String>,
        environment: Option<String>,
        connect_session_id: Option<Value>,
        account: ConnectedAccount,
    },
    /// The API's `error` text is `reason` here: in this package's answers `error` is always a
    /// `PIPEDREAM_*` code.
    #[serde(rename = "CONNECTION_ERROR")]
    Error {
        connect_token: Option<String>,
        environment: Option<String>,
        connect_session_id: Option<Value>,
        reason: String,
    },
}

#[derive(Serialize)]
struct ConnectedAccount {
    id: String,
    name: Option<String>,
    external_user_id: String,
    app: Option<String>,
    healthy: Option<bool>,
    dead: Option<bool>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// Why a body is not a connection event, as an argument error.
fn not_an_event(why: &str) -> Error {
    Error::InvalidArgs(format!(
        "parseConnectionWebhook: the body is not a Pipedream Connect connection event ({why})"
    ))
}

impl Connect {
    /// Reads a connection webhook's raw body. A `CONNECTION_SUCCESS` also forgets which
    /// account runs had resolved for that user and app, so the next run sees the new one.
    pub fn parse_connection_webhook(&self, body: &[u8]) -> Result<String> {
        if body.len() > MAX_BODY_BYTES {
            return Err(not_an_event("larger than 1 MB"));
        }
        let wire: WireEvent =
            serde_json::from_slice(body).map_err(|_| not_an_event("not the JSON of an event"))?;
        let event = match wire.event.as_str() {
            "CONNECTION_SUCCESS" => {
                let account = wire
                    .account
                    .ok_or_else(|| not_an_event("CONNECTION_SUCCESS without an account"))?;
                if super::accounts::check_account_id(&account.id).is_err() {
                    return Err(not_an_event("the account id is not an apn_ id"));
                }
                let app = account
                    .app
                    .as_ref()
                    .and_then(|a| a.get("name_slug"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.forget_account_choices(&account.external_id);
                ConnectionEvent::Success {
                    connect_token: wire.connect_token,
                    environment: wire.environment,
                    connect_session_id: wire.connect_session_id,
                    account: ConnectedAccount {
                        id: account.id,
                        name: account.name,
                        external_user_id: account.external_id,
                        app,
                        healthy: account.healthy,
                        dead: account.dead,
                        created_at: account.created_at,
                        updated_at: account.updated_at,
                    },
                }
            }
            "CONNECTION_ERROR" => ConnectionEvent::Error {
                connect_token: wire.connect_token,
                environment: wire.environment,
                connect_session_id: wire.connect_session_id,
                reason: wire.error.unwrap_or_default(),
            },
            _ => {
                return Err(not_an_event(
                    "its event is neither CONNECTION_SUCCESS nor CONNECTION_ERROR",
                ));
            }
        };
        Ok(to_json(&event))
    }
}
