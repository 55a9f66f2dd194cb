//! Server configuration: one TOML file, overridden by `VITALS_*` environment variables, validated at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::identity::{check_demo_allowed, check_one_identity_provider};
use crate::auth::token_key::{TokenKey, missing_with_cognito};
use crate::sources::guard::GuardConfig;
use crate::store::SessionPolicy;
pub use vitals_demo::{DemoConfig, FailureWindow};

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
    /// Grafana Loki for logs; without it logs come from the demo clinic.
    pub loki: Option<LokiSettings>,
    /// Prometheus or AMP for metrics; without it metrics come from the demo clinic.
    pub prometheus: Option<PrometheusSettings>,
    /// AWS X-Ray for traces and the service map; without it they come from the demo clinic.
    pub xray: Option<XRaySettings>,
    /// Timeouts, caps, caching and the circuit breaker in front of every source.
    pub guard: GuardConfig,
    /// `[session]`: idle and absolute session lifetimes.
    pub session: SessionPolicy,
    /// `[cognito]`: the user pool people log in with.
    pub cognito: Option<CognitoSettings>,
    /// `[dynamodb]`: keep sessions in DynamoDB, for several replicas; SQLite in `data_dir` otherwise.
    pub dynamodb: Option<DynamoSettings>,
    /// The demo users' password (`VITALS_DEMO_PASSWORD`); demo mode only, loopback only.
    pub demo_password: Option<Secret>,
    /// Take the client address from the load balancer's `X-Forwarded-For` (`VITALS_TRUST_FORWARDED_FOR`).
    pub trust_forwarded_for: bool,
    /// `[limits]`: failed logins and API requests.
    pub limits: LimitSettings,
}

/// `[limits]`: how often people may fail to log in, how fast one person may call the API, and their live tails.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Failed logins of one username in 15 minutes before it must wait.
    pub failed_logins_per_username: u32,
    /// Failed logins from one client address in 15 minutes before it must wait.
    pub failed_logins_per_client: u32,
    /// API requests per second one person may make, steadily.
    pub api_requests_per_second: u32,
    /// API requests one person may make at once (a dashboard loading all its panels).
    pub api_burst: u32,
    /// Live log tails one person may have open at once.
    pub tails_per_person: u32,
    /// Minutes a live tail stays open before the person must reopen it.
    pub tail_max_minutes: u32,
    /// Seconds between checks that an open tail's session and role still hold.
    pub tail_session_check_seconds: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            failed_logins_per_username: 5,
            failed_logins_per_client: 20,
            api_requests_per_second: 20,
            api_burst: 60,
            tails_per_person: 3,
            tail_max_minutes: 60,
            tail_session_check_seconds: 5,
        }
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

/// `[cognito]`: the user pool and app client.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoSettings {
    /// `VITALS_COGNITO_USER_POOL_ID`, such as `eu-west-1_AbC123def`.
    pub user_pool_id: String,
    /// `VITALS_COGNITO_CLIENT_ID`.
    pub client_id: String,
    /// `VITALS_COGNITO_CLIENT_SECRET`, when the app client has one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `VITALS_COGNITO_ENDPOINT`, for tests.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl std::fmt::Debug for CognitoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoSettings")
            .field("user_pool_id", &self.user_pool_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<hidden>"))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl CognitoSettings {
    /// The region a user pool id starts with.
    pub fn region(&self) -> Option<&str> {
        self.user_pool_id.split_once('_').map(|(region, _)| region)
    }
}

/// `[dynamodb]`: the session table, and the audit table the replicas share.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoSettings {
    /// `VITALS_SESSION_TABLE`.
    pub table: String,
    /// `VITALS_AUDIT_TABLE`: the audit trail every replica appends to; without it each
    /// replica keeps its own in `data_dir`.
    #[serde(default)]
    pub audit_table: Option<String>,
    /// Defaults to `AWS_REGION`.
    #[serde(default)]
    pub region: Option<String>,
    /// `VITALS_DYNAMODB_ENDPOINT`, for tests.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// `[loki]`: where Loki is and which tenant to read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiSettings {
    /// Loki's base URL, such as `http://loki.internal:3100` (`VITALS_LOKI_URL`).
    pub url: String,
    /// Sent as `X-Scope-OrgID` (`VITALS_LOKI_TENANT`).
    #[serde(default)]
    pub tenant: Option<String>,
}

/// `[prometheus]`: a Prometheus server or an AMP workspace.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSettings {
    /// The query URL: Prometheus' root, or `https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-…`
    /// (`VITALS_PROMETHEUS_URL`).
    pub url: String,
    /// When set, requests are SigV4-signed for AMP in this region (`VITALS_AMP_REGION`).
    #[serde(default)]
    pub amp_region: Option<String>,
}

/// `[xray]`: the region to read traces from, and an endpoint override for tests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XRaySettings {
    /// `VITALS_XRAY_REGION`, or `AWS_REGION` when only the endpoint is set.
    pub region: String,
    /// `VITALS_XRAY_ENDPOINT`.
    #[serde(default)]
    pub endpoint: Option<String>,
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
            limits: LimitSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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
        self.apply_source_env(env)?;
        if let Some(value) = env.get("VITALS_DEMO_SEED") {
            self.demo.seed = value.parse().map_err(|_| {
                ConfigError::invalid("VITALS_DEMO_SEED", format!("is \"{value}\"; use a whole number"))
            })?;
        }
        Ok(())
    }

    /// `VITALS_LOKI_*`, `VITALS_PROMETHEUS_URL`, `VITALS_AMP_REGION`, `VITALS_XRAY_*`.
    fn apply_source_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let set = |key: &str| env.get(key).filter(|value| !value.is_empty()).cloned();
        if let Some(url) = set("VITALS_LOKI_URL") {
            let tenant = self.loki.take().and_then(|loki| loki.tenant);
            self.loki = Some(LokiSettings { url, tenant });
        }
        if let Some(tenant) = set("VITALS_LOKI_TENANT") {
            match &mut self.loki {
                Some(loki) => loki.tenant = Some(tenant),
                None => {
                    return Err(ConfigError::invalid(
                        "VITALS_LOKI_TENANT",
                        "is set but Loki is not configured; set VITALS_LOKI_URL too",
                    ));
                }
            }
        }
        if let Some(url) = set("VITALS_PROMETHEUS_URL") {
            let amp_region = self
                .prometheus
                .take()
                .and_then(|prometheus| prometheus.amp_region);
            self.prometheus = Some(PrometheusSettings { url, amp_region });
        }
        if let Some(region) = set("VITALS_AMP_REGION") {
            match &mut self.prometheus {
                Some(prometheus) => prometheus.amp_region = Some(region),
                None => {
                    return Err(ConfigError::invalid(
                        "VITALS_AMP_REGION",
                        "is set but no metrics source is; set VITALS_PROMETHEUS_URL to the AMP workspace URL",
                    ));
                }
            }
        }
        self.apply_auth_env(env)?;
        let endpoint = set("VITALS_XRAY_ENDPOINT");
        let region = set("VITALS_XRAY_REGION");
        if region.is_some() || endpoint.is_some() {
            let current = self.xray.take();
            let region = region
                .or_else(|| current.as_ref().map(|xray| xray.region.clone()))
                .or_else(|| set("AWS_REGION"))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "VITALS_XRAY_ENDPOINT",
                        "is set but no region is; set VITALS_XRAY_REGION or AWS_REGION",
                    )
                })?;
            let endpoint = endpoint.or_else(|| current.and_then(|xray| xray.endpoint));
            self.xray = Some(XRaySettings { region, endpoint });
        }
        Ok(())
    }

    /// `VITALS_COGNITO_*`, `VITALS_SESSION_TOKEN_KEY`, `VITALS_DEMO_PASSWORD`, `VITALS_SESSION_TABLE`, `VITALS_AUDIT_TABLE`, `VITALS_TRUST_FORWARDED_FOR`.
    fn apply_auth_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let set = |key: &str| env.get(key).filter(|value| !value.is_empty()).cloned();
        if let Some(user_pool_id) = set("VITALS_COGNITO_USER_POOL_ID") {
            let client_id = set("VITALS_COGNITO_CLIENT_ID")
                .or_else(|| self.cognito.as_ref().map(|cognito| cognito.client_id.clone()))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "VITALS_COGNITO_CLIENT_ID",
                        "is missing; set the app client id of the user pool",
                    )
                })?;
            let previous = self.cognito.take();
            self.cognito = Some(CognitoSettings {
                user_pool_id,
                client_id,
                client_secret: previous
                    .as_ref()
                    .and_then(|cognito| cognito.client_secret.clone()),
                endpoint: previous.and_then(|cognito| cognito.endpoint),
            });
        }
        if let Some(cognito) = &mut self.cognito {
            if let Some(secret) = set("VITALS_COGNITO_CLIENT_SECRET") {
                cognito.client_secret = Some(secret);
            }
            if let Some(endpoint) = set("VITALS_COGNITO_ENDPOINT") {
                cognito.endpoint = Some(endpoint);
            }
        }
        if let Some(key) = set("VITALS_SESSION_TOKEN_KEY") {
            let key = TokenKey::from_base64(&key)
                .map_err(|problem| ConfigError::invalid("VITALS_SESSION_TOKEN_KEY", problem))?;
            self.session.token_key = Some(key);
        }
        if let Some(password) = set("VITALS_DEMO_PASSWORD") {
            self.demo_password = Some(Secret(password));
        }
        if let Some(table) = set("VITALS_SESSION_TABLE") {
            let previous = self.dynamodb.take();
            self.dynamodb = Some(DynamoSettings {
                table,
                audit_table: previous.as_ref().and_then(|dynamo| dynamo.audit_table.clone()),
                region: previous.as_ref().and_then(|dynamo| dynamo.region.clone()),
                endpoint: previous.and_then(|dynamo| dynamo.endpoint),
            });
        }
        if let Some(audit_table) = set("VITALS_AUDIT_TABLE") {
            let Some(dynamo) = &mut self.dynamodb else {
                return Err(ConfigError::invalid(
                    "VITALS_AUDIT_TABLE",
                    "is set without a session table; set VITALS_SESSION_TABLE (`dynamodb.table`) too, \
                     as replicas share an audit trail when they share sessions",
                ));
            };
            dynamo.audit_table = Some(audit_table);
        }
        if let Some(dynamo) = &mut self.dynamodb {
            if let Some(endpoint) = set("VITALS_DYNAMODB_ENDPOINT") {
                dynamo.endpoint = Some(endpoint);
            }
            if dynamo.region.is_none() {
                dynamo.region = set("AWS_REGION");
            }
        }
        if let Some(value) = set("VITALS_TRUST_FORWARDED_FOR") {
            self.trust_forwarded_for = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => {
                    return Err(ConfigError::invalid(
                        "VITALS_TRUST_FORWARDED_FOR",
                        format!("is \"{other}\"; use true or false"),
                    ));
                }
            };
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
        self.demo.validate().map_err(|invalid| ConfigError::Invalid {
            key: format!("demo.{}", invalid.key),
            problem: invalid.problem,
        })?;
        self.session.validate().map_err(|invalid| ConfigError::Invalid {
            key: invalid.key,
            problem: invalid.problem,
        })?;
        check_one_identity_provider(self.demo_password.is_some(), self.cognito.is_some())
            .map_err(|problem| ConfigError::invalid("VITALS_DEMO_PASSWORD", problem))?;
        if self.demo_password.is_some() {
            check_demo_allowed(self.listen)
                .map_err(|problem| ConfigError::invalid("VITALS_DEMO_PASSWORD", problem))?;
        }
        if let Some(cognito) = &self.cognito {
            let region = cognito.region().unwrap_or_default();
            check_region("cognito.user_pool_id", region).map_err(|_| {
                ConfigError::invalid(
                    "cognito.user_pool_id",
                    format!(
                        "is \"{}\"; use the pool id as AWS shows it, such as eu-west-1_AbC123def",
                        cognito.user_pool_id
                    ),
                )
            })?;
            if let Some(endpoint) = &cognito.endpoint {
                check_url("cognito.endpoint", endpoint)?;
            }
        }
        if self.cognito.is_some() && self.session.token_key.is_none() {
            return Err(ConfigError::invalid("session.token_key", missing_with_cognito()));
        }
        if let Some(dynamo) = &self.dynamodb {
            if dynamo.table.is_empty() {
                return Err(ConfigError::invalid(
                    "dynamodb.table",
                    "is empty; name the session table",
                ));
            }
            match &dynamo.region {
                Some(region) => check_region("dynamodb.region", region)?,
                None => {
                    return Err(ConfigError::invalid(
                        "dynamodb.region",
                        "is not set; set it or AWS_REGION",
                    ));
                }
            }
            if let Some(endpoint) = &dynamo.endpoint {
                check_url("dynamodb.endpoint", endpoint)?;
            }
            match dynamo.audit_table.as_deref() {
                Some("") => {
                    return Err(ConfigError::invalid(
                        "dynamodb.audit_table",
                        "is empty; name the audit table, or leave the key out to keep the trail in `data_dir`",
                    ));
                }
                Some(audit_table) if audit_table == dynamo.table => {
                    return Err(ConfigError::invalid(
                        "dynamodb.audit_table",
                        "names the session table; give the audit trail a table of its own",
                    ));
                }
                _ => {}
            }
        }
        self.guard.validate().map_err(|invalid| ConfigError::Invalid {
            key: invalid.key,
            problem: invalid.problem,
        })?;
        for (key, value) in [
            (
                "limits.failed_logins_per_username",
                self.limits.failed_logins_per_username,
            ),
            (
                "limits.failed_logins_per_client",
                self.limits.failed_logins_per_client,
            ),
            (
                "limits.api_requests_per_second",
                self.limits.api_requests_per_second,
            ),
            ("limits.api_burst", self.limits.api_burst),
            ("limits.tails_per_person", self.limits.tails_per_person),
            ("limits.tail_max_minutes", self.limits.tail_max_minutes),
            (
                "limits.tail_session_check_seconds",
                self.limits.tail_session_check_seconds,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "is 0; use a positive number"));
            }
        }
        if let Some(loki) = &self.loki {
            check_url("loki.url", &loki.url)?;
            if let Some(tenant) = &loki.tenant
                && (tenant.is_empty() || tenant.chars().any(|c| c.is_control()))
            {
                return Err(ConfigError::invalid(
                    "loki.tenant",
                    "is empty or has control characters; use the tenant id Loki expects in X-Scope-OrgID",
                ));
            }
        }
        if let Some(prometheus) = &self.prometheus {
            check_url("prometheus.url", &prometheus.url)?;
            if let Some(region) = &prometheus.amp_region {
                check_region("prometheus.amp_region", region)?;
            }
        }
        if let Some(xray) = &self.xray {
            check_region("xray.region", &xray.region)?;
            if let Some(endpoint) = &xray.endpoint {
                check_url("xray.endpoint", endpoint)?;
            }
        }
        Ok(())
    }
}

/// An upstream URL: http or https, a host, and no user or password in it.
fn check_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value).map_err(|err| {
        ConfigError::invalid(
            key,
            format!("is \"{value}\", not a URL ({err}); write it as http://host:port or https://host"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            key,
            format!("is \"{value}\"; use an http:// or https:// URL with a host"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            key,
            "carries a user name or password; remove them from the URL (credentials come from the AWS chain or the tenant setting)",
        ));
    }
    Ok(())
}

/// An AWS region name such as `eu-west-1`.
fn check_region(key: &str, value: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()));
    if !valid {
        return Err(ConfigError::invalid(
            key,
            format!("is \"{value}\"; use an AWS region name such as eu-west-1"),
        ));
    }
    Ok(())
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
    fn the_audit_table_comes_with_the_session_table_and_is_another_table() {
        let mut config = Config::default();
        config
            .apply_env(&env(&[
                ("VITALS_SESSION_TABLE", "vitals-sessions"),
                ("VITALS_AUDIT_TABLE", "vitals-audit"),
                ("AWS_REGION", "eu-west-2"),
            ]))
            .unwrap();
        let dynamo = config.dynamodb.clone().unwrap();
        assert_eq!(dynamo.audit_table.as_deref(), Some("vitals-audit"));
        assert_eq!(config.validate().map_err(|err| err.to_string()), Ok(()));

        let alone = Config::default()
            .apply_env(&env(&[("VITALS_AUDIT_TABLE", "vitals-audit")]))
            .unwrap_err()
            .to_string();
        assert!(
            alone.contains("VITALS_AUDIT_TABLE") && alone.contains("VITALS_SESSION_TABLE"),
            "{alone}"
        );

        let same: Config = Config::from_toml(
            "[dynamodb]\ntable = \"vitals\"\naudit_table = \"vitals\"\nregion = \"eu-west-2\"\n",
        )
        .unwrap();
        let error = same.validate().unwrap_err().to_string();
        assert!(error.contains("dynamodb.audit_table"), "{error}");
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
    fn source_variables_configure_each_source() {
        let mut config = Config::default();
        config
            .apply_env(&env(&[
                ("VITALS_LOKI_URL", "http://loki.internal:3100"),
                ("VITALS_LOKI_TENANT", "clinic"),
                (
                    "VITALS_PROMETHEUS_URL",
                    "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1",
                ),
                ("VITALS_AMP_REGION", "eu-west-1"),
                ("VITALS_XRAY_ENDPOINT", "http://127.0.0.1:5000"),
                ("AWS_REGION", "eu-west-2"),
            ]))
            .unwrap();
        config.validate().unwrap();
        assert_eq!(config.loki.as_ref().unwrap().tenant.as_deref(), Some("clinic"));
        assert_eq!(
            config.prometheus.as_ref().unwrap().amp_region.as_deref(),
            Some("eu-west-1")
        );
        let xray = config.xray.unwrap();
        assert_eq!(xray.region, "eu-west-2", "the endpoint alone takes AWS_REGION");
        assert_eq!(xray.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn amp_region_without_a_url_is_refused() {
        let err = Config::default()
            .apply_env(&env(&[("VITALS_AMP_REGION", "eu-west-1")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("VITALS_AMP_REGION") && err.contains("VITALS_PROMETHEUS_URL"),
            "{err}"
        );
    }

    #[test]
    fn xray_endpoint_without_any_region_is_refused() {
        let err = Config::default()
            .apply_env(&env(&[("VITALS_XRAY_ENDPOINT", "http://127.0.0.1:5000")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_REGION"), "{err}");
    }

    #[test]
    fn bad_source_urls_and_regions_name_their_key() {
        let cases = [
            ("[loki]\nurl = \"loki:3100\"\n", "loki.url"),
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
        ];
        for (toml, key) in cases {
            let err = Config::from_toml(toml)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{toml}: {err}");
            assert!(!err.contains("secret"), "a password must not be echoed: {err}");
        }
    }

    #[test]
    fn a_bad_guard_setting_names_its_key() {
        let err = Config::from_toml("[guard]\ntimeout_ms = 0\n")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("guard.timeout_ms"), "{err}");
    }

    #[test]
    fn demo_users_only_on_loopback_and_never_beside_cognito() {
        let mut config = Config::default();
        config
            .apply_env(&env(&[("VITALS_DEMO_PASSWORD", "demo")]))
            .unwrap();
        config.validate().unwrap();
        config.listen = "0.0.0.0:8080".parse().unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("VITALS_DEMO_PASSWORD"), "{err}");

        let mut both = Config::default();
        both.apply_env(&env(&[
            ("VITALS_DEMO_PASSWORD", "demo"),
            ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
            ("VITALS_COGNITO_CLIENT_ID", "client"),
        ]))
        .unwrap();
        let err = both.validate().unwrap_err().to_string();
        assert!(err.contains("set only one"), "{err}");
    }

    #[test]
    fn cognito_needs_a_client_id_and_a_pool_id_with_its_region() {
        let err = Config::default()
            .apply_env(&env(&[("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VITALS_COGNITO_CLIENT_ID"), "{err}");
        let config = Config::from_toml("[cognito]\nuser_pool_id = \"pool\"\nclient_id = \"c\"\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("cognito.user_pool_id"), "{err}");
    }

    #[test]
    fn cognito_needs_a_token_key_of_32_bytes_and_says_how_to_make_one() {
        let cognito = [
            ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
            ("VITALS_COGNITO_CLIENT_ID", "client"),
        ];
        let mut config = Config::default();
        config.apply_env(&env(&cognito)).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("session.token_key") && err.contains("openssl rand -base64 32"),
            "{err}"
        );

        let short = [cognito[0], cognito[1], ("VITALS_SESSION_TOKEN_KEY", "c2hvcnQ=")];
        let err = Config::default().apply_env(&env(&short)).unwrap_err().to_string();
        assert!(
            err.contains("VITALS_SESSION_TOKEN_KEY") && err.contains("not 32"),
            "{err}"
        );
        assert!(!err.contains("c2hvcnQ="), "the key itself is never shown: {err}");
        let err = Config::from_toml("[session]\ntoken_key = \"c2hvcnQ=\"\n").unwrap_err();
        assert!(
            err.contains("token_key") && err.contains("openssl rand -base64 32"),
            "{err}"
        );

        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let good = [cognito[0], cognito[1], ("VITALS_SESSION_TOKEN_KEY", key)];
        let mut config = Config::default();
        config.apply_env(&env(&good)).unwrap();
        config.validate().unwrap();
        assert!(!format!("{config:?}").contains(key));
    }

    #[test]
    fn client_secret_never_shows_in_debug_output() {
        let mut config = Config::default();
        config
            .apply_env(&env(&[
                ("VITALS_COGNITO_USER_POOL_ID", "eu-west-1_AbC123def"),
                ("VITALS_COGNITO_CLIENT_ID", "client"),
                ("VITALS_COGNITO_CLIENT_SECRET", "very-secret"),
            ]))
            .unwrap();
        config.demo_password = Some(Secret("demo-secret".into()));
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("demo-secret"),
            "{shown}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }
}
