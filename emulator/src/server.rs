//! Our own accept loop. axum::serve cannot drop one connection on demand, and
//! the `reset` fault must close the socket without writing a response. Each
//! connection gets a kill signal that handlers find in request extensions.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::state::SharedState;

#[derive(Clone)]
pub struct ConnKill(Arc<Notify>);

impl ConnKill {
    /// `notify_one` stores a permit, so firing before the connection task
    /// polls the signal still closes the connection.
    pub fn fire(&self) {
        self.0.notify_one();
    }
}

/// Connections open now, the most open at once since the last reset, and all accepted: what
/// a client's connection cap is checked against (`GET /__emulator/connections`).
#[derive(Default)]
pub struct Connections {
    open: AtomicU64,
    peak: AtomicU64,
    accepted: AtomicU64,
}

impl Connections {
    fn opened(self: &Arc<Self>) -> OpenConnection {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(open, Ordering::SeqCst);
        self.accepted.fetch_add(1, Ordering::SeqCst);
        OpenConnection(self.clone())
    }

    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "open": self.open.load(Ordering::SeqCst),
            "peak": self.peak.load(Ordering::SeqCst),
            "accepted": self.accepted.load(Ordering::SeqCst),
        })
    }

    /// The peak starts again from the connections open now.
    pub fn reset_peak(&self) {
        self.peak
            .store(self.open.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

/// Counts a connection closed however its task ends.
struct OpenConnection(Arc<Connections>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves until `shutdown` resolves, then drops the connections still open: the emulator in a
/// test's process shares a runtime that goes on, and a client's kept-alive connection was
/// still answered after `close()`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (closed, closing) = tokio::sync::watch::channel(());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Usually EMFILE under load: back off instead of spinning.
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => {
                // Every connection's receiver sees the channel close.
                drop(closed);
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            router.clone(),
            state.connections.clone(),
            closing.clone(),
        ));
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    connections: Arc<Connections>,
    mut closing: tokio::sync::watch::Receiver<()>,
) {
    let _open = connections.opened();
    let kill = ConnKill(Arc::new(Notify::new()));
    let signal = kill.0.clone();
    let svc = service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(kill.clone());
        let router = router.clone();
        async move {
            let resp = router.oneshot(req.map(Body::new)).await;
            Ok::<_, Infallible>(match resp {
                Ok(r) => r,
                Err(never) => match never {},
            })
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        // Client-side disconnects and parse errors end up here; nothing to do.
        _ = conn => {}
        // Dropping `conn` drops the socket and any in-flight handler with it.
        _ = signal.notified() => {}
        // The server closed: `changed` fails once the sender is gone.
        _ = closing.changed() => {}
    }
}
