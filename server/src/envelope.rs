//! The envelope around every request: CSRF checks on state changes, and the security headers
//! of every answer (CSP, nosniff, no referrer, HSTS behind a TLS load balancer, and no-store on the API).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use vitals_api::CSRF_HEADER;

use crate::error::ApiError;

/// What the envelope adds to answers, built once at start.
pub struct Envelope {
    /// The app's Content-Security-Policy, for answers that set none of their own.
    pub content_security_policy: HeaderValue,
}

/// One layer for the whole envelope: refuses POST, PUT, PATCH and DELETE without the CSRF
/// header or from another origin, then adds the security headers to the answer, refusals included.
pub async fn envelope(State(envelope): State<Arc<Envelope>>, request: Request, next: Next) -> Response {
    let changes_state = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let over_tls = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    // Said here rather than on the API's router, so refusals that never reach it (a CSRF 403,
    // an unknown path's 404, a 405) are never kept by a browser or a proxy either.
    let is_api = request.uri().path() == "/api" || request.uri().path().starts_with("/api/");
    let mut response = match changes_state.then(|| same_origin_request(request.headers())) {
        Some(Err(problem)) => ApiError::forbidden("csrf", problem).into_response(),
        _ => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert_with(|| envelope.content_security_policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if over_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

fn same_origin_request(headers: &HeaderMap) -> Result<(), String> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(
            "this request must come from the Vitals page itself (the X-Vitals-Csrf header is missing)".into(),
        );
    }
    same_origin(headers)
}

/// Whether a request's `Sec-Fetch-Site` and `Origin`, when present, name this very origin.
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return Err(format!(
            "this request came from another site ({site}); open Vitals directly"
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin_host != host {
            return Err("this request came from another origin; open Vitals directly".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn csrf_needs_the_header_and_the_same_origin() {
        assert!(same_origin_request(&headers(&[])).is_err());
        assert!(same_origin_request(&headers(&[("x-vitals-csrf", "1")])).is_ok());
        assert!(
            same_origin_request(&headers(&[
                ("x-vitals-csrf", "1"),
                ("sec-fetch-site", "cross-site")
            ]))
            .is_err()
        );
        assert!(
            same_origin_request(&headers(&[
                ("x-vitals-csrf", "1"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        assert!(
            same_origin_request(&headers(&[
                ("x-vitals-csrf", "1"),
                ("origin", "https://evil.example"),
                ("host", "vitals.internal")
            ]))
            .is_err()
        );
        assert!(
            same_origin_request(&headers(&[
                ("x-vitals-csrf", "1"),
                ("origin", "https://vitals.internal"),
                ("host", "vitals.internal")
            ]))
            .is_ok()
        );
    }
}
