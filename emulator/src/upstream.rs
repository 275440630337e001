//! The echo upstream: a plain-HTTP server on 127.0.0.1 that every Connect
//! proxy request is forwarded to, whatever host its target URL names (the
//! emulator has no internet and no TLS). It answers with what it received, so
//! a test sees exactly what the proxy forwarded, and the target URL's own query
//! steers it: `__status`, `__bytes`, `__delay_ms`, `__content_type`. It starts
//! and stops with the emulator (see `lib.rs`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::error::{ApiError, json_response};
use crate::state::SharedState;

/// Set by the proxy: the full target URL and the account whose credentials it inserted.
pub const UPSTREAM_URL_HEADER: &str = "x-emulator-upstream-url";
pub const ACCOUNT_HEADER: &str = "x-emulator-account";

/// `__bytes` is capped here, and so is the request body the echo reads.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// `__delay_ms` is capped here: past the proxy's 30 s limit, but bounded.
pub const MAX_DELAY_MS: u64 = 120_000;

/// Serves until `stop` resolves, then drops every open connection (a request
/// sleeping on `__delay_ms` must not outlive the emulator).
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            // Reap finished connections so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = &mut stop => break,
        };
        let st = state.clone();
        connections.spawn(async move {
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let st = st.clone();
                async move { Ok::<_, Infallible>(echo(&st, req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
    connections.abort_all();
}

/// What the target URL's query asks of the echo.
#[derive(Debug, Default)]
struct Controls {
    status: Option<StatusCode>,
    bytes: Option<u64>,
    delay_ms: Option<u64>,
    content_type: Option<HeaderValue>,
}

impl Controls {
    /// A value that cannot be used is the upstream's own 400, relayed by the proxy.
    fn read(query: &Map<String, Value>) -> Result<Self, String> {
        let text = |k: &str| query.get(k).and_then(Value::as_str);
        let number = |k: &str| {
            text(k)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| format!("{k} must be a whole number, not {v:?}"))
                })
                .transpose()
        };
        let status = match number("__status")? {
            None => None,
            Some(n) => Some(
                u16::try_from(n)
                    .ok()
                    .filter(|n| (200..=599).contains(n))
                    .and_then(|n| StatusCode::from_u16(n).ok())
                    .ok_or("__status must be 200..599")?,
            ),
        };
        let content_type = text("__content_type")
            .map(|v| {
                HeaderValue::from_str(v).map_err(|_| format!("__content_type {v:?} cannot be sent"))
            })
            .transpose()?;
        Ok(Self {
            status,
            bytes: number("__bytes")?.map(|n| n.min(MAX_BYTES)),
            delay_ms: number("__delay_ms")?.map(|n| n.min(MAX_DELAY_MS)),
            content_type,
        })
    }
}

async fn echo(st: &SharedState, req: hyper::Request<Incoming>) -> Response {
    let (parts, body) = req.into_parts();
    // Repeated parameters: the first one wins, as on the API's own routes.
    let mut query = Map::new();
    let pairs: Vec<(String, String)> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    for (k, v) in pairs {
        query.entry(k).or_insert(Value::String(v));
    }
    let controls = match Controls::read(&query) {
        Ok(c) => c,
        Err(msg) => return ApiError::bad_request(msg).into_response(),
    };
    let body = match to_bytes(Body::new(body), MAX_BYTES as usize).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the echo upstream reads at most {MAX_BYTES} bytes"),
            )
            .into_response();
        }
    };
    if let Some(ms) = controls.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = controls.status.unwrap_or(StatusCode::OK);
    let mut resp = match controls.bytes {
        Some(n) => {
            let mut resp = Response::new(Body::from(vec![b'x'; n as usize]));
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            resp
        }
        None => {
            let url = parts
                .headers
                .get(UPSTREAM_URL_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| parts.uri.to_string());
            json_response(
                status,
                &json!({
                    "method": parts.method.as_str(),
                    "url": url,
                    "query": query,
                    "headers": headers_json(&parts.headers),
                    "authorized_as": authorized_as(st, &parts.headers),
                    "body": body_json(&body),
                    "body_bytes": body.len(),
                }),
            )
        }
    };
    if let Some(ct) = controls.content_type {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp
}

/// Every header received but `authorization`, so the credential the proxy
/// inserted never shows (`authorized_as` says whether it was right). Repeated
/// headers are joined with `, `.
fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        if name == header::AUTHORIZATION {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match out.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => {
                out.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    Value::Object(out)
}

/// The account named by the proxy's `x-emulator-account`, when `authorization`
/// is exactly the credential the proxy inserts for it.
fn authorized_as(st: &SharedState, headers: &HeaderMap) -> Value {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let (Some(id), Some(sent)) = (text(ACCOUNT_HEADER), text(header::AUTHORIZATION.as_str()))
    else {
        return Value::Null;
    };
    st.accounts
        .find(id)
        .filter(|a| a.injected_authorization().as_deref() == Some(sent))
        .map_or(Value::Null, |a| Value::String(a.id))
}

/// JSON when the body parses as JSON, else its text; null when empty.
fn body_json(body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
