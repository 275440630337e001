//! pipedream-emulator: a local stand-in for the Pipedream Connect REST API,
//! for tests and benchmarks. See README.md for flags and the control API.

mod accounts;
mod auth;
mod catalog;
mod clock;
mod control;
mod error;
mod examples;
mod fault_body;
mod faults;
mod gateway;
mod ids;
mod journal;
mod pagination;
mod placeholders;
mod query;
mod routes;
mod server;
mod state;
mod webhooks;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use tokio::net::TcpListener;

use crate::accounts::{Account, AccountStore, NewAccount};
use crate::auth::TokenStore;
use crate::catalog::Catalog;
use crate::faults::FaultStore;
use crate::journal::Journal;
use crate::state::{AppState, Config};

#[derive(Debug, Parser)]
#[command(
    name = "pipedream-emulator",
    version,
    about = "Local emulator of the Pipedream Connect REST API"
)]
struct Args {
    /// Port to listen on; 0 picks a free one (read it from the start-up line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The only OAuth client id accepted by /v1/oauth/token.
    #[arg(long, default_value = "emulator-client")]
    client_id: String,
    /// The only OAuth client secret accepted by /v1/oauth/token.
    #[arg(long, default_value = "emulator-secret")]
    client_secret: String,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Extra static bearer token, accepted until it expires (repeatable).
    #[arg(long = "api-key", value_name = "KEY")]
    api_keys: Vec<String>,
    /// Lifetime of --api-key tokens from start-up (and from each reset), in seconds;
    /// afterwards they answer 401 like an expired OAuth access token.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    api_key_ttl_secs: u64,
    /// Leave `configurable_props` out of list items (retrieve still has them).
    #[arg(long)]
    list_without_props: bool,
    /// How long a dynamic_props_id from a reload stays usable; unset = until reset.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    dynamic_props_ttl_secs: Option<u64>,
    /// The one project that exists.
    #[arg(long, default_value = "proj_emulator")]
    project_id: String,
    /// Load DIR/apps.json and DIR/components.json instead of the built-in catalog.
    #[arg(long, value_name = "DIR")]
    catalog: Option<PathBuf>,
    /// Seed a connected account at start-up: EXTERNAL_USER_ID:APP_SLUG[:NAME] (repeatable).
    #[arg(long = "account", value_name = "EXTERNAL_USER_ID:APP_SLUG[:NAME]")]
    accounts: Vec<String>,
    /// Largest `limit` honoured on list endpoints; bigger limits are clamped.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    max_page_size: u64,
    /// Seed for everything random that tests must be able to replay (fault probability).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// No per-request logging (the default; overrides --verbose).
    #[arg(long)]
    quiet: bool,
    /// Log one line per API request to stderr.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match build_state(&args) {
        Ok(state) => run(args, state),
        Err(msg) => {
            eprintln!("pipedream-emulator: {msg}");
            ExitCode::from(2)
        }
    }
}

fn build_state(args: &Args) -> Result<AppState, String> {
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
            "--project-id {:?} must match ^proj_[a-zA-Z0-9]+$",
            args.project_id
        ));
    }
    let mut seeded = Vec::new();
    for spec in &args.accounts {
        let mut parts = spec.splitn(3, ':');
        let (Some(user), Some(slug)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "--account {spec:?}: expected EXTERNAL_USER_ID:APP_SLUG[:NAME]"
            ));
        };
        if user.is_empty() {
            return Err(format!("--account {spec:?}: empty external user id"));
        }
        let app = catalog
            .app(slug)
            .ok_or_else(|| format!("--account {spec:?}: unknown app {slug:?}"))?;
        seeded.push(Account::new(NewAccount {
            external_user_id: user,
            app,
            name: parts.next().map(str::to_string),
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
            verbose: args.verbose && !args.quiet,
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
    })
}

fn run(args: Args, state: AppState) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pipedream-emulator: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "pipedream-emulator: cannot listen on {}:{}: {e}",
                    args.host, args.port
                );
                return ExitCode::from(1);
            }
        };
        let port = match listener.local_addr() {
            Ok(a) => a.port(),
            Err(e) => {
                eprintln!("pipedream-emulator: {e}");
                return ExitCode::from(1);
            }
        };
        let router = routes::router(Arc::new(state));
        // Tests and scripts read this exact line to learn the port.
        let mut out = std::io::stdout().lock();
        let host = if args.host.contains(':') {
            format!("[{}]", args.host)
        } else {
            args.host.clone()
        };
        let _ = writeln!(out, "listening on http://{host}:{port}");
        let _ = out.flush();
        drop(out);
        server::serve(listener, router, shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
