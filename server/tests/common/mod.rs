//! What the server's integration tests share: logging a demo user in through the API.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;

/// The `Cookie` value of the session a login answer set.
pub fn cookie_of(headers: &HeaderMap) -> String {
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Logs `username` in as the browser app does; the `Cookie` value of the new session.
pub async fn login(router: &Router, username: &str, password: &str) -> String {
    let request = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-vitals-csrf", "1")
        .body(Body::from(
            serde_json::json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "logging in as {username}");
    cookie_of(response.headers())
}
