//! Server configuration: one TOML file, overridden by `VITALS_*` environment variables, validated at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration cannot be used. Every message names the key.
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The embedded demo clinic, used when no source is configured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// The same seed gives the same clinic, minute by minute.
    pub seed: u64,
    /// Clinic sites; each has its own registrations and doctors.
    pub clinics: Vec<String>,
    /// Minutes of every hour during which the training failure runs
    /// (`GetItem` with key `timestamp = "latest"` answers ResourceNotFound).
    pub failure_windows: Vec<FailureWindow>,
    /// Hours east of UTC of the clinics' local time, for the day/night rhythm.
    pub utc_offset_hours: i32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 20_261_125,
            clinics: vec!["north".into(), "south".into(), "east".into()],
            failure_windows: vec![FailureWindow {
                from_minute: 40,
                to_minute: 50,
            }],
            utc_offset_hours: 0,
        }
    }
}

/// Minutes `[from_minute, to_minute)` of every hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureWindow {
    pub from_minute: u32,
    pub to_minute: u32,
}

impl FailureWindow {
    /// Whether the given minute of the hour (0–59) lies in the window.
    pub fn contains(&self, minute_of_hour: u32) -> bool {
        (self.from_minute..self.to_minute).contains(&minute_of_hour)
    }
}

impl Config {
    /// Reads the file (if any), applies the environment and validates.
    /// `path` is `--config`; without it `vitals.toml` is read when present.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::from_file(path)?,
            None if Path::new("vitals.toml").exists() => Self::from_file(Path::new("vitals.toml"))?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        Self::from_toml(&text).map_err(|reason| ConfigError::Parse {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses TOML text; the error names the key and the line.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|err| err.to_string().trim_end().replace('\n', " "))
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        if let Some(value) = env.get("VITALS_LISTEN") {
            self.listen = parse_address("VITALS_LISTEN", value)?;
        }
        if let Some(value) = env.get("VITALS_ADMIN_LISTEN") {
            self.admin_listen = parse_address("VITALS_ADMIN_LISTEN", value)?;
        }
        if let Some(value) = env.get("VITALS_DIST_DIR") {
            self.dist_dir = PathBuf::from(value);
        }
        if let Some(value) = env.get("VITALS_DATA_DIR") {
            self.data_dir = PathBuf::from(value);
        }
        if let Some(value) = env.get("VITALS_LOG_FORMAT") {
            self.log_format = match value.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::invalid(
                        "VITALS_LOG_FORMAT",
                        format!("is \"{other}\"; use \"text\" or \"json\""),
                    ));
                }
            };
        }
        if let Some(value) = env.get("VITALS_DEMO_SEED") {
            self.demo.seed = value.parse().map_err(|_| {
                ConfigError::invalid("VITALS_DEMO_SEED", format!("is \"{value}\"; use a whole number"))
            })?;
        }
        Ok(())
    }

    /// Checks what types alone cannot; each error names the key.
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
        if self.demo.clinics.is_empty() {
            return Err(ConfigError::invalid(
                "demo.clinics",
                "is empty; name at least one clinic",
            ));
        }
        for (index, clinic) in self.demo.clinics.iter().enumerate() {
            let valid = !clinic.is_empty()
                && clinic
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(ConfigError::invalid(
                    &format!("demo.clinics[{index}]"),
                    format!("is \"{clinic}\"; use lowercase letters, digits and dashes"),
                ));
            }
        }
        for (index, window) in self.demo.failure_windows.iter().enumerate() {
            if window.from_minute >= window.to_minute || window.to_minute > 60 {
                return Err(ConfigError::invalid(
                    &format!("demo.failure_windows[{index}]"),
                    format!(
                        "is minutes {}..{}; use 0 <= from_minute < to_minute <= 60",
                        window.from_minute, window.to_minute
                    ),
                ));
            }
        }
        if !(-12..=14).contains(&self.demo.utc_offset_hours) {
            return Err(ConfigError::invalid(
                "demo.utc_offset_hours",
                format!(
                    "is {}; use a whole number of hours from -12 to 14",
                    self.demo.utc_offset_hours
                ),
            ));
        }
        Ok(())
    }
}

fn parse_address(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::invalid(
            key,
            format!("is \"{value}\"; use an address and port such as 127.0.0.1:8080"),
        )
    })
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

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("listen = \"127.0.0.1:8080\"\nlisen_port = 3\n").unwrap_err();
        assert!(err.contains("lisen_port"), "{err}");
    }

    #[test]
    fn unknown_nested_key_is_named() {
        let err = Config::from_toml("[demo]\nseeds = 3\n").unwrap_err();
        assert!(err.contains("seeds"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = Config::from_toml("[demo]\nseed = \"abc\"\n").unwrap_err();
        assert!(err.contains("seed"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::from_toml("listen = \"127.0.0.1:1000\"\n").unwrap();
        config
            .apply_env(&env(&[
                ("VITALS_LISTEN", "127.0.0.1:2000"),
                ("VITALS_DEMO_SEED", "7"),
            ]))
            .unwrap();
        assert_eq!(config.listen.port(), 2000);
        assert_eq!(config.demo.seed, 7);
    }

    #[test]
    fn bad_environment_address_names_the_variable() {
        let err = Config::default()
            .apply_env(&env(&[("VITALS_ADMIN_LISTEN", "nonsense")]))
            .unwrap_err();
        assert!(err.to_string().contains("VITALS_ADMIN_LISTEN"), "{err}");
    }

    #[test]
    fn inverted_failure_window_is_refused_with_its_index() {
        let config = Config::from_toml(
            "[demo]\nfailure_windows = [{ from_minute = 10, to_minute = 20 }, { from_minute = 50, to_minute = 40 }]\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("demo.failure_windows[1]"), "{err}");
    }

    #[test]
    fn same_public_and_admin_address_is_refused() {
        let config =
            Config::from_toml("listen = \"127.0.0.1:9000\"\nadmin_listen = \"127.0.0.1:9000\"\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("admin_listen"), "{err}");
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }
}
