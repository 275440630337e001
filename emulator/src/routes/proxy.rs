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
    let mut upstream_headers = forwarded_headers(headers)?;
    // The body goes as it is, with the request's content type unless the
    // caller forwarded one of its own.
    if !upstream_headers.contains_key(header::CONTENT_TYPE)
        && let Some(ct) = headers.get(header::CONTENT_TYPE)
    {
        upstream_headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    set_upstream_headers(&mut upstream_headers, &account, &target)?;
    let mut req = Request::builder()
        .method(method)
        .uri(target.path_and_query.as_str())
        .body(body)
        .map_err(|e| ApiError::bad_request(format!("invalid URL {:?}: {e}", target.url)))?;
    *req.headers_mut() = upstream_headers;
    send_upstream(st.upstream, req).await
}

/// `x-pd-proxy-<name>` headers as `<name>`; every other caller header stays here.
fn forwarded_headers(headers: &HeaderMap) -> ApiResult<HeaderMap> {
    let mut out = HeaderMap::new();
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
        out.append(forwarded, value.clone());
    }
    Ok(out)
}

/// What Pipedream adds: the account's credentials, which replace any forwarded
/// `authorization` ("Pipedream will … automatically insert the authorization
/// credentials"; whether a forwarded one could win instead is UNCONFIRMED), the
/// target's Host, and two emulator headers the echo reports.
fn set_upstream_headers(h: &mut HeaderMap, account: &Account, target: &Target) -> ApiResult<()> {
    let value = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|_| ApiError::bad_request(format!("invalid URL {:?}", target.url)))
    };
    if let Some(auth) = account.injected_authorization() {
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

    #[test]
    fn only_prefixed_headers_are_forwarded_and_blocked_names_refused() {
        let mut h = HeaderMap::new();
        h.insert("x-pd-proxy-x-api-version", HeaderValue::from_static("2"));
        h.append("x-pd-proxy-accept", HeaderValue::from_static("a"));
        h.append("x-pd-proxy-accept", HeaderValue::from_static("b"));
        h.insert("x-custom", HeaderValue::from_static("not forwarded"));
        let out = forwarded_headers(&h).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out["x-api-version"], "2");
        assert_eq!(out.get_all("accept").iter().count(), 2);
        for name in BLOCKED {
            let mut h = HeaderMap::new();
            h.insert(
                HeaderName::from_bytes(format!("{FORWARD_PREFIX}{name}").as_bytes()).unwrap(),
                HeaderValue::from_static("x"),
            );
            let e = forwarded_headers(&h).unwrap_err();
            assert_eq!(e.error, format!("header {name} cannot be proxied"));
        }
    }
}
