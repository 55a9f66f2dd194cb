//! Share links over HTTP: made by one person, opened by another, until they expire on the
//! server's clock or are revoked; each creation, opening and revocation on the audit trail.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::DemoServer;
use serde_json::{Value, json};
use vitals_api::AuditAction;
use vitals_server::store::{AuditFilter, AuditLog, SqliteStore};

const PASSWORD: &str = "links-test-password";
/// Tuesday 2026-11-24 10:20 UTC: "now" for the server of these tests.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const DAY: Duration = Duration::from_secs(86_400);

/// A demo server, and its store to look into.
struct Server {
    demo: DemoServer,
    store: SqliteStore,
}

impl Server {
    fn start() -> Self {
        let demo = DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
        let store = SqliteStore::open(demo.data_dir()).unwrap();
        Self { demo, store }
    }

    async fn login(&self, user: &str) -> String {
        self.demo.login(user).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::call(&self.demo.router, method, path, cookie, body).await
    }

    /// Shares `body` as `cookie`; the new link's id.
    async fn share(&self, cookie: &str, body: Value) -> String {
        let (status, answer) = self.call(Method::POST, "/api/v1/links", cookie, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let id = answer["id"].as_str().unwrap().to_owned();
        assert_eq!(answer["url"], format!("/s/{id}"));
        id
    }

    async fn open(&self, id: &str, cookie: &str) -> (StatusCode, Value) {
        self.call(Method::GET, &format!("/api/v1/links/{id}"), cookie, None)
            .await
    }

    async fn actions(&self) -> Vec<AuditAction> {
        let events = self.store.query(&AuditFilter::default()).await.unwrap();
        events.iter().rev().map(|event| event.action).collect()
    }
}

#[tokio::test]
async fn a_link_shared_by_one_person_opens_the_same_view_for_another() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let view = json!({"dashboard": "clinic-now", "from": "2026-11-23T08:00:00Z", "to": "now"});
    let id = server.share(&operations, view).await;
    assert_eq!(id.len(), 22, "128 random bits in base64url: {id}");

    let engineer = server.login("engineer").await;
    let (status, link) = server.open(&id, &engineer).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    assert_eq!(link["dashboard"], "clinic-now");
    assert_eq!(
        link["view"]["from"], "2026-11-23T08:00:00Z",
        "an absolute time stays pinned"
    );
    assert_eq!(link["view"]["to"], "now", "a relative time keeps moving");
    assert_eq!(link["created_by"], "operations");
    assert_eq!(
        link["expires_at"],
        CLINIC_MORNING_MS + 7 * 86_400_000,
        "a week by default"
    );

    let clinician = server.login("clinician").await;
    let (status, answer) = server.open(&id, &clinician).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a role that may not see dashboards: {answer}"
    );

    let actions = server.actions().await;
    assert!(
        actions.contains(&AuditAction::LinkCreate) && actions.contains(&AuditAction::LinkOpen),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_link_to_a_dashboard_the_opener_may_not_see_is_refused_by_name() {
    let server = Server::start();
    let engineer = server.login("engineer").await;
    let id = server
        .share(
            &engineer,
            json!({"dashboard": "service-overview", "vars": {"service": "login-api"}}),
        )
        .await;
    let operations = server.login("operations").await;
    let (status, answer) = server.open(&id, &operations).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"Service overview\", which your role may not see"),
        "{answer}"
    );
    // Nor can they share it themselves.
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/links",
            &operations,
            Some(json!({"dashboard": "service-overview"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_dashboard");
}

#[tokio::test]
async fn a_link_stops_working_when_it_expires_on_the_servers_clock() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let id = server
        .share(
            &operations,
            json!({"dashboard": "clinic-now", "expires_in_days": 2}),
        )
        .await;
    server.demo.clock.advance(DAY);
    let engineer = server.login("engineer").await;
    assert_eq!(server.open(&id, &engineer).await.0, StatusCode::OK);

    server.demo.clock.advance(DAY + Duration::from_secs(1));
    let engineer = server.login("engineer").await;
    let (status, answer) = server.open(&id, &engineer).await;
    assert_eq!(status, StatusCode::GONE, "{answer}");
    assert_eq!(answer["error"]["code"], "link_expired");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-26 10:20 UTC"),
        "says when, in words: {answer}"
    );
}

#[tokio::test]
async fn its_creator_or_an_admin_revokes_a_link_and_nobody_else() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let engineer = server.login("engineer").await;
    let admin = server.login("admin").await;
    let mine = server
        .share(&operations, json!({"dashboard": "clinic-now"}))
        .await;
    let theirs = server.share(&engineer, json!({"dashboard": "clinic-now"})).await;

    let path = |id: &str| format!("/api/v1/links/{id}");
    let (status, answer) = server
        .call(Method::DELETE, &path(&theirs), &operations, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "not_your_link");

    let (status, _) = server.call(Method::DELETE, &path(&mine), &operations, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = server.open(&mine, &engineer).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(answer["error"]["code"], "link_revoked");

    let (status, _) = server.call(Method::DELETE, &path(&theirs), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an admin revokes anyone's link");
    let (status, _) = server.call(Method::DELETE, &path(&theirs), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "revoking again changes nothing");
    assert!(server.actions().await.contains(&AuditAction::LinkRevoke));
}

#[tokio::test]
async fn each_person_lists_their_own_links_and_an_admin_every_link() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let engineer = server.login("engineer").await;
    let admin = server.login("admin").await;
    let first = server
        .share(&operations, json!({"dashboard": "clinic-now"}))
        .await;
    server.demo.clock.advance(Duration::from_secs(60));
    let second = server
        .share(&operations, json!({"dashboard": "clinic-now"}))
        .await;
    let other = server.share(&engineer, json!({"dashboard": "clinic-now"})).await;

    let ids = |list: &Value| -> Vec<String> {
        list["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|link| link["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, own) = server.call(Method::GET, "/api/v1/links", &operations, None).await;
    assert_eq!(
        ids(&own),
        [second.clone(), first.clone()],
        "newest first, own only"
    );
    let (_, every) = server.call(Method::GET, "/api/v1/links", &admin, None).await;
    let every = ids(&every);
    assert_eq!(every.len(), 3);
    for id in [&first, &second, &other] {
        assert!(every.contains(id), "{id} in {every:?}");
    }
}

#[tokio::test]
async fn a_guessed_or_malformed_id_is_unknown() {
    let server = Server::start();
    let engineer = server.login("engineer").await;
    for id in ["AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fetc"] {
        let (status, answer) = server.open(id, &engineer).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains("no link"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_view_the_server_cannot_share_is_refused_saying_why() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let cases = [
        (
            json!({"dashboard": "payroll"}),
            StatusCode::BAD_REQUEST,
            "unknown_dashboard",
            "clinic-now",
        ),
        (
            json!({"dashboard": "clinic-now", "vars": {"clinic": "north"}}),
            StatusCode::BAD_REQUEST,
            "variable_not_allowed",
            "clinic",
        ),
        (
            json!({"dashboard": "clinic-now", "from": "yesterday-ish"}),
            StatusCode::BAD_REQUEST,
            "invalid_time",
            "yesterday-ish",
        ),
        (
            json!({"dashboard": "clinic-now", "expires_in_days": 400}),
            StatusCode::BAD_REQUEST,
            "invalid_expiry",
            "90",
        ),
        (
            json!({"dashboard": "clinic-now", "never_expires": true}),
            StatusCode::FORBIDDEN,
            "never_expires_needs_admin",
            "admins",
        ),
        (
            json!({"dashboard": "clinic-now", "query": "sum(up)"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "query",
        ),
    ];
    for (body, status, code, says) in cases {
        let (answered, answer) = server
            .call(Method::POST, "/api/v1/links", &operations, Some(body.clone()))
            .await;
        assert_eq!(
            (answered, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
}

#[tokio::test]
async fn only_an_admin_shares_a_link_that_never_expires() {
    let server = Server::start();
    let admin = server.login("admin").await;
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/links",
            &admin,
            Some(json!({"dashboard": "clinic-now", "never_expires": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(answer.get("expires_at").is_none(), "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    server.demo.clock.advance(DAY * 3_650);
    let engineer = server.login("engineer").await;
    assert_eq!(server.open(&id, &engineer).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_link_store_that_fails_is_named_in_the_answer() {
    let server = Server::start();
    let admin = server.login("admin").await;
    rusqlite::Connection::open(server.store.path())
        .unwrap()
        .execute(
            "INSERT INTO share_links (id, dashboard, view_json, created_by, created_at_ms) \
             VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'clinic-now', '{not json', 'ana', 1)",
            [],
        )
        .unwrap();
    let (status, answer) = server.call(Method::GET, "/api/v1/links", &admin, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"]["code"], "store_unavailable");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("share links cannot be read"),
        "{answer}"
    );
}
