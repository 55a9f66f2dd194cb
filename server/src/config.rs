//! Server configuration: one TOML file, overlaid by `VITALS_*` environment variables, validated
//! at start. Each component owns its section (`[loki]` is a [`LokiConfig`], beside the Loki
//! source) and checks it; this module composes them, and layers the file and the environment
//! with `figment`.
//!
//! A variable `VITALS_<SECTION>_<KEY>` sets `<key>` in `[<section>]` (`VITALS_LOKI_URL` is
//! `loki.url`, `VITALS_GUARD_TIMEOUT_MS` is `guard.timeout_ms`), `VITALS_<KEY>` a top-level key
//! (`VITALS_LISTEN`); a few keep the names they had before this rule (see `NAMED_BEFORE`).
//! `AWS_REGION` gives `dynamodb` and `xray` their region when they have none of their own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::error::Kind;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Deserialize;

pub use crate::auth::identity::CognitoConfig;
use crate::auth::identity::{check_demo_allowed, check_one_identity_provider};
pub use crate::auth::limits::LimitConfig;
pub use crate::dashboards::DashboardConfig;
pub use crate::masking::MaskingConfig;
pub use crate::scope::{LabelScopeRule, LabelScopes};
use crate::settings::InvalidSetting;
pub use crate::sources::guard::GuardConfig;
pub use crate::sources::loki::LokiConfig;
pub use crate::sources::prometheus::PrometheusConfig;
pub use crate::sources::xray::XRayConfig;
use crate::store::missing_with_cognito;
pub use crate::store::{DynamoConfig, LinkPolicy, SessionPolicy};
pub use crate::traces::TraceConfig;
pub use vitals_demo::{DemoConfig, FailureWindow};

/// Why the configuration cannot be used. Every message names the key, or the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("the config file {path} is not valid: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("`{key}` {problem}")]
    Invalid { key: String, problem: String },
}

impl ConfigError {
    fn invalid(key: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

impl From<InvalidSetting> for ConfigError {
    fn from(invalid: InvalidSetting) -> Self {
        Self::Invalid {
            key: invalid.key,
            problem: invalid.problem,
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the public listener (`VITALS_LISTEN`).
    pub listen: SocketAddr,
    /// Address of `/metrics` and the health checks for the load balancer (`VITALS_ADMIN_LISTEN`).
    pub admin_listen: SocketAddr,
    /// Where the built browser app is (`VITALS_DIST_DIR`).
    pub dist_dir: PathBuf,
    /// Where the embedded store lives (`VITALS_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Log format: `text` for people, `json` for CloudWatch (`VITALS_LOG_FORMAT`).
    pub log_format: LogFormat,
    pub demo: DemoConfig,
    /// Grafana Loki for logs; without it logs come from the demo clinic.
    pub loki: Option<LokiConfig>,
    /// Prometheus or AMP for metrics; without it metrics come from the demo clinic.
    pub prometheus: Option<PrometheusConfig>,
    /// AWS X-Ray for traces and the service map; without it they come from the demo clinic.
    pub xray: Option<XRayConfig>,
    /// Timeouts, caps, caching and the circuit breaker in front of every source.
    pub guard: GuardConfig,
    /// `[session]`: idle and absolute session lifetimes, and the key sealing Cognito's tokens.
    pub session: SessionPolicy,
    /// `[cognito]`: the user pool people log in with.
    pub cognito: Option<CognitoConfig>,
    /// `[dynamodb]`: keep sessions in DynamoDB, for several replicas; SQLite in `data_dir` otherwise.
    pub dynamodb: Option<DynamoConfig>,
    /// The demo users' password (`VITALS_DEMO_PASSWORD`); demo mode only, loopback only.
    pub demo_password: Option<Secret>,
    /// Take the client address from the load balancer's `X-Forwarded-For` (`VITALS_TRUST_FORWARDED_FOR`).
    pub trust_forwarded_for: bool,
    /// `[limits]`: failed logins, API requests and live tails.
    pub limits: LimitConfig,
    /// `[links]`: how long share links work.
    pub links: LinkPolicy,
    /// `[dashboards]`: a directory of more dashboards, watched for changes.
    pub dashboards: DashboardConfig,
    /// `[traces]`: how large a trace is sent whole, and how many spans a window of a larger one holds.
    pub traces: TraceConfig,
    /// `[masking]`: personal field names beyond the defaults.
    pub masking: MaskingConfig,
    /// `[[label_scopes]]`: roles and Cognito groups confined to label matchers.
    pub label_scopes: Vec<LabelScopeRule>,
    /// `[status]`: how often the status page is evaluated.
    pub status: StatusConfig,
    /// `[insights]`: the objectives and how often they are evaluated.
    pub insights: crate::insights::InsightsConfig,
}

/// `[status]`: how often the status page's components are evaluated, for everyone at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// Seconds between evaluations (`VITALS_STATUS_INTERVAL_SECONDS`); 5 to 3600.
    pub interval_seconds: u32,
    /// The hospital's own status page file (`VITALS_STATUS_FILE`): its components, rules and,
    /// where configured, the embedded page's language; the shipped `status.toml` when unset.
    pub file: Option<PathBuf>,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            interval_seconds: crate::status::board::DEFAULT_INTERVAL_SECONDS,
            file: None,
        }
    }
}

impl StatusConfig {
    /// Checks the interval; the error names the key under `[status]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(5..=3_600).contains(&self.interval_seconds) {
            return Err(InvalidSetting::new(
                "status.interval_seconds",
                format!("is {}; use 5 to 3600 seconds", self.interval_seconds),
            ));
        }
        Ok(())
    }
}

/// A setting that must never be printed, such as a password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            dist_dir: PathBuf::from("dist"),
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::Text,
            demo: DemoConfig::default(),
            loki: None,
            prometheus: None,
            xray: None,
            guard: GuardConfig::default(),
            session: SessionPolicy::default(),
            cognito: None,
            dynamodb: None,
            demo_password: None,
            trust_forwarded_for: false,
            limits: LimitConfig::default(),
            links: LinkPolicy::default(),
            dashboards: DashboardConfig::default(),
            traces: TraceConfig::default(),
            masking: MaskingConfig::default(),
            label_scopes: Vec::new(),
            status: StatusConfig::default(),
            insights: crate::insights::InsightsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The sections a `VITALS_<SECTION>_<KEY>` variable may set a key in.
const SECTIONS: [&str; 15] = [
    "demo",
    "loki",
    "prometheus",
    "xray",
    "guard",
    "session",
    "cognito",
    "dynamodb",
    "limits",
    "links",
    "dashboards",
    "traces",
    "masking",
    "status",
    "insights",
];

/// The top-level keys a `VITALS_<KEY>` variable may set; other `VITALS_` variables belong to
/// the tools around the server and are left alone.
const TOP_LEVEL: [&str; 6] = [
    "listen",
    "admin_listen",
    "dist_dir",
    "data_dir",
    "log_format",
    "trust_forwarded_for",
];

/// Variables named before the `VITALS_<SECTION>_<KEY>` rule, kept so deployments need not change.
const NAMED_BEFORE: [(&str, &str); 4] = [
    ("VITALS_SESSION_TABLE", "dynamodb.table"),
    ("VITALS_AUDIT_TABLE", "dynamodb.audit_table"),
    ("VITALS_AMP_REGION", "prometheus.amp_region"),
    ("VITALS_DEMO_PASSWORD", "demo_password"),
];

/// The sections that take their region from `AWS_REGION` when they name none.
const REGIONAL_SECTIONS: [&str; 2] = ["dynamodb", "xray"];

/// The key a variable sets, if it is one of the server's.
fn key_of_variable(name: &str) -> Option<String> {
    if let Some((_, key)) = NAMED_BEFORE.iter().find(|(variable, _)| *variable == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("VITALS_")?.to_ascii_lowercase();
    if TOP_LEVEL.contains(&rest.as_str()) {
        return Some(rest);
    }
    SECTIONS.iter().find_map(|section| {
        let key = rest.strip_prefix(section)?.strip_prefix('_')?;
        (!key.is_empty()).then(|| format!("{section}.{key}"))
    })
}

/// The variable that sets a key, for messages.
fn variable_of_key(key: &str) -> String {
    match NAMED_BEFORE.iter().find(|(_, named)| *named == key) {
        Some((variable, _)) => (*variable).to_owned(),
        None => format!("VITALS_{}", key.replace('.', "_").to_ascii_uppercase()),
    }
}

/// The server's variables as a figment layer: each value as written (a tenant `0042` stays
/// text), read as a number or a flag only where the key wants one. Empty variables count as unset.
struct Environment<'a> {
    variables: &'a HashMap<String, String>,
}

impl Provider for Environment<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable")
            .interpolater(|_: &Profile, keys: &[&str]| variable_of_key(&keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = Dict::new();
        for (name, value) in self.variables {
            let Some(key) = key_of_variable(name).filter(|_| !value.is_empty()) else {
                continue;
            };
            let value = Value::from(value.clone());
            match key.split_once('.') {
                Some((section, name)) => {
                    let section = data
                        .entry(section.to_owned())
                        .or_insert_with(|| Value::from(Dict::new()));
                    if let Value::Dict(_, keys) = section {
                        keys.insert(name.to_owned(), value);
                    }
                }
                None => {
                    data.insert(key, value);
                }
            }
        }
        Ok(Profile::Default.collect(data))
    }
}

impl Config {
    /// Reads the file (if any), applies the environment and validates.
    /// `path` is `--config`; without it `vitals.toml` is read when present.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let default_file = Path::new("vitals.toml");
        let file = match path {
            Some(path) => Some(path),
            None => default_file.exists().then_some(default_file),
        };
        let file = match file {
            Some(path) => {
                // Read once here, so a missing file is an error rather than an empty layer.
                std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
                    path: path.to_owned(),
                    reason: err.to_string(),
                })?;
                Some(Toml::file_exact(path))
            }
            None => None,
        };
        let config = Self::layered(file, env)?;
        config.validate()?;
        Ok(config)
    }

    /// The defaults, then the file, then the environment; not yet validated.
    fn layered(file: Option<impl Provider>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(file);
        }
        figment = figment.merge(Environment { variables: env });
        if let Some(region) = env.get("AWS_REGION").filter(|region| !region.is_empty()) {
            for section in REGIONAL_SECTIONS {
                if figment.contains(section) {
                    figment = figment.join(Serialized::default(&format!("{section}.region"), region));
                }
            }
        }
        figment.extract_lossy().map_err(|error| from_figment(&error))
    }

    /// Checks what types alone cannot, each component its own section; each error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen == self.admin_listen && self.listen.port() != 0 {
            return Err(ConfigError::invalid(
                "admin_listen",
                format!(
                    "is the same address as `listen` ({}); give the admin listener its own port",
                    self.listen
                ),
            ));
        }
        self.demo.validate().map_err(|invalid| ConfigError::Invalid {
            key: format!("demo.{}", invalid.key),
            problem: invalid.problem,
        })?;
        self.session.validate()?;
        check_one_identity_provider(self.demo_password.is_some(), self.cognito.is_some())
            .map_err(|problem| ConfigError::invalid("demo_password", problem))?;
        if self.demo_password.is_some() {
            check_demo_allowed(self.listen)
                .map_err(|problem| ConfigError::invalid("demo_password", problem))?;
        }
        if let Some(cognito) = &self.cognito {
            cognito.validate()?;
            // A key of this process alone would log everyone out at each restart and differ between replicas.
            if self.session.token_key.is_none() {
                return Err(ConfigError::invalid("session.token_key", missing_with_cognito()));
            }
        }
        if let Some(dynamo) = &self.dynamodb {
            dynamo.validate()?;
        }
        self.guard.validate()?;
        self.limits.validate()?;
        self.links.validate()?;
        self.status.validate()?;
        self.insights.validate()?;
        self.dashboards.validate()?;
        self.traces.validate()?;
        self.masking.validate()?;
        LabelScopes::new(&self.label_scopes)?;
        if let Some(loki) = &self.loki {
            loki.validate()?;
        }
        if let Some(prometheus) = &self.prometheus {
            prometheus.validate()?;
        }
        if let Some(xray) = &self.xray {
            xray.validate()?;
        }
        Ok(())
    }
}

/// What serde expects, as someone editing a config file reads it.
fn in_words(expected: &str) -> String {
    let words = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" => "text in quotes",
        other => other,
    };
    words.to_owned()
}

/// A figment error as the person fixing the configuration reads it: the key, what is wrong,
/// and the file or variable it came from. Values of secrets are never repeated.
fn from_figment(error: &figment::Error) -> ConfigError {
    let file = error
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.source.as_ref())
        .and_then(|source| source.file_path())
        .map(Path::to_owned);
    let mut key = error.path.join(".");
    let key_in = |name: &str| match key.is_empty() {
        true => name.to_owned(),
        false => format!("{key}.{name}"),
    };
    let problem = match &error.kind {
        // A file that is not TOML: the parser's message names the line.
        Kind::Message(message) if key.is_empty() => {
            return match file {
                Some(path) => ConfigError::Parse {
                    path,
                    reason: message.trim_end().replace('\n', " "),
                },
                None => ConfigError::invalid("(configuration)", message.clone()),
            };
        }
        Kind::MissingField(name) => {
            key = key_in(name);
            let region = if key.ends_with(".region") {
                ", or AWS_REGION"
            } else {
                ""
            };
            format!(
                "is missing; write it in the config file or set {}{region}",
                variable_of_key(&key)
            )
        }
        Kind::UnknownField(_, expected) => {
            format!(
                "is not a setting Vitals knows; check the spelling (the keys here are: {})",
                expected.join(", ")
            )
        }
        Kind::Message(message) if message.contains("URL") => {
            format!("is not a URL ({message}); write it as http://host:port or https://host")
        }
        Kind::Message(message) => format!("is not valid: {message}"),
        Kind::UnknownVariant(_, expected) => format!("is not one of: {}", expected.join(", ")),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            let secret = ["secret", "password", "token_key"]
                .iter()
                .any(|word| key.contains(word));
            let wanted = in_words(expected);
            match secret {
                true => format!("is not {wanted}; write {wanted}"),
                false => format!("is {actual}; write {wanted}"),
            }
        }
        other => other.to_string(),
    };
    let from = match (&file, &error.metadata) {
        // Where the section came from is no help in finding a key that is not there.
        _ if matches!(error.kind, Kind::MissingField(_)) => String::new(),
        (Some(path), _) => format!(" (in {})", path.display()),
        (None, Some(metadata)) if metadata.name == "environment variable" => {
            format!(" (from {})", variable_of_key(&key))
        }
        _ => String::new(),
    };
    ConfigError::Invalid {
        key,
        problem: format!("{problem}{from}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The file's text, then the variables, layered as at start; not yet validated.
    fn layered(toml: &str, pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::layered(Some(Toml::string(toml)), &env(pairs)).map_err(|err| err.to_string())
    }

    fn from_env(pairs: &[(&str, &str)]) -> Result<Config, String> {
        layered("", pairs)
    }

    fn from_toml(toml: &str) -> Result<Config, String> {
        layered(toml, &[])
    }

    fn refusal(config: Result<Config, String>) -> String {
        match config {
            Ok(config) => config
                .validate()
                .map(|()| "accepted".into())
                .unwrap_or_else(|e| e.to_string()),
            Err(error) => error,
        }
    }

    #[test]
    fn unknown_keys_are_named_with_what_is_known() {
        let err = from_toml("listen = \"127.0.0.1:8080\"\nlisen_port = 3\n").unwrap_err();
        assert!(err.contains("`lisen_port`") && err.contains("listen"), "{err}");
        let err = from_toml("[demo]\nseeds = 3\n").unwrap_err();
        assert!(err.contains("`demo.seeds`"), "{err}");
        let err = from_env(&[("VITALS_LOKI_URLL", "http://loki:3100")]).unwrap_err();
        assert!(
            err.contains("`loki.urll`") && err.contains("VITALS_LOKI_URLL"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_name_the_key_and_where_it_came_from() {
        let err = from_toml("[demo]\nseed = \"abc\"\n").unwrap_err();
        assert!(err.contains("`demo.seed`") && err.contains("abc"), "{err}");
        let err = from_env(&[("VITALS_LIMITS_API_BURST", "lots")]).unwrap_err();
        assert!(
            err.contains("`limits.api_burst`") && err.contains("VITALS_LIMITS_API_BURST"),
            "{err}"
        );
        let err = from_env(&[("VITALS_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.contains("`log_format`") && err.contains("json"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_toml_names_the_line() {
        let path = std::env::temp_dir().join(format!("vitals-config-{}.toml", std::process::id()));
        std::fs::write(&path, "listen = \"127.0.0.1:8080\"\n[guard\n").unwrap();
        let err = Config::load(Some(&path), &HashMap::new())
            .unwrap_err()
            .to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("line 2"),
            "{err}"
        );
        let missing = Config::load(Some(Path::new("/nonexistent/vitals.toml")), &HashMap::new());
        assert!(matches!(missing, Err(ConfigError::Read { .. })));
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = layered(
            "listen = \"127.0.0.1:1000\"\n[guard]\ntimeout_ms = 2000\n",
            &[("VITALS_LISTEN", "127.0.0.1:2000"), ("VITALS_DEMO_SEED", "7")],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 2000);
        assert_eq!(config.demo.seed, 7);
        assert_eq!(
            config.guard.timeout_ms, 2000,
            "what the environment leaves alone stays"
        );
    }

    #[test]
    fn every_key_of_a_section_has_its_variable_and_other_variables_are_left_alone() {
        let config = from_env(&[
            ("VITALS_GUARD_TIMEOUT_MS", "2500"),
            ("VITALS_LIMITS_TAILS_PER_PERSON", "5"),
            ("VITALS_STATUS_INTERVAL_SECONDS", "60"),
            ("VITALS_TOOLS_DIR", "/opt/tools"),
            ("VITALS_LOKI_TENANT", ""),
            ("HOME", "/root"),
        ])
        .unwrap();
        assert_eq!(config.guard.timeout_ms, 2500);
        assert_eq!(config.limits.tails_per_person, 5);
        assert_eq!(config.status.interval_seconds, 60);
        assert_eq!(config.loki, None, "an empty variable counts as unset");
    }

    #[test]
    fn a_tenant_of_digits_stays_text() {
        let config = from_env(&[
            ("VITALS_LOKI_URL", "http://loki:3100"),
            ("VITALS_LOKI_TENANT", "0042"),
        ])
        .unwrap();
        assert_eq!(config.loki.unwrap().tenant.as_deref(), Some("0042"));
    }

    #[test]
    fn the_audit_table_comes_with_the_session_table_and_is_another_table() {
        let config = from_env(&[
            ("VITALS_SESSION_TABLE", "vitals-sessions"),
            ("VITALS_AUDIT_TABLE", "vitals-audit"),
            ("AWS_REGION", "eu-west-2"),
        ])
        .unwrap();
        let dynamo = config.dynamodb.clone().unwrap();
        assert_eq!(dynamo.audit_table.as_deref(), Some("vitals-audit"));
        assert_eq!(dynamo.region, "eu-west-2", "AWS_REGION fills the region");
        assert_eq!(config.validate().map_err(|err| err.to_string()), Ok(()));

        let alone = from_env(&[("VITALS_AUDIT_TABLE", "vitals-audit")]).unwrap_err();
        assert!(
            alone.contains("`dynamodb.table`") && alone.contains("VITALS_SESSION_TABLE"),
            "{alone}"
        );

        let same =
            from_toml("[dynamodb]\ntable = \"vitals\"\naudit_table = \"vitals\"\nregion = \"eu-west-2\"\n");
        let error = refusal(same);
        assert!(error.contains("dynamodb.audit_table"), "{error}");
    }

    #[test]
    fn bad_environment_address_names_the_variable() {
        let err = from_env(&[("VITALS_ADMIN_LISTEN", "nonsense")]).unwrap_err();
        assert!(err.contains("VITALS_ADMIN_LISTEN"), "{err}");
    }

    #[test]
    fn inverted_failure_window_is_refused_with_its_index() {
        let config = from_toml(
            "[demo]\nfailure_windows = [{ from_minute = 10, to_minute = 20 }, { from_minute = 50, to_minute = 40 }]\n",
        );
        let err = refusal(config);
        assert!(err.contains("demo.failure_windows[1]"), "{err}");
    }

    #[test]
    fn same_public_and_admin_address_is_refused() {
        let config = from_toml("listen = \"127.0.0.1:9000\"\nadmin_listen = \"127.0.0.1:9000\"\n");
        let err = refusal(config);
        assert!(err.contains("admin_listen"), "{err}");
    }

    #[test]
    fn source_variables_configure_each_source() {
        let config = from_env(&[
            ("VITALS_LOKI_URL", "http://loki.internal:3100"),
            ("VITALS_LOKI_TENANT", "clinic"),
            (
                "VITALS_PROMETHEUS_URL",
                "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1",
            ),
            ("VITALS_AMP_REGION", "eu-west-1"),
            ("VITALS_XRAY_ENDPOINT", "http://127.0.0.1:5000"),
            ("AWS_REGION", "eu-west-2"),
        ])
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.loki.as_ref().unwrap().tenant.as_deref(), Some("clinic"));
        assert_eq!(
            config.prometheus.as_ref().unwrap().amp_region.as_deref(),
            Some("eu-west-1")
        );
        let xray = config.xray.unwrap();
        assert_eq!(xray.region, "eu-west-2", "the endpoint alone takes AWS_REGION");
        assert_eq!(xray.endpoint.unwrap().as_str(), "http://127.0.0.1:5000/");

        let own = layered("[xray]\nregion = \"us-east-1\"\n", &[("AWS_REGION", "eu-west-2")]).unwrap();
        assert_eq!(
            own.xray.unwrap().region,
            "us-east-1",
            "AWS_REGION never overrides"
        );
        assert_eq!(from_env(&[("AWS_REGION", "eu-west-2")]).unwrap().xray, None);
    }

    #[test]
    fn amp_region_without_a_url_is_refused() {
        let err = from_env(&[("VITALS_AMP_REGION", "eu-west-1")]).unwrap_err();
        assert!(
            err.contains("`prometheus.url`") && err.contains("VITALS_PROMETHEUS_URL"),
            "{err}"
        );
    }

    #[test]
    fn xray_endpoint_without_any_region_is_refused() {
        let err = from_env(&[("VITALS_XRAY_ENDPOINT", "http://127.0.0.1:5000")]).unwrap_err();
        assert!(
            err.contains("VITALS_XRAY_REGION") && err.contains("AWS_REGION"),
            "{err}"
        );
    }

    #[test]
    fn bad_source_urls_and_regions_name_their_key() {
        let cases = [
            ("[loki]\nurl = \"loki:3100\"\n", "loki.url"),
            ("[loki]\nurl = \"not a url\"\n", "loki.url"),
            ("[loki]\nurl = \"http://user:secret@loki:3100\"\n", "loki.url"),
            ("[prometheus]\nurl = \"ftp://prom\"\n", "prometheus.url"),
            (
                "[prometheus]\nurl = \"http://prom:9090\"\namp_region = \"Ireland\"\n",
                "prometheus.amp_region",
            ),
            (
                "[xray]\nregion = \"eu-west-1\"\nendpoint = \"nowhere\"\n",
                "xray.endpoint",
            ),
            ("[xray]\nregion = \"Ireland\"\n", "xray.region"),
            (
                "[dynamodb]\ntable = \"t\"\nregion = \"eu-west-1\"\n",
                "dynamodb.table",
            ),
        ];
        for (toml, key) in cases {
            let err = refusal(from_toml(toml));
            assert!(err.contains(key), "{toml}: {err}");
            assert!(!err.contains("secret"), "a password must not be echoed: {err}");
        }
    }

    #[test]
    fn bad_guard_and_limit_settings_name_their_key() {
        let err = refusal(from_toml("[guard]\ntimeout_ms = 0\n"));
        assert!(err.contains("guard.timeout_ms"), "{err}");
        let err = refusal(from_env(&[("VITALS_LIMITS_API_BURST", "0")]));
        assert!(err.contains("limits.api_burst"), "{err}");
    }

    #[test]
    fn the_dashboards_directory_comes_from_the_file_or_the_environment() {
        let config = from_env(&[("VITALS_DASHBOARDS_DIR", "/etc/vitals/dashboards")]).unwrap();
        assert_eq!(
            config.dashboards.dir.as_deref(),
            Some(std::path::Path::new("/etc/vitals/dashboards"))
        );
        assert_eq!(config.dashboards.reload_ms, 2_000);
        let err = refusal(from_toml("[dashboards]\nreload_ms = 5\n"));
        assert!(err.contains("dashboards.reload_ms"), "{err}");
    }

    #[test]
    fn trace_limits_come_from_the_file_or_the_environment() {
        let config = from_env(&[("VITALS_TRACES_WHOLE_LIMIT", "50000")]).unwrap();
        assert_eq!(config.traces.whole_limit, 50_000);
        assert_eq!(config.traces.window_limit, 5_000);
        let err = refusal(from_toml("[traces]\nwindow_limit = 50\n"));
        assert!(err.contains("traces.window_limit"), "{err}");
    }

    #[test]
    fn demo_users_only_on_loopback_and_never_beside_cognito() {
        let mut config = from_env(&[("VITALS_DEMO_PASSWORD", "demo")]).unwrap();
        config.validate().unwrap();
        config.listen = "0.0.0.0:8080".parse().unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("VITALS_DEMO_PASSWORD"), "{err}");

        let both = from_env(&[
            ("VITALS_DEMO_PASSWORD", "demo"),
            ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
            ("VITALS_COGNITO_CLIENT_ID", "client"),
        ]);
        let err = refusal(both);
        assert!(err.contains("set only one"), "{err}");
    }

    #[test]
    fn cognito_needs_a_client_id_and_a_pool_id_with_its_region() {
        let err = from_env(&[("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def")]).unwrap_err();
        assert!(err.contains("VITALS_COGNITO_CLIENT_ID"), "{err}");
        let err = refusal(from_toml(
            "[cognito]\nuser_pool_id = \"pool\"\nclient_id = \"c\"\n",
        ));
        assert!(err.contains("cognito.user_pool_id"), "{err}");
    }

    #[test]
    fn cognito_needs_a_token_key_of_32_bytes_and_says_how_to_make_one() {
        let cognito = [
            ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
            ("VITALS_COGNITO_CLIENT_ID", "client"),
        ];
        let err = refusal(from_env(&cognito));
        assert!(
            err.contains("session.token_key") && err.contains("openssl rand -base64 32"),
            "{err}"
        );

        let short = [cognito[0], cognito[1], ("VITALS_SESSION_TOKEN_KEY", "c2hvcnQ=")];
        let err = from_env(&short).unwrap_err();
        assert!(
            err.contains("VITALS_SESSION_TOKEN_KEY") && err.contains("not 32"),
            "{err}"
        );
        assert!(!err.contains("c2hvcnQ="), "the key itself is never shown: {err}");
        let err = from_toml("[session]\ntoken_key = \"c2hvcnQ=\"\n").unwrap_err();
        assert!(
            err.contains("token_key") && err.contains("openssl rand -base64 32"),
            "{err}"
        );
        assert!(!err.contains("c2hvcnQ="), "the key itself is never shown: {err}");

        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let good = [cognito[0], cognito[1], ("VITALS_SESSION_TOKEN_KEY", key)];
        let config = from_env(&good).unwrap();
        config.validate().unwrap();
        assert!(!format!("{config:?}").contains(key));
    }

    #[test]
    fn client_secret_never_shows_in_debug_output() {
        let mut config = from_env(&[
            ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
            ("VITALS_COGNITO_CLIENT_ID", "client"),
            ("VITALS_COGNITO_CLIENT_SECRET", "very-secret"),
        ])
        .unwrap();
        config.demo_password = Some(Secret("demo-secret".into()));
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("demo-secret"),
            "{shown}"
        );
    }

    #[test]
    fn variables_and_keys_name_each_other() {
        for (variable, key) in [
            ("VITALS_LOKI_URL", "loki.url"),
            ("VITALS_COGNITO_USER_POOL_ID", "cognito.user_pool_id"),
            ("VITALS_SESSION_TOKEN_KEY", "session.token_key"),
            ("VITALS_SESSION_TABLE", "dynamodb.table"),
            ("VITALS_TRUST_FORWARDED_FOR", "trust_forwarded_for"),
        ] {
            assert_eq!(key_of_variable(variable).as_deref(), Some(key));
            assert_eq!(variable_of_key(key), variable);
        }
        assert_eq!(key_of_variable("VITALS_MOTO_VENV"), None);
        assert_eq!(key_of_variable("VITALS_LOKI_"), None);
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        assert_eq!(from_env(&[]).unwrap(), Config::default());
    }
}
