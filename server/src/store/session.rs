//! What a session is: its secret id, the record the server keeps, and the policy that ends it.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use vitals_api::{Role, SessionInfo};

use super::StoreError;
use super::TokenKey;
use crate::settings::InvalidSetting;

/// Random bytes in a session id: 256 bits, twice the 128 the issue asks for at least.
const ID_BYTES: usize = 32;
/// Length of an id as base64url without padding.
const ID_CHARS: usize = 43;
/// How stale `last_seen_ms` may get before a request writes it again: spares a write per
/// request at the cost of ending an idle session up to this much early.
pub const TOUCH_INTERVAL_MS: i64 = 30_000;

/// The secret a browser holds in its session cookie.
///
/// Only [`SessionId::cookie_value`] gives the full id; `Debug` and `Display` show a short
/// tag derived from its hash, so logs can follow a session without being able to use it.
/// Stores key sessions by [`SessionId::store_key`], the SHA-256 of the id, so a copy of
/// the store does not hold live cookies.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new id of 32 bytes from the operating system's random number generator.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = [0_u8; ID_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| {
            StoreError::Unavailable(format!(
                "the operating system's random number generator failed ({error}); no session can start until it works"
            ))
        })?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id in a cookie, if it has the shape of one this server issued (43 base64url
    /// characters encoding 32 bytes); anything else is no session at all.
    pub fn parse(value: &str) -> Option<Self> {
        let well_formed = value.len() == ID_CHARS
            && value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !well_formed {
            return None;
        }
        let decoded = URL_SAFE_NO_PAD.decode(value).ok()?;
        (decoded.len() == ID_BYTES).then(|| Self(value.to_owned()))
    }

    /// The full id, for the `Set-Cookie` header and nothing else.
    pub fn cookie_value(&self) -> &str {
        &self.0
    }

    /// The key the stores file the session under: the SHA-256 of the id, in hex.
    pub fn store_key(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// A short tag for logs: the first 8 hex digits of the store key.
    fn log_tag(&self) -> String {
        let mut key = self.store_key();
        key.truncate(8);
        key
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.log_tag())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session {}…", self.log_tag())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What the server keeps about one logged-in person.
///
/// `identity_json` is opaque JSON the auth layer owns: the person's Cognito tokens live
/// only here, sealed with the token key, never in the browser (so `Debug` leaves it out); a login halfway through a
/// challenge keeps its pending state there too. `version` counts the writes, so two
/// replicas updating the same session at once cannot overwrite each other.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub roles: Vec<Role>,
    /// Milliseconds since the epoch: the login. The absolute limit counts from here.
    pub created_at_ms: i64,
    /// Milliseconds since the epoch: the last request, to within [`TOUCH_INTERVAL_MS`].
    pub last_seen_ms: i64,
    pub identity_json: String,
    pub version: u64,
}

impl SessionRecord {
    /// A session that starts at `now_ms`.
    pub fn new(
        user: impl Into<String>,
        roles: Vec<Role>,
        identity_json: impl Into<String>,
        now_ms: i64,
    ) -> Self {
        Self {
            user: user.into(),
            roles,
            created_at_ms: now_ms,
            last_seen_ms: now_ms,
            identity_json: identity_json.into(),
            version: 0,
        }
    }

    /// Whether a request at `now_ms` should write `last_seen_ms` again (see [`TOUCH_INTERVAL_MS`]).
    pub fn needs_touch(&self, now_ms: i64) -> bool {
        now_ms - self.last_seen_ms >= TOUCH_INTERVAL_MS
    }

    /// Who is logged in and when the session ends, for `GET /api/v1/session` and the
    /// page's warning before it logs the person out.
    pub fn info(&self, policy: &SessionPolicy) -> SessionInfo {
        SessionInfo {
            user: self.user.clone(),
            roles: self.roles.clone(),
            idle_expires_at: policy.expires_at_ms(self),
            expires_at: policy.absolute_expiry_ms(self),
        }
    }
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user", &self.user)
            .field("roles", &self.roles)
            .field("created_at_ms", &self.created_at_ms)
            .field("last_seen_ms", &self.last_seen_ms)
            .field("identity_json", &"<hidden>")
            .field("version", &self.version)
            .finish()
    }
}

/// What a store found under an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    Active(SessionRecord),
    /// It had expired; the store has deleted it, and the caller audits `session_expired`.
    Expired(SessionRecord),
    Missing,
}

impl SessionLookup {
    /// The answer for an expired session once the store has tried to delete it: only
    /// whoever deleted it reports the expiry, so it is audited once however many requests
    /// (or replicas) found it expired at the same time.
    pub fn expired_if_deleted(record: SessionRecord, deleted: bool) -> Self {
        if deleted {
            Self::Expired(record)
        } else {
            Self::Missing
        }
    }
}

/// `[session]`: how long a session lasts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPolicy {
    /// A session unused this long ends (`session.idle_timeout_minutes`, 15 by default).
    #[serde(rename = "idle_timeout_minutes", deserialize_with = "minutes")]
    pub idle_timeout: Duration,
    /// A session ends this long after its login, however much it is used
    /// (`session.absolute_timeout_hours`, 12 by default).
    #[serde(rename = "absolute_timeout_hours", deserialize_with = "hours")]
    pub absolute_timeout: Duration,
    /// The 256-bit key, in base64, that seals Cognito's tokens in the store
    /// (`session.token_key`, `VITALS_SESSION_TOKEN_KEY`); required with Cognito.
    pub token_key: Option<TokenKey>,
}

/// The longest absolute limit the configuration accepts; DynamoDB's TTL removes a session
/// this long after its login even when no server is left to sweep it.
pub const MAX_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(24 * 3_600);

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(15 * 60),
            absolute_timeout: Duration::from_secs(12 * 3_600),
            token_key: None,
        }
    }
}

impl SessionPolicy {
    /// Checks what types alone cannot; each error names the key under `[session]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let idle_minutes = self.idle_timeout.as_secs() / 60;
        let absolute_hours = self.absolute_timeout.as_secs() / 3_600;
        let max_hours = MAX_ABSOLUTE_TIMEOUT.as_secs() / 3_600;
        if !(1..=240).contains(&idle_minutes) {
            return Err(invalid(
                "idle_timeout_minutes",
                format!("is {idle_minutes}; use 1 to 240 minutes"),
            ));
        }
        if !(1..=max_hours).contains(&absolute_hours) {
            return Err(invalid(
                "absolute_timeout_hours",
                format!("is {absolute_hours}; use 1 to {max_hours} hours"),
            ));
        }
        if self.idle_timeout > self.absolute_timeout {
            return Err(invalid(
                "idle_timeout_minutes",
                format!(
                    "is {idle_minutes}, longer than `session.absolute_timeout_hours` ({absolute_hours} h); \
                     make it shorter"
                ),
            ));
        }
        Ok(())
    }

    /// When the session ends whatever happens: its login plus the absolute limit.
    pub fn absolute_expiry_ms(&self, record: &SessionRecord) -> i64 {
        record.created_at_ms.saturating_add(millis(self.absolute_timeout))
    }

    /// When the session ends unless used again: the earlier of the idle and absolute limits.
    pub fn expires_at_ms(&self, record: &SessionRecord) -> i64 {
        let idle_expiry = record.last_seen_ms.saturating_add(millis(self.idle_timeout));
        idle_expiry.min(self.absolute_expiry_ms(record))
    }

    /// Whether the session has ended at `now_ms`: it is still active just before its expiry.
    pub fn is_expired(&self, record: &SessionRecord, now_ms: i64) -> bool {
        now_ms >= self.expires_at_ms(record)
    }

    /// Sessions last seen at or before this are expired at `now_ms`.
    pub(crate) fn idle_cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(millis(self.idle_timeout))
    }

    /// Sessions created at or before this are expired at `now_ms`.
    pub(crate) fn absolute_cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(millis(self.absolute_timeout))
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn invalid(key: &str, problem: String) -> InvalidSetting {
    InvalidSetting {
        key: format!("session.{key}"),
        problem,
    }
}

fn minutes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(|minutes| Duration::from_secs(minutes.saturating_mul(60)))
}

fn hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(|hours| Duration::from_secs(hours.saturating_mul(3_600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN_MS: i64 = 1_700_000_000_000;
    const MINUTE_MS: i64 = 60_000;

    fn record() -> SessionRecord {
        SessionRecord::new("ana", vec![Role::Engineer], "{}", LOGIN_MS)
    }

    #[test]
    fn a_generated_id_is_256_random_bits_in_base64url() {
        let first = SessionId::generate().unwrap();
        let second = SessionId::generate().unwrap();
        assert_ne!(first, second);
        assert_eq!(first.cookie_value().len(), ID_CHARS);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(first.cookie_value()).unwrap().len(),
            ID_BYTES
        );
        assert_eq!(SessionId::parse(first.cookie_value()), Some(first));
    }

    #[test]
    fn parse_refuses_what_this_server_did_not_issue() {
        let good = SessionId::generate().unwrap();
        let mut too_long = good.cookie_value().to_owned();
        too_long.push('A');
        let mut bad_char = good.cookie_value().to_owned();
        bad_char.replace_range(0..1, "+");
        for value in [
            "",
            "short",
            too_long.as_str(),
            bad_char.as_str(),
            &"=".repeat(ID_CHARS),
        ] {
            assert_eq!(SessionId::parse(value), None, "{value}");
        }
    }

    #[test]
    fn logs_never_see_the_full_id() {
        let id = SessionId::generate().unwrap();
        let shown = format!("{id} {id:?}");
        assert!(!shown.contains(id.cookie_value()), "{shown}");
        assert!(!shown.contains(&id.cookie_value()[..12]), "{shown}");
        assert!(shown.contains(&id.store_key()[..8]), "{shown}");
        assert_eq!(id.store_key().len(), 64);
    }

    #[test]
    fn a_record_debug_hides_the_tokens() {
        let mut record = record();
        record.identity_json = r#"{"refresh_token":"secret-refresh"}"#.into();
        assert!(!format!("{record:?}").contains("secret-refresh"));
    }

    #[test]
    fn idle_expiry_comes_at_last_seen_plus_the_idle_timeout() {
        let policy = SessionPolicy::default();
        let mut record = record();
        record.last_seen_ms = LOGIN_MS + 10 * MINUTE_MS;
        let expiry = LOGIN_MS + 25 * MINUTE_MS;
        assert_eq!(policy.expires_at_ms(&record), expiry);
        assert!(!policy.is_expired(&record, expiry - 1));
        assert!(policy.is_expired(&record, expiry));
    }

    #[test]
    fn absolute_expiry_caps_a_session_used_throughout() {
        let policy = SessionPolicy::default();
        let mut record = record();
        let limit = LOGIN_MS + 12 * 60 * MINUTE_MS;
        record.last_seen_ms = limit - MINUTE_MS;
        assert_eq!(policy.expires_at_ms(&record), limit);
        let info = record.info(&policy);
        assert_eq!((info.idle_expires_at, info.expires_at), (limit, limit));
        assert!(policy.is_expired(&record, limit));
    }

    #[test]
    fn last_seen_is_written_at_most_every_thirty_seconds() {
        let record = record();
        assert!(!record.needs_touch(LOGIN_MS + TOUCH_INTERVAL_MS - 1));
        assert!(record.needs_touch(LOGIN_MS + TOUCH_INTERVAL_MS));
    }

    #[test]
    fn policy_reads_minutes_and_hours_and_defaults_the_rest() {
        let policy: SessionPolicy = toml::from_str("idle_timeout_minutes = 5").unwrap();
        assert_eq!(policy.idle_timeout, Duration::from_secs(300));
        assert_eq!(policy.absolute_timeout, SessionPolicy::default().absolute_timeout);
        assert_eq!(policy.validate(), Ok(()));
        assert!(toml::from_str::<SessionPolicy>("idle_timeout = 5").is_err());
    }

    #[test]
    fn validate_names_the_key_to_fix() {
        let zero_idle = SessionPolicy {
            idle_timeout: Duration::ZERO,
            ..SessionPolicy::default()
        };
        assert_eq!(
            zero_idle.validate().unwrap_err().key,
            "session.idle_timeout_minutes"
        );
        let week = SessionPolicy {
            absolute_timeout: Duration::from_secs(7 * 24 * 3_600),
            ..SessionPolicy::default()
        };
        assert_eq!(week.validate().unwrap_err().key, "session.absolute_timeout_hours");
        let idle_past_absolute: SessionPolicy =
            toml::from_str("idle_timeout_minutes = 120\nabsolute_timeout_hours = 1").unwrap();
        let error = idle_past_absolute.validate().unwrap_err().to_string();
        assert!(error.contains("session.absolute_timeout_hours"), "{error}");
    }
}
