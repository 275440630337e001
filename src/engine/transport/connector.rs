//! How the HTTP client reaches the base URL: TCP (through the environment's proxy when it
//! names one for that URL), then TLS for `https`, all within the connect timeout.
//!
//! Every request of a client goes to one origin, so the proxy is chosen once, when the client
//! is made, not per request.
//!
//! The connector also caps the client's open connections. Capping requests in flight is not
//! enough: hyper's pool takes a connection back only once its connection task has seen the
//! response end, a step of its own on the runtime, and a request let in by the one that just
//! finished found no idle connection in between and opened another (16 allowed, 23 seen).
//! Each connection holds a permit until its socket is closed, so a connect past the cap waits
//! for one to close, and hyper's pool hands the waiting request the connection that comes back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// The route to the base URL, decided from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
/// `NO_PROXY` (and their lowercase forms), as curl and most HTTP clients read them.
pub struct Route {
    dial: Dial,
    /// `Proxy-Authorization` for each request forwarded to an `http` proxy (a tunnel sends it
    /// once, in its `CONNECT`).
    pub forward_auth: Option<HeaderValue>,
}

/// A proxy the environment names for the base URL that this client cannot use.
#[derive(Debug, thiserror::Error)]
#[error(
    "the proxy the environment names for it (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) uses {0}; only http:// proxies are supported. Set NO_PROXY to bypass it"
)]
pub struct UnsupportedProxy(String);

impl Route {
    pub fn from_env(base: &Uri) -> Result<Self, UnsupportedProxy> {
        let tcp = tcp();
        let Some(proxy) = Matcher::from_env().intercept(base) else {
            return Ok(Self {
                dial: Dial::Direct(tcp),
                forward_auth: None,
            });
        };
        let scheme = proxy.uri().scheme_str().unwrap_or("no scheme");
        if scheme != "http" {
            return Err(UnsupportedProxy(format!("{scheme}://")));
        }
        let auth = proxy.basic_auth().cloned().map(|mut auth| {
            auth.set_sensitive(true);
            auth
        });
        if base.scheme_str() == Some("https") {
            let tunnel = Tunnel::new(proxy.uri().clone(), tcp);
            let tunnel = match auth {
                Some(auth) => tunnel.with_auth(auth),
                None => tunnel,
            };
            return Ok(Self {
                dial: Dial::Tunnel(tunnel),
                forward_auth: None,
            });
        }
        Ok(Self {
            dial: Dial::Forward {
                tcp,
                proxy: proxy.uri().clone(),
            },
            forward_auth: auth,
        })
    }

    /// The connector over this route: TLS where the URL is `https` (ALPN as `tls` sets it),
    /// and the whole of it, proxy and handshake included, bounded by `timeout`; at most
    /// `max_open` connections open at once.
    pub fn connector(self, tls: ClientConfig, timeout: Duration, max_open: usize) -> Connector {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(self.dial);
        Connector {
            https,
            timeout,
            open: Arc::new(Semaphore::new(max_open)),
        }
    }
}

/// TCP as reqwest set it up: no Nagle delay, keep-alive probes after 15 s idle.
fn tcp() -> HttpConnector {
    let mut tcp = HttpConnector::new();
    // `https` URLs reach this connector too; TLS is layered on by `HttpsConnector`.
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_keepalive(Some(Duration::from_secs(15)));
    tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
    tcp.set_keepalive_retries(Some(3));
    tcp
}

#[derive(Clone)]
pub struct Connector {
    https: HttpsConnector<Dial>,
    timeout: Duration,
    /// A permit per connection the cap allows, held by the connection's socket.
    open: Arc<Semaphore>,
}

impl Service<Uri> for Connector {
    type Response = MaybeHttpsStream<Stream>;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut https = self.https.clone();
        let open = Arc::clone(&self.open);
        let timeout = self.timeout;
        Box::pin(async move {
            // Before the timeout: waiting for a connection to close is not a slow connect.
            let permit = open.acquire_owned().await?;
            let mut stream = match tokio::time::timeout(timeout, https.call(dst)).await {
                Ok(connected) => connected?,
                Err(_) => {
                    return Err(Box::new(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no connection within {} ms", timeout.as_millis()),
                    )) as BoxError);
                }
            };
            let tcp = match &mut stream {
                MaybeHttpsStream::Http(tcp) => tcp,
                MaybeHttpsStream::Https(tls) => tls.inner_mut().get_mut().0.inner_mut(),
            };
            tcp.permit = Some(permit);
            Ok(stream)
        })
    }
}

#[derive(Clone)]
enum Dial {
    Direct(HttpConnector),
    /// `CONNECT` through an `http` proxy, for an `https` base URL.
    Tunnel(Tunnel<HttpConnector>),
    /// Requests in absolute form to an `http` proxy, for an `http` base URL.
    Forward {
        tcp: HttpConnector,
        proxy: Uri,
    },
}

impl Service<Uri> for Dial {
    type Response = Stream;
    type Error = BoxError;
    type Future = Connecting<Stream>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Dial::Direct(tcp) | Dial::Forward { tcp, .. } => tcp.poll_ready(cx).map_err(Into::into),
            Dial::Tunnel(tunnel) => tunnel.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Dial::Direct(tcp) => stream(tcp.call(dst), false),
            Dial::Tunnel(tunnel) => stream(tunnel.call(dst), false),
            Dial::Forward { tcp, proxy } => stream(tcp.call(proxy.clone()), true),
        }
    }
}

/// The connection `connecting` makes, told whether it leads to a forwarding proxy.
fn stream<E: Into<BoxError>>(
    connecting: impl Future<Output = Result<TokioIo<TcpStream>, E>> + Send + 'static,
    forwarded: bool,
) -> Connecting<Stream> {
    Box::pin(async move {
        Ok(Stream {
            io: connecting.await.map_err(Into::into)?,
            forwarded,
            permit: None,
        })
    })
}

/// A TCP connection that tells hyper whether it leads to a forwarding proxy, which then gets
/// each request's URL in absolute form.
pub struct Stream {
    io: TokioIo<TcpStream>,
    forwarded: bool,
    /// The connector's permit for this connection, given back when the socket closes.
    permit: Option<OwnedSemaphorePermit>,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forwarded)
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
