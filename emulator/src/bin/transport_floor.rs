//! transport-floor: the benchmark's Rust floor under an execute (bench/run.js, the `transport
//! floor` rows). It posts the same run to the emulator from `concurrency` loops on one Tokio
//! worker, as the addon's runtime has on two cores, with no JS thread and nothing of the
//! package's own work: through raw HTTP/1.1 on keep-alive sockets (the least any client on
//! Tokio can spend), or through hyper-util's pooled client (what the addon sends on). Each
//! answer is parsed as a `serde_json::Value`, as any client must read it. What the addon spends
//! per call above these is its own: the JS thread, the hops between threads, the checks and
//! the answer it builds.
//!
//! The bearer token comes from `TRANSPORT_FLOOR_TOKEN`, not an argument: a command line is
//! readable by every user of the machine.
//!
//! Prints one JSON line: the requests answered in the measured window, its length, and the CPU
//! this process and the server process spent in it (every thread's schedstat; null where Linux's
//! schedstat is missing).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Requests written whole and answers read with httparse, one socket per loop.
    Raw,
    /// hyper-util's legacy pooled client over HTTP/1.1, as the addon uses it.
    Hyper,
}

#[derive(Debug, Parser)]
#[command(
    name = "transport-floor",
    about = "Posts one request in loops; prints CPU per request"
)]
struct Args {
    #[arg(long, value_enum)]
    mode: Mode,
    /// The server, as `http://host:port` (plain HTTP only).
    #[arg(long)]
    base_url: String,
    /// Path and query of the request.
    #[arg(long)]
    path: String,
    /// The JSON body to POST.
    #[arg(long)]
    body: String,
    /// The `x-pd-environment` the request carries.
    #[arg(long, default_value = "production")]
    environment: String,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Warm-up before the window, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    warm_ms: u64,
    /// The measured window, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    window_ms: u64,
    /// The server's process id, whose CPU is reported too.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// What every loop shares: the request and when to stop.
struct Shared {
    args: Args,
    authority: String,
    /// `Bearer <token>`.
    authorization: String,
    done: AtomicU64,
    stop: AtomicBool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(authority) = args
        .base_url
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/').to_owned())
    else {
        eprintln!("transport-floor: --base-url must be http://host:port");
        return ExitCode::from(2);
    };
    let Some(token) = std::env::var("TRANSPORT_FLOOR_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    else {
        eprintln!("transport-floor: set TRANSPORT_FLOOR_TOKEN to the bearer token to send");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let shared = Arc::new(Shared {
        args,
        authority,
        authorization: format!("Bearer {token}"),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    match runtime.block_on(measure(shared)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("transport-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn measure(shared: Arc<Shared>) -> Result<String, String> {
    let args = &shared.args;
    // One pool for every loop, as the addon has one per client: its checkouts are part of
    // what hyper costs.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(connector);
    let loops: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (shared, client) = (shared.clone(), client.clone());
            tokio::spawn(async move {
                match shared.args.mode {
                    Mode::Raw => raw_loop(&shared).await,
                    Mode::Hyper => hyper_loop(&shared, &client).await,
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(args.warm_ms)).await;
    let (n0, own0, server0, t0) = (
        shared.done.load(Ordering::Relaxed),
        process_cpu_ns("self"),
        server_cpu_ns(args.server_pid),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_millis(args.window_ms)).await;
    let (n1, own1, server1, seconds) = (
        shared.done.load(Ordering::Relaxed),
        process_cpu_ns("self"),
        server_cpu_ns(args.server_pid),
        t0.elapsed().as_secs_f64(),
    );
    shared.stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.await.map_err(|e| e.to_string())??;
    }
    let requests = n1 - n0;
    if requests == 0 {
        return Err("no request was answered in the window".into());
    }
    // A thread that ended in the window takes its time out of the sum: then there is no figure.
    let per_request =
        |a: Option<u64>, b: Option<u64>| match b.zip(a).and_then(|(b, a)| b.checked_sub(a)) {
            Some(ns) => serde_json::json!(ns as f64 / 1e3 / requests as f64),
            None => serde_json::Value::Null,
        };
    Ok(serde_json::json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "concurrency": args.concurrency,
        "requests": requests,
        "seconds": seconds,
        "procCpuUs": per_request(own0, own1),
        "serverCpuUs": per_request(server0, server1),
    })
    .to_string())
}

/// Counts an answer once it has been read whole and parsed.
fn answered(shared: &Shared, body: &[u8]) -> Result<(), String> {
    let answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("an answer is not JSON: {e}"))?;
    if !answer.is_object() {
        return Err("an answer is not a JSON object".into());
    }
    shared.done.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn raw_loop(shared: &Shared) -> Result<(), String> {
    let args = &shared.args;
    let request = Bytes::from(format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\nx-pd-environment: {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        args.path,
        shared.authority,
        shared.authorization,
        args.environment,
        args.body.len(),
        args.body
    ));
    let mut socket = TcpStream::connect(&shared.authority)
        .await
        .map_err(|e| e.to_string())?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(8192);
    while !shared.stop.load(Ordering::Relaxed) {
        socket
            .write_all(&request)
            .await
            .map_err(|e| e.to_string())?;
        buf.clear();
        let (head, length) = loop {
            if socket.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
                return Err("the server closed the connection".into());
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) =
                response.parse(&buf).map_err(|e| e.to_string())?
            {
                if response.code != Some(200) {
                    let status = response.code.map_or("no status".into(), |c| c.to_string());
                    return Err(format!("the server answered {status}"));
                }
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| {
                        std::str::from_utf8(h.value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    })
                    .ok_or(
                        "an answer has no content-length (the raw mode reads no other framing)",
                    )?;
                break (head, length);
            }
        };
        while buf.len() < head + length {
            if socket.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
                return Err("the server closed the connection mid-answer".into());
            }
        }
        answered(shared, &buf[head..head + length])?;
    }
    Ok(())
}

async fn hyper_loop(
    shared: &Shared,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> Result<(), String> {
    let args = &shared.args;
    let uri: hyper::Uri = format!("{}{}", args.base_url.trim_end_matches('/'), args.path)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let body = Bytes::from(args.body.clone());
    while !shared.stop.load(Ordering::Relaxed) {
        let request = hyper::Request::post(uri.clone())
            .header("authorization", &shared.authorization)
            .header("x-pd-environment", &args.environment)
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())?;
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("the server answered {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        answered(shared, &body)?;
    }
    Ok(())
}

/// CPU time of every thread of `/proc/<pid>` in ns (schedstat), or None without it.
fn process_cpu_ns(pid: &str) -> Option<u64> {
    let mut ns = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread that ended between the listing and the read: its few µs are lost.
        if let Ok(text) = std::fs::read_to_string(path) {
            ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(ns)
}

fn server_cpu_ns(pid: Option<u32>) -> Option<u64> {
    process_cpu_ns(&pid?.to_string())
}
