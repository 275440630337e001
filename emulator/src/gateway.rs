//! The outermost layer for API traffic: logs each request and carries out
//! fault rules. Control routes (`/__emulator/*`) pass straight through so
//! tests can always inspect and steer the emulator, whatever faults are set.

use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::clock;
use crate::error::ApiError;
use crate::fault_body::FaultBody;
use crate::faults::{Effect, MalformedKind, RuleSpec, When};
use crate::journal::RequestEntry;
use crate::server::ConnKill;
use crate::state::SharedState;

pub const CONTROL_PREFIX: &str = "/__emulator";

/// Real responses here are small JSON; this only bounds the buffering done
/// by `malformed: "truncated"` (with `when: after`) and `stall_body_ms`.
const MAX_REWRITE_BODY: usize = 16 * 1024 * 1024;

pub async fn gateway(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path
        .strip_prefix(CONTROL_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_string();
    let entry = RequestEntry {
        seq: 0,
        ts_ms: clock::now_ms(),
        method: method.clone(),
        path: path.clone(),
        query: req.uri().query().map(str::to_string),
        status: 0,
        fault: false,
        token_seq: auth::bearer(req.headers()).and_then(|t| st.tokens.seq_of(t)),
        environment: req
            .headers()
            .get("x-pd-environment")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let seq = st.journal.begin_request(entry);

    let resp = match st.faults.pick(&method, &path) {
        None => next.run(req).await,
        Some(rule) => {
            st.journal.update_request(seq, |e| e.fault = true);
            apply_fault(rule, req, next).await
        }
    };

    let status = resp.status().as_u16();
    st.journal.update_request(seq, |e| e.status = status);
    if st.cfg.verbose {
        eprintln!("{method} {path} -> {status}");
    }
    resp
}

async fn apply_fault(rule: RuleSpec, req: Request, next: Next) -> Response {
    if let Some(ms) = rule.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    let effect = rule.effect();
    // `after`: the handler runs for real (side effects, run journal) and only
    // its answer is lost — the "action may have run" case. A rule with no
    // replacement effect (pure delay / headers) always lets the handler answer.
    let real = if rule.when() == When::After || matches!(effect, Effect::PassThrough) {
        Some(next.run(req).await)
    } else {
        None
    };
    let stall = rule.stall_body_ms.map(Duration::from_millis);
    let mut resp = match effect {
        Effect::Reset => match kill {
            Some(kill) => {
                kill.fire();
                // The connection task drops this future along with the socket.
                std::future::pending::<Response>().await
            }
            // Only reachable when the router is driven without our accept loop.
            None => ApiError::new(StatusCode::BAD_GATEWAY, "connection reset (emulated)")
                .into_response(),
        },
        Effect::Malformed(status, kind) => malformed_response(status, kind, real).await,
        Effect::Oversize(status, n) => {
            // Streamed, never buffered: the stall (if any) is built in here.
            let mut body = FaultBody::oversize_json(n);
            if let Some(pause) = stall {
                body = body.stall_half_way(pause);
            }
            let mut resp = with_type(status, body.into(), "application/json");
            rule.apply_headers(&mut resp);
            return resp;
        }
        Effect::Redirect(status, url) => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = status;
            if let Ok(v) = HeaderValue::from_str(&url) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Effect::Respond(status, body) => with_type(status, body.into(), "application/json"),
        Effect::PassThrough => real.unwrap_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "fault lost the response")
                .into_response()
        }),
    };
    rule.apply_headers(&mut resp);
    match stall {
        Some(pause) => stall_body(resp, pause).await,
        None => resp,
    }
}

fn with_type(status: StatusCode, body: Body, content_type: &'static str) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Same status and headers, but only the first half of the body goes out at
/// once; the rest follows after `pause`.
async fn stall_body(resp: Response, pause: Duration) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = match to_bytes(body, MAX_REWRITE_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stall_body_ms: response too large to stall",
            )
            .into_response();
        }
    };
    if bytes.is_empty() {
        return Response::from_parts(parts, Body::empty());
    }
    let body = FaultBody::bytes(bytes).stall_half_way(pause);
    Response::from_parts(parts, body.into())
}

/// An unreadable body of the given kind. `truncated` cuts the real body in
/// half when there is one (`when: after`), else sends a fixed fragment.
async fn malformed_response(
    status: StatusCode,
    kind: MalformedKind,
    real: Option<Response>,
) -> Response {
    let (bytes, content_type): (Bytes, &'static str) = match kind {
        MalformedKind::Truncated => {
            let bytes = match real {
                Some(r) => match to_bytes(r.into_body(), MAX_REWRITE_BODY).await {
                    Ok(b) if b.len() >= 2 => b.slice(..b.len() / 2),
                    _ => Bytes::from_static(FRAGMENT),
                },
                None => Bytes::from_static(FRAGMENT),
            };
            (bytes, "application/json")
        }
        MalformedKind::Html => (Bytes::from_static(HTML_PAGE), "text/html"),
        MalformedKind::InvalidUtf8 => (Bytes::from_static(INVALID_UTF8), "application/json"),
        MalformedKind::Deep => {
            let mut v = vec![b'['; DEEP];
            v.resize(2 * DEEP, b']');
            (Bytes::from(v), "application/json")
        }
        MalformedKind::Empty => (Bytes::new(), "application/json"),
        MalformedKind::NotJson => (Bytes::from_static(b"this is not json"), "text/plain"),
    };
    with_type(status, Body::from(bytes), content_type)
}

const FRAGMENT: &[u8] = br#"{"data":[{"id":"app_tr"#;
const HTML_PAGE: &[u8] = b"<html><body>502 Bad Gateway</body></html>";
const INVALID_UTF8: &[u8] = b"{\"ret\":\"\xff\xfe\"}";
/// Nesting depth of `malformed: "deep"`, far past serde_json's limit of 128.
const DEEP: usize = 10_000;
