//! Logging in through the login page in headless Chromium: what each role sees, where a deep link lands, and logging out.

use std::time::Duration;

use anyhow::{Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, find_on_page, text_of, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, outside the training failure window.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const WAIT: Duration = Duration::from_secs(30);

/// The areas the top bar may link to (home is the brand link), by their `data-testid` suffix.
const AREAS: [&str; 5] = ["dashboards", "engineering", "status", "notices", "admin"];

/// Each demo user (named after its one role), the roles as the top bar words
/// them, where the login lands without a deep link, and the areas it offers.
const DEMO_USERS: [(&str, &str, &str, &[&str]); 4] = [
    ("clinician", "Clinician", "/status", &["status"]),
    (
        "operations",
        "Operations",
        "/",
        &["dashboards", "status", "notices"],
    ),
    (
        "engineer",
        "Engineer",
        "/",
        &["dashboards", "engineering", "status"],
    ),
    (
        "admin",
        "Admin",
        "/",
        &["dashboards", "engineering", "status", "notices", "admin"],
    ),
];

/// Waits until the page's address has `path` and, if given, `query`.
async fn wait_for_address(client: &Client, path: &str, query: Option<&str>) -> Result<()> {
    let result = wait_until(&format!("the page is at {path}"), WAIT, || async move {
        client
            .current_url()
            .await
            .is_ok_and(|url| url.path() == path && (query.is_none() || url.query() == query))
    })
    .await;
    if result.is_err() {
        let at = client.current_url().await?;
        anyhow::bail!("the page should be at {path} (query {query:?}) but stayed at {at}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_only_its_areas_and_logs_out() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/login")).await?;

    for (user, roles, landing, offered) in DEMO_USERS {
        browser.log_in(user, DEMO_PASSWORD).await?;
        let shown_user = text_of(client, "session-user").await?;
        ensure!(
            shown_user == user,
            "the top bar should name {user}, not {shown_user:?}"
        );
        let shown_roles = text_of(client, "session-roles").await?;
        ensure!(
            shown_roles == roles,
            "{user}'s roles should read {roles:?}, not {shown_roles:?}"
        );
        wait_for_address(client, landing, None).await?;

        for area in AREAS {
            let links = client
                .find_all(Locator::Css(&format!("[data-testid=area-{area}]")))
                .await?;
            let expected = offered.contains(&area);
            ensure!(
                links.len() == usize::from(expected),
                "{user} should {}see the {area} area in the top bar, found {} links",
                if expected { "" } else { "not " },
                links.len()
            );
        }

        if user == "engineer" {
            client.goto(&server.url("/admin")).await?;
            let refusal = text_of(client, "no-access").await?;
            ensure!(
                refusal.contains("You don't have access to this area"),
                "an engineer opening /admin should see the no-access page: {refusal:?}"
            );
            wait_for_address(client, "/admin", None).await?;
        }

        client
            .find(Locator::Css("[data-testid=logout]"))
            .await?
            .click()
            .await?;
        wait_for_address(client, "/login", None).await?;
        find_on_page(client, Locator::Id("username")).await?;
        ensure!(
            client
                .find_all(Locator::Css("[data-testid=session-user]"))
                .await?
                .is_empty(),
            "after {user} logged out the top bar should name nobody"
        );
    }

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused_with_a_message() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/login")).await?;

    browser.log_in("engineer", "not-the-demo-password").await?;
    let message = text_of(client, "login-error").await?;
    ensure!(
        message.contains("The username or password is wrong"),
        "a wrong password should say so: {message:?}"
    );
    let focused = client.active_element().await?.attr("id").await?;
    ensure!(
        focused.as_deref() == Some("login-error"),
        "focus should move to the error, not {focused:?}"
    );
    wait_for_address(client, "/login", None).await?;
    ensure!(
        client
            .find_all(Locator::Css("[data-testid=session-user]"))
            .await?
            .is_empty(),
        "nobody should be logged in after a wrong password"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_link_survives_the_login() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/status")).await?;

    wait_for_address(client, "/login", Some("next=%2Fstatus")).await?;
    browser.log_in("clinician", DEMO_PASSWORD).await?;
    wait_for_address(client, "/status", None).await?;
    let components = text_of(client, "status-components").await?;
    ensure!(
        components.contains("Patient registration"),
        "the status page should list its components after the login: {components:?}"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_the_audit_trail_masked_and_filtered() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    // An engineer asks a metrics query naming a patient's email address first.
    let engineer = server.client_as("engineer").await?;
    engineer
        .post(server.url("/api/v1/metrics/query"))
        .json(&serde_json::json!({"query": "sum(login_attempts_total{user=\"jane@mail.example\"})"}))
        .send()
        .await?;

    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/admin")).await?;
    wait_for_address(client, "/login", Some("next=%2Fadmin")).await?;
    browser.log_in("admin", DEMO_PASSWORD).await?;
    wait_for_address(client, "/admin", None).await?;
    let trail = text_of(client, "audit-trail").await?;
    ensure!(
        trail.contains("Logged in") && trail.contains("Queried metrics") && trail.contains("[email]"),
        "the trail should show the logins and the engineer's query: {trail:?}"
    );
    ensure!(
        !trail.contains("jane@"),
        "the patient's address reached the page: {trail:?}"
    );

    let action = client.find(Locator::Css("#audit-action")).await?;
    action.select_by_value("metrics_query").await?;
    client
        .find(Locator::Css(".audit-filter button"))
        .await?
        .click()
        .await?;
    let filtered = wait_until("only the metrics query is listed", WAIT, || async move {
        text_of(client, "audit-trail")
            .await
            .is_ok_and(|trail| trail.contains("Queried metrics") && !trail.contains("Logged in"))
    })
    .await;
    ensure!(
        filtered.is_ok(),
        "filtering by action left: {:?}",
        text_of(client, "audit-trail").await?
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_revokes_a_shared_link_on_the_admin_page_and_it_stops_opening() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let operations = server.client_as("operations").await?;
    let shared: serde_json::Value = operations
        .post(server.url("/api/v1/links"))
        .json(&serde_json::json!({"dashboard": "clinic-now", "from": "now-24h"}))
        .send()
        .await?
        .json()
        .await?;
    let id = shared["id"].as_str().unwrap_or_default().to_owned();
    let open = || operations.get(server.url(&format!("/api/v1/links/{id}"))).send();
    ensure!(open().await?.status() == 200, "the new link opens: {shared}");

    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/admin")).await?;
    wait_for_address(client, "/login", Some("next=%2Fadmin")).await?;
    browser.log_in("admin", DEMO_PASSWORD).await?;
    wait_for_address(client, "/admin", None).await?;
    let links = text_of(client, "share-links").await?;
    ensure!(
        links.contains("operations") && links.contains("now-24h") && links.contains("✓ Works"),
        "the admin page should list the link as working: {links:?}"
    );
    client
        .find(Locator::Css("[data-testid=share-links] button"))
        .await?
        .click()
        .await?;
    let revoked = wait_until("the link shows as revoked", WAIT, || async move {
        text_of(client, "share-links")
            .await
            .is_ok_and(|links| links.contains("✕ Revoked") && !links.contains("✓ Works"))
    })
    .await;
    ensure!(
        revoked.is_ok(),
        "after Revoke the list shows: {:?}",
        text_of(client, "share-links").await?
    );
    ensure!(open().await?.status() == 410, "a revoked link no longer opens");

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

/// The heading of the area page shown, once it is there.
async fn area_heading(client: &Client) -> Result<String> {
    let heading = find_on_page(client, Locator::Id("area-heading")).await?;
    Ok(heading.text().await?)
}

/// Which app the page runs: the name of the wasm bindings its loader imports.
async fn running_app(client: &Client) -> Result<String> {
    let loader = client
        .execute(
            "return Array.from(document.querySelectorAll('script[type=module]')).map(s => s.textContent).join(' ');",
            vec![],
        )
        .await?;
    let loader = loader.as_str().unwrap_or_default();
    Ok(if loader.contains("vitals-engineering") {
        "engineering".into()
    } else if loader.contains("vitals-frontend") {
        "portal".into()
    } else {
        format!("unknown: {loader}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engineering_area_is_its_own_app_and_links_lead_back_and_forth() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;

    // Logged out, the engineering app sends the person to the portal's login and back.
    client.goto(&server.url("/engineering")).await?;
    wait_for_address(client, "/login", Some("next=%2Fengineering")).await?;
    browser.log_in("engineer", DEMO_PASSWORD).await?;
    wait_for_address(client, "/engineering", None).await?;
    let heading = area_heading(client).await?;
    ensure!(
        heading.contains("Engineering"),
        "the engineering area's heading: {heading:?}"
    );
    let app = running_app(client).await?;
    ensure!(
        app == "engineering",
        "/engineering should run the engineering app, not {app}"
    );

    // Its top bar leads back to the portal's pages.
    client
        .find(Locator::Css("[data-testid=area-dashboards]"))
        .await?
        .click()
        .await?;
    wait_for_address(client, "/dashboards", None).await?;
    wait_until("the portal runs the dashboards page", WAIT, || async move {
        running_app(client).await.is_ok_and(|app| app == "portal")
    })
    .await?;
    client
        .find(Locator::Css("[data-testid=area-engineering]"))
        .await?
        .click()
        .await?;
    wait_for_address(client, "/engineering", None).await?;
    let heading = area_heading(client).await?;
    ensure!(
        heading.contains("Engineering"),
        "back in the engineering area: {heading:?}"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}
