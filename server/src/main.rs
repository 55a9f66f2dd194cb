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
