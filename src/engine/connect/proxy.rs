//! Connect's proxy: a request to an app's own API, sent with the user's connected account
//! (`/v1/connect/{project}/proxy/{base64url(url)}?external_user_id&account_id`). Pipedream puts
//! the account's credentials in; we check before sending what the app allows (its
//! `connect.allowed_domains`, https only) and that no header of the caller's would replace
//! that auth. What the app answers comes back as it came: status, headers, body.

use std::sync::atomic::AtomicBool;

use base64::Engine as _;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::{Connect, lenient};
use crate::engine::args::{Args, kind};
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, Result, cut};
use crate::engine::transport::api::{Bearer, Outcome, Read};
use crate::engine::transport::http::RawResponse;
use crate::engine::transport::retry::Replay;

const SHAPE: &str = "proxy expects { method, url, app?, headers?, body?, max_bytes? }";
/// Longest URL taken (encoded, it becomes one path segment a third longer).
const MAX_URL_CHARS: usize = 8_000;
const MAX_HEADERS: usize = 50;
/// Largest request body sent.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// How much of an answer is kept by default; `max_bytes` changes it, up to `maxResponseBytes`.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

/// Headers Pipedream sets itself: the account's auth, and what the HTTP layer owns. A caller's
/// `authorization` or API-key header would replace the connected account's credentials, so
/// the request would no longer act as that account.
const REFUSED_HEADERS: [&str; 24] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "apikey",
    "cookie",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "permissions-policy",
    "referer",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Of `REFUSED_HEADERS`, those that carry an app's credentials: sent when their value takes
/// them from the account with a `{{…}}` placeholder, refused when it would carry others.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "apikey"];

/// One proxy request, checked: what to send, to which app.
#[derive(Debug, Clone)]
pub struct ProxySpec {
    pub app: Option<String>,
    pub method: Method,
    pub url: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    pub max_bytes: usize,
}

/// A request body and the `content-type` the proxy request carries for it (the caller's, which
/// also goes to the app as `x-pd-proxy-content-type` like any header of theirs).
#[derive(Debug, Clone)]
struct Body {
    text: String,
    content_type: String,
}

/// What an app allows through the proxy: `connect` in the app's record. The docs' app objects
/// carry it, but SDK 3's App schema does not: a record without it (or without one of its
/// fields) leaves that check to Pipedream's proxy rather than refusing here.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppProxy {
    #[serde(default, deserialize_with = "lenient::bool")]
    pub proxy_enabled: Option<bool>,
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    pub base_proxy_target_url: Option<String>,
}

/// What the app answered, as `proxyRequest` gives it.
#[derive(Debug, Serialize)]
pub struct ProxyAnswer {
    pub status: u16,
    pub headers: Map<String, Value>,
    /// JSON when the app said so and it parsed, else text, else base64 (`body_encoding`).
    pub body: Value,
    pub body_encoding: &'static str,
    /// The body was longer than `max_bytes` and was cut there.
    pub truncated: bool,
    /// The URL the request went to (relative when the app's base is account-specific).
    pub url: String,
    pub account_id: String,
}

impl ProxySpec {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(v, SHAPE)?;
        let method = a
            .one_of("method", &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])?
            .ok_or_else(|| {
                a.fail("`method` is required: GET, HEAD, POST, PUT, PATCH or DELETE".into())
            })?;
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| a.fail("`method` is not an HTTP method".into()))?;
        let url = a.required_string(
            "url",
            MAX_URL_CHARS,
            "\"https://slack.com/api/users.list\" or \"/api/users.list\" (relative to the app's API)",
        )?;
        let app = match a.raw("app") {
            None => None,
            Some(_) => Some(a.id("app", "\"slack\"")?),
        };
        let mut headers = Vec::new();
        if let Some(given) = a.object("headers")? {
            if given.len() > MAX_HEADERS {
                return Err(a.fail(format!("at most {MAX_HEADERS} headers")));
            }
            for (name, value) in given {
                headers.push(header(&a, &name, &value)?);
            }
        }
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone());
        let body = match a.raw("body") {
            None => None,
            Some(_) if matches!(method, Method::GET | Method::HEAD) => {
                return Err(a.fail(format!("a {method} request has no body")));
            }
            Some(Value::String(text)) => Some(Body {
                text: text.clone(),
                content_type: content_type.unwrap_or_else(|| "text/plain; charset=utf-8".into()),
            }),
            Some(v) => match content_type {
                Some(ct) if !is_json(&ct) => {
                    return Err(a.fail(format!(
                        "`body` is JSON but content-type is {ct:?}; pass the body as a string for other types"
                    )));
                }
                ct => Some(Body {
                    text: v.to_string(),
                    content_type: ct.unwrap_or_else(|| "application/json".into()),
                }),
            },
        };
        let size = body.as_ref().map_or(0, |b| b.text.len());
        if size > MAX_BODY_BYTES {
            return Err(a.fail(format!("`body` is larger than {MAX_BODY_BYTES} bytes")));
        }
        let max_bytes = a
            .integer("max_bytes", 1, 1 << 30)?
            .map_or(DEFAULT_MAX_BYTES, |n| n as usize);
        Ok(Self {
            app,
            method,
            url,
            headers,
            body,
            max_bytes,
        })
    }

    /// Whether sending it twice changes nothing: then it is retried like a read.
    pub fn is_read(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD)
    }

    /// "proxy GET https://slack.com", for errors: the method and the origin (or the app, for
    /// a relative URL), never the path or query, which may hold the user's data.
    pub fn label(&self) -> String {
        label(self.method.as_str(), &self.url, self.app.as_deref())
    }

    /// The origin of an absolute URL; the app, for a relative one.
    pub fn origin(&self) -> String {
        origin(&self.url, self.app.as_deref())
    }
}

/// `ProxySpec::label` of a request not yet read (or refused as it was read): `proxy` alone
/// when it has no method and URL to name.
pub fn label_of(request: &Value) -> String {
    let text = |k| request.get(k).and_then(Value::as_str);
    match (text("method"), text("url")) {
        (Some(method), Some(url)) if method.len() <= 10 => label(method, url, text("app")),
        _ => "proxy".into(),
    }
}

fn label(method: &str, url: &str, app: Option<&str>) -> String {
    format!("proxy {method} {}", origin(url, app))
}

fn origin(url: &str, app: Option<&str>) -> String {
    let place = match Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => app.unwrap_or("(the account's app)").to_owned(),
    };
    cut(&place, 100)
}

/// A header for the app: a token name, a value HTTP can carry, not one Pipedream owns.
fn header(a: &Args, name: &str, value: &Value) -> Result<(String, String)> {
    let lower = name.trim().to_ascii_lowercase();
    let token = !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(a.fail(format!("header name {:?} is not valid", cut(name, 60))));
    }
    let Value::String(value) = value else {
        return Err(a.fail(format!(
            "header {lower:?} must be a string, got {}",
            kind(value)
        )));
    };
    let credential = CREDENTIAL_HEADERS.contains(&lower.as_str());
    let placed = credential && only_placeholders(value);
    if (REFUSED_HEADERS.contains(&lower.as_str()) && !placed) || lower.starts_with("x-pd-") {
        let hint = match credential {
            true => {
                " (an app whose key goes in a header of its own takes it with a placeholder Pipedream fills in from the account, such as \"Bearer {{api_key}}\")"
            }
            false => "",
        };
        return Err(Error::ProxyRefused(format!(
            "header {lower:?} cannot be sent through the proxy: Pipedream sets the connected account's auth and the connection headers itself; remove it{hint}"
        )));
    }
    if !value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Err(a.fail(format!(
            "header {lower:?} holds control or non-ASCII characters, which HTTP cannot carry"
        )));
    }
    Ok((lower, value.clone()))
}

/// Whether `value` takes its credential from the account only: `{{name}}` placeholders, which
/// Pipedream's proxy replaces with the connected account's field of that name ("include the
/// necessary headers with the value surrounded by `{{ }}`", Pipedream's proxy docs, for apps
/// whose auth is not a Bearer token), after at most an auth scheme (`Bearer `,
/// `Zoho-oauthtoken `) and joined by `:` or spaces (`Basic {{user}}:{{password}}`). Anything
/// else beside them could be a credential of the caller's own.
fn only_placeholders(value: &str) -> bool {
    let mut outside = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        let Some((name, after)) = rest[start + 2..].split_once("}}") else {
            return false;
        };
        let name = name.trim();
        let named = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !named {
            return false;
        }
        outside.push(&rest[..start]);
        rest = after;
    }
    let Some((scheme, between)) = outside.split_first() else {
        return false;
    };
    let scheme_ok = scheme.is_empty()
        || scheme.ends_with(' ')
            && scheme.trim_end().len() <= 32
            && scheme
                .trim_end()
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-');
    scheme_ok
        && between
            .iter()
            .chain([&rest])
            .all(|s| s.bytes().all(|b| b == b':' || b == b' '))
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || mime.ends_with("+json")
}

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    let domain = domain.trim().trim_start_matches('.').to_ascii_lowercase();
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(&domain)
                .is_some_and(|rest| rest.ends_with('.')))
}

impl AppProxy {
    /// The URL to send for `url`, or why not. A relative URL is joined to the app's base; a
    /// base with `{{…}}` placeholders is filled by Pipedream from the account, and a record
    /// without `connect` names no base, so then the relative URL is sent as it is and only
    /// Pipedream can check it.
    pub fn target(&self, app: &str, url: &str) -> Result<String> {
        if self.proxy_enabled == Some(false) {
            return Err(Error::ProxyRefused(format!(
                "{app} cannot be reached through the Connect proxy (its proxy is not enabled); use one of its actions (getComponents) instead"
            )));
        }
        let base = self
            .base_proxy_target_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let absolute = if url.starts_with('/') {
            match base {
                Some(b) if b.contains("{{") => return Ok(url.to_owned()),
                Some(b) => format!("{}{url}", b.trim_end_matches('/')),
                None if self.proxy_enabled.is_none() => return Ok(url.to_owned()),
                None => {
                    return Err(Error::ProxyRefused(format!(
                        "{app} has no proxy base URL, so {:?} cannot be relative; pass an absolute https URL",
                        cut(url, 100)
                    )));
                }
            }
        } else {
            url.to_owned()
        };
        let parsed = Url::parse(&absolute).map_err(|e| {
            Error::InvalidArgs(format!(
                "proxy `url` {:?} is not a URL ({e}); pass an absolute https URL or a path starting with /",
                cut(url, 100)
            ))
        })?;
        if parsed.scheme() != "https" {
            return Err(Error::ProxyRefused(format!(
                "only https URLs can be proxied, not {}:",
                cut(parsed.scheme(), 20)
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::ProxyRefused(
                "a proxy URL cannot carry credentials; the connected account's are used".into(),
            ));
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        if let Some(domains) = &self.allowed_domains
            && !domains.iter().any(|d| within(&host, d))
        {
            return Err(Error::ProxyRefused(format!(
                "{} is not among {app}'s allowed domains ({}); the proxy only reaches those",
                cut(&host, 100),
                domains.join(", ")
            )));
        }
        Ok(absolute)
    }
}

impl Connect {
    /// Sends `spec` with the account of `user` for its app (or `account_id`). A read is
    /// retried as reads are; anything else is sent once, and `sent` says whether it may have
    /// reached the app.
    pub async fn proxy(
        &self,
        spec: &ProxySpec,
        user: &str,
        account_id: Option<&str>,
        bearer: &Bearer,
        sent: &AtomicBool,
    ) -> Result<Outcome<ProxyAnswer>> {
        let app = match (&spec.app, account_id) {
            (Some(app), _) => app.clone(),
            (None, Some(id)) => self.account_app(id, user, bearer).await?,
            (None, None) => {
                return Err(Error::InvalidArgs(
                    "a proxy request needs `app` (the app's slug, e.g. \"slack\") or an account_id, to know whose API and which account".into(),
                ));
            }
        };
        // A record without `connect` leaves the checks to Pipedream's proxy.
        let record = self.app_record(&app, bearer).await?;
        let unchecked = AppProxy::default();
        let target = record
            .proxy
            .as_ref()
            .unwrap_or(&unchecked)
            .target(&app, &spec.url)?;
        let account = self.resolve_account(&app, user, account_id, bearer).await?;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&target);
        let path = self.project_path(&format!("proxy/{encoded}"))?;
        let query = [("external_user_id", user), ("account_id", account.as_str())];
        let build = || {
            let mut request = self.api.request(spec.method.clone(), &path).query(&query);
            for (name, value) in &spec.headers {
                request = request.header(format!("x-pd-proxy-{name}"), value);
            }
            match &spec.body {
                Some(b) => request
                    .header(http::header::CONTENT_TYPE, &b.content_type)
                    .body(b.text.clone()),
                None => request,
            }
        };
        // A read that may have reached the app changed nothing there: an abort or the
        // deadline after it is not "maybe executed".
        let read_sent = AtomicBool::new(false);
        let (replay, sent) = match spec.is_read() {
            true => (Replay::Safe, &read_sent),
            false => (Replay::RunOnce, sent),
        };
        let sent_raw = self
            .api
            .send_raw(
                EndpointClass::Proxy,
                bearer,
                replay,
                sent,
                Read::Relayed {
                    keep: spec.max_bytes,
                },
                build,
            )
            .await?;
        Ok(sent_raw.map(|raw| answer(raw, target, account)))
    }
}

/// The app's answer as data: headers a caller can use (not cookies), the body decoded as its
/// content type says.
fn answer(raw: RawResponse, url: String, account_id: String) -> ProxyAnswer {
    let mut headers = Map::new();
    for (name, value) in &raw.headers {
        if matches!(
            name.as_str(),
            "set-cookie" | "connection" | "keep-alive" | "transfer-encoding"
        ) {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    let content_type = headers
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let json = (is_json(content_type) && !raw.truncated)
        .then(|| serde_json::from_slice::<Value>(&raw.body).ok())
        .flatten();
    let (body, body_encoding) = match (json, std::str::from_utf8(&raw.body)) {
        (Some(v), _) => (v, "json"),
        (None, Ok(text)) if !text.contains('\0') => (Value::String(text.to_owned()), "text"),
        // A cut may fall inside a character: the whole characters before it are text.
        (None, Err(e)) if raw.truncated && e.error_len().is_none() => (
            Value::String(String::from_utf8_lossy(&raw.body[..e.valid_up_to()]).into_owned()),
            "text",
        ),
        _ => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(&raw.body)),
            "base64",
        ),
    };
    ProxyAnswer {
        status: raw.status.as_u16(),
        headers,
        body,
        body_encoding,
        truncated: raw.truncated,
        url,
        account_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slack() -> AppProxy {
        AppProxy {
            proxy_enabled: Some(true),
            allowed_domains: Some(vec!["slack.com".into()]),
            base_proxy_target_url: Some("https://slack.com".into()),
        }
    }

    #[test]
    fn targets_stay_within_the_allowed_domains_over_https() {
        let s = slack();
        assert_eq!(
            s.target("slack", "/api/users.list?limit=2").unwrap(),
            "https://slack.com/api/users.list?limit=2"
        );
        assert!(s.target("slack", "https://files.slack.com/x").is_ok());
        for (url, code) in [
            ("https://evilslack.com/api", "PIPEDREAM_PROXY_REFUSED"),
            ("https://slack.com.evil.io/api", "PIPEDREAM_PROXY_REFUSED"),
            ("http://slack.com/api", "PIPEDREAM_PROXY_REFUSED"),
            ("https://user:pw@slack.com/api", "PIPEDREAM_PROXY_REFUSED"),
            ("slack.com/api", "PIPEDREAM_INVALID_ARGS"),
        ] {
            let e = s.target("slack", url).unwrap_err();
            assert_eq!(e.code().as_str(), code, "{url}");
        }
        let zendesk = AppProxy {
            proxy_enabled: Some(true),
            allowed_domains: Some(vec!["zendesk.com".into()]),
            base_proxy_target_url: Some("https://{{custom_fields.subdomain}}.zendesk.com".into()),
        };
        assert_eq!(
            zendesk.target("zendesk", "/api/v2/tickets").unwrap(),
            "/api/v2/tickets"
        );
        let off = AppProxy {
            proxy_enabled: Some(false),
            ..AppProxy::default()
        };
        assert_eq!(
            off.target("postgresql", "https://x.io")
                .unwrap_err()
                .code()
                .as_str(),
            "PIPEDREAM_PROXY_REFUSED"
        );
    }

    /// An app record without `connect` (SDK 3's App schema has none) says nothing about the
    /// proxy: Pipedream's proxy decides, and only this client's own rules (https, no
    /// credentials in the URL) are checked here.
    #[test]
    fn an_app_record_without_connect_leaves_the_checks_to_pipedream() {
        let record: crate::engine::connect::One<crate::engine::connect::apps::AppRecord> =
            serde_json::from_value(json!({ "data": { "name_slug": "slack", "name": "Slack" } }))
                .unwrap();
        let unknown = record.data.proxy.unwrap_or_default();
        assert_eq!(
            unknown
                .target("slack", "https://slack.com/api/users.list")
                .unwrap(),
            "https://slack.com/api/users.list"
        );
        assert_eq!(
            unknown.target("slack", "/api/users.list").unwrap(),
            "/api/users.list"
        );
        for url in ["http://slack.com/api", "https://u:p@slack.com/api"] {
            let e = unknown.target("slack", url).unwrap_err();
            assert_eq!(e.code().as_str(), "PIPEDREAM_PROXY_REFUSED", "{url}");
        }
        // `connect` with only some of its fields: the ones given still count.
        let partial: AppProxy =
            serde_json::from_value(json!({ "allowed_domains": ["slack.com"] })).unwrap();
        assert!(partial.target("slack", "https://slack.com/api").is_ok());
        let e = partial.target("slack", "https://evil.io/api").unwrap_err();
        assert_eq!(e.code().as_str(), "PIPEDREAM_PROXY_REFUSED");
        let off: AppProxy = serde_json::from_value(json!({ "proxy_enabled": false })).unwrap();
        assert!(off.target("slack", "https://slack.com/api").is_err());
    }

    #[test]
    fn headers_that_would_replace_auth_are_refused() {
        for name in [
            "Authorization",
            "x-api-key",
            "Cookie",
            "Host",
            "x-pd-proxy-authorization",
        ] {
            let e = ProxySpec::parse(&json!({
                "method": "GET", "url": "/x", "headers": { name: "v" }
            }))
            .unwrap_err();
            assert_eq!(e.code().as_str(), "PIPEDREAM_PROXY_REFUSED", "{name}");
        }
        let ok = ProxySpec::parse(&json!({
            "method": "POST", "url": "/x", "headers": { "X-Trace": "1" }, "body": {"a": 1}
        }))
        .unwrap();
        assert_eq!(ok.headers, vec![("x-trace".to_owned(), "1".to_owned())]);
        assert!(!ok.is_read());
        for bad in [
            json!({"method": "GET", "url": "/x", "body": {"a": 1}}),
            json!({"method": "TRACE", "url": "/x"}),
            json!({"method": "GET", "url": "/x", "headers": {"a b": "1"}}),
            json!({"method": "GET", "url": "/x", "headers": {"x": "a\nb"}}),
            json!({"method": "POST", "url": "/x", "headers": {"content-type": "text/csv"}, "body": {"a": 1}}),
        ] {
            assert_eq!(
                ProxySpec::parse(&bad).unwrap_err().code().as_str(),
                "PIPEDREAM_INVALID_ARGS",
                "{bad}"
            );
        }
    }

    /// Pipedream's proxy docs: an app whose auth is not a Bearer token gets its header with a
    /// `{{…}}` placeholder, which the proxy fills in from the account.
    #[test]
    fn credential_headers_go_with_a_placeholder_only() {
        for (name, value) in [
            ("authorization", "Bearer {{api_key}}"),
            ("Authorization", "Zoho-oauthtoken {{ oauth_access_token }}"),
            ("x-api-key", "{{api_key}}"),
        ] {
            let spec = ProxySpec::parse(&json!({
                "method": "GET", "url": "/x", "headers": { name: value }
            }))
            .unwrap();
            assert_eq!(
                spec.headers,
                vec![(name.to_ascii_lowercase(), value.to_owned())]
            );
        }
        for (name, value) in [
            ("authorization", "Basic {{user}}:{{password}}"),
            ("apikey", "{{api_key}} "),
        ] {
            assert!(
                ProxySpec::parse(
                    &json!({"method": "GET", "url": "/x", "headers": { name: value }})
                )
                .is_ok(),
                "{value}"
            );
        }
        for (name, value) in [
            ("authorization", "Bearer sk-literal"),
            ("authorization", "Bearer {{}}"),
            ("authorization", "Bearer {{api key}}"),
            ("authorization", "LITSECRET{{api_key}}"),
            ("authorization", "Bearer {{api_key}} LITERALSECRET123"),
            ("authorization", "Basic {{api_key}}:LITSECRET"),
            ("api-key", "LITERAL9SECRET {{api_key}}"),
            ("x-api-key", "{{api_key"),
            ("cookie", "session={{token}}"),
            ("x-pd-proxy-authorization", "{{api_key}}"),
        ] {
            let e = ProxySpec::parse(&json!({
                "method": "GET", "url": "/x", "headers": { name: value }
            }))
            .unwrap_err();
            assert_eq!(
                e.code().as_str(),
                "PIPEDREAM_PROXY_REFUSED",
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn answers_decode_by_content_type() {
        let raw = |ct: &str, body: &[u8], truncated| RawResponse {
            status: http::StatusCode::OK,
            headers: [(http::header::CONTENT_TYPE, ct.parse().unwrap())]
                .into_iter()
                .collect(),
            body: bytes::Bytes::copy_from_slice(body),
            truncated,
        };
        let a = answer(
            raw("application/json; charset=utf-8", b"{\"ok\":true}", false),
            "u".into(),
            "apn_1".into(),
        );
        assert_eq!((a.body, a.body_encoding), (json!({"ok": true}), "json"));
        let a = answer(
            raw("application/json", b"{\"ok\":tr", true),
            "u".into(),
            "apn_1".into(),
        );
        assert_eq!(
            (a.body, a.body_encoding, a.truncated),
            (json!("{\"ok\":tr"), "text", true)
        );
        let a = answer(
            raw("image/png", &[0x89, b'P', 0, 0xff], false),
            "u".into(),
            "apn_1".into(),
        );
        assert_eq!((a.body, a.body_encoding), (json!("iVAA/w=="), "base64"));
        let a = answer(
            raw("text/plain", "é".as_bytes()[..1].as_ref(), true),
            "u".into(),
            "apn_1".into(),
        );
        assert_eq!((a.body, a.body_encoding), (json!(""), "text"));
    }
}
