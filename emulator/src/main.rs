//! pipedream-emulator: the command line around the library (`lib.rs`). See README.md for the
//! flags and the control API.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pipedream_emulator::Options;

/// See `tikv-jemallocator` in Cargo.toml.
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Fixture sample events a trigger emits when deployed (unless the deploy
    /// says emit_on_deploy: false); 0 = none.
    #[arg(long, default_value_t = 1, value_name = "N")]
    deploy_emits: usize,
    /// No per-request logging (the default; overrides --verbose).
    #[arg(long)]
    quiet: bool,
    /// Log one line per API request to stderr.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = match options(&args) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("pipedream-emulator: {msg}");
            return ExitCode::from(2);
        }
    };
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
        let (url, done) = match pipedream_emulator::serve(&options, shutdown_signal()).await {
            Ok(running) => running,
            Err(msg) => {
                eprintln!("pipedream-emulator: {msg}");
                // A bad catalog, project id or account is misuse; a port in use is not.
                return ExitCode::from(if msg.starts_with("cannot listen") {
                    1
                } else {
                    2
                });
            }
        };
        // Tests and scripts read this exact line to learn the port.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {url}");
        let _ = out.flush();
        drop(out);
        let _ = done.await;
        ExitCode::SUCCESS
    })
}

fn options(args: &Args) -> Result<Options, String> {
    let mut accounts = Vec::new();
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
        accounts.push((
            user.to_owned(),
            slug.to_owned(),
            parts.next().map(str::to_owned),
        ));
    }
    Ok(Options {
        host: args.host.clone(),
        port: args.port,
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        token_ttl: args.token_ttl,
        api_keys: args.api_keys.clone(),
        api_key_ttl_secs: args.api_key_ttl_secs,
        list_without_props: args.list_without_props,
        dynamic_props_ttl_secs: args.dynamic_props_ttl_secs,
        project_id: args.project_id.clone(),
        catalog: args.catalog.clone(),
        accounts,
        max_page_size: args.max_page_size,
        seed: args.seed,
        deploy_emits: args.deploy_emits,
        verbose: args.verbose && !args.quiet,
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
