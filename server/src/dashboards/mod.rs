//! Dashboards as code: one TOML file per dashboard, the shipped ones built into the server
//! and more (or replacements) from a configured directory that is watched for changes.
//!
//! A change takes effect without a restart; a change that does not check out keeps the last
//! good version of that dashboard, and the log and `/readyz` say why.

pub mod answers;
pub mod definition;
pub mod evaluate;
pub mod words;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use vitals_api::{DashboardSummary, PanelQueryText, PanelSummary, Role, VariableSummary};

pub use definition::{Dashboard, FileError, Panel};

/// Relative ranges end on a multiple of this, so people opening the same view share answers;
/// an answer is kept this long (see [`answers`]).
pub const NOW_GRAIN_MS: i64 = 5_000;

use crate::settings::InvalidSetting;

/// The dashboards that ship with Vitals, as their files under `server/dashboards/`.
pub const SHIPPED: [(&str, &str); 6] = [
    ("clinic-now", include_str!("../../dashboards/clinic-now.toml")),
    (
        "patient-registrations",
        include_str!("../../dashboards/patient-registrations.toml"),
    ),
    (
        "doctor-interactions",
        include_str!("../../dashboards/doctor-interactions.toml"),
    ),
    ("login-health", include_str!("../../dashboards/login-health.toml")),
    ("queue-health", include_str!("../../dashboards/queue-health.toml")),
    (
        "service-overview",
        include_str!("../../dashboards/service-overview.toml"),
    ),
];

/// The home dashboard: is the clinic working right now?
pub const CLINIC_NOW: &str = "clinic-now";

/// `[dashboards]`: where more dashboards live, and how often that directory is looked at.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// A directory of `*.toml` dashboards, read beside the shipped ones; a file named like
    /// a shipped dashboard replaces it.
    pub dir: Option<PathBuf>,
    /// Milliseconds between looks at `dir` for changed files.
    #[serde(default = "default_reload_ms")]
    pub reload_ms: u64,
}

fn default_reload_ms() -> u64 {
    2_000
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            dir: None,
            reload_ms: default_reload_ms(),
        }
    }
}

impl DashboardConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(100..=3_600_000).contains(&self.reload_ms) {
            return Err(InvalidSetting::new(
                "dashboards.reload_ms",
                format!(
                    "is {}; write how many milliseconds between looks at the directory, 100 to 3600000",
                    self.reload_ms
                ),
            ));
        }
        Ok(())
    }
}

/// The dashboards as they stand, and what is wrong with the files that did not check out.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    dashboards: Vec<Arc<Dashboard>>,
    problems: Vec<FileError>,
}

impl Catalog {
    /// Every dashboard, in the order the list shows them.
    pub fn all(&self) -> &[Arc<Dashboard>] {
        &self.dashboards
    }

    pub fn find(&self, id: &str) -> Option<&Arc<Dashboard>> {
        self.dashboards.iter().find(|dashboard| dashboard.id == id)
    }

    /// The files whose last change did not check out; their last good version still answers.
    pub fn problems(&self) -> &[FileError] {
        &self.problems
    }
}

/// The dashboards, reloaded from the configured directory when a file there changes.
#[derive(Debug)]
pub struct Dashboards {
    /// The shipped dashboards, read once: each reload starts from them.
    shipped: Vec<Arc<Dashboard>>,
    current: RwLock<Arc<Catalog>>,
    dir: Option<PathBuf>,
    seen: Mutex<Vec<(PathBuf, Option<SystemTime>, u64)>>,
}

impl Dashboards {
    /// The shipped dashboards only.
    pub fn shipped() -> Self {
        let shipped: Vec<Arc<Dashboard>> = SHIPPED
            .iter()
            .map(|(id, text)| {
                definition::parse(&format!("server/dashboards/{id}.toml"), id, text)
                    .map(Arc::new)
                    .unwrap_or_else(|error| panic!("a shipped dashboard does not check out: {error}"))
            })
            .collect();
        Self {
            current: RwLock::new(Arc::new(sorted(shipped.clone(), Vec::new()))),
            shipped,
            dir: None,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// The shipped dashboards and those of `config.dir`; any file there that does not check
    /// out stops the start, with its file, line and key.
    pub fn load(config: &DashboardConfig) -> Result<Self, FileError> {
        let mut dashboards = Self::shipped();
        let Some(dir) = &config.dir else {
            return Ok(dashboards);
        };
        dashboards.dir = Some(dir.clone());
        dashboards.reload();
        if let Some(problem) = dashboards.catalog().problems.first() {
            return Err(problem.clone());
        }
        Ok(dashboards)
    }

    /// The dashboards as they stand now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the directory again if a file in it was added, changed or removed since the last
    /// look. Returns whether anything changed.
    pub fn reload_if_changed(&self) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        let now = fingerprint(dir);
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        self.reload();
        true
    }

    /// Reads every file of the directory: the ones that check out replace their dashboard,
    /// the ones that do not keep its last good version and are reported.
    fn reload(&self) {
        let Some(dir) = &self.dir else {
            return;
        };
        let previous = self.catalog();
        // Shipped dashboards stand unless a file of the directory replaces them.
        let mut by_id: BTreeMap<String, Arc<Dashboard>> = self
            .shipped
            .iter()
            .map(|dashboard| (dashboard.id.clone(), dashboard.clone()))
            .collect();
        let mut problems = Vec::new();
        for path in toml_files(dir, &mut problems) {
            let file = path.display().to_string();
            let id = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .to_owned();
            let parsed = std::fs::read_to_string(&path)
                .map_err(|error| FileError {
                    file: file.clone(),
                    line: None,
                    key: None,
                    problem: format!("cannot be read ({error}); check its permissions"),
                })
                .and_then(|text| definition::parse(&file, &id, &text));
            match parsed {
                Ok(dashboard) => {
                    by_id.insert(id, Arc::new(dashboard));
                }
                Err(problem) => {
                    if let Some(last_good) = previous.find(&id) {
                        by_id.insert(id, last_good.clone());
                    }
                    problems.push(problem);
                }
            }
        }
        for problem in &problems {
            tracing::warn!(
                dashboards.problem = %problem,
                "a dashboard file does not check out; its last good version stays"
            );
        }
        let catalog = sorted(by_id.into_values().collect(), problems);
        tracing::info!(dashboards = catalog.dashboards.len(), "dashboards loaded");
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
    }

    /// Looks at the directory every `every` for as long as the server runs.
    pub fn watch(self: Arc<Self>, every: Duration) {
        if self.dir.is_none() {
            return;
        }
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
            fingerprint(self.dir.as_deref().unwrap_or(Path::new(".")));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let dashboards = self.clone();
                // Reading files blocks; keep it off the request threads.
                let _ = tokio::task::spawn_blocking(move || dashboards.reload_if_changed()).await;
            }
        });
    }
}

fn sorted(mut dashboards: Vec<Arc<Dashboard>>, problems: Vec<FileError>) -> Catalog {
    dashboards.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.title.cmp(&b.title)));
    Catalog { dashboards, problems }
}

/// The `*.toml` files of `dir`, by name; a directory that cannot be read is a problem.
fn toml_files(dir: &Path, problems: &mut Vec<FileError>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(FileError {
                file: dir.display().to_string(),
                line: None,
                key: None,
                problem: format!("the dashboards directory cannot be read ({error}); check `dashboards.dir`"),
            });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    files.sort();
    files
}

/// Each file's name, modification time and length: what tells a change.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    toml_files(dir, &mut Vec::new())
        .into_iter()
        .map(|path| {
            let metadata = std::fs::metadata(&path).ok();
            let modified = metadata.as_ref().and_then(|metadata| metadata.modified().ok());
            let length = metadata.map_or(0, |metadata| metadata.len());
            (path, modified, length)
        })
        .collect()
}

/// Whether a person with `may` (their roles, admin holding all) may open `dashboard`.
pub fn may_open(dashboard: &Dashboard, may: impl Fn(Role) -> bool) -> bool {
    dashboard.roles.iter().any(|role| may(*role))
}

/// The dashboard as the API lists it; with its queries for engineers only.
pub fn summary(dashboard: &Dashboard, with_queries: bool) -> DashboardSummary {
    DashboardSummary {
        id: dashboard.id.clone(),
        title: dashboard.title.clone(),
        description: dashboard.description.clone(),
        default_from: dashboard.default_from.clone(),
        refresh_seconds: dashboard.refresh_seconds,
        variables: dashboard
            .variables
            .iter()
            .map(|variable| VariableSummary {
                name: variable.name.clone(),
                label: variable.label.clone(),
                default: variable.default.clone(),
                values: variable
                    .values
                    .iter()
                    .map(|value| vitals_api::VariableValue {
                        value: value.value.clone(),
                        label: value.label.clone(),
                    })
                    .collect(),
            })
            .collect(),
        panels: dashboard
            .panels
            .iter()
            .map(|panel| PanelSummary {
                id: panel.id.clone(),
                title: panel.title.clone(),
                kind: panel.kind,
                unit: panel.unit,
                width: panel.width,
                queries: if with_queries {
                    queries_of(panel)
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }
}

fn queries_of(panel: &Panel) -> Vec<PanelQueryText> {
    [
        ("demo", &panel.queries.demo),
        ("prometheus", &panel.queries.prometheus),
        ("loki", &panel.queries.loki),
    ]
    .into_iter()
    .filter_map(|(source, query)| {
        query.as_ref().map(|query| PanelQueryText {
            source: source.to_owned(),
            query: query.clone(),
        })
    })
    .collect()
}

/// Whether the dashboard allows `value` for its variable `name`; the error says why not.
pub fn check_variable(dashboard: &Dashboard, name: &str, value: &str) -> Result<(), String> {
    let shown = |text: &str| text.chars().take(60).collect::<String>();
    let Some(variable) = dashboard.variables.iter().find(|variable| variable.name == name) else {
        let names: Vec<&str> = dashboard.variables.iter().map(|v| v.name.as_str()).collect();
        return Err(if names.is_empty() {
            format!(
                "the dashboard \"{}\" has no variables; leave \"{}\" out",
                dashboard.id,
                shown(name)
            )
        } else {
            format!(
                "the dashboard \"{}\" has no variable \"{}\"; it has: {}",
                dashboard.id,
                shown(name),
                names.join(", ")
            )
        });
    };
    if variable.values.iter().any(|allowed| allowed.value == value) {
        return Ok(());
    }
    let allowed: Vec<&str> = variable.values.iter().map(|v| v.value.as_str()).collect();
    Err(format!(
        "\"{}\" is not allowed for {}; pick one of: {}",
        shown(value),
        variable.name,
        allowed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_server_dashboards_ships_and_checks_out() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
        // Beside the dashboards, the status page's, the objectives' and the journeys' files are
        // not dashboards.
        let others = [
            Path::new(crate::status::definition::SHIPPED_FILE).file_name(),
            Path::new(crate::insights::slo::SHIPPED_FILE).file_name(),
            Path::new(crate::insights::journey::SHIPPED_FILE).file_name(),
        ];
        let mut on_disk: Vec<String> = toml_files(&dir, &mut Vec::new())
            .iter()
            .filter(|path| !others.contains(&path.file_name()))
            .filter_map(|path| path.file_stem()?.to_str().map(str::to_owned))
            .collect();
        on_disk.sort();
        let mut shipped: Vec<String> = SHIPPED.iter().map(|(id, _)| (*id).to_owned()).collect();
        shipped.sort();
        assert_eq!(
            on_disk, shipped,
            "add each file under server/dashboards to SHIPPED"
        );
        let catalog = Dashboards::shipped().catalog();
        assert_eq!(catalog.all().len(), SHIPPED.len());
        assert_eq!(catalog.all()[0].id, CLINIC_NOW, "the home dashboard comes first");
    }

    #[test]
    fn a_variable_outside_its_allowlist_is_refused_with_the_allowed_values() {
        let catalog = Dashboards::shipped().catalog();
        let registrations = catalog.find("patient-registrations").unwrap();
        assert!(check_variable(registrations, "clinic", "north").is_ok());
        let problem = check_variable(registrations, "clinic", "west").unwrap_err();
        assert!(
            problem.contains("\"west\" is not allowed for clinic"),
            "{problem}"
        );
        let problem = check_variable(registrations, "query", "sum(up)").unwrap_err();
        assert!(problem.contains("no variable \"query\""), "{problem}");
    }
}
