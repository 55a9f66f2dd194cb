//! `cargo xtask bench`: measures what the issues set targets for and prints one table.

use anyhow::{Context, Result, bail};

use crate::frontend::{ENGINEERING_PAGE, MANAGE_PAGE, brotli_bytes, files};
use crate::{cargo, root, step, tools};

/// One measured figure beside its target.
struct Row {
    what: String,
    measured: f64,
    target: f64,
    unit: &'static str,
    /// For throughputs the target is a floor; for sizes and times, a ceiling.
    higher_is_better: bool,
}

impl Row {
    /// Reads a benchmark's `what<TAB>measured<TAB>target<TAB>unit` line; microseconds become milliseconds.
    fn parse(line: &str) -> Option<Self> {
        let [what, measured, target, unit] = line.split('\t').collect::<Vec<_>>()[..] else {
            return None;
        };
        let (unit, scale, higher_is_better) = match unit {
            "ms" => ("ms", 1.0, false),
            "µs" => ("ms", 0.001, false),
            "req/s" => ("req/s", 1.0, true),
            "MB/s" => ("MB/s", 1.0, true),
            "nodes" => ("nodes", 1.0, false),
            "MB" => ("MB", 1.0, false),
            "KB" => ("KB", 1.0, false),
            "ratio" => ("ratio", 1.0, false),
            _ => return None,
        };
        Some(Self {
            what: what.to_owned(),
            measured: measured.parse::<f64>().ok()? * scale,
            target: target.parse::<f64>().ok()? * scale,
            unit,
            higher_is_better,
        })
    }

    fn verdict(&self) -> &'static str {
        let met = if self.higher_is_better {
            self.measured >= self.target
        } else {
            self.measured <= self.target
        };
        match (met, self.higher_is_better) {
            (true, _) => "ok",
            (false, true) => "UNDER TARGET",
            (false, false) => "OVER TARGET",
        }
    }
}

pub fn bench() -> Result<()> {
    tools::ensure_wasm_toolchain()?;
    tools::ensure_test_packages()?;
    crate::frontend::build()?;
    let mut rows = download_sizes()?;
    rows.extend(bench_binary("timing the demo clinic", "vitals-demo", "demo_day")?);
    rows.extend(bench_binary(
        "timing the masking of patient data",
        "vitals-server",
        "masking",
    )?);
    rows.extend(bench_binary(
        "timing 20 objectives evaluated over 28 days from cached answers",
        "vitals-server",
        "slo_evaluation",
    )?);
    rows.extend(bench_binary(
        "timing log patterns: 100,000 lines masked and mined into templates",
        "vitals-server",
        "log_patterns",
    )?);
    rows.extend(bench_binary(
        "timing the BFF in front of a real Prometheus",
        "vitals-tests",
        "bff_overhead",
    )?);
    rows.extend(bench_binary(
        "timing a dashboard in headless Chromium, from navigation to its first panel with data",
        "vitals-tests",
        "first_panel",
    )?);
    rows.extend(bench_binary(
        "timing the log explorer in headless Chromium: drawing 5,000 lines and 200 lines of 12 KB JSON, and the elements it keeps",
        "vitals-tests",
        "log_list",
    )?);
    rows.extend(bench_binary(
        "drawing a 100,001-point series in headless Chromium: the chart, then uPlot on the same answer",
        "vitals-tests",
        "chart_draw",
    )?);
    rows.extend(bench_binary(
        "following a log query live in headless Chromium at 10 lines/s, and the memory the page holds",
        "vitals-tests",
        "live_tail",
    )?);
    rows.extend(bench_binary(
        "timing huge traces: the server's side of a whole trace, an overview and windows (release build)",
        "vitals-tests",
        "huge_traces",
    )?);
    rows.extend(bench_binary(
        "timing the trace view in headless Chromium: a 10,000-span waterfall, a 100,000-span trace opened, 1,000,000-span windows",
        "vitals-tests",
        "trace_waterfall",
    )?);
    rows.extend(bench_binary(
        "the embedded status page: the bytes a browser downloads, its first paint in headless Chromium, views/s from the cached evaluation on one core",
        "vitals-tests",
        "embed_page",
    )?);
    print_table(&rows);
    Ok(())
}

/// Each app as a browser downloads it on first visit: the wasm, JS and CSS its page names,
/// brotli-compressed. The portal is what clinic staff open; the engineering app, and the
/// notices and admin app, load only when someone opens their areas.
fn download_sizes() -> Result<Vec<Row>> {
    let dist = root().join("dist");
    let mut rows = Vec::new();
    for (page, what, target) in [
        ("index.html", "portal download (wasm + JS + CSS, brotli)", 300.0),
        (
            ENGINEERING_PAGE,
            "engineering app download (wasm + JS + CSS, brotli)",
            500.0,
        ),
        (
            MANAGE_PAGE,
            "notices and admin app download (wasm + JS + CSS, brotli)",
            300.0,
        ),
    ] {
        let html = std::fs::read_to_string(dist.join(page))
            .with_context(|| format!("cannot read dist/{page}; build the app first"))?;
        let mut total = 0usize;
        for file in files(&dist)? {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if ["wasm", "js", "css"].contains(&extension) && html.contains(name) {
                total += brotli_bytes(&std::fs::read(&file)?)?.len();
            }
        }
        rows.push(Row {
            what: what.into(),
            measured: total as f64 / 1000.0,
            target,
            unit: "KB",
            higher_is_better: false,
        });
    }
    Ok(rows)
}

/// Runs one benchmark binary (a release build) and reads the figures it prints.
fn bench_binary(what: &str, package: &str, bench: &str) -> Result<Vec<Row>> {
    step(&format!("{what} (release build)"));
    let output = cargo()
        .args(["bench", "-p", package, "--bench", bench])
        .env("VITALS_UPLOT_SCRIPT", tools::ensure_uplot()?)
        .current_dir(root())
        .output()
        .with_context(|| format!("could not run cargo bench --bench {bench}"))?;
    if !output.status.success() {
        bail!(
            "the {bench} benchmark failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = stdout.lines().filter_map(Row::parse).collect::<Vec<_>>();
    if rows.is_empty() {
        bail!("the {bench} benchmark printed no figures:\n{stdout}");
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    let unit_width = rows.iter().map(|row| row.unit.len()).max().unwrap_or(0);
    let cell = |value: f64, unit: &str| format!("{} {unit:<unit_width$}", figure(value));
    let header = ["what", "measured", "target", "verdict"].map(String::from);
    let lines: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.what.clone(),
                cell(row.measured, row.unit),
                cell(row.target, row.unit),
                row.verdict().to_owned(),
            ]
        })
        .collect();
    let width = |column: usize| {
        lines
            .iter()
            .chain([&header])
            .map(|line| line[column].len())
            .max()
            .unwrap_or(0)
    };
    let (what_width, measured_width, target_width) = (width(0), width(1), width(2));
    println!();
    for [what, measured, target, verdict] in std::iter::once(&header).chain(&lines) {
        println!("{what:what_width$}  {measured:>measured_width$}  {target:>target_width$}  {verdict}");
    }
}

/// A figure with the decimals its size needs: 25000, 287.3, 1.02, 0.123.
fn figure(value: f64) -> String {
    let decimals = match value.abs() {
        size if size >= 1000.0 => 0,
        size if size >= 100.0 => 1,
        size if size >= 1.0 => 2,
        _ => 3,
    };
    format!("{value:.decimals$}")
}
