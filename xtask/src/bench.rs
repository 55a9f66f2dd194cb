//! `cargo xtask bench`: measures what the issues set targets for and prints one table.

use anyhow::{Context, Result, bail};

use crate::frontend::{brotli_bytes, files};
use crate::{cargo, root, step, tools};

/// One measured figure beside its target.
struct Row {
    what: String,
    measured: f64,
    target: f64,
    unit: &'static str,
}

pub fn bench() -> Result<()> {
    tools::ensure_wasm_toolchain()?;
    crate::frontend::build()?;
    let mut rows = vec![download_size()?];
    rows.extend(server_benches()?);
    print_table(&rows);
    Ok(())
}

/// The app as a browser downloads it on first visit: wasm, JS and CSS, brotli-compressed.
fn download_size() -> Result<Row> {
    let mut total = 0usize;
    for file in files(&root().join("dist"))? {
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if ["wasm", "js", "css"].contains(&extension) {
            total += brotli_bytes(&std::fs::read(&file)?)?.len();
        }
    }
    Ok(Row {
        what: "frontend download (wasm + JS + CSS, brotli)".into(),
        measured: total as f64 / 1000.0,
        target: 300.0,
        unit: "KB",
    })
}

/// Runs the server's benchmark binary (release build) and reads its `name<TAB>value<TAB>target<TAB>unit` lines.
fn server_benches() -> Result<Vec<Row>> {
    step("timing the demo clinic (release build)");
    let output = cargo()
        .args(["bench", "-p", "vitals-server", "--bench", "demo_day"])
        .current_dir(root())
        .output()
        .context("could not run cargo bench")?;
    if !output.status.success() {
        bail!(
            "the server benchmark failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [what, measured, target, "ms"] => Some(Row {
                    what: (*what).to_owned(),
                    measured: measured.parse().ok()?,
                    target: target.parse().ok()?,
                    unit: "ms",
                }),
                _ => None,
            }
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        bail!("the server benchmark printed no figures:\n{stdout}");
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|row| row.what.len()).max().unwrap_or(10);
    println!(
        "\n{:width$}  {:>10}  {:>10}  verdict",
        "what", "measured", "target"
    );
    for row in rows {
        let verdict = if row.measured <= row.target {
            "ok"
        } else {
            "OVER TARGET"
        };
        println!(
            "{:width$}  {:>7.1} {:<2}  {:>7.1} {:<2}  {verdict}",
            row.what, row.measured, row.unit, row.target, row.unit
        );
    }
}
