//! Which areas of the portal a person sees, from their roles; the server refuses the rest anyway.

use vitals_api::{Role, SessionInfo};

/// A part of the portal with its own address and audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// "The clinic right now", at `/`.
    Home,
    /// What the numbers mean: goals and the patient journey, at `/insights`.
    Insights,
    /// The business views, at `/dashboards`.
    Dashboards,
    Engineering,
    Status,
    /// Operations tells clinicians what is going on, at `/notices`.
    Notices,
    Admin,
}

impl Area {
    /// Every area, in the order the top bar lists them.
    pub const ALL: [Area; 7] = [
        Area::Home,
        Area::Dashboards,
        Area::Insights,
        Area::Engineering,
        Area::Status,
        Area::Notices,
        Area::Admin,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Area::Home => "/",
            Area::Dashboards => "/dashboards",
            Area::Insights => "/insights",
            Area::Engineering => "/engineering",
            Area::Status => "/status",
            Area::Notices => "/notices",
            Area::Admin => "/admin",
        }
    }

    /// The area's name in the top bar.
    pub fn label(self) -> &'static str {
        match self {
            Area::Home => "The clinic right now",
            Area::Dashboards => "Dashboards",
            Area::Insights => "Insights",
            Area::Engineering => "Engineering",
            Area::Status => "Status",
            Area::Notices => "Notices",
            Area::Admin => "Admin",
        }
    }

    /// A stable name for tests and styles: `home`, `business`, …
    pub fn key(self) -> &'static str {
        match self {
            Area::Home => "home",
            Area::Dashboards => "dashboards",
            Area::Insights => "insights",
            Area::Engineering => "engineering",
            Area::Status => "status",
            Area::Notices => "notices",
            Area::Admin => "admin",
        }
    }

    /// The roles that may use the area; admins may use every area (see [`SessionInfo::may`]).
    fn roles(self) -> &'static [Role] {
        match self {
            Area::Home => &[Role::Operations, Role::Engineer],
            Area::Dashboards | Area::Insights => &[Role::Operations, Role::Engineer],
            Area::Engineering => &[Role::Engineer],
            Area::Status => &[Role::Clinician, Role::Operations, Role::Engineer],
            Area::Notices => &[Role::Operations],
            Area::Admin => &[Role::Admin],
        }
    }
}

/// The areas `session` may use, in top-bar order.
pub fn areas_for(session: &SessionInfo) -> Vec<Area> {
    Area::ALL
        .into_iter()
        .filter(|area| area.roles().iter().any(|role| session.may(*role)))
        .collect()
}

/// Where a person lands after logging in without a deep link: their first area.
pub fn landing_path(areas: &[Area]) -> &'static str {
    areas.first().map_or(Area::Status.path(), |area| area.path())
}

/// A person's roles in words for the top bar: `Engineer`, `Operations and admin`.
pub fn roles_words(roles: &[Role]) -> String {
    // In the roles' own order, each once.
    let names: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|role| roles.contains(role))
        .map(Role::as_str)
        .collect();
    let mut words = match names.as_slice() {
        [] => "no role".to_owned(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    if let Some(first) = words.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(roles: &[Role]) -> SessionInfo {
        SessionInfo {
            user: "ana".into(),
            roles: roles.to_vec(),
            idle_expires_at: 0,
            expires_at: 0,
        }
    }

    #[test]
    fn clinicians_see_only_the_status_page() {
        assert_eq!(areas_for(&session(&[Role::Clinician])), [Area::Status]);
    }

    #[test]
    fn operations_see_home_dashboards_insights_status_and_the_notices_they_post() {
        assert_eq!(
            areas_for(&session(&[Role::Operations])),
            [
                Area::Home,
                Area::Dashboards,
                Area::Insights,
                Area::Status,
                Area::Notices
            ]
        );
    }

    #[test]
    fn engineers_see_home_dashboards_insights_engineering_and_status() {
        assert_eq!(
            areas_for(&session(&[Role::Engineer])),
            [
                Area::Home,
                Area::Dashboards,
                Area::Insights,
                Area::Engineering,
                Area::Status
            ]
        );
    }

    #[test]
    fn admins_see_every_area() {
        assert_eq!(areas_for(&session(&[Role::Admin])), Area::ALL);
    }

    #[test]
    fn several_roles_add_up_in_top_bar_order() {
        assert_eq!(
            areas_for(&session(&[Role::Engineer, Role::Clinician, Role::Operations])),
            [
                Area::Home,
                Area::Dashboards,
                Area::Insights,
                Area::Engineering,
                Area::Status,
                Area::Notices
            ]
        );
    }

    #[test]
    fn nobody_without_a_role_sees_any_area() {
        assert_eq!(areas_for(&session(&[])), []);
    }

    #[test]
    fn people_land_on_their_first_area() {
        assert_eq!(landing_path(&areas_for(&session(&[Role::Clinician]))), "/status");
        assert_eq!(landing_path(&areas_for(&session(&[Role::Engineer]))), "/");
        assert_eq!(landing_path(&[]), "/status");
    }

    #[test]
    fn roles_read_as_a_short_list() {
        assert_eq!(roles_words(&[Role::Engineer]), "Engineer");
        assert_eq!(
            roles_words(&[Role::Admin, Role::Operations]),
            "Operations and admin"
        );
        assert_eq!(
            roles_words(&[Role::Engineer, Role::Clinician, Role::Operations, Role::Engineer]),
            "Clinician, operations and engineer"
        );
        assert_eq!(roles_words(&[]), "No role");
    }
}
