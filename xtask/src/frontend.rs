//! Builds the browser app with Trunk and precompresses it, so the server never compresses it per request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::tools::wasm_opt_dir;
use crate::{root, run_command, step};

/// Files worth sending compressed; images and fonts are compressed already.
const COMPRESSIBLE: [&str; 7] = ["wasm", "js", "css", "html", "svg", "json", "txt"];

/// The engineering app's page in `dist/`, beside the portal's `index.html`.
pub const ENGINEERING_PAGE: &str = "engineering.html";
/// The notices and admin app's page in `dist/`.
pub const MANAGE_PAGE: &str = "manage.html";
/// The insights app's page in `dist/`: goals, what went wrong, the patient journey.
pub const INSIGHTS_PAGE: &str = "insights.html";

/// `trunk build --release --offline` of the four apps into `dist/` (the portal's `index.html`,
/// the engineering app's `engineering.html`, the notices and admin app's `manage.html`, the
/// insights app's `insights.html`, their hashed assets side by side), then `.br` and `.gz`
/// beside each text asset.
pub fn build() -> Result<()> {
    let root = root();
    step("building the portal app (trunk build --release --offline)");
    trunk(&[])?;
    let dist = root.join("dist");
    for page in [ENGINEERING_PAGE, MANAGE_PAGE, INSIGHTS_PAGE] {
        step(&format!(
            "building {page}'s app (trunk build --release --offline frontend/{page})"
        ));
        // Trunk replaces its whole dist folder, so the other apps are built apart and moved in.
        let apart = root.join("target").join(format!("trunk-{page}"));
        let source = format!("frontend/{page}");
        trunk(&[source.as_ref(), "--dist".as_ref(), apart.as_os_str()])?;
        for file in files(&apart)? {
            let name = file.file_name().context("a built file has no name")?;
            let target = if name == "index.html" {
                dist.join(page)
            } else {
                dist.join(name)
            };
            std::fs::copy(&file, &target)
                .with_context(|| format!("cannot copy {} to {}", file.display(), target.display()))?;
        }
    }
    precompress(&dist)
}

fn trunk(args: &[&std::ffi::OsStr]) -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![wasm_opt_dir()];
    paths.extend(std::env::split_paths(&path));
    run_command(
        Command::new("trunk")
            .arg("build")
            // The page first: `--offline` would take a word after it as its value.
            .args(args)
            .args(["--release", "--offline"])
            .current_dir(root())
            .env("PATH", std::env::join_paths(paths)?)
            // Trunk's own cargo call must not inherit the xtask build's target settings.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_MANIFEST_DIR"),
    )
}

/// Writes `name.br` (quality 11) and `name.gz` (level 9) beside each compressible file.
pub fn precompress(dist: &Path) -> Result<()> {
    for file in files(dist)? {
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !COMPRESSIBLE.contains(&extension) {
            continue;
        }
        let content = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        std::fs::write(with_suffix(&file, "br"), brotli_bytes(&content)?)?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&content)?;
        std::fs::write(with_suffix(&file, "gz"), gzip.finish()?)?;
    }
    Ok(())
}

pub fn brotli_bytes(content: &[u8]) -> Result<Vec<u8>> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &content[..], &mut compressed, &params)?;
    Ok(compressed)
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Every file below `dir`.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
