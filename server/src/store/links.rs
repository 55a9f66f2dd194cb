//! Share links as the store keeps them: the view a link opens, who made it, and until when it works.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::StoreError;
use crate::settings::InvalidSetting;

/// Random bytes in a link id: 128 bits, so ids cannot be guessed or run through.
const ID_BYTES: usize = 16;
/// Characters of an id: the bytes in unpadded base64url.
const ID_CHARS: usize = 22;
/// The most links one listing returns.
pub const MAX_LISTED_LINKS: usize = 500;

/// `[links]`: how long share links work.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkPolicy {
    /// Days a link works when its sender does not say (`VITALS_LINKS_DEFAULT_EXPIRY_DAYS`).
    pub default_expiry_days: u32,
    /// The most days a sender may ask for; only admins make links that never expire.
    pub max_expiry_days: u32,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            default_expiry_days: 7,
            max_expiry_days: 90,
        }
    }
}

impl LinkPolicy {
    /// Checks the two limits; each error names the key under `[links]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(1..=3_650).contains(&self.max_expiry_days) {
            return Err(InvalidSetting::new(
                "links.max_expiry_days",
                format!("is {}; use 1 to 3650 days", self.max_expiry_days),
            ));
        }
        if !(1..=self.max_expiry_days).contains(&self.default_expiry_days) {
            return Err(InvalidSetting::new(
                "links.default_expiry_days",
                format!(
                    "is {}; use 1 to `links.max_expiry_days` ({}) days",
                    self.default_expiry_days, self.max_expiry_days
                ),
            ));
        }
        Ok(())
    }
}

/// One share link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub id: String,
    pub dashboard: String,
    pub view: LinkView,
    pub created_by: String,
    pub created_at_ms: i64,
    /// `None` for a link that never expires (made by an admin).
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// What a link opens beyond the dashboard, as the API shows it.
pub use vitals_api::SharedView as LinkView;

/// The view as the store writes it in one column or attribute.
pub(super) fn view_to_json(view: &LinkView) -> String {
    serde_json::to_string(view).expect("a map of strings always serialises")
}

/// The view read back from its column or attribute; `id` names the link in the error.
pub(super) fn view_from_json(json: &str, id: &str) -> Result<LinkView, StoreError> {
    serde_json::from_str(json).map_err(|error| {
        StoreError::Corrupt(format!(
            "the view of share link {id} cannot be read ({error}); revoke it and share the view again"
        ))
    })
}

/// A new link id from the operating system's random number generator.
pub fn new_link_id() -> Result<String, StoreError> {
    let mut bytes = [0_u8; ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        StoreError::Unavailable(format!(
            "the operating system's random number generator failed ({error}); no link can be shared until it works"
        ))
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `id` has the shape of an id this server issues; anything else is no link at all.
pub fn is_link_id(id: &str) -> bool {
    id.len() == ID_CHARS
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Keeps share links; replicas sharing one store see each other's links and revocations.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores a new link; an id already taken is a `Conflict`.
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), StoreError>;

    /// The link with this id, whatever its state.
    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;

    /// The links `created_by` made, or everyone's when `None`; newest first, at most
    /// [`MAX_LISTED_LINKS`].
    async fn links(&self, created_by: Option<&str>) -> Result<Vec<LinkRecord>, StoreError>;

    /// Marks the link revoked at `at_ms`, unless it already is; false when there is no such link.
    async fn revoke_link(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn expiry_limits_name_their_key() {
        assert_eq!(LinkPolicy::default().validate(), Ok(()));
        let longer_than_allowed = LinkPolicy {
            default_expiry_days: 30,
            max_expiry_days: 14,
        };
        let refused = longer_than_allowed.validate().unwrap_err();
        assert_eq!(refused.key, "links.default_expiry_days");
        let none = LinkPolicy {
            max_expiry_days: 0,
            ..LinkPolicy::default()
        };
        assert_eq!(none.validate().unwrap_err().key, "links.max_expiry_days");
    }

    #[test]
    fn ids_are_128_random_bits_in_base64url() {
        let first = new_link_id().unwrap();
        let second = new_link_id().unwrap();
        assert_ne!(first, second);
        assert!(is_link_id(&first), "{first}");
        assert_eq!(URL_SAFE_NO_PAD.decode(&first).unwrap().len(), 16);
        for bad in ["", "short", "../../../../etc/passwd!", &"a".repeat(23)] {
            assert!(!is_link_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_view_survives_the_store_and_an_unreadable_one_says_what_to_do() {
        let view = LinkView {
            from: Some("now-24h".into()),
            to: None,
            vars: BTreeMap::from([("clinic".to_owned(), "north".to_owned())]),
        };
        assert_eq!(view_from_json(&view_to_json(&view), "x").unwrap(), view);
        let broken = view_from_json("{", "abc").unwrap_err().to_string();
        assert!(broken.contains("abc") && broken.contains("revoke"), "{broken}");
    }
}
