//! Share links: a short address (`/s/{id}`) for one view of a dashboard, so a colleague sees
//! exactly what the sender saw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /api/v1/links`: the view to share. `from` and `to` are kept as written: absolute
/// times (RFC 3339) pin the range, relative ones (`now-24h`) keep it moving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"dashboard": "clinic-now", "from": "now-24h", "to": "now"})))]
#[serde(deny_unknown_fields)]
pub struct ShareLinkRequest {
    /// The dashboard's id, such as `clinic-now`.
    pub dashboard: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The dashboard's variables, each one of the values it allows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Days until the link stops working; the server's default (7) when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// A link that never expires; admins only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
}

/// The answer to a new link: where it is and until when it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareLinkCreated {
    pub id: String,
    /// The page that opens it, `/s/{id}`.
    pub url: String,
    /// Milliseconds since the epoch; absent for a link that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// Whether a link still opens, as the server's clock has it (the browser's may differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Works,
    Expired,
    Revoked,
}

/// What a link opens beyond the dashboard: the time range as it was written, and the variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharedView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

/// One share link: the view it opens, who made it, and whether it still works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareLink {
    pub id: String,
    /// The page that opens it, `/s/{id}`.
    pub url: String,
    pub dashboard: String,
    pub view: SharedView,
    pub created_by: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch; absent for a link that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Milliseconds since the epoch, once someone revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Whether it opens now.
    pub state: LinkState,
}

/// `GET /api/v1/links`: the person's own links (every link, for an admin), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareLinkList {
    pub links: Vec<ShareLink>,
}
