//! The container image and the AWS stack: the static server and its layout, the image built from it
//! and checked, the same binary run on a read-only copy of the layout, and the CDK app's checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::tools::{self, MUSL_TARGET};
use crate::{cargo, frontend, root, run_command, step};

/// The cargo profile of the server in the image (the workspace's Cargo.toml says why it differs from release).
const IMAGE_PROFILE: &str = "image";
/// The image's user and group, as deploy/rootfs/etc/passwd names them.
const IMAGE_USER: u32 = 10001;
/// The largest image the project accepts.
const MAX_IMAGE_BYTES: u64 = 40_000_000;
/// The tag `cargo xtask test` builds and checks; `cargo xtask image` builds `vitals:dev`.
const TEST_IMAGE: &str = "localhost/vitals:test";
const DEV_IMAGE: &str = "localhost/vitals:dev";
/// The only files the image holds, besides the browser app under `dist/`.
const IMAGE_FILES: [&str; 4] = [
    "vitals-server",
    "etc/passwd",
    "etc/group",
    "etc/ssl/certs/ca-certificates.crt",
];
/// Where Debian (and the Rust image the full build starts from) keeps the CA certificates the AWS SDK reads.
const HOST_CA_CERTIFICATES: &str = "/etc/ssl/certs/ca-certificates.crt";
/// How long the server on the read-only layout may take to answer `/healthz`.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Where cargo writes: `CARGO_TARGET_DIR`, or `target/` in the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Runs `work`, then says how long it took, so the cost of each step shows in the log.
fn timed<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let result = work()?;
    println!("    {what} took {:.1} s", started.elapsed().as_secs_f64());
    Ok(result)
}

/// `cargo build` of the server for the musl target in the image profile: one static binary.
fn build_static_server() -> Result<PathBuf> {
    step(&format!(
        "building the static server for the image (cargo build -p vitals-server --profile {IMAGE_PROFILE} --target {MUSL_TARGET})"
    ));
    timed("the static server build", || {
        run_command(cargo().args([
            "build",
            "-p",
            "vitals-server",
            "--profile",
            IMAGE_PROFILE,
            "--target",
            MUSL_TARGET,
        ]))
    })?;
    Ok(target_dir()
        .join(MUSL_TARGET)
        .join(IMAGE_PROFILE)
        .join("vitals-server"))
}

/// Lays out what the runtime stage copies, in `out`: the server, the browser app, the user, the CA
/// certificates and the empty data folder.
fn assemble_layout(server: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("etc/ssl/certs"))?;
    std::fs::create_dir_all(out.join("data"))?;
    // Browsers reach the image through the TLS load balancer and always take brotli; other
    // clients get the file as it is. The gzip copies would only add to the image.
    copy_tree_where(&root().join("dist"), &out.join("dist"), |file| {
        file.extension().is_none_or(|extension| extension != "gz")
    })?;
    copy_tree(&root().join("deploy/rootfs"), out)?;
    let copy = |from: &Path, to: &str| {
        std::fs::copy(from, out.join(to))
            .with_context(|| format!("cannot copy {} into the image layout", from.display()))
    };
    copy(server, "vitals-server")?;
    copy(
        Path::new(HOST_CA_CERTIFICATES),
        "etc/ssl/certs/ca-certificates.crt",
    )
    .context("the CA certificates are missing; install them (apt-get install ca-certificates)")?;
    Ok(())
}

/// `cargo xtask layout DIR`: the browser app and the static server, laid out in `DIR` as the
/// image holds them (the full image build runs this in its build stage).
pub fn layout(out: &Path) -> Result<()> {
    tools::ensure_wasm_toolchain()?;
    tools::ensure_rust_target(MUSL_TARGET)?;
    frontend::build()?;
    let server = build_static_server()?;
    assemble_layout(&server, out)
}

/// `cargo xtask image`: the image as `vitals:dev`, from a layout built on this machine; pulls nothing.
pub fn image() -> Result<()> {
    tools::ensure_deploy_packages()?;
    let out = target_dir().join("image-layout");
    layout(&out)?;
    build_image(&out, DEV_IMAGE)
}

fn build_image(layout: &Path, tag: &str) -> Result<()> {
    step(&format!(
        "building the image's runtime stage from the layout (podman build --build-arg PAYLOAD=host -t {tag})"
    ));
    // The previous build of this tag goes first, so repeated runs leave no unnamed images behind.
    let _ = Command::new("podman").args(["rmi", "--ignore", tag]).output();
    timed("podman build", || {
        run_command(
            Command::new("podman")
                .args([
                    "build",
                    "--quiet",
                    "--format",
                    "docker",
                    "--build-arg",
                    "PAYLOAD=host",
                    "-t",
                    tag,
                ])
                .arg("-f")
                .arg(root().join("deploy/Dockerfile"))
                .arg(layout),
        )
    })
}

/// `cargo xtask deploy`: the checks `cargo xtask test` runs on deploy/, alone, building the browser
/// app first only when dist/ has none.
pub fn check() -> Result<()> {
    tools::ensure_deploy_packages()?;
    if !root().join("dist/index.html").exists() {
        tools::ensure_wasm_toolchain()?;
        frontend::build()?;
    }
    test_image()?;
    test_stack()
}

/// The image checks of `cargo xtask test`: lint the Dockerfile, build the runtime stage from the
/// host's static server, inspect the image, and run the binary on a read-only copy of its layout.
pub fn test_image() -> Result<()> {
    step("linting deploy/Dockerfile (hadolint)");
    run_command(Command::new(tools::hadolint()?).arg(root().join("deploy/Dockerfile")))?;
    let server = build_static_server()?;
    let layout = target_dir().join("image-layout");
    assemble_layout(&server, &layout)?;
    build_image(&layout, TEST_IMAGE)?;
    step("inspecting the image: user, entry point, health check, size, and nothing but Vitals in it");
    inspect_image(TEST_IMAGE)?;
    step("running the image's binary on a read-only copy of its layout until /healthz answers");
    timed("the read-only run", || run_read_only(&layout))
}

fn inspect_image(tag: &str) -> Result<()> {
    let output = Command::new("podman")
        .args(["image", "inspect", tag, "--format"])
        .arg("{{.User}}|{{json .Config.Entrypoint}}|{{.Size}}|{{json .HealthCheck}}")
        .output()
        .context("cannot run podman image inspect")?;
    ensure!(output.status.success(), "podman image inspect {tag} failed");
    let inspected = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let fields: Vec<&str> = inspected.splitn(4, '|').collect();
    let [user, entrypoint, size, health] = fields[..] else {
        bail!("podman image inspect answered `{inspected}`, not four fields");
    };
    ensure!(
        user == format!("{IMAGE_USER}:{IMAGE_USER}"),
        "the image runs as `{user}`, not as {IMAGE_USER}:{IMAGE_USER}"
    );
    ensure!(
        entrypoint == r#"["/vitals-server"]"#,
        "the image's entry point is {entrypoint}, not /vitals-server"
    );
    ensure!(
        health.contains(r#""/vitals-server","--health""#),
        "the image's health check is {health}, not /vitals-server --health"
    );
    let size: u64 = size
        .parse()
        .with_context(|| format!("the image size `{size}` is not a number"))?;
    println!(
        "    image size: {:.1} MB (at most {} MB)",
        size as f64 / 1e6,
        MAX_IMAGE_BYTES / 1_000_000
    );
    ensure!(
        size <= MAX_IMAGE_BYTES,
        "the image is {size} bytes, more than {MAX_IMAGE_BYTES}"
    );

    let mounted = Command::new("podman")
        .args(["image", "mount", tag])
        .output()
        .context("cannot run podman image mount")?;
    ensure!(
        mounted.status.success(),
        "podman image mount {tag} failed (it needs root): {}",
        String::from_utf8_lossy(&mounted.stderr)
    );
    let mount = PathBuf::from(String::from_utf8_lossy(&mounted.stdout).trim());
    let checked = check_image_files(&mount);
    let _ = Command::new("podman").args(["image", "unmount", tag]).output();
    checked
}

/// Every file in the image is Vitals' own (so no shell or other program), and /data is the user's.
fn check_image_files(mount: &Path) -> Result<()> {
    let mut unexpected = Vec::new();
    for file in walk(mount)? {
        let relative = file.strip_prefix(mount)?.to_string_lossy().into_owned();
        if file.is_dir() || IMAGE_FILES.contains(&relative.as_str()) || relative.starts_with("dist/") {
            continue;
        }
        unexpected.push(relative);
    }
    ensure!(
        unexpected.is_empty(),
        "the image holds files that are not Vitals': {unexpected:?}"
    );
    for shell in ["bin/sh", "bin/bash", "bin/busybox", "usr/bin/env"] {
        ensure!(!mount.join(shell).exists(), "the image holds /{shell}");
    }
    use std::os::unix::fs::MetadataExt;
    let data = std::fs::metadata(mount.join("data")).context("the image has no /data")?;
    ensure!(
        data.uid() == IMAGE_USER && data.gid() == IMAGE_USER,
        "/data belongs to {}:{}, not to the image's user",
        data.uid(),
        data.gid()
    );
    Ok(())
}

/// The server from the layout, as the image runs it, with the layout read-only: only `data/` is
/// writable, and only by the image's user (the server runs as that user when this runs as root).
fn run_read_only(layout: &Path) -> Result<()> {
    let copy = std::env::temp_dir().join(format!("vitals-read-only-layout-{}", std::process::id()));
    if copy.exists() {
        remove_tree(&copy)?;
    }
    copy_tree(layout, &copy)?;
    let as_root = tools::is_root();
    for path in walk(&copy)? {
        let mode = if path.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    }
    std::fs::set_permissions(copy.join("vitals-server"), std::fs::Permissions::from_mode(0o555))?;
    let data = copy.join("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))?;
    if as_root {
        std::os::unix::fs::chown(&data, Some(IMAGE_USER), Some(IMAGE_USER))?;
    }
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o555))?;
    let result = serve_and_check(&copy, as_root);
    remove_tree(&copy)?;
    result
}

/// `program` as the image's user when this runs as root, so the layout's permissions hold for it.
fn as_image_user(program: &Path, as_root: bool) -> Command {
    if !as_root {
        return Command::new(program);
    }
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={IMAGE_USER}"))
        .arg(format!("--regid={IMAGE_USER}"))
        .arg("--clear-groups")
        .arg("--")
        .arg(program);
    command
}

fn serve_and_check(layout: &Path, as_root: bool) -> Result<()> {
    let binary = layout.join("vitals-server");
    let mut server = as_image_user(&binary, as_root)
        .current_dir(layout)
        .env_clear()
        .env("VITALS_LISTEN", "127.0.0.1:0")
        .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
        .env("VITALS_DIST_DIR", layout.join("dist"))
        .env("VITALS_DATA_DIR", layout.join("data"))
        .env("SSL_CERT_FILE", layout.join("etc/ssl/certs/ca-certificates.crt"))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let checked = check_serving(&mut server, layout, as_root);
    let stopped = stop(&mut server);
    checked?;
    stopped
}

fn check_serving(server: &mut Child, layout: &Path, as_root: bool) -> Result<()> {
    let stdout = server.stdout.take().context("the server's output is not piped")?;
    // The start line names both addresses; wait for it rather than for a fixed time.
    let start_line = BufReader::new(stdout)
        .lines()
        .take(50)
        .map_while(Result::ok)
        .find(|line| line.contains("open http://"))
        .context("the server on the read-only layout stopped before saying where it listens")?;
    let after = |marker: &str, end: char| -> Result<String> {
        let start = start_line
            .find(marker)
            .with_context(|| format!("the start line `{start_line}` has no `{marker}`"))?;
        Ok(start_line[start + marker.len()..]
            .split(end)
            .next()
            .unwrap_or_default()
            .to_owned())
    };
    let public = after("open http://", '/')?;
    let admin = after("admin=", ' ')?;

    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if get(&public, "/healthz", "identity").is_ok_and(|answer| answer.starts_with("HTTP/1.1 200")) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the server on the read-only layout did not answer /healthz within {READY_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let page = get(&public, "/", "identity")?;
    ensure!(
        page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "the server on the read-only layout does not serve the browser app from dist/: {}",
        page.lines().next().unwrap_or_default()
    );
    check_wasm_encodings(&public, &page)?;
    let health = as_image_user(&layout.join("vitals-server"), as_root)
        .arg("--health")
        .current_dir(layout)
        .env_clear()
        .env("VITALS_ADMIN_LISTEN", &admin)
        .output()
        .context("cannot run vitals-server --health")?;
    ensure!(
        health.status.success(),
        "the image's health check failed against a serving server: {}",
        String::from_utf8_lossy(&health.stderr)
    );
    println!(
        "    /healthz, the browser app (its wasm in brotli, or whole) and the health check answer on {public} with a read-only layout"
    );
    Ok(())
}

/// The portal's WebAssembly, as the page names it, from the image's layout: brotli-compressed
/// for a browser, whole for a client that takes only gzip (the image keeps no gzip copies).
fn check_wasm_encodings(address: &str, page: &str) -> Result<()> {
    let wasm = page
        .split(['"', '\''])
        .find(|part| part.ends_with("_bg.wasm"))
        .context("the portal's page names no _bg.wasm file")?;
    let wasm = if wasm.starts_with('/') {
        wasm.to_owned()
    } else {
        format!("/{wasm}")
    };
    for (accepted, encoding) in [("gzip, deflate, br, zstd", Some("br")), ("gzip", None)] {
        let answer = get(address, &wasm, accepted)?;
        let head = answer
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        ensure!(
            head.starts_with("http/1.1 200"),
            "{wasm} from the read-only layout, for Accept-Encoding: {accepted}: {}",
            head.lines().next().unwrap_or_default()
        );
        let sent = head
            .lines()
            .find_map(|line| line.strip_prefix("content-encoding:"))
            .map(str::trim);
        ensure!(
            sent == encoding,
            "{wasm} for Accept-Encoding: {accepted} came with Content-Encoding {sent:?}, not {encoding:?}"
        );
    }
    Ok(())
}

/// One HTTP/1.1 GET taking the `accepted` encodings, the whole answer as text.
fn get(address: &str, path: &str, accepted: &str) -> Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept-Encoding: {accepted}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// SIGTERM, as ECS stops a task, then waits for a clean exit.
fn stop(server: &mut Child) -> Result<()> {
    run_command(Command::new("kill").args(["-TERM", &server.id().to_string()]))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait()? {
            ensure!(
                status.success(),
                "the server on the read-only layout stopped with {status}"
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            bail!("the server on the read-only layout did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The CDK app's checks: synth with cdk-nag's AwsSolutions and HIPAA packs, the type check, and the
/// node tests (least privilege against the server's code, security groups, TLS policy, sidecars).
pub fn test_stack() -> Result<()> {
    let cdk = root().join("deploy/cdk");
    tools::ensure_cdk_packages(&cdk)?;
    // run_command starts from the workspace root: npm's --prefix runs each script in deploy/cdk.
    let script = |name: &str| {
        run_command(Command::new("npm").args(["--prefix", "deploy/cdk", "run", "--silent", name]))
    };
    step("type-checking the CDK app (tsc --noEmit)");
    script("typecheck")?;
    step("synthesizing the stack with cdk-nag's AwsSolutions and HIPAA Security checks (cdk synth)");
    timed("cdk synth", || script("synth"))?;
    step(
        "running the stack's tests: least privilege from the server's code, security groups, TLS, sidecars (node --test)",
    );
    timed("the stack's tests", || script("test"))
}

/// Every file and folder under `dir`, `dir` included, parents before children.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = vec![dir.to_path_buf()];
    let mut index = 0;
    while index < found.len() {
        let path = found[index].clone();
        index += 1;
        if path.is_dir() && !path.is_symlink() {
            for entry in
                std::fs::read_dir(&path).with_context(|| format!("cannot list {}", path.display()))?
            {
                found.push(entry?.path());
            }
        }
    }
    Ok(found)
}

/// Copies the tree at `from` into `to`, merging into folders that exist.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    copy_tree_where(from, to, |_| true)
}

/// Copies the tree at `from` into `to` as [`copy_tree`] does, only the files `keep` keeps.
fn copy_tree_where(from: &Path, to: &Path, keep: impl Fn(&Path) -> bool) -> Result<()> {
    for path in walk(from)? {
        let target = to.join(path.strip_prefix(from)?);
        if path.is_dir() {
            std::fs::create_dir_all(&target)?;
        } else if keep(&path) {
            std::fs::copy(&path, &target)
                .with_context(|| format!("cannot copy {} to {}", path.display(), target.display()))?;
        }
    }
    Ok(())
}

/// Removes a tree made read-only, giving its folders their write bit back first.
fn remove_tree(dir: &Path) -> Result<()> {
    for path in walk(dir)? {
        if path.is_dir() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))
}
