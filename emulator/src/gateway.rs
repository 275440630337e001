//! The outermost layer for API traffic: logs each request and carries out
//! fault rules. Control routes (`/__emulator/*`) pass straight through so
//! tests can always inspect and steer the emulator, whatever faults are set.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::clock;
use crate::error::ApiError;
use crate::faults::{Effect, RuleSpec, When};
use crate::journal::RequestEntry;
use crate::server::ConnKill;
use crate::state::SharedState;

pub const CONTROL_PREFIX: &str = "/__emulator";

/// Real responses here are small JSON; this only bounds the `malformed`
/// rewrite of a `when: after` response.
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
    match effect {
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
        Effect::Malformed => {
            let mut resp = malformed_body(real).await;
            rule.apply_headers(&mut resp);
            resp
        }
        Effect::Respond(status, body) => rule.respond(status, &body),
        Effect::PassThrough => {
            let mut resp = real.unwrap_or_else(|| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "fault lost the response")
                    .into_response()
            });
            rule.apply_headers(&mut resp);
            resp
        }
    }
}

/// A 200 whose JSON is cut off mid-way: half of the real body when there is
/// one, else a fixed fragment.
async fn malformed_body(real: Option<Response>) -> Response {
    let bytes = match real {
        Some(r) => match to_bytes(r.into_body(), MAX_REWRITE_BODY).await {
            Ok(b) if b.len() >= 2 => b.slice(..b.len() / 2).to_vec(),
            _ => FRAGMENT.to_vec(),
        },
        None => FRAGMENT.to_vec(),
    };
    let mut resp = Response::new(Body::from(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

const FRAGMENT: &[u8] = br#"{"data":[{"id":"app_tr"#;
