use std::time::Duration;

use serde::Serialize;

use super::config::ConfigError;
use super::secret::Secret;

/// One thing wrong with a node's `params`: which param, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub param: String,
    pub problem: String,
}

/// The stable, machine-readable error codes. They are part of the public API: Director and LLM
/// tool loops branch on them, so a code is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Disabled,
    InvalidArgs,
    AuthMissing,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Network,
    Timeout,
    BadResponse,
    RequestFailed,
    InvalidConfig,
    AccountMissing,
    AccountAmbiguous,
    InvalidParams,
    ActionFailed,
    UnexpectedRedirect,
    Internal,
    Aborted,
    ProxyRefused,
    WebhookSignature,
    WebhookStale,
    WebhookReplay,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 24] = [
        Self::Disabled,
        Self::InvalidArgs,
        Self::AuthMissing,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::RateLimited,
        Self::ServerError,
        Self::Network,
        Self::Timeout,
        Self::BadResponse,
        Self::RequestFailed,
        Self::InvalidConfig,
        Self::AccountMissing,
        Self::AccountAmbiguous,
        Self::InvalidParams,
        Self::ActionFailed,
        Self::UnexpectedRedirect,
        Self::Internal,
        Self::Aborted,
        Self::ProxyRefused,
        Self::WebhookSignature,
        Self::WebhookStale,
        Self::WebhookReplay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "PIPEDREAM_DISABLED",
            Self::InvalidArgs => "PIPEDREAM_INVALID_ARGS",
            Self::AuthMissing => "PIPEDREAM_AUTH_MISSING",
            Self::Unauthorized => "PIPEDREAM_UNAUTHORIZED",
            Self::Forbidden => "PIPEDREAM_FORBIDDEN",
            Self::NotFound => "PIPEDREAM_NOT_FOUND",
            Self::RateLimited => "PIPEDREAM_RATE_LIMITED",
            Self::ServerError => "PIPEDREAM_SERVER_ERROR",
            Self::Network => "PIPEDREAM_NETWORK",
            Self::Timeout => "PIPEDREAM_TIMEOUT",
            Self::BadResponse => "PIPEDREAM_BAD_RESPONSE",
            Self::RequestFailed => "PIPEDREAM_REQUEST_FAILED",
            Self::InvalidConfig => "PIPEDREAM_INVALID_CONFIG",
            Self::AccountMissing => "PIPEDREAM_ACCOUNT_MISSING",
            Self::AccountAmbiguous => "PIPEDREAM_ACCOUNT_AMBIGUOUS",
            Self::InvalidParams => "PIPEDREAM_INVALID_PARAMS",
            Self::ActionFailed => "PIPEDREAM_ACTION_FAILED",
            Self::UnexpectedRedirect => "PIPEDREAM_UNEXPECTED_REDIRECT",
            Self::Internal => "PIPEDREAM_INTERNAL",
            Self::Aborted => "ABORT_ERR",
            Self::ProxyRefused => "PIPEDREAM_PROXY_REFUSED",
            Self::WebhookSignature => "PIPEDREAM_WEBHOOK_SIGNATURE",
            Self::WebhookStale => "PIPEDREAM_WEBHOOK_STALE",
            Self::WebhookReplay => "PIPEDREAM_WEBHOOK_REPLAY",
        }
    }
}

/// Every failure of the core. Messages are written for a person or an LLM to act on, and never
/// contain a credential: server bodies are redacted and cut before they get here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(
        "Pipedream integration is disabled. Set PIPEDREAM_ENABLED=true (or the `enabled` option) to enable API automation."
    )]
    Disabled,

    #[error("{0}")]
    InvalidArgs(String),

    /// The client's options or environment variables are wrong (module functions only: a
    /// `PipedreamClient` constructor throws a TypeError instead).
    #[error("{0}")]
    InvalidConfig(#[from] ConfigError),

    #[error(
        "Pipedream authentication required. Choose one option:\n  1. Set environment variable: PIPEDREAM_API_TOKEN=your_token (or PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET for OAuth client credentials, recommended)\n  2. Add a context node with the token: {{ type: 'context', config: {{ variables: {{ pipedream_token: 'your_token' }} }} }}\n  3. Use auth_config in the node: config: {{ auth_config: {{ token: 'your_token' }} }}\n  (or pass `token` / `clientId` and `clientSecret` in the PipedreamClient options)"
    )]
    AuthMissing,

    /// The API answered with a non-success status. `body` is the server's `error` text
    /// (redacted and shortened), kept so callers can show what the API said.
    #[error("{}", api_message(*status, body, *retry_after))]
    Api {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },

    /// The OAuth token endpoint refused the client credentials (`invalid_client`, with a 400 or a
    /// 401): `status` as it came, the code `PIPEDREAM_UNAUTHORIZED`.
    #[error(
        "Pipedream API error {status}: the OAuth client credentials were rejected ({}). Check PIPEDREAM_CLIENT_ID / PIPEDREAM_CLIENT_SECRET (or the clientId / clientSecret options).",
        reason.as_deref().unwrap_or("no reason given")
    )]
    CredentialsRejected { status: u16, reason: Option<String> },

    /// The app answered a proxied request with a status other than 2xx, relayed by Pipedream's
    /// proxy: the status and the start of its body (redacted and shortened). It is the app's
    /// answer, not Pipedream's, so the message gives no advice about Pipedream's ids.
    #[error("{}", app_message(*status, body, *retry_after))]
    AppAnswered {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },

    /// The connection broke after the request may have been sent: the API was reached, so
    /// the message does not say it could not be.
    #[error("The connection to the Pipedream API broke: {0}")]
    Network(String),

    /// No connection was made, so nothing was sent.
    #[error("Could not reach the Pipedream API: {0}")]
    Connect(String),

    /// Another instance (sharing `store.redis`) claimed the idempotency key and stopped
    /// renewing its claim before its run answered: it may have sent the run.
    #[error("The instance running this idempotency key stopped before its run answered.")]
    ClaimLapsed,

    /// The value the shared store keeps under an idempotency key is no answer this version can
    /// read: the run may have happened, so it is not run again.
    #[error(
        "The answer the shared store keeps for this idempotency key could not be read (written by another version, or by something else). Use a new idempotencyKey to run it again."
    )]
    UnreadableKept,

    /// A run request failed in a way that leaves open whether the action ran (a 5xx, a timeout
    /// or a broken connection after it was sent). It is never retried automatically.
    #[error("{0} The action may have run; it was not retried, to avoid running it twice.")]
    MaybeExecuted(Box<Error>),

    /// A step before the request itself failed (getting the OAuth token) after its own
    /// retries, or the server's TLS certificate was refused: not to be retried again, and the
    /// request was never sent.
    #[error("{0}")]
    NotSent(Box<Error>),

    #[error("The Pipedream API did not answer within {} ms. Try again, or raise `timeoutMs`.", .0.as_millis())]
    Timeout(Duration),

    #[error("The Pipedream API sent a response this client cannot read: {0}")]
    BadResponse(String),

    /// The external user has no usable account for the app. `connect_link` is a Connect Link
    /// URL the user can open to connect one (when it could be created).
    #[error(
        "No connected {app} account for external user {external_user_id:?}. {}",
        match connect_link {
            Some(url) => format!("Ask the user to connect one at {url} and try again, or pass account_id."),
            None => "Ask the user to connect one through Pipedream Connect, or pass account_id.".to_owned(),
        }
    )]
    AccountMissing {
        app: String,
        external_user_id: String,
        connect_link: Option<String>,
    },

    /// Several usable accounts: picking one would be a guess.
    #[error(
        "External user {external_user_id:?} has {} connected {app} accounts ({}). Pass account_id to say which one to use.",
        accounts.len(),
        accounts.iter().map(|(id, name)| match name { Some(n) => format!("{id} \"{n}\""), None => id.clone() }).collect::<Vec<_>>().join(", ")
    )]
    AccountAmbiguous {
        app: String,
        external_user_id: String,
        accounts: Vec<(String, Option<String>)>,
    },

    /// `params` do not fit the component; nothing was sent to the run endpoint.
    #[error("the params do not fit the component: {}", problems_text(.0))]
    InvalidParams(Vec<Problem>),

    /// The run reached the action, which reported an error (HTTP 200 with an `os` error).
    #[error("the action reported {name}: {message}")]
    ActionFailed { name: String, message: String },

    #[error("the operation was aborted")]
    Aborted,

    /// A proxy request this client will not send: the app has no proxy, the URL is outside
    /// the app's allowed domains or not https, or a header would replace the account's auth.
    /// Nothing was sent.
    #[error("{0}")]
    ProxyRefused(String),

    /// A trigger webhook delivery whose signature (or path token) is missing or wrong.
    #[error("{0}")]
    WebhookSignature(String),

    /// A trigger webhook delivery signed outside the tolerance window.
    #[error("{0}")]
    WebhookStale(String),

    /// A trigger webhook delivery already verified once (in this process).
    #[error("{0}")]
    WebhookReplay(String),

    /// The server answered with a redirect. No Connect endpoint redirects, and following one
    /// could send a run or a credential elsewhere, so it is not followed.
    #[error(
        "The server at the base URL answered {status} with a redirect to {}; it was not followed, because no Pipedream Connect endpoint redirects. Check `baseUrl` (PIPEDREAM_BASE_URL) and any proxy in front of it.",
        location.as_deref().unwrap_or("a location it did not name")
    )]
    Redirected {
        status: u16,
        location: Option<String>,
    },

    /// A bug in this package (a panic), caught before it reached JS.
    #[error("internal error in @director/pipedream-connect ({0}); please report it")]
    Internal(String),

    /// The whole call (all requests and retries) took longer than `deadlineMs`.
    #[error("The call did not finish within deadlineMs ({} ms). Try again, or raise `deadlineMs`.", .0.as_millis())]
    Deadline(Duration),

    /// Our own limiter refused to send: waiting for capacity would take longer than allowed.
    #[error(
        "Rate limit reached for Pipedream {class} requests; capacity returns in about {} ms. Wait before retrying, or raise `rateLimit.maxWaitMs`.",
        .retry_after.as_millis()
    )]
    LocalRateLimit {
        class: &'static str,
        retry_after: Duration,
    },
}

impl Error {
    /// This error, under `MaybeExecuted` when `sent`: a request that changes something failed
    /// after its bytes may have reached the server.
    pub fn maybe_executed_if(self, sent: bool) -> Self {
        match sent {
            true => Self::MaybeExecuted(Box::new(self)),
            false => self,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Disabled => ErrorCode::Disabled,
            Self::InvalidArgs(_) => ErrorCode::InvalidArgs,
            Self::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Self::AuthMissing => ErrorCode::AuthMissing,
            Self::CredentialsRejected { .. } => ErrorCode::Unauthorized,
            Self::Api { status, .. } => code_for_status(*status),
            Self::AppAnswered { status, .. } if (300..400).contains(status) => {
                ErrorCode::UnexpectedRedirect
            }
            Self::AppAnswered { status, .. } => code_for_status(*status),
            Self::Network(_) | Self::Connect(_) | Self::ClaimLapsed => ErrorCode::Network,
            Self::MaybeExecuted(inner) | Self::NotSent(inner) => inner.code(),
            Self::Timeout(_) | Self::Deadline(_) => ErrorCode::Timeout,
            Self::BadResponse(_) | Self::UnreadableKept => ErrorCode::BadResponse,
            Self::LocalRateLimit { .. } => ErrorCode::RateLimited,
            Self::AccountMissing { .. } => ErrorCode::AccountMissing,
            Self::AccountAmbiguous { .. } => ErrorCode::AccountAmbiguous,
            Self::InvalidParams(_) => ErrorCode::InvalidParams,
            Self::ActionFailed { .. } => ErrorCode::ActionFailed,
            Self::ProxyRefused(_) => ErrorCode::ProxyRefused,
            Self::WebhookSignature(_) => ErrorCode::WebhookSignature,
            Self::WebhookStale(_) => ErrorCode::WebhookStale,
            Self::WebhookReplay(_) => ErrorCode::WebhookReplay,
            Self::Redirected { .. } => ErrorCode::UnexpectedRedirect,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Aborted => ErrorCode::Aborted,
        }
    }

    /// The HTTP status that caused this error, if one did.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::AppAnswered { status, .. }
            | Self::CredentialsRejected { status, .. }
            | Self::Redirected { status, .. } => Some(*status),
            Self::MaybeExecuted(inner) | Self::NotSent(inner) => inner.status(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::NotSent(inner) => inner.retry_after(),
            Self::Api { retry_after, .. } | Self::AppAnswered { retry_after, .. } => *retry_after,
            Self::LocalRateLimit { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// `retry_after` as the `retry_after_ms` field that rejections and answers carry.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after().map(|d| d.as_millis() as u64)
    }

    /// What a program reads instead of parsing the message: the Connect Link and app of a
    /// missing account, the candidates of an ambiguous one, an action's own error, how long
    /// to wait after a rate limit. Set on rejections, batch reasons and failed answers alike.
    pub fn fields(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        use serde_json::json;
        if let Some(wait) = self.retry_after_ms() {
            let mut map = serde_json::Map::new();
            map.insert("retry_after_ms".into(), json!(wait));
            return Some(map);
        }
        let value = match self.root() {
            Self::AccountMissing {
                app, connect_link, ..
            } => json!({ "app": app, "connect_link_url": connect_link }),
            Self::AccountAmbiguous { app, accounts, .. } => json!({
                "app": app,
                "accounts": accounts.iter().map(|(id, name)| json!({ "id": id, "name": name, "healthy": true })).collect::<Vec<_>>(),
            }),
            Self::ActionFailed { name, message } => {
                json!({ "action_error": { "name": name, "message": message } })
            }
            _ => return None,
        };
        match value {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// This error with `secret` taken out of the server text it quotes.
    pub fn redacting(self, secret: &Secret) -> Self {
        match self {
            Self::Api {
                status,
                body,
                retry_after,
            } => Self::Api {
                status,
                body: secret.redact_in(&body),
                retry_after,
            },
            Self::BadResponse(text) => Self::BadResponse(secret.redact_in(&text)),
            Self::MaybeExecuted(inner) => Self::MaybeExecuted(Box::new(inner.redacting(secret))),
            Self::NotSent(inner) => Self::NotSent(Box::new(inner.redacting(secret))),
            other => other,
        }
    }

    /// This error without the server text it quotes from a success body, for an answer that
    /// holds credentials (an account's, a webhook signing key): one cut short or with an odd
    /// field would quote them. Only where it failed is kept.
    pub fn unquoted(self) -> Self {
        match self {
            Self::BadResponse(_) => Self::BadResponse(
                "the answer could not be read; it is not quoted, as it holds credentials".into(),
            ),
            Self::MaybeExecuted(inner) => Self::MaybeExecuted(Box::new(inner.unquoted())),
            other => other,
        }
    }

    /// `unquoted` for an answer that holds credentials only when asked for them.
    pub fn unquoted_if(self, holds_credentials: bool) -> Self {
        match holds_credentials {
            true => self.unquoted(),
            false => self,
        }
    }

    /// This error as the app's, for a proxied request: what the API layer read as the API's
    /// status or redirect is the app's answer, relayed.
    pub fn relayed(self) -> Self {
        match self {
            Self::Api {
                status,
                body,
                retry_after,
            } => Self::AppAnswered {
                status,
                body,
                retry_after,
            },
            Self::Redirected { status, location } => Self::AppAnswered {
                status,
                body: format!(
                    "a redirect to {}",
                    location.as_deref().unwrap_or("a location it did not name")
                ),
                retry_after: None,
            },
            Self::MaybeExecuted(inner) => Self::MaybeExecuted(Box::new(inner.relayed())),
            other => other,
        }
    }

    /// The error under a `MaybeExecuted` wrapper.
    pub fn root(&self) -> &Error {
        match self {
            Self::MaybeExecuted(inner) | Self::NotSent(inner) => inner.root(),
            other => other,
        }
    }

    /// Errors raised by a request to the API (counted by the API layer).
    pub fn is_api_failure(&self) -> bool {
        matches!(
            self,
            Self::Api { .. }
                | Self::AppAnswered { .. }
                | Self::CredentialsRejected { .. }
                | Self::Network(_)
                | Self::Connect(_)
                | Self::Timeout(_)
                | Self::BadResponse(_)
                | Self::Redirected { .. }
                | Self::LocalRateLimit { .. }
                | Self::MaybeExecuted(_)
                | Self::NotSent(_)
        )
    }

    /// Failures that will likely pass on their own, so old data may stand in for new.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotSent(inner) => inner.is_transient(),
            Self::Network(_)
            | Self::Connect(_)
            | Self::Timeout(_)
            | Self::LocalRateLimit { .. } => true,
            Self::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 | 422 => ErrorCode::InvalidArgs,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        408 | 504 => ErrorCode::Timeout,
        429 => ErrorCode::RateLimited,
        500..=599 => ErrorCode::ServerError,
        _ => ErrorCode::RequestFailed,
    }
}

/// What a panic carried, short: it names the bug without quoting data.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    text.chars().take(200).collect()
}

/// Most problems an error lists, and the most characters of a name or problem it repeats:
/// params come from the caller, and a message must stay readable whatever they hold.
pub const MAX_PROBLEMS: usize = 20;
const MAX_PROBLEM_CHARS: usize = 300;
const MAX_NAME_CHARS: usize = 80;

/// `text`, cut to `max` characters with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Problems as an error reports them: names and texts cut, at most `MAX_PROBLEMS`.
pub fn shortened(problems: &[Problem]) -> Vec<Problem> {
    problems
        .iter()
        .take(MAX_PROBLEMS)
        .map(|p| Problem {
            param: cut(&p.param, MAX_NAME_CHARS),
            problem: cut(&p.problem, MAX_PROBLEM_CHARS),
        })
        .collect()
}

fn problems_text(problems: &[Problem]) -> String {
    let mut text = shortened(problems)
        .iter()
        .map(|p| format!("{} {}", p.param, p.problem))
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > MAX_PROBLEMS {
        text.push_str(&format!("; and {} more", problems.len() - MAX_PROBLEMS));
    }
    text
}

/// The plan's actionable wording: what happened, then what to do about it.
fn api_message(status: u16, body: &str, retry_after: Option<Duration>) -> String {
    let what = if body.is_empty() {
        format!("Pipedream API error {status}")
    } else {
        format!("Pipedream API error {status}: {body}")
    };
    let hint = match status {
        401 => "Authentication failed. Check your Pipedream credentials (PIPEDREAM_CLIENT_ID/PIPEDREAM_CLIENT_SECRET, or the access token in PIPEDREAM_API_TOKEN / the `token` option).".to_owned(),
        403 => "Permission denied. Verify that the OAuth client belongs to this project (PIPEDREAM_PROJECT_ID) and has the needed scopes.".to_owned(),
        404 => "Not found. Check the project id, app slug, component id or account id.".to_owned(),
        429 => match retry_after {
            Some(d) => format!("Rate limit exceeded. Wait {} ms before retrying.", d.as_millis()),
            None => "Rate limit exceeded. Wait before retrying.".to_owned(),
        },
        400 | 422 => "The request was rejected as invalid; check the arguments.".to_owned(),
        s if s >= 500 => "Pipedream had a server-side problem. Try again in a moment.".to_owned(),
        _ => String::new(),
    };
    if hint.is_empty() {
        what
    } else {
        format!("{what}. {hint}")
    }
}

/// What an app's own error status means for the caller of the proxy.
fn app_message(status: u16, body: &str, retry_after: Option<Duration>) -> String {
    let what = match body.is_empty() {
        true => format!("The app answered {status}"),
        false => format!("The app answered {status}: {body}"),
    };
    let hint = match status {
        300..=399 => "Redirects are not followed through the proxy; request the URL it names.".to_owned(),
        400 | 422 => "The app refused the request as invalid; check the URL, headers and body against the app's API.".to_owned(),
        401 => "The app (or Pipedream's proxy) refused the credentials: the user may need to reconnect the account, or the app takes its key in a header of its own, given with a placeholder Pipedream fills in (such as `x-api-key: {{api_key}}`).".to_owned(),
        403 => "The connected account may lack the permission or scope this request needs.".to_owned(),
        404 => "The app has nothing at this URL; check the path (a relative URL is joined to the app's API base).".to_owned(),
        429 => match retry_after {
            Some(d) => format!("Rate limited. Wait {} ms before retrying.", d.as_millis()),
            None => "Rate limited. Wait before retrying.".to_owned(),
        },
        s if s >= 500 => "The app (or Pipedream's proxy) had a server-side problem. Try again in a moment.".to_owned(),
        _ => String::new(),
    };
    match hint.is_empty() {
        true => what,
        false => format!("{what}. {hint}"),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure as JS will see it: `name`, `code`, `message`, and the fields that apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    pub name: &'static str,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(rename = "retryAfterMs", skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Problem>>,
    /// The run request was sent and may have run the action; it was not retried.
    pub maybe_executed: bool,
    /// `Error::fields`: structured data the message also says.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ErrorReport {
    pub fn of(component_id: &str, e: &Error) -> Self {
        let maybe_executed = matches!(e, Error::MaybeExecuted(_));
        if let Error::Aborted = e.root() {
            return Self {
                name: "AbortError",
                code: "ABORT_ERR",
                message: if maybe_executed {
                    "This operation was aborted after the run request was sent; the action may have run".into()
                } else {
                    "This operation was aborted".into()
                },
                status: None,
                retry_after_ms: None,
                details: None,
                maybe_executed,
                fields: None,
            };
        }
        // The id is the caller's: repeated, but never at length.
        let who = if component_id.is_empty() {
            "(unknown)".to_owned()
        } else {
            cut(component_id, 100)
        };
        let mut report = Self::plain(e);
        if report.name == "PipedreamError" {
            report.message = format!("Pipedream component '{who}' failed: {e}");
        }
        report
    }

    /// A report read back from its JSON (an answer kept in the shared store by another
    /// instance): `None` when the name or code is not one of ours.
    pub fn from_json(text: &str) -> Option<Self> {
        let serde_json::Value::Object(mut v) = serde_json::from_str(text).ok()? else {
            return None;
        };
        let name = match v.remove("name")?.as_str()? {
            "AbortError" => "AbortError",
            "PipedreamError" => "PipedreamError",
            _ => return None,
        };
        let code = v.remove("code")?;
        let code = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .find(|c| Some(*c) == code.as_str())?;
        let message = v.remove("message")?.as_str()?.to_owned();
        let status = v
            .remove("status")
            .and_then(|s| s.as_u64())
            .and_then(|s| u16::try_from(s).ok());
        let retry_after_ms = v.remove("retryAfterMs").and_then(|s| s.as_u64());
        let details = v
            .remove("details")
            .and_then(|d| serde_json::from_value(d).ok());
        let maybe_executed = v.remove("maybe_executed")?.as_bool()?;
        Some(Self {
            name,
            code,
            message,
            status,
            retry_after_ms,
            details,
            maybe_executed,
            fields: (!v.is_empty()).then(|| Box::new(v)),
        })
    }

    /// A failure of a call that is not about a component (accounts, users, tokens): the
    /// error's own message.
    pub fn plain(e: &Error) -> Self {
        let maybe_executed = matches!(e, Error::MaybeExecuted(_));
        if let Error::Aborted = e.root() {
            return Self::of("", e);
        }
        Self {
            name: "PipedreamError",
            code: e.code().as_str(),
            message: e.to_string(),
            status: e.status(),
            retry_after_ms: e.retry_after_ms(),
            details: match e {
                Error::InvalidParams(p) => Some(shortened(p)),
                _ => None,
            },
            maybe_executed,
            fields: e.fields().map(Box::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_stable_codes() {
        let cases = [
            (400, "PIPEDREAM_INVALID_ARGS"),
            (401, "PIPEDREAM_UNAUTHORIZED"),
            (403, "PIPEDREAM_FORBIDDEN"),
            (404, "PIPEDREAM_NOT_FOUND"),
            (408, "PIPEDREAM_TIMEOUT"),
            (429, "PIPEDREAM_RATE_LIMITED"),
            (500, "PIPEDREAM_SERVER_ERROR"),
            (503, "PIPEDREAM_SERVER_ERROR"),
            (409, "PIPEDREAM_REQUEST_FAILED"),
        ];
        for (status, code) in cases {
            let e = Error::Api {
                status,
                body: "x".into(),
                retry_after: None,
            };
            assert_eq!(e.code().as_str(), code, "status {status}");
        }
    }

    #[test]
    fn messages_carry_the_plans_hints() {
        let e = Error::Api {
            status: 429,
            body: "Throttled".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            e.to_string(),
            "Pipedream API error 429: Throttled. Rate limit exceeded. Wait 2000 ms before retrying."
        );
        let e = Error::Api {
            status: 401,
            body: String::new(),
            retry_after: None,
        };
        assert!(
            e.to_string()
                .starts_with("Pipedream API error 401. Authentication failed.")
        );
    }
}
