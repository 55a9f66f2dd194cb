//! `cargo xtask run | test | bench`: installs what is missing, builds, and runs Vitals.

mod bench;
mod deploy;
mod frontend;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [-- SERVER-ARGS]   install what is missing, build the app and serve the demo clinic
  test                   install what the tests need, then run fmt, clippy and every test
  bench [--quick]        measure every figure the issues name against its target, beside nginx and
                         uPlot where a user would pick them; writes bench/RESULTS.md and results.json
                         (--quick: fewer rounds, the same figures, into bench/quick/, for CI)
  deploy                 only the deployment's checks: the image (lint, build, inspect, a read-only run) and the AWS stack
  image                  build the container image vitals:dev from this machine's build (podman; pulls nothing)
  layout DIR             lay out the static server and the browser app in DIR as the image holds them";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") if args.len() == 1 => bench::bench(bench::Mode::Full),
        Some("bench") if args[1..] == ["--quick"] => bench::bench(bench::Mode::Quick),
        Some("image") => deploy::image(),
        Some("deploy") => deploy::check(),
        Some("layout") if args.len() == 2 => deploy::layout(Path::new(&args[1])),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, whatever folder the command was started from.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Says what is about to happen, so a long install or build is never a silent wait.
fn step(message: &str) {
    println!("\n==> {message}");
}

/// Runs a command from the workspace root, failing with the command line if it fails.
fn run_command(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .current_dir(root())
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// The demo users' password `cargo xtask run` sets when none is given; the server accepts
/// demo users only while it listens on loopback.
const DEMO_PASSWORD: &str = "vitals-demo";

/// Cargo, without the variable `cargo run` set for xtask itself: a build script that watches
/// it (ring's) would otherwise rebuild whenever xtask's builds and plain `cargo` ones alternate.
fn cargo() -> Command {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.env_remove("CARGO_MANIFEST_DIR");
    cargo
}

fn run(server_args: &[String]) -> Result<()> {
    let server_args: Vec<&String> = server_args.iter().skip_while(|arg| *arg == "--").collect();
    tools::ensure_wasm_toolchain()?;
    frontend::build()?;
    step("building the server");
    run_command(cargo().args(["build", "-p", "vitals-server"]))?;
    let root = root();
    let listen = std::env::var("VITALS_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut server = Command::new(root.join("target/debug/vitals-server"));
    server
        .args(server_args)
        .env("VITALS_DIST_DIR", root.join("dist"))
        .env_remove("CARGO_MANIFEST_DIR");
    if std::env::var_os("VITALS_DATA_DIR").is_none() {
        server.env("VITALS_DATA_DIR", root.join("data"));
    }
    let mut login = String::new();
    if std::env::var_os("VITALS_DEMO_PASSWORD").is_none()
        && std::env::var_os("VITALS_COGNITO_USER_POOL_ID").is_none()
    {
        server.env("VITALS_DEMO_PASSWORD", DEMO_PASSWORD);
        login =
            format!("; log in as clinician, operations, engineer or admin with the password {DEMO_PASSWORD}");
    }
    step(&format!(
        "starting Vitals: open http://{listen}/{login} (Ctrl-C stops it)"
    ));
    run_command(&mut server)
}

fn test() -> Result<()> {
    let root = root();
    step("checking formatting (cargo fmt --check)");
    run_command(cargo().args(["fmt", "--all", "--", "--check"]))
        .context("the code is not formatted; run `cargo fmt --all` and commit the result")?;
    tools::ensure_wasm_toolchain()?;
    tools::ensure_test_packages()?;
    tools::ensure_moto()?;
    tools::ensure_deploy_packages()?;
    frontend::build()?;
    step("linting the server, tests and tools (clippy -D warnings)");
    run_command(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    step("linting the browser app for WebAssembly (clippy -D warnings)");
    run_command(cargo().args([
        "clippy",
        "-p",
        "vitals-frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("running the browser app's tests that need a JavaScript engine (WebAssembly, in Node)");
    run_command(
        cargo()
            .args([
                "test",
                "-p",
                "vitals-frontend",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            ),
    )
    .context("a test of the browser app failed in the JavaScript engine")?;
    // The replica test runs two server processes from this build; `cargo build` writes the
    // dep-info beside the binary by which the test knows it is not older than its sources.
    step("building the server binary the replica test starts twice (cargo build -p vitals-server)");
    run_command(cargo().args(["build", "-p", "vitals-server"]))?;
    deploy::test_image()?;
    deploy::test_stack()?;
    step("running every test, browser tests included");
    run_command(
        cargo()
            .args(["test", "--workspace"])
            .env("VITALS_TEST_DIST", root.join("dist"))
            .env("VITALS_MOTO_VENV", tools::moto_venv()),
    )
}
