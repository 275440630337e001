//! The HTTP layer: one pooled hyper client per `PipedreamClient`, the headers every Connect
//! call carries, and the translation of transport failures and error responses into `Error`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ACCEPT, HeaderMap, HeaderValue, PROXY_AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::engine::config::{Config, ConfigError};
use crate::engine::error::{Error, Result};
use crate::engine::json;
use crate::engine::secret::Secret;

use super::connector::{Connector, Route};
use super::request::Request;
use super::tls;

const AGENT: &str = concat!("@director/pipedream-connect/", env!("CARGO_PKG_VERSION"));
/// Longest piece of a server body quoted in an error message.
const EXCERPT_CHARS: usize = 300;
/// What a URL path may not hold as it is (the WHATWG URL standard's path set).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// hyper's pooled client, used directly: reqwest's layers above it (a redirect policy that
/// parsed every request's URL again even when told not to follow, a timeout wrapper, a
/// per-request copy of its connector) were about a tenth of the runtime's CPU per run.
pub struct Http {
    client: Client<Connector, Full<Bytes>>,
    base_url: Url,
    /// The base URL without its trailing slash: every request's URL starts with it.
    origin: String,
    /// What every request carries before its own headers.
    headers: HeaderMap,
    timeout: Duration,
    max_response_bytes: usize,
    /// One permit per request in flight, `maxConnections` of them, so that a request waits
    /// before anything is written (the connector caps the sockets themselves): without a cap
    /// every request in flight opened its own connection (about 27 KB each, 10,000 for 10,000
    /// pending calls).
    connections: tokio::sync::Semaphore,
}

/// A turn at one of the connections `maxConnections` allows, until dropped.
pub struct Connection<'a> {
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

/// A response whose body has been read in full, or up to a cap (`truncated`).
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub truncated: bool,
}

impl Http {
    pub fn new(config: &Config) -> Result<Self> {
        let bad_base = |problem: String| {
            Error::InvalidConfig(ConfigError {
                option: "baseUrl".into(),
                problem,
            })
        };
        let tls = tls::client_config(&config.base_url)
            .map_err(|e| bad_base(format!("is https, but {e}")))?;
        let origin = config.base_url.as_str().trim_end_matches('/').to_owned();
        let base: http::Uri = origin
            .parse()
            .map_err(|e| bad_base(format!("cannot be used as an HTTP URL ({e})")))?;
        let route = Route::from_env(&base).map_err(|e| bad_base(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            "x-pd-environment",
            HeaderValue::from_static(config.environment.as_str()),
        );
        if let Some(auth) = route.forward_auth.clone() {
            headers.insert(PROXY_AUTHORIZATION, auth);
        }
        let connector = route.connector(
            tls,
            config.timeout.min(Duration::from_secs(10)),
            config.max_connections,
        );
        // No Connect endpoint redirects, and this client follows none: a 3xx is an error
        // (following one would re-send a run, or the client secret, to wherever it points).
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self {
            client,
            base_url: config.base_url.clone(),
            origin,
            headers,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            connections: tokio::sync::Semaphore::new(config.max_connections),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A request to `path` (which starts with `/v1/`) with the headers every call needs. The
    /// base URL may carry a path prefix (a proxy); it is kept.
    pub fn request(&self, method: Method, path: &str) -> Request {
        let mut uri = String::with_capacity(self.origin.len() + path.len() + 64);
        uri.push_str(&self.origin);
        uri.extend(utf8_percent_encode(path, PATH));
        Request::new(method, uri, self.headers.clone())
    }

    /// Waits until `maxConnections` allows one more request in flight. Nothing is written
    /// while waiting, so a call cancelled then was never sent.
    pub async fn connection(&self) -> Connection<'_> {
        // The semaphore is never closed.
        Connection {
            _permit: self.connections.acquire().await.ok(),
        }
    }

    /// `send_on` with a connection waited for here.
    pub async fn send(&self, request: Request) -> Result<RawResponse> {
        let connection = self.connection().await;
        self.send_on(connection, request, None).await
    }

    /// Sends on `connection` (held until the body is read) and reads the whole body; one
    /// larger than `maxResponseBytes` is an error. With `keep`, the body is read up to that
    /// many bytes and the rest dropped (`truncated`): a proxied answer belongs to the caller,
    /// and a write that succeeded must not be reported as failed for its size. The timeout
    /// covers connecting, sending and reading the body.
    pub async fn send_on(
        &self,
        connection: Connection<'_>,
        request: Request,
        keep: Option<usize>,
    ) -> Result<RawResponse> {
        let _connection = connection;
        let request = built(request)?;
        tokio::time::timeout(self.timeout, self.exchange(request, keep))
            .await
            .unwrap_or(Err(Error::Timeout(self.timeout)))
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        keep: Option<usize>,
    ) -> Result<RawResponse> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| self.send_error(&e))?;
        let (parts, mut incoming) = response.into_parts();
        // Read frame by frame so an oversized body is refused without being held in memory.
        let mut body = bytes::BytesMut::new();
        let mut truncated = false;
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| {
                Error::Network(format!(
                    "the connection broke while reading the response from {} ({})",
                    self.authority(),
                    chain(&e)
                ))
            })?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            if let Some(keep) = keep
                && body.len() + chunk.len() > keep
            {
                body.extend_from_slice(&chunk[..keep - body.len()]);
                truncated = true;
                break;
            }
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(Error::BadResponse(format!(
                    "the response is larger than maxResponseBytes ({} bytes); it was not read further",
                    self.max_response_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.freeze(),
            truncated,
        })
    }

    /// `host:port` of the base URL, for messages.
    fn authority(&self) -> String {
        let host = self.base_url.host_str().unwrap_or("?");
        match self.base_url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// A failure before any response. A connect failure (refused, unreachable, or no
    /// connection within the connect timeout) means nothing was sent, which decides whether
    /// a run may be retried.
    fn send_error(&self, e: &hyper_util::client::legacy::Error) -> Error {
        let at = self.authority();
        // A certificate the verifier refused is refused again on every attempt: it is not
        // retried (retrying an untrusted server is also what an attacker would want).
        if let Some(refusal) = certificate_refusal(e) {
            return Error::NotSent(Box::new(Error::Connect(format!(
                "the TLS certificate of {at} was refused ({refusal}); nothing was sent. \
                 Check baseUrl, or make this system trust its CA (on Linux: SSL_CERT_FILE)"
            ))));
        }
        if e.is_connect() {
            Error::Connect(format!("could not connect to {at} ({})", chain(e)))
        } else {
            Error::Network(format!("the request failed for {at} ({})", chain(e)))
        }
    }
}

/// `request` as hyper takes it, or why it cannot be sent.
fn built(request: Request) -> Result<http::Request<Full<Bytes>>> {
    // A request that could not be built never left this process.
    let refuse = |why: String| {
        Error::NotSent(Box::new(Error::InvalidArgs(format!(
            "the request could not be built ({why}); nothing was sent"
        ))))
    };
    if let Some(why) = request.error {
        return Err(refuse(why));
    }
    let uri: http::Uri = request
        .uri
        .parse()
        .map_err(|e| refuse(format!("its URL is not valid: {e}")))?;
    let mut headers = request.headers;
    // hyper writes no length for an empty body, and some front ends answer a POST without
    // one 411; the official SDK sends `content-length: 0`.
    if request.body.is_empty()
        && matches!(
            request.method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        )
    {
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from_static("0"),
        );
    }
    let mut built = http::Request::new(Full::new(request.body));
    *built.method_mut() = request.method;
    *built.uri_mut() = uri;
    *built.headers_mut() = headers;
    Ok(built)
}

impl RawResponse {
    /// Decodes a success body, or turns an error status into `Error::Api`. `secrets` are
    /// removed from anything quoted from the body.
    pub fn json<T: DeserializeOwned>(&self, secrets: &[&Secret]) -> Result<T> {
        if !self.status.is_success() {
            return Err(self.api_error(secrets));
        }
        // Every answer the API documents is an object; serde reads a struct from an array too,
        // field by field in order, which would make `[1]` a run that exported 1.
        if self.body.trim_ascii_start().starts_with(b"[") {
            return Err(Error::BadResponse(format!(
                "the answer is a JSON list where the API answers an object (status {})",
                self.status.as_u16()
            )));
        }
        self.decode(|e| {
            // The parser's own words quote the body too (`invalid type: string "…"`).
            format!(
                "{} (status {}; body starts: {})",
                sanitize(&e.to_string(), secrets),
                self.status.as_u16(),
                excerpt(&self.body, secrets)
            )
        })
    }

    /// Decodes a success body; an unreadable one is described by `describe` (which decides
    /// what of the body, if anything, may be quoted).
    pub fn decode<T: DeserializeOwned>(
        &self,
        describe: impl FnOnce(serde_json::Error) -> String,
    ) -> Result<T> {
        // A 204 (a DELETE) has no body: read as `null`, which `()` or an ignored value takes.
        let body: &[u8] = if self.status.is_success() && self.body.trim_ascii().is_empty() {
            b"null"
        } else {
            &self.body
        };
        json::from_bytes(body).map_err(|e| Error::BadResponse(describe(e)))
    }

    pub fn api_error(&self, secrets: &[&Secret]) -> Error {
        if self.status.is_redirection() {
            return Error::Redirected {
                status: self.status.as_u16(),
                location: location_host(&self.headers),
            };
        }
        let body = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| error_text(&v))
            .map(|text| sanitize(&text, secrets))
            .unwrap_or_else(|| excerpt(&self.body, secrets));
        Error::Api {
            status: self.status.as_u16(),
            body,
            retry_after: retry_after(&self.headers, SystemTime::now()),
        }
    }
}

/// The API's error bodies are `{error, code?, details?}` (and sometimes `{error, message}`):
/// all of it is kept, so the caller sees the API's own code and details.
fn error_text(v: &serde_json::Value) -> Option<String> {
    let error = v.get("error")?;
    let mut text = match error {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
        text = format!("{text}: {m}");
    }
    if let Some(code) = v.get("code").filter(|c| !c.is_null()) {
        let code = code
            .as_str()
            .map_or_else(|| code.to_string(), str::to_owned);
        text = format!("{text} (code {code})");
    }
    if let Some(details) = v.get("details").filter(|d| !d.is_null()) {
        text = format!("{text}; details: {details}");
    }
    Some(text)
}

/// The longest wait any server header can ask for. Larger, garbage or overflowing values are
/// clamped here; callers clamp further (`retry.maxDelayMs`).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// `Retry-After` as seconds or an HTTP date, else `X-RateLimit-Reset` (unix seconds). Numbers
/// from the network are untrusted: every step is checked and the result clamped to
/// `MAX_RETRY_AFTER`; a value that cannot be read is ignored.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let until = |at: SystemTime| at.duration_since(now).unwrap_or(Duration::ZERO);
    let found = header(RETRY_AFTER.as_str()).and_then(|v| {
        if let Some(secs) = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0) {
            return Some(Duration::from_secs_f64(
                secs.min(MAX_RETRY_AFTER.as_secs_f64()),
            ));
        }
        httpdate::parse_http_date(v).ok().map(until)
    });
    let found = found.or_else(|| {
        let reset = header("x-ratelimit-reset")?.parse::<u64>().ok()?;
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(reset))
            .map(until)
            .or(Some(MAX_RETRY_AFTER))
    });
    found.map(|d| d.min(MAX_RETRY_AFTER))
}

/// The host a redirect pointed at (never its path or query, which may carry anything).
fn location_host(headers: &HeaderMap) -> Option<String> {
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let url = Url::parse(location).ok()?;
    let host: String = url.host_str()?.chars().take(100).collect();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{host}{port}", url.scheme()))
}

fn excerpt(body: &[u8], secrets: &[&Secret]) -> String {
    if body.is_empty() {
        return EMPTY_BODY.to_owned();
    }
    let text = String::from_utf8_lossy(body);
    match html_page(&text) {
        Some(page) => sanitize(&page, secrets),
        None => sanitize(&text, secrets),
    }
}

/// An HTML page (a gateway's or CDN's error page) named by its title instead of quoted: its
/// markup and styles would fill the excerpt and tell a person or an LLM nothing.
fn html_page(text: &str) -> Option<String> {
    let start = text
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .as_bytes();
    let opens = |tag: &[u8]| {
        start
            .get(..tag.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(tag))
    };
    if !(opens(b"<!doctype html") || opens(b"<html")) {
        return None;
    }
    // ASCII lowercasing keeps every byte where it was, so the offsets hold in `text`.
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|at| {
        let open = at + lower[at..].find('>')? + 1;
        let close = open + lower[open..].find("</title")?;
        Some(
            text[open..close]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    Some(match title.filter(|t| !t.is_empty()) {
        // Not `{:?}`: an escaped quote or backslash would hide a secret from the redaction.
        Some(title) => format!("{HTML_PAGE} (title: \"{title}\")"),
        None => HTML_PAGE.to_owned(),
    })
}

/// How an empty body is quoted.
pub const EMPTY_BODY: &str = "(empty body)";

/// How an HTML page in place of the API's JSON is quoted (a gateway's, a CDN's error page).
pub const HTML_PAGE: &str = "an HTML page, not the API's JSON";

/// Secrets out, control characters folded, cut at a character boundary.
fn sanitize(text: &str, secrets: &[&Secret]) -> String {
    let mut text = text.to_owned();
    for s in secrets {
        text = s.redact_in(&text);
    }
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(EXCERPT_CHARS)
        .collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out.trim().to_owned()
}

/// The rustls error under `e` when the server's certificate (or its handshake) can never
/// pass, as opposed to a connection that merely broke.
fn certificate_refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut source = e.source();
    while let Some(s) = source {
        // The rustls error sits inside nested `io::Error`s, whose `source` skips the error
        // they wrap: `get_ref` is the way down.
        let mut inner: &(dyn std::error::Error + 'static) = s;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        if let Some(
            tls @ (rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType
            | rustls::Error::PeerIncompatible(_)),
        ) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        source = s.source();
    }
    None
}

/// hyper's `Display` hides the cause ("client error (Connect)"); the chain says what broke.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: bytes::Bytes::from(body.to_owned()),
            truncated: false,
        }
    }

    #[test]
    fn an_empty_write_says_its_length() {
        let request = |method| Request::new(method, "http://h/v1/x".into(), HeaderMap::new());
        let post = built(request(http::Method::POST)).unwrap();
        assert_eq!(post.headers()[http::header::CONTENT_LENGTH], "0");
        let get = built(request(http::Method::GET)).unwrap();
        assert!(get.headers().get(http::header::CONTENT_LENGTH).is_none());
        let put = built(request(http::Method::PUT).body("{}")).unwrap();
        assert!(put.headers().get(http::header::CONTENT_LENGTH).is_none());
    }

    #[test]
    fn retry_after_seconds_date_and_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(5))).unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1700000010"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn extreme_and_garbage_rate_limit_headers_are_clamped_or_ignored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let with = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            retry_after(&h, now)
        };
        let max = Some(MAX_RETRY_AFTER);
        assert_eq!(with(&[("x-ratelimit-reset", "18446744073709551615")]), max);
        assert_eq!(
            with(&[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]),
            max
        );
        assert_eq!(with(&[("retry-after", "100000")]), max);
        assert_eq!(with(&[("retry-after", "1e308")]), max);
        for garbage in ["soon", "-5", "NaN", "inf", ""] {
            assert_eq!(with(&[("retry-after", garbage)]), None, "{garbage:?}");
        }
        // Garbage in one header falls back to the other.
        assert_eq!(
            with(&[("retry-after", "soon"), ("x-ratelimit-reset", "1700000004")]),
            Some(Duration::from_secs(4))
        );
        assert_eq!(with(&[("x-ratelimit-reset", "-1")]), None);
        assert_eq!(with(&[("x-ratelimit-reset", "12")]), Some(Duration::ZERO));
    }

    #[test]
    fn redirects_are_errors_that_name_only_the_target_origin() {
        let mut r = raw(307, "");
        r.headers.insert(
            http::header::LOCATION,
            HeaderValue::from_static("https://evil.example/steal?client_secret=abc"),
        );
        let e = r.json::<serde_json::Value>(&[]).unwrap_err();
        assert_eq!(e.code().as_str(), "PIPEDREAM_UNEXPECTED_REDIRECT");
        assert_eq!(e.status(), Some(307));
        let text = e.to_string();
        assert!(text.contains("https://evil.example"), "{text}");
        assert!(!text.contains("client_secret"), "{text}");
    }

    #[test]
    fn api_errors_quote_the_server_and_hide_secrets() {
        let secret = Secret::new("super-secret-token");
        let e =
            raw(401, r#"{"error":"token super-secret-token is invalid"}"#).api_error(&[&secret]);
        assert_eq!(e.code().as_str(), "PIPEDREAM_UNAUTHORIZED");
        let text = e.to_string();
        assert!(text.contains("token [redacted] is invalid"), "{text}");
        assert!(!text.contains("super-secret"));

        let e = raw(
            413,
            r#"{"error":"account_limit_reached","message":"too many"}"#,
        )
        .api_error(&[]);
        assert!(e.to_string().contains("account_limit_reached: too many"));

        // A success body of the wrong shape: the parser quotes the value it could not take.
        #[derive(Debug, serde::Deserialize)]
        struct One {
            #[allow(dead_code)]
            data: std::collections::HashMap<String, String>,
        }
        let e = raw(200, r#"{"data":"Bearer super-secret-token"}"#)
            .json::<One>(&[&secret])
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("invalid type: string"), "{text}");
        assert!(!text.contains("super-secret"), "{text}");
    }

    #[test]
    fn malformed_bodies_are_bad_responses_with_a_short_excerpt() {
        let long = format!("{{\"data\": [{}", "x".repeat(2000));
        let e = raw(200, &long).json::<serde_json::Value>(&[]).unwrap_err();
        assert_eq!(e.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
        assert!(e.to_string().chars().count() < 500);
        let e = raw(502, "<html>\u{7}bad gateway</html>").api_error(&[]);
        assert!(
            e.to_string()
                .contains("502: an HTML page, not the API's JSON. "),
            "{e}"
        );
        let e = raw(200, "<p>not json</p>")
            .json::<serde_json::Value>(&[])
            .unwrap_err();
        assert!(e.to_string().contains("<p>not json</p>"), "{e}");
    }

    /// A gateway's or CDN's error page is named by its title, not quoted: its markup would
    /// fill the message.
    #[test]
    fn html_pages_are_named_by_their_title() {
        let page = "\u{feff}\n<!DOCTYPE html><html><head><style>body{margin:0}</style>\n<TITLE>\n  502 Bad\n Gateway </title></head><body><h1>502</h1></body></html>";
        let e = raw(502, page).api_error(&[]);
        assert_eq!(e.code().as_str(), "PIPEDREAM_SERVER_ERROR");
        assert!(
            e.to_string()
                .contains("502: an HTML page, not the API's JSON (title: \"502 Bad Gateway\")."),
            "{e}"
        );
        let e = raw(200, page).json::<serde_json::Value>(&[]).unwrap_err();
        assert_eq!(e.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
        assert!(!e.to_string().contains("<style>"), "{e}");
        assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
        // A title beyond ASCII, and a secret in it, come out whole and redacted.
        let secret = Secret::new("s3cr3t-value");
        let page = "<html><title>Fehler – s3cr3t-value</title></html>";
        let e = raw(503, page).api_error(&[&secret]);
        assert!(e.to_string().contains("Fehler – "), "{e}");
        assert!(!e.to_string().contains("s3cr3t-value"), "{e}");
    }
}
