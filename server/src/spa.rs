//! Serving the built browser app: index.html for the app's routes, hashed assets cached for good.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::error::ApiError;

/// The browser apps, each its own page in `dist/` with its own download, so the portal
/// clinicians open never carries the engineers' tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// Home, the dashboards, status and login: `index.html`.
    Portal,
    /// Logs, metrics, traces, the service map and sources: `engineering.html`.
    Engineering,
    /// Notices and the admin area: `manage.html`.
    Manage,
    /// Goals, what went wrong, and the patient journey: `insights.html`.
    Insights,
}

impl App {
    pub const ALL: [App; 4] = [App::Portal, App::Engineering, App::Manage, App::Insights];

    /// The page Trunk builds for the app in `dist/`.
    pub fn page(self) -> &'static str {
        match self {
            App::Portal => "index.html",
            App::Engineering => "engineering.html",
            App::Manage => "manage.html",
            App::Insights => "insights.html",
        }
    }

    /// The page addresses the app draws; the portal's are listed in the router with its own.
    pub fn routes(self) -> &'static [&'static str] {
        match self {
            App::Portal => &[
                "/",
                "/dashboards",
                "/dashboards/{id}",
                "/s/{id}",
                "/status",
                "/login",
            ],
            App::Engineering => &["/engineering", "/engineering/{*rest}"],
            App::Manage => &["/notices", "/admin", "/admin/{*rest}"],
            App::Insights => &["/insights", "/insights/{*rest}"],
        }
    }
}

/// The built apps as the server found them at start, in the order of [`App::ALL`].
pub struct Spa {
    dist_dir: PathBuf,
    pages: [Option<String>; 4],
    content_security_policy: HeaderValue,
}

impl Spa {
    /// Reads each app's page from the dist folder and derives the pages' Content-Security-Policy.
    /// A missing build is not fatal: the API still works and the page says how to build.
    pub fn load(dist_dir: &Path) -> Self {
        let pages = App::ALL.map(|app| std::fs::read_to_string(dist_dir.join(app.page())).ok());
        if let Some(missing) = App::ALL.iter().zip(&pages).find(|(_, html)| html.is_none()) {
            tracing::warn!(
                dist = %dist_dir.display(),
                page = missing.0.page(),
                "the browser app is not built in this folder; run `cargo xtask run` to build and serve it"
            );
        }
        // One policy for every page: each page's inline loader is allowed by its hash.
        let content_security_policy =
            content_security_policy(&pages.iter().flatten().map(String::as_str).collect::<String>());
        Self {
            dist_dir: dist_dir.to_owned(),
            pages,
            content_security_policy,
        }
    }

    pub fn content_security_policy(&self) -> HeaderValue {
        self.content_security_policy.clone()
    }

    /// The app's page with `status`, or a plain 503 saying how to build it.
    pub fn page(&self, app: App, status: StatusCode) -> Response {
        let index = App::ALL.iter().position(|a| *a == app).unwrap_or(0);
        match &self.pages[index] {
            Some(html) => (
                status,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                html.clone(),
            )
                .into_response(),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "the Vitals browser app is not built; run `cargo xtask run`, which builds it and starts the server\n",
            )
                .into_response(),
        }
    }
}

/// The strict policy of the page: scripts only from this origin plus Trunk's inline loader, by its hash.
fn content_security_policy(index_html: &str) -> HeaderValue {
    let script_hashes: String = inline_scripts(index_html)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let policy = format!(
        "default-src 'self'; script-src 'self'{script_hashes} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// The bodies of `<script>` elements without a `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.match_indices("<script").filter_map(move |(start, _)| {
        let open_end = start + html[start..].find('>')?;
        let opening = &html[start..open_end];
        if opening.contains("src=") {
            return None;
        }
        let body_start = open_end + 1;
        let body_end = body_start + html[body_start..].find("</script>")?;
        Some(&html[body_start..body_end])
    })
}

/// Everything no route matched: unknown API paths, assets, and unknown pages.
pub async fn fallback(State(spa): State<Arc<Spa>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::NotFound(format!(
            "there is no API endpoint {} {path}; check the path and method against the API reference in the README",
            request.method()
        ))
        .into_response();
    }
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if !last_segment.contains('.') {
        // An unknown page: the app shows its own "page not found", with a real 404 status.
        return spa.page(App::Portal, StatusCode::NOT_FOUND);
    }
    serve_asset(&spa.dist_dir, request, last_segment).await
}

async fn serve_asset(dist_dir: &Path, request: Request, file_name: &str) -> Response {
    let immutable = is_hashed(file_name);
    let served = ServeDir::new(dist_dir)
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found\n",
        )
            .into_response();
    }
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Trunk names built assets `name-<hash>.ext` (and `name-<hash>_bg.wasm`), the hash 16 hex
/// digits, or fewer when it starts with zeros; those files never change.
fn is_hashed(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (12..=16).contains(&hash.len())
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_asset_names_are_recognised() {
        assert!(is_hashed("vitals-frontend-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("style-0123456789abcdef.css"));
        assert!(
            is_hashed("style-873b377aa6722aa.css"),
            "a hash with its leading zero dropped"
        );
        assert!(!is_hashed("patient-registration.css"));
        assert!(!is_hashed("favicon.svg"));
        assert!(!is_hashed("robots.txt"));
        assert!(!is_hashed("my-file.js"));
    }

    #[test]
    fn policy_allows_the_inline_loader_by_hash_only() {
        let html = "<html><script src=\"/a.js\"></script><script type=\"module\">init()</script></html>";
        let policy = content_security_policy(html);
        let policy = policy.to_str().unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert!(policy.contains(&format!("'sha256-{expected}'")), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(policy.matches("sha256-").count(), 1);
    }
}
