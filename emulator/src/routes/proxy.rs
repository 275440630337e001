//! `{GET,HEAD,POST,PUT,PATCH,DELETE} /v1/connect/{project}/proxy/{url_64}`:
//! the Connect proxy. The request is checked in the order below, each failure
//! answered in the API's error shape; a request that passes goes to the echo
//! upstream (`upstream.rs`) with the account's credentials inserted, and its
//! answer comes back as it is: status, body, content type, no envelope.
//!
//! 1. `external_user_id` and `account_id` (query) are required: 400.
//! 2. `url_64` must decode (see `proxy_target::decode_url64`): 400.
//! 3. The account must exist and be the user's: 404, as on actions/run.
//! 4. The account's app must have `connect.proxy_enabled`: 403 (UNCONFIRMED status).
//! 5. The URL: base joined, https, allowed domains (`proxy_target::resolve`).
//! 6. Only `x-pd-proxy-<name>` headers go upstream, as `<name>`; a blocked name is a 400.
//! 7. The upstream must answer within 30 s (504), and be reachable (502).
//!
//! Every request that gets past the project check is journaled
//! (`GET /__emulator/proxy`) with the status it was answered.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{Verbatim, check_project};
use crate::accounts::Account;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::journal::ProxyEntry;
use crate::proxy_target::{self, Target};
use crate::query::Query;
use crate::state::SharedState;
use crate::upstream::{ACCOUNT_HEADER, UPSTREAM_URL_HEADER};

/// Caller headers meant for the upstream carry this prefix ("Headers that
/// contain the prefix `x-pd-proxy` will get forwarded to the upstream API").
const FORWARD_PREFIX: &str = "x-pd-proxy-";

/// Forwarded names the proxy refuses with a 400. The list and the status come
/// from a third-party double that calls them documented: UNCONFIRMED.
const BLOCKED: [&str; 19] = [
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
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

/// "a maximum timeout of 30 seconds … Pipedream will return a 504" (docs).
/// Counted until the upstream's status and headers arrive.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn proxy(
    State(st): State<SharedState>,
    Path((project, url_64)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(e) = check_project(&st, &project) {
        return e.into_response();
    }
    let mut entry = ProxyEntry {
        seq: 0,
        ts_ms: clock::now_ms(),
        method: method.as_str().to_string(),
        url: None,
        target_url: None,
        external_user_id: None,
        account_id: None,
        status: 0,
    };
    let resp = match handle(
        &st,
        &mut entry,
        raw.as_deref(),
        &url_64,
        method,
        &headers,
        body,
    )
    .await
    {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    entry.status = resp.status().as_u16();
    st.journal.record_proxy(entry);
    resp
}

async fn handle(
    st: &SharedState,
    entry: &mut ProxyEntry,
    raw_query: Option<&str>,
    url_64: &str,
    method: Method,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let q = Query::parse(raw_query)?;
    entry.external_user_id = q.get("external_user_id").map(str::to_string);
    entry.account_id = q.get("account_id").map(str::to_string);
    let user = q
        .non_empty("external_user_id")
        .ok_or_else(|| ApiError::bad_request("external_user_id is required"))?;
    let account_id = q
        .non_empty("account_id")
        .ok_or_else(|| ApiError::bad_request("account_id is required"))?;
    let url = proxy_target::decode_url64(url_64)?;
    entry.url = Some(url.clone());
    let account = st
        .accounts
        .find(account_id)
        .filter(|a| a.external_id == user)
        .ok_or_else(|| ApiError::not_found(format!("account {account_id} not found")))?;
    let slug = account.app_slug.as_str();
    let connect = st
        .catalog
        .app(slug)
        .and_then(|app| app.connect.as_ref())
        .filter(|c| c.proxy_enabled)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!("the proxy is not enabled for app {slug}"),
            )
        })?;
    let target = proxy_target::resolve(slug, connect, &account.id, &account.credentials, &url)?;
    entry.target_url = Some(target.url.clone());
    let (mut upstream_headers, auth_filled) = forwarded_headers(headers, &account)?;
    // The body goes as it is, with the request's content type unless the
    // caller forwarded one of its own.
    if !upstream_headers.contains_key(header::CONTENT_TYPE)
        && let Some(ct) = headers.get(header::CONTENT_TYPE)
    {
        upstream_headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    set_upstream_headers(&mut upstream_headers, &account, &target, auth_filled)?;
    let mut req = Request::builder()
        .method(method)
        .uri(target.path_and_query.as_str())
        .body(body)
        .map_err(|e| ApiError::bad_request(format!("invalid URL {:?}: {e}", target.url)))?;
    *req.headers_mut() = upstream_headers;
    send_upstream(st.upstream, req).await
}

/// `x-pd-proxy-<name>` headers as `<name>`, each `{{field}}` in a value filled
/// with the account's credential of that name; every other caller header stays
/// here. Also whether `authorization` was filled so.
fn forwarded_headers(headers: &HeaderMap, account: &Account) -> ApiResult<(HeaderMap, bool)> {
    let mut out = HeaderMap::new();
    let mut auth_filled = false;
    for (name, value) in headers {
        let Some(rest) = name.as_str().strip_prefix(FORWARD_PREFIX) else {
            continue;
        };
        if BLOCKED.contains(&rest) {
            return Err(ApiError::bad_request(format!(
                "header {rest} cannot be proxied"
            )));
        }
        let forwarded = HeaderName::from_bytes(rest.as_bytes()).map_err(|_| {
            ApiError::bad_request(format!("header {name} names no header to forward"))
        })?;
        let filled = fill_credentials(rest, value, account)?;
        auth_filled |= forwarded == header::AUTHORIZATION && filled != value;
        out.append(forwarded, filled);
    }
    Ok((out, auth_filled))
}

/// "For apps that require a different authentication method, you should
/// include the necessary headers with the value surrounded by `{{ }}` …
/// Pipedream will automatically replace the macro with the real values"
/// (Pipedream's proxy docs, e.g. `authorization: Bearer {{api_key}}`). Which
/// names it knows beyond the account's credential fields is UNCONFIRMED: a
/// `{{…}}` the account cannot fill is a 400 here, as in a base URL.
fn fill_credentials(name: &str, value: &HeaderValue, account: &Account) -> ApiResult<HeaderValue> {
    let Ok(text) = value.to_str() else {
        return Ok(value.clone());
    };
    if !text.contains("{{") {
        return Ok(value.clone());
    }
    let mut filled = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let field = rest[start + 2..start + 2 + len].trim();
        let field = field.strip_prefix("custom_fields.").unwrap_or(field);
        let secret = account
            .credentials
            .get(field)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "header {name}: account {} has no credential {field:?} to fill in",
                    account.id
                ))
            })?;
        filled.push_str(&rest[..start]);
        filled.push_str(secret);
        rest = &rest[start + 2 + len + 2..];
    }
    filled.push_str(rest);
    HeaderValue::from_str(&filled).map_err(|_| {
        ApiError::bad_request(format!(
            "header {name}: the filled value is not a header value"
        ))
    })
}

/// What Pipedream adds: the account's credentials as a Bearer `authorization`
/// ("Pipedream will … automatically insert the authorization credentials"),
/// replacing a forwarded one (whether a literal one could win instead is
/// UNCONFIRMED) unless the caller's was filled from the account (`{{…}}`, for
/// apps whose auth is another scheme); the target's Host; and two emulator
/// headers the echo reports.
fn set_upstream_headers(
    h: &mut HeaderMap,
    account: &Account,
    target: &Target,
    auth_filled: bool,
) -> ApiResult<()> {
    let value = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|_| ApiError::bad_request(format!("invalid URL {:?}", target.url)))
    };
    if let Some(auth) = account.injected_authorization()
        && !auth_filled
    {
        h.insert(header::AUTHORIZATION, value(&auth)?);
    }
    h.insert(header::HOST, value(&target.authority)?);
    h.insert(UPSTREAM_URL_HEADER, value(&target.url)?);
    h.insert(ACCOUNT_HEADER, value(&account.id)?);
    Ok(())
}

/// One request on a fresh connection; the answer is relayed as it comes.
async fn send_upstream(addr: SocketAddr, req: Request<Body>) -> ApiResult<Response> {
    let send = async move {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender
            .send_request(req)
            .await
            .map_err(|e| format!("request: {e}"))
    };
    let upstream = match tokio::time::timeout(UPSTREAM_TIMEOUT, send).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("the upstream could not be reached: {e}"),
            ));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the upstream did not answer within {} s",
                    UPSTREAM_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    // Status, content type and body; which other upstream headers the real
    // proxy relays is UNCONFIRMED, so none are.
    let (parts, body) = upstream.into_parts();
    let mut resp = Response::new(Body::new(body));
    *resp.status_mut() = parts.status;
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
    }
    resp.extensions_mut().insert(Verbatim);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_502() {
        // A port that was free a moment ago and has no listener now.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let req = Request::builder().uri("/").body(Body::empty()).unwrap();
        let e = send_upstream(addr, req).await.unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert!(
            e.error.starts_with("the upstream could not be reached"),
            "{}",
            e.error
        );
    }

    fn account() -> Account {
        Account {
            id: "apn_test".into(),
            name: None,
            external_id: "u".into(),
            app_slug: "openai".into(),
            healthy: true,
            dead: false,
            created_ms: 0,
            updated_ms: 0,
            credentials: serde_json::json!({ "api_key": "sk-emulated", "subdomain": "acme" }),
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_account_and_unknown_ones_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-pd-proxy-authorization",
            HeaderValue::from_static("Bearer {{api_key}}"),
        );
        h.insert(
            "x-pd-proxy-x-site",
            HeaderValue::from_static("{{ custom_fields.subdomain }}-{{api_key}}"),
        );
        let (out, auth_filled) = forwarded_headers(&h, &account()).unwrap();
        assert!(auth_filled);
        assert_eq!(out["authorization"], "Bearer sk-emulated");
        assert_eq!(out["x-site"], "acme-sk-emulated");
        let mut h = HeaderMap::new();
        h.insert(
            "x-pd-proxy-x-api-key",
            HeaderValue::from_static("{{oauth_access_token}}"),
        );
        let e = forwarded_headers(&h, &account()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn only_prefixed_headers_are_forwarded_and_blocked_names_refused() {
        let mut h = HeaderMap::new();
        h.insert("x-pd-proxy-x-api-version", HeaderValue::from_static("2"));
        h.append("x-pd-proxy-accept", HeaderValue::from_static("a"));
        h.append("x-pd-proxy-accept", HeaderValue::from_static("b"));
        h.insert("x-custom", HeaderValue::from_static("not forwarded"));
        let (out, auth_filled) = forwarded_headers(&h, &account()).unwrap();
        assert!(!auth_filled);
        assert_eq!(out.len(), 3);
        assert_eq!(out["x-api-version"], "2");
        assert_eq!(out.get_all("accept").iter().count(), 2);
        for name in BLOCKED {
            let mut h = HeaderMap::new();
            h.insert(
                HeaderName::from_bytes(format!("{FORWARD_PREFIX}{name}").as_bytes()).unwrap(),
                HeaderValue::from_static("x"),
            );
            let e = forwarded_headers(&h, &account()).unwrap_err();
            assert_eq!(e.error, format!("header {name} cannot be proxied"));
        }
    }
}
