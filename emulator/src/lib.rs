//! pipedream-emulator: a local stand-in for the Pipedream Connect REST API, for tests and
//! benchmarks. The binary (`main.rs`) and the npm package's `startEmulator` (linked into the
//! addon, so Director's own tests need no Rust toolchain) both start it through [`start`].
//! See README.md for the options and the control API.

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod catalog;
pub(crate) mod clock;
pub(crate) mod control;
pub(crate) mod error;
pub(crate) mod examples;
pub(crate) mod fault_body;
pub(crate) mod faults;
pub(crate) mod gateway;
pub(crate) mod ids;
pub(crate) mod journal;
pub(crate) mod pagination;
pub(crate) mod placeholders;
pub(crate) mod proxy_target;
pub(crate) mod query;
pub(crate) mod routes;
pub(crate) mod server;
pub(crate) mod stash;
pub(crate) mod state;
pub(crate) mod triggers;
pub(crate) mod upstream;
pub(crate) mod webhooks;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::accounts::{Account, AccountStore, NewAccount};
use crate::auth::TokenStore;
use crate::catalog::Catalog;
use crate::faults::FaultStore;
use crate::journal::Journal;
use crate::state::{AppState, Config};

/// How an emulator is set up: what the command-line flags and `startEmulator`'s options say.
#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl: u64,
    pub api_keys: Vec<String>,
    pub api_key_ttl_secs: u64,
    pub list_without_props: bool,
    pub dynamic_props_ttl_secs: Option<u64>,
    pub project_id: String,
    /// A directory with apps.json and components.json instead of the built-in catalog.
    pub catalog: Option<PathBuf>,
    /// Connected accounts at start-up: (external user id, app slug, name).
    pub accounts: Vec<(String, String, Option<String>)>,
    pub max_page_size: u64,
    pub seed: u64,
    /// Fixture samples a deployed trigger emits on deploy when the deploy does
    /// not say `emit_on_deploy: false`; 0 turns deploy-time events off.
    pub deploy_emits: usize,
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            client_id: "emulator-client".into(),
            client_secret: "emulator-secret".into(),
            token_ttl: 3600,
            api_keys: Vec::new(),
            api_key_ttl_secs: 3600,
            list_without_props: false,
            dynamic_props_ttl_secs: None,
            project_id: "proj_emulator".into(),
            catalog: None,
            accounts: Vec::new(),
            max_page_size: 100,
            seed: 1,
            deploy_emits: 1,
            verbose: false,
        }
    }
}

/// A running emulator: its address, and the way to stop it.
pub struct Running {
    pub url: String,
    /// The proxy's echo upstream, stopped along with the rest.
    #[cfg_attr(not(test), allow(dead_code))]
    upstream: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, drops open connections, and waits until the server task has ended.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.done).await;
    }
}

/// Checks `options`, binds the listener and serves on the current Tokio runtime until
/// [`Running::close`] (or, with `until`, until that future resolves). Errors are one line a
/// person can act on.
pub async fn start(options: &Options) -> Result<Running, String> {
    let (stop, stopped) = oneshot::channel::<()>();
    let launched = launch(options, async {
        let _ = stopped.await;
    })
    .await?;
    Ok(Running {
        url: launched.url,
        upstream: launched.upstream,
        stop: Some(stop),
        done: launched.done,
    })
}

/// [`start`] with a shutdown future of the caller's (the binary's signals).
pub async fn serve(
    options: &Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(String, tokio::task::JoinHandle<()>), String> {
    let launched = launch(options, shutdown).await?;
    Ok((launched.url, launched.done))
}

struct Launched {
    url: String,
    upstream: std::net::SocketAddr,
    done: tokio::task::JoinHandle<()>,
}

/// The echo upstream the Connect proxy forwards to (`upstream.rs`) runs beside
/// the main listener, on 127.0.0.1 and a port of its own, and stops with it:
/// `done` ends once both have stopped.
async fn launch(
    options: &Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Launched, String> {
    let mut state = build_state(options)?;
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let upstream_listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1 for the proxy's echo upstream: {e}"))?;
    state.upstream = upstream_listener.local_addr().map_err(|e| e.to_string())?;
    let host = if options.host.contains(':') {
        format!("[{}]", options.host)
    } else {
        options.host.clone()
    };
    let url = format!("http://{host}:{port}");
    state.base_url = url.clone();
    let upstream = state.upstream;
    let state = Arc::new(state);
    let router = routes::router(state.clone());
    let (stop_upstream, upstream_stopped) = oneshot::channel::<()>();
    let upstream_task = tokio::spawn(upstream::serve(upstream_listener, state.clone(), async {
        let _ = upstream_stopped.await;
    }));
    let done = tokio::spawn(async move {
        server::serve(listener, router, state, shutdown).await;
        let _ = stop_upstream.send(());
        let _ = upstream_task.await;
    });
    Ok(Launched {
        url,
        upstream,
        done,
    })
}

fn build_state(args: &Options) -> Result<AppState, String> {
    let catalog = match &args.catalog {
        Some(dir) => Catalog::from_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let valid_project = args
        .project_id
        .strip_prefix("proj_")
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid_project {
        return Err(format!(
            "project id {:?} must match ^proj_[a-zA-Z0-9]+$",
            args.project_id
        ));
    }
    let mut seeded = Vec::new();
    for (user, slug, name) in &args.accounts {
        if user.is_empty() {
            return Err(format!("account {user:?}:{slug:?}: empty external user id"));
        }
        let app = catalog
            .app(slug)
            .ok_or_else(|| format!("account {user}:{slug}: unknown app {slug:?}"))?;
        seeded.push(Account::new(NewAccount {
            external_user_id: user,
            app,
            name: name.clone(),
            healthy: true,
            dead: false,
            id: None,
        }));
    }
    Ok(AppState {
        cfg: Config {
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            token_ttl_secs: args.token_ttl,
            project_id: args.project_id.clone(),
            max_page_size: args.max_page_size as usize,
            list_without_props: args.list_without_props,
            dynamic_props_ttl_secs: args.dynamic_props_ttl_secs,
            deploy_emits: args.deploy_emits,
            verbose: args.verbose,
        },
        catalog,
        tokens: TokenStore::new(args.api_keys.iter().cloned(), args.api_key_ttl_secs),
        accounts: AccountStore::new(seeded),
        journal: Journal::default(),
        faults: FaultStore::new(args.seed),
        dynamic_props: Mutex::new(HashMap::new()),
        connect_tokens: Mutex::new(HashMap::new()),
        webhooks: webhooks::WebhookLog::default(),
        connect_sessions: std::sync::atomic::AtomicU64::new(0),
        connections: Arc::default(),
        stash: stash::StashStore::default(),
        triggers: triggers::TriggerStore::default(),
        trigger_deliveries: triggers::DeliveryLog::default(),
        // Both set by `serve` once its listeners are bound.
        upstream: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        base_url: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    #[tokio::test]
    async fn close_stops_the_echo_upstream_too() {
        let running = start(&Options::default()).await.unwrap();
        let upstream = running.upstream;
        // A request the echo would sleep on for a minute.
        let mut slow = TcpStream::connect(upstream).await.unwrap();
        slow.write_all(b"GET /?__delay_ms=60000 HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        running.close().await;
        assert!(
            TcpStream::connect(upstream).await.is_err(),
            "still listening"
        );
        // The sleeping request's connection is closed without an answer.
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?} {buf:?}");
    }
}
