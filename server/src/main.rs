//! Starts the Vitals server: reads the configuration, then serves the public and admin listeners until stopped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRef;
use clap::Parser;
use tokio::net::TcpListener;
use vitals_server::auth::session::{SessionContext, sweep_expired_sessions};
use vitals_server::config::Config;
use vitals_server::state::{Clock, SystemClock};
use vitals_server::{admin_app, app, configured_auth, configured_sources, otel, state_with_auth, telemetry};

#[global_allocator]
static ALLOCATOR: vitals_server::Allocator = vitals_server::Allocator;

/// The Vitals observability portal.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The TOML configuration file (default: vitals.toml when present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Ask the running server's admin listener for /healthz and exit 0 when it answers 200: the
    /// container image's health check, which has no shell or HTTP client to do it with.
    #[arg(long)]
    health: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let config = match Config::load(args.config.as_deref(), &env) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("vitals: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    if args.health {
        return match check_health(config.admin_listen).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(problem) => {
                eprintln!("vitals: unhealthy: {problem}");
                ExitCode::FAILURE
            }
        };
    }
    let trace_export = match otel::TraceExport::from_env(&env) {
        Ok(trace_export) => trace_export,
        Err(error) => {
            eprintln!("vitals: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging_and_traces(config.log_format, trace_export.as_ref());
    if let Some(trace_export) = &trace_export {
        tracing::info!("exporting traces to {trace_export}");
    }
    let served = serve(config, trace_export.is_some()).await;
    if let Some(trace_export) = trace_export {
        trace_export.shutdown().await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, continue_traces: bool) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = state_with_auth(
        &config,
        &configured_sources(&config, clock.clone()).await?,
        configured_auth(&config, clock.clone()).await?,
        clock,
    )?;
    let mut public_app = app(state.clone());
    if continue_traces {
        // Outside the request span, so that span is made in the caller's trace.
        public_app = public_app.layer(otel::ContinueTraceLayer);
    }
    let public = bind(config.listen, "`listen`, VITALS_LISTEN").await?;
    let admin = bind(config.admin_listen, "`admin_listen`, VITALS_ADMIN_LISTEN").await?;
    let public_address = public.local_addr()?;
    tracing::info!(
        public = %public_address,
        admin = %admin.local_addr()?,
        logs = state.sources.logs.backend().as_str(),
        metrics = state.sources.metrics.backend().as_str(),
        traces = state.sources.traces.backend().as_str(),
        "vitals is serving; open http://{public_address}/"
    );
    // One signal stops both listeners, each finishing the requests it has in flight, and
    // the sweeper, which finishes the sweep it is in.
    let (stop, _) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(sweep_expired_sessions(
        SessionContext::from_ref(&state),
        stop.subscribe(),
    ));
    let audit = Arc::clone(&state.auth.audit);
    let stopped = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let public_server = axum::serve(
        public,
        public_app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop.subscribe()));
    let admin_server = axum::serve(admin, admin_app(state).into_make_service())
        .with_graceful_shutdown(stopped(stop.subscribe()));
    let signal = async {
        shutdown_signal().await;
        tracing::info!("stopping: finishing requests in flight");
        let _ = stop.send(true);
    };
    // The signal first: its handler is then installed before the first connection is accepted,
    // so a SIGTERM right after an answer still stops the server gracefully.
    let ((), public_result, admin_result) = tokio::join!(signal, public_server, admin_server);
    if let Err(error) = sweeper.await {
        tracing::error!(%error, "the session sweeper failed");
    }
    // Entries still queued (the sweeper's, and those of requests whose caller went away) are
    // written before the process ends.
    audit.flush().await;
    public_result.context("the public listener failed")?;
    admin_result.context("the admin listener failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(address: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.with_context(|| {
        format!("cannot listen on {address} ({setting}); is another program using that port?")
    })
}

/// How long the health check waits for the whole answer.
const HEALTH_CHECK_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Asks `GET /healthz` of the admin listener at `admin_listen` (its loopback address when it
/// listens on every address) and accepts only a 200.
async fn check_health(admin_listen: SocketAddr) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut address = admin_listen;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(HEALTH_CHECK_WITHIN, ask)
        .await
        .map_err(|_| format!("{address} did not answer /healthz within {HEALTH_CHECK_WITHIN:?}"))?
        .map_err(|error| format!("cannot ask {address} for /healthz ({error}); is the server running?"))?;
    let status_line = String::from_utf8_lossy(answer.split(|byte| *byte == b'\n').next().unwrap_or_default())
        .trim()
        .to_owned();
    if status_line.starts_with("HTTP/1.1 200 ") {
        Ok(())
    } else {
        Err(format!("{address} answered /healthz with `{status_line}`"))
    }
}

/// Resolves on Ctrl-C or SIGTERM (what ECS sends before stopping a task).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
