//! Connection webhooks: what Pipedream POSTs to a Connect token's
//! `webhook_uri` when the user finishes (or fails) the Connect Link flow.
//! Sent over a plain hyper http/1 connection (no TLS: an `https://` URI is
//! recorded as a failed delivery without any network traffic). A delivery
//! that gets no 2xx is retried twice, 200 ms apart; every delivery is kept
//! for `GET /__emulator/webhooks`. [`post`] is also the client deployed-trigger
//! deliveries go out with (`triggers.rs`).

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Uri, header};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::clock;
use crate::state::lock;

/// One try plus two retries.
const ATTEMPTS: usize = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Connect + request + response head, per attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Oldest deliveries are dropped past this.
const MAX_DELIVERIES: usize = 10_000;

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub ts_ms: u64,
    /// 0 when no HTTP answer came (refused, timeout, https).
    pub status: u16,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub seq: u64,
    pub ts_ms: u64,
    pub url: String,
    pub event: String,
    /// Status of the last attempt (0: no HTTP answer).
    pub status: u16,
    /// Some attempt got a 2xx.
    pub ok: bool,
    pub attempts: Vec<Attempt>,
    pub payload: Value,
}

#[derive(Default)]
pub struct WebhookLog {
    inner: Mutex<(Vec<Delivery>, u64)>,
}

impl WebhookLog {
    pub fn all(&self) -> Vec<Delivery> {
        lock(&self.inner).0.clone()
    }

    pub fn clear(&self) {
        *lock(&self.inner) = (Vec::new(), 0);
    }

    fn record(&self, mut d: Delivery) -> Delivery {
        let mut g = lock(&self.inner);
        g.1 += 1;
        d.seq = g.1;
        if g.0.len() >= MAX_DELIVERIES {
            g.0.remove(0);
        }
        g.0.push(d.clone());
        d
    }
}

/// POSTs `payload` to `url` (retrying a non-2xx twice), records and returns the delivery.
pub async fn deliver(log: &WebhookLog, url: &str, payload: Value) -> Delivery {
    let ts_ms = clock::now_ms();
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let mut attempts = Vec::new();
    for i in 0..ATTEMPTS {
        if i > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        let at = clock::now_ms();
        let (status, error) = match post(url, &body, &HeaderMap::new(), CONNECT_AGENT).await {
            Ok(s) => (s, None),
            Err(Fatal(e)) => {
                // Nothing a retry could change (bad or https URI).
                attempts.push(Attempt {
                    ts_ms: at,
                    status: 0,
                    error: Some(e),
                });
                break;
            }
            Err(Retry(e)) => (0, Some(e)),
        };
        attempts.push(Attempt {
            ts_ms: at,
            status,
            error,
        });
        if (200..300).contains(&status) {
            break;
        }
    }
    let last = attempts.last().map_or(0, |a| a.status);
    log.record(Delivery {
        seq: 0,
        ts_ms,
        url: url.to_string(),
        event: payload["event"].as_str().unwrap_or("").to_string(),
        status: last,
        ok: (200..300).contains(&last),
        attempts,
        payload,
    })
}

const CONNECT_AGENT: &str = "pipedream-emulator (connect webhook)";

/// Why one POST got no HTTP answer.
pub enum Failure {
    /// Nothing a retry could change (a bad or https URL).
    Fatal(String),
    /// Refused, reset, timed out: worth another try.
    Retry(String),
}
use Failure::{Fatal, Retry};

/// One POST of `body` as `application/json` with `extra` headers to an
/// `http://host[:port]/path?query` URL; returns the answer's status. The
/// answer's body is not read.
pub async fn post(
    url: &str,
    body: &[u8],
    extra: &HeaderMap,
    user_agent: &str,
) -> Result<u16, Failure> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Fatal(format!("invalid URL {url:?}: {e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(Fatal(
                "https URL: the emulator delivers over plain http only".into(),
            ));
        }
        _ => return Err(Fatal("the URL must be an http:// URL".into())),
    }
    let host = uri
        .host()
        .ok_or_else(|| Fatal("the URL has no host".into()))?;
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::USER_AGENT, user_agent)
        .body(Body::from(body.to_vec()))
        .map_err(|e| Fatal(format!("cannot build webhook request: {e}")))?;
    for (name, value) in extra {
        req.headers_mut().insert(name, value.clone());
    }
    let send = async move {
        let stream = TcpStream::connect((connect_host.as_str(), port))
            .await
            .map_err(|e| Retry(format!("connect: {e}")))?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Retry(format!("handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Retry(format!("request: {e}")))?;
        Ok(resp.status().as_u16())
    };
    match tokio::time::timeout(ATTEMPT_TIMEOUT, send).await {
        Ok(r) => r,
        Err(_) => Err(Retry(format!(
            "no answer within {} s",
            ATTEMPT_TIMEOUT.as_secs()
        ))),
    }
}
