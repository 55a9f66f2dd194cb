//! `cargo xtask bench`: measures every figure the issues name, prints one table and writes it
//! to `bench/results.json` and `bench/RESULTS.md` with the machine it was measured on.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::frontend::{ENGINEERING_PAGE, INSIGHTS_PAGE, MANAGE_PAGE, brotli_bytes, files};
use crate::{cargo, root, run_command, step, tools};

/// The environment variable that tells each bench binary to run its quick variant: fewer
/// rounds and shorter loops, the same figures.
const QUICK_ENV: &str = "VITALS_BENCH_QUICK";

/// How long a whole run may take on the 2-core machine the figures are measured on; the
/// report says when a run took longer.
const WHOLE_RUN_BUDGET: Duration = Duration::from_secs(600);

/// A whole run, or the quick one CI runs to see that every figure can still be measured.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    Quick,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Quick => "quick",
        }
    }

    /// Where the report goes: a quick run's never replaces the committed whole run's.
    fn report_dir(self) -> std::path::PathBuf {
        match self {
            Mode::Full => root().join("bench"),
            Mode::Quick => root().join("bench/quick"),
        }
    }
}

/// One measured figure beside its target, when an issue names one.
struct Row {
    /// The bench binary (or xtask part) that measured it.
    part: &'static str,
    what: String,
    measured: f64,
    target: Option<f64>,
    unit: &'static str,
    /// For throughputs the target is a floor; for sizes and times, a ceiling.
    higher_is_better: bool,
}

impl Row {
    /// Reads a benchmark's `what<TAB>measured<TAB>target<TAB>unit` line (a target of `-` when no
    /// issue names one); microseconds become milliseconds.
    fn parse(part: &'static str, line: &str) -> Option<Self> {
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
        let target = match target {
            "-" => None,
            target => Some(target.parse::<f64>().ok()? * scale),
        };
        Some(Self {
            part,
            what: what.to_owned(),
            measured: measured.parse::<f64>().ok()? * scale,
            target,
            unit,
            higher_is_better,
        })
    }

    /// Whether the figure meets its target; `None` when there is no target to meet.
    fn passed(&self) -> Option<bool> {
        let target = self.target?;
        Some(if self.higher_is_better {
            self.measured >= target
        } else {
            self.measured <= target
        })
    }

    fn verdict(&self) -> &'static str {
        match (self.passed(), self.higher_is_better) {
            (None, _) => "reported",
            (Some(true), _) => "ok",
            (Some(false), true) => "UNDER TARGET",
            (Some(false), false) => "OVER TARGET",
        }
    }

    fn target_text(&self) -> String {
        self.target.map_or_else(
            || "—".to_owned(),
            |target| format!("{} {}", figure(target), self.unit),
        )
    }
}

/// A bench binary and what it measures, in the order the run goes through them.
struct Part {
    what: &'static str,
    package: &'static str,
    bench: &'static str,
}

const PARTS: [Part; 13] = [
    Part {
        what: "timing the demo clinic",
        package: "vitals-demo",
        bench: "demo_day",
    },
    Part {
        what: "timing the masking of patient data",
        package: "vitals-server",
        bench: "masking",
    },
    Part {
        what: "timing 20 objectives evaluated over 28 days from cached answers",
        package: "vitals-server",
        bench: "slo_evaluation",
    },
    Part {
        what: "timing log patterns: 100,000 lines masked and mined into templates",
        package: "vitals-server",
        bench: "log_patterns",
    },
    Part {
        what: "timing the BFF in front of a real Prometheus, beside nginx as a plain reverse proxy and as a proxy cache",
        package: "vitals-tests",
        bench: "bff_overhead",
    },
    Part {
        what: "the server process's memory: idle, then with 1,000 sessions and 100 live tails",
        package: "vitals-tests",
        bench: "server_memory",
    },
    Part {
        what: "timing a dashboard in headless Chromium, from navigation to the shell drawn and to its first panel with data",
        package: "vitals-tests",
        bench: "first_panel",
    },
    Part {
        what: "timing the log explorer in headless Chromium: drawing 5,000 lines and 200 lines of 12 KB JSON, and the elements it keeps",
        package: "vitals-tests",
        bench: "log_list",
    },
    Part {
        what: "drawing a 100,001-point series in headless Chromium: the chart, then uPlot on the same answer",
        package: "vitals-tests",
        bench: "chart_draw",
    },
    Part {
        what: "following a log query live in headless Chromium at 10 lines/s, and the memory the page holds",
        package: "vitals-tests",
        bench: "live_tail",
    },
    Part {
        what: "timing huge traces: the server's side of a whole trace, an overview and windows",
        package: "vitals-tests",
        bench: "huge_traces",
    },
    Part {
        what: "timing the trace view in headless Chromium: a 10,000-span waterfall, a 100,000-span trace opened, 1,000,000-span windows",
        package: "vitals-tests",
        bench: "trace_waterfall",
    },
    Part {
        what: "the embedded status page: the bytes a browser downloads, its first paint in headless Chromium, views/s from the cached evaluation on one core",
        package: "vitals-tests",
        bench: "embed_page",
    },
];

/// How one part of the run went.
struct PartRun {
    bench: &'static str,
    took: Duration,
    error: Option<String>,
}

pub fn bench(mode: Mode) -> Result<()> {
    let started = Instant::now();
    let machine = machine()?;
    tools::ensure_wasm_toolchain()?;
    tools::ensure_test_packages()?;
    tools::ensure_bench_packages()?;
    let uplot = tools::ensure_uplot()?;
    crate::frontend::build()?;
    // Compiled before anything is timed, so no bench runs beside the compiler; the memory
    // bench starts the server binary itself, which `cargo bench` does not build.
    // One package at a time, as each bench is run later, so their features match and nothing is
    // built twice.
    for package in ["vitals-demo", "vitals-server", "vitals-tests"] {
        step(&format!("building {package}'s benches (release)"));
        run_command(cargo().args(["bench", "--no-run", "-p", package]))?;
    }
    step("building the server binary the memory bench starts (release)");
    run_command(cargo().args(["build", "--release", "-p", "vitals-server"]))?;
    let builds_took = started.elapsed();

    let load_before = load_average();
    let measuring = Instant::now();
    let mut rows = download_sizes()?;
    let mut runs = Vec::new();
    for part in &PARTS {
        let part_started = Instant::now();
        let outcome = bench_binary(part, mode, &uplot);
        let error = match outcome {
            Ok(found) => {
                rows.extend(found);
                None
            }
            Err(error) => {
                eprintln!("xtask: {error:#}");
                Some(format!("{error:#}"))
            }
        };
        runs.push(PartRun {
            bench: part.bench,
            took: part_started.elapsed(),
            error,
        });
    }
    let measuring_took = measuring.elapsed();
    let whole = started.elapsed();
    print_table(&rows);
    println!(
        "\n{} run: {} measuring, {} with the builds before it",
        mode.name(),
        minutes(measuring_took),
        minutes(whole)
    );
    let report = Report {
        mode,
        machine,
        rows: &rows,
        runs: &runs,
        builds_took,
        measuring_took,
        load_before,
        load_after: load_average(),
    };
    report.write()?;
    let failed: Vec<&str> = runs
        .iter()
        .filter(|run| run.error.is_some())
        .map(|run| run.bench)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} could not measure its figures (see above); the report lists what was measured",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Each app as a browser downloads it on first visit: the wasm, JS and CSS its page names, as
/// they are, gzip-compressed and brotli-compressed (what the server sends a browser that takes
/// brotli; the issues' budgets are for that). The portal is what clinic staff open; the
/// engineering app, the notices and admin app, and the insights app load only when someone
/// opens their areas.
fn download_sizes() -> Result<Vec<Row>> {
    step("measuring the four apps' downloads: raw, gzip and brotli");
    let dist = root().join("dist");
    let mut rows = Vec::new();
    for (page, app, brotli_target) in [
        ("index.html", "portal", 300.0),
        (ENGINEERING_PAGE, "engineering app", 500.0),
        (MANAGE_PAGE, "notices and admin app", 300.0),
        (INSIGHTS_PAGE, "insights app", 300.0),
    ] {
        let html = std::fs::read_to_string(dist.join(page))
            .with_context(|| format!("cannot read dist/{page}; build the app first"))?;
        let (mut raw, mut gzip, mut brotli) = (0usize, 0usize, 0usize);
        for file in files(&dist)? {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if ["wasm", "js", "css"].contains(&extension) && html.contains(name) {
                let content = std::fs::read(&file)?;
                raw += content.len();
                gzip += gzip_bytes(&content)?.len();
                brotli += brotli_bytes(&content)?.len();
            }
        }
        for (encoding, bytes, target) in [
            ("raw", raw, None),
            ("gzip", gzip, None),
            ("brotli", brotli, Some(brotli_target)),
        ] {
            rows.push(Row {
                part: "download",
                what: format!("{app} download (wasm + JS + CSS, {encoding})"),
                measured: bytes as f64 / 1000.0,
                target,
                unit: "KB",
                higher_is_better: false,
            });
        }
    }
    Ok(rows)
}

/// `content` as the server's precompressed `.gz` holds it (level 9).
fn gzip_bytes(content: &[u8]) -> Result<Vec<u8>> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(content)?;
    Ok(gzip.finish()?)
}

/// Runs one benchmark binary (a release build) and reads the figures it prints.
fn bench_binary(part: &Part, mode: Mode, uplot: &Path) -> Result<Vec<Row>> {
    step(&format!("{} (release build)", part.what));
    let mut command = cargo();
    command
        .args(["bench", "-p", part.package, "--bench", part.bench])
        .env("VITALS_UPLOT_SCRIPT", uplot)
        .current_dir(root());
    match mode {
        Mode::Quick => command.env(QUICK_ENV, "1"),
        Mode::Full => command.env_remove(QUICK_ENV),
    };
    let output = command
        .output()
        .with_context(|| format!("could not run cargo bench --bench {}", part.bench))?;
    if !output.status.success() {
        bail!(
            "the {} benchmark failed:\n{}",
            part.bench,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = stdout
        .lines()
        .filter_map(|line| Row::parse(part.bench, line))
        .collect::<Vec<_>>();
    if rows.is_empty() {
        bail!("the {} benchmark printed no figures:\n{stdout}", part.bench);
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    let header = ["what", "measured", "target", "verdict"].map(String::from);
    let lines: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.what.clone(),
                format!("{} {}", figure(row.measured), row.unit),
                row.target_text(),
                row.verdict().to_owned(),
            ]
        })
        .collect();
    let width = |column: usize| {
        lines
            .iter()
            .chain([&header])
            .map(|line| line[column].chars().count())
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

fn minutes(took: Duration) -> String {
    let seconds = took.as_secs();
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

/// The machine the figures were measured on, and what it was doing at the start.
struct Machine {
    cpu: String,
    cores: usize,
    memory_gb: f64,
    os: String,
    rustc: String,
    date: String,
    commit: String,
}

fn machine() -> Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, model)| model.trim().to_owned());
    let memory_kb = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("MemTotal:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(f64::NAN);
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map_or("unknown", |name| name.trim_matches('"'));
    let kernel = output_of("uname", &["-sr"]);
    let dirty = !output_of("git", &["status", "--porcelain"]).is_empty();
    Ok(Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        memory_gb: memory_kb / 1e6,
        os: format!("{os} ({kernel})"),
        rustc: output_of("rustc", &["--version"]),
        date: output_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit: format!(
            "{}{}",
            output_of("git", &["rev-parse", "--short=12", "HEAD"]),
            if dirty { " with uncommitted changes" } else { "" }
        ),
    })
}

/// The load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// What `program args` prints, trimmed; "unknown" when it cannot run.
fn output_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

/// Everything a run writes down.
struct Report<'a> {
    mode: Mode,
    machine: Machine,
    rows: &'a [Row],
    runs: &'a [PartRun],
    builds_took: Duration,
    measuring_took: Duration,
    load_before: String,
    load_after: String,
}

impl Report<'_> {
    fn write(&self) -> Result<()> {
        let dir = self.mode.report_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let json = serde_json::to_string_pretty(&self.json())? + "\n";
        std::fs::write(dir.join("results.json"), json)?;
        std::fs::write(dir.join("RESULTS.md"), self.markdown())?;
        step(&format!(
            "wrote {} and {}",
            dir.join("results.json").display(),
            dir.join("RESULTS.md").display()
        ));
        Ok(())
    }

    fn json(&self) -> Value {
        let machine = &self.machine;
        json!({
            "mode": self.mode.name(),
            "machine": {
                "cpu": machine.cpu,
                "cores": machine.cores,
                "memory_gb": (machine.memory_gb * 10.0).round() / 10.0,
                "os": machine.os,
                "rustc": machine.rustc,
                "date": machine.date,
                "commit": machine.commit,
                "load_average_before": self.load_before,
                "load_average_after": self.load_after,
            },
            "builds_seconds": self.builds_took.as_secs(),
            "measuring_seconds": self.measuring_took.as_secs(),
            "parts": self.runs.iter().map(|run| json!({
                "bench": run.bench,
                "seconds": (run.took.as_secs_f64() * 10.0).round() / 10.0,
                "error": run.error,
            })).collect::<Vec<_>>(),
            "rows": self.rows.iter().map(|row| json!({
                "bench": row.part,
                "figure": row.what,
                "measured": row.measured,
                "target": row.target,
                "unit": row.unit,
                "higher_is_better": row.higher_is_better,
                "pass": row.passed(),
            })).collect::<Vec<_>>(),
        })
    }

    fn markdown(&self) -> String {
        let machine = &self.machine;
        let mut text = String::new();
        let rows = self.rows;
        let passed = rows.iter().filter(|row| row.passed() == Some(true)).count();
        let missed = rows.iter().filter(|row| row.passed() == Some(false)).count();
        let _ = writeln!(
            text,
            "# Bench results\n\n\
             Written by `cargo xtask bench{}`; do not edit by hand, run it again.\n",
            if self.mode == Mode::Quick { " --quick" } else { "" }
        );
        if self.mode == Mode::Quick {
            let _ = writeln!(
                text,
                "**A quick run**: fewer rounds and shorter loops than the whole bench. It proves \
                 every figure can still be measured; its figures are rougher than a whole run's \
                 and are not the project's results (those are `bench/RESULTS.md`).\n"
            );
        }
        let _ = writeln!(
            text,
            "Measured on {} at commit `{}`, on a machine with **{} cores** ({}), {:.1} GB of \
             memory, {}, with {}. The load average (1, 5, 15 minutes) was {} when the \
             measuring began and {} when it ended. The benches run one at a time, but each one's \
             load generator and browser share those cores with the server it measures, and the \
             machine with whatever else runs on it; so throughputs are counted per core of the \
             server's own CPU time, and times are medians of many rounds.\n",
            machine.date,
            machine.commit,
            machine.cores,
            machine.cpu,
            machine.memory_gb,
            machine.os,
            machine.rustc,
            self.load_before,
            self.load_after
        );
        let _ = writeln!(
            text,
            "{} figures: {passed} meet their target, {missed} miss it, and {} have no target in \
             the issues (reported beside what a user would pick instead, or for the record).\n",
            rows.len(),
            rows.len() - passed - missed
        );
        let _ = writeln!(
            text,
            "| figure | measured | target | verdict |\n|---|---:|---:|---|"
        );
        for row in rows {
            let _ = writeln!(
                text,
                "| {} | {} {} | {} | {} |",
                row.what.replace('|', "\\|"),
                figure(row.measured),
                row.unit,
                row.target_text(),
                row.verdict()
            );
        }
        let _ = writeln!(
            text,
            "\n## How long it took\n\n\
             Measuring took {}; with the builds before it (the four apps, the benches and the \
             server, mostly up to date) the whole run took {}{}.\n",
            minutes(self.measuring_took),
            minutes(self.builds_took + self.measuring_took),
            if self.mode == Mode::Full && self.builds_took + self.measuring_took > WHOLE_RUN_BUDGET {
                format!(", over its budget of {}", minutes(WHOLE_RUN_BUDGET))
            } else {
                String::new()
            }
        );
        let _ = writeln!(text, "| bench | seconds | outcome |\n|---|---:|---|");
        for run in self.runs {
            let outcome = run.error.as_deref().map_or_else(
                || "measured".to_owned(),
                |error| format!("failed: {}", error.lines().next().unwrap_or_default()),
            );
            let _ = writeln!(
                text,
                "| {} | {:.1} | {} |",
                run.bench,
                run.took.as_secs_f64(),
                outcome.replace('|', "\\|")
            );
        }
        let _ = writeln!(
            text,
            "\n## Whole runs and quick runs\n\n\
             `cargo xtask bench` is the project's measurement: run it on a quiet machine before \
             a release or after a change to a measured path, and commit the `bench/` it writes. \
             `cargo xtask bench --quick` runs the same benches with fewer rounds and shorter \
             loops and writes `bench/quick/` (not committed): CI runs it as a job of its own, \
             apart from `cargo xtask test`, to catch a bench that no longer runs or a figure \
             that went far off; its figures are rough and never replace a whole run's."
        );
        text
    }
}
