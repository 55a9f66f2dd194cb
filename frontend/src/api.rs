//! The one HTTP client of the app: every call to the Vitals server goes through here.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use gloo_net::http::{Method, RequestBuilder};
use leptos::prelude::{
    Callable, Callback, LocalStorage, Owner, StoredValue, WithValue, on_cleanup, set_timeout,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vitals_api::{
    AuditAction, AuditPage, ChallengeRequest, DashboardList, DashboardSummary, EmbedTokenCreated,
    EmbedTokenList, EmbedTokenRequest, ErrorBody, ExplanationList, JourneyAnswer, JourneyList,
    LogPatternsRequest, LogPatternsResponse, LogQueryRequest, LogQueryResponse, LoginRequest, LoginResponse,
    Notice, NoticeRequest, NoticeUpdateRequest, PanelData, Readiness, RevealRequest, Revealed, ServiceMap,
    SessionInfo, ShareLink, ShareLinkCreated, ShareLinkList, ShareLinkRequest, SharedView, SloDetail,
    SloList, StatusResponse, Trace, TraceSearchRequest, TraceSearchResponse,
    traces::{TraceComparison, TraceOverview, TraceWindow},
};
use web_sys::{AbortController, AbortSignal};

/// The header the server asks of every state-changing request: a cross-site
/// form cannot set it, so its presence shows the request came from this app.
const CSRF_HEADER: (&str, &str) = (vitals_api::CSRF_HEADER, "1");

/// Why a call to the server did not give the app what it asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: the network or the server is down.
    Network,
    /// 401: nobody is logged in, the session ended, or a login was refused;
    /// `code` says which (`unauthenticated`, `session_expired`, `invalid_credentials`, …).
    Unauthorized { code: String, message: String },
    /// 403: the server refuses this person or request; `code` says why (`no_role`, …).
    Forbidden { code: String, message: String },
    /// 429: too many attempts; `retry_after_secs` comes from the `Retry-After` header.
    TooManyAttempts {
        retry_after_secs: Option<u64>,
        message: String,
    },
    /// Any other error status; `message` is for people.
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// 400 about a query or filter, pointing at the part of the text that is wrong.
    WrongText {
        code: String,
        message: String,
        at: vitals_api::TextSpan,
    },
    /// The answer arrived but is not what this version of the app expects.
    Decode(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network => f.write_str(
                "the Vitals server could not be reached; check the network connection, then try again",
            ),
            Self::Unauthorized { message, .. }
            | Self::Forbidden { message, .. }
            | Self::TooManyAttempts { message, .. }
            | Self::Server { message, .. }
            | Self::WrongText { message, .. } => f.write_str(message),
            Self::Decode(detail) => write!(
                f,
                "the server's answer could not be read ({detail}); reload the page to get the current version of Vitals",
            ),
        }
    }
}

impl std::error::Error for ApiError {}

thread_local! {
    /// Told when a call that needs a session is refused with 401 (see [`on_session_end`]).
    static SESSION_END_HOOK: Cell<Option<Callback<()>>> = const { Cell::new(None) };
}

/// Registers what runs when any call that needs a session answers 401: the
/// session ended (idle or absolute limit) while the page was open.
pub fn on_session_end(hook: Callback<()>) {
    SESSION_END_HOOK.set(Some(hook));
}

/// What a 401 answer means for the call that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unauthorized {
    /// The call needs a session, so a 401 means it ended: tell the app.
    EndsSession,
    /// The caller reads the 401 itself (a refused login, the session check).
    IsTheAnswer,
}

/// Whether a request is the person doing something (which restarts the server's
/// idle timer) or the page refreshing itself (which must not keep an unattended
/// session alive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Person,
    Background,
}

/// The header that marks a request the page made on its own.
const BACKGROUND_HEADER: (&str, &str) = (vitals_api::BACKGROUND_HEADER, "1");

/// `GET /api/v1/session` because the person asked ("Stay logged in"): restarts the idle timer.
pub async fn session() -> Result<SessionInfo, ApiError> {
    call(
        Method::GET,
        "/api/v1/session",
        None,
        Unauthorized::IsTheAnswer,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/session` on the page's own schedule: who is logged in, without
/// counting as activity.
pub async fn session_check() -> Result<SessionInfo, ApiError> {
    call(
        Method::GET,
        "/api/v1/session",
        None,
        Unauthorized::IsTheAnswer,
        Activity::Background,
    )
    .await
}

/// `POST /api/v1/session`: logs in; the server sets the session cookie itself.
pub async fn login(request: &LoginRequest) -> Result<LoginResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/session",
        Some(body),
        Unauthorized::IsTheAnswer,
        Activity::Person,
    )
    .await
}

/// An SVG document the server made (an authenticator's QR code) as an `<img>` source: a `data:`
/// URL, which the content security policy allows for images.
pub fn svg_image_src(svg: &str) -> String {
    format!(
        "data:image/svg+xml,{}",
        svg.replace('%', "%25").replace('#', "%23")
    )
}

/// `POST /api/v1/session/challenge`: the new password or the one-time code a login asked for.
pub async fn answer_challenge(request: &ChallengeRequest) -> Result<LoginResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/session/challenge",
        Some(body),
        Unauthorized::IsTheAnswer,
        Activity::Person,
    )
    .await
}

/// `DELETE /api/v1/session`: logs out; the server ends the session and clears the cookie.
pub async fn logout() -> Result<(), ApiError> {
    let answer = send(Method::DELETE, "/api/v1/session", None, Activity::Person).await?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.error())
    }
}

/// `GET /api/v1/dashboards`: the dashboards the person may open.
pub async fn dashboards() -> Result<DashboardList, ApiError> {
    get("/api/v1/dashboards").await
}

/// `GET /api/v1/dashboards/{id}`: one dashboard, its variables and panels.
pub async fn dashboard(id: &str) -> Result<DashboardSummary, ApiError> {
    let url = format!("/api/v1/dashboards/{}", percent_encode(id));
    get(&url).await
}

/// `GET /api/v1/dashboards/{dashboard}/panels/{panel}`: a panel's number, sentence and chart
/// over the view's range, with its variables.
pub async fn panel(dashboard: &str, panel: &str, view: &SharedView) -> Result<PanelData, ApiError> {
    let url = panel_url(dashboard, panel, view);
    // Panels refresh themselves every few seconds: that is not the person at work.
    call(
        Method::GET,
        &url,
        None,
        Unauthorized::EndsSession,
        Activity::Background,
    )
    .await
}

fn panel_url(dashboard: &str, panel: &str, view: &SharedView) -> String {
    let mut url = format!(
        "/api/v1/dashboards/{}/panels/{}",
        percent_encode(dashboard),
        percent_encode(panel)
    );
    let mut separator = '?';
    let times = [("from", view.from.as_deref()), ("to", view.to.as_deref())];
    let times = times
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)));
    let vars = view
        .vars
        .iter()
        .map(|(name, value)| (format!("var.{name}"), value.as_str()));
    for (name, value) in times.chain(vars) {
        url.push(separator);
        url.push_str(&format!("{}={}", percent_encode(&name), percent_encode(value)));
        separator = '&';
    }
    url
}

/// `POST /api/v1/links`: a short link to a view of a dashboard.
pub async fn share(request: &ShareLinkRequest) -> Result<ShareLinkCreated, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/links",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/links/{id}`: the view a short link opens.
pub async fn open_link(id: &str) -> Result<ShareLink, ApiError> {
    let url = format!("/api/v1/links/{}", percent_encode(id));
    get(&url).await
}

/// Which audit entries an admin asks for; an empty field matches everyone or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub user: String,
    pub action: Option<AuditAction>,
}

/// Entries one look at the audit trail shows at most.
pub const AUDIT_PAGE_LENGTH: usize = 200;

/// `GET /api/v1/audit`: the newest entries of the audit trail matching `query`.
pub async fn audit(query: &AuditQuery) -> Result<AuditPage, ApiError> {
    call(
        Method::GET,
        &audit_url(query),
        None,
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

fn audit_url(query: &AuditQuery) -> String {
    let mut url = format!("/api/v1/audit?limit={AUDIT_PAGE_LENGTH}");
    let action = query.action.map(AuditAction::as_str).unwrap_or_default();
    for (name, value) in [("user", query.user.as_str()), ("action", action)] {
        let value = value.trim();
        if !value.is_empty() {
            url.push_str(&format!("&{name}={}", percent_encode(value)));
        }
    }
    url
}

/// `GET /api/v1/links`: the share links the person made (every link, for an admin), newest first.
pub async fn links() -> Result<ShareLinkList, ApiError> {
    get("/api/v1/links").await
}

/// `DELETE /api/v1/links/{id}`: the link stops working for everyone.
pub async fn revoke_link(id: &str) -> Result<(), ApiError> {
    let url = format!("/api/v1/links/{}", percent_encode(id));
    let answer = send(Method::DELETE, &url, None, Activity::Person).await?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.error())
    }
}

/// `GET /api/v1/status`: every component of the status page, its notices and past incidents.
/// Asked again while the page stays open, so it does not count as the person's activity.
pub async fn status() -> Result<StatusResponse, ApiError> {
    call(
        Method::GET,
        "/api/v1/status",
        None,
        Unauthorized::EndsSession,
        Activity::Background,
    )
    .await
}

/// `GET /api/v1/slos`: every objective with its sentence, budget and burn rates. Asked again
/// while the page stays open, so it does not count as the person's activity.
pub async fn slos() -> Result<SloList, ApiError> {
    call(
        Method::GET,
        "/api/v1/slos",
        None,
        Unauthorized::EndsSession,
        Activity::Background,
    )
    .await
}

/// `GET /api/v1/slos/{id}?from=`: one objective over a range, with its charts.
pub async fn slo(id: String, from: &str) -> Result<SloDetail, ApiError> {
    let url = format!(
        "/api/v1/slos/{}?from={}",
        percent_encode(&id),
        percent_encode(from)
    );
    get(&url).await
}

/// `GET /api/v1/explanations?from=`: what went wrong since `from`, newest first; the
/// evidence comes for engineers only.
pub async fn explanations(from: &str) -> Result<ExplanationList, ApiError> {
    call(
        Method::GET,
        &format!("/api/v1/explanations?from={}", percent_encode(from)),
        None,
        Unauthorized::EndsSession,
        Activity::Background,
    )
    .await
}

/// `GET /api/v1/journeys`: the patient journeys and their steps.
pub async fn journeys() -> Result<JourneyList, ApiError> {
    get("/api/v1/journeys").await
}

/// `GET /api/v1/journeys/{id}?from=&to=&var.clinic=`: one journey's counts and sentence.
pub async fn journey(id: &str, from: &str, to: &str, clinic: &str) -> Result<JourneyAnswer, ApiError> {
    let mut url = format!(
        "/api/v1/journeys/{}?from={}&to={}",
        percent_encode(id),
        percent_encode(from),
        percent_encode(to)
    );
    if !clinic.is_empty() {
        url.push_str(&format!("&var.clinic={}", percent_encode(clinic)));
    }
    get(&url).await
}

/// `POST /api/v1/notices`: a new incident or maintenance window on the status page.
pub async fn post_notice(request: &NoticeRequest) -> Result<Notice, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/notices",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `POST /api/v1/notices/{id}/updates`: an update on a notice's timeline.
pub async fn update_notice(id: &str, request: &NoticeUpdateRequest) -> Result<Notice, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        &format!("/api/v1/notices/{}/updates", percent_encode(id)),
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/embed-tokens`: every embed link for the status page, newest first.
pub async fn embed_tokens() -> Result<EmbedTokenList, ApiError> {
    get("/api/v1/embed-tokens").await
}

/// `POST /api/v1/embed-tokens`: an embed link, with its iframe address shown only now.
pub async fn create_embed_token(request: &EmbedTokenRequest) -> Result<EmbedTokenCreated, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/embed-tokens",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `DELETE /api/v1/embed-tokens/{id}`: the pages framing it say the status cannot be shown.
pub async fn revoke_embed_token(id: &str) -> Result<(), ApiError> {
    let url = format!("/api/v1/embed-tokens/{}", percent_encode(id));
    let answer = send(Method::DELETE, &url, None, Activity::Person).await?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.error())
    }
}

/// `POST /api/v1/logs/query`: lines (or series, for a metric query) over a range, patient
/// data masked.
pub async fn query_logs(request: &LogQueryRequest) -> Result<LogQueryResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/logs/query",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `POST /api/v1/logs/patterns`: the lines of a log query clustered into templates, masked.
pub async fn log_patterns(request: &LogPatternsRequest) -> Result<LogPatternsResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/logs/patterns",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/logs/labels`: the label names seen over a range, for completion.
pub async fn log_labels(from: &str, to: &str) -> Result<Vec<String>, ApiError> {
    names(&format!(
        "/api/v1/logs/labels?from={}&to={}",
        percent_encode(from),
        percent_encode(to)
    ))
    .await
}

/// `GET /api/v1/logs/labels/{name}/values`: the values a label took over a range.
pub async fn log_label_values(name: &str, from: &str, to: &str) -> Result<Vec<String>, ApiError> {
    names(&format!(
        "/api/v1/logs/labels/{}/values?from={}&to={}",
        percent_encode(name),
        percent_encode(from),
        percent_encode(to)
    ))
    .await
}

/// `POST /api/v1/reveal`: one masked line or span whole, for a reason the audit trail keeps.
pub async fn reveal(request: &RevealRequest) -> Result<Revealed, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/reveal",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `POST /api/v1/metrics/query`: a PromQL query over a range (or at an instant).
pub async fn query_metrics(
    request: &vitals_api::MetricQueryRequest,
) -> Result<vitals_api::MetricQueryResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/metrics/query",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/metrics/names`: every metric name, for completion.
pub async fn metric_names() -> Result<Vec<String>, ApiError> {
    names("/api/v1/metrics/names").await
}

/// `POST /api/v1/traces/search`: traces matching the fields and filter, newest first.
pub async fn search_traces(request: &TraceSearchRequest) -> Result<TraceSearchResponse, ApiError> {
    let body = json_body(request)?;
    call(
        Method::POST,
        "/api/v1/traces/search",
        Some(body),
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// `GET /api/v1/traces/{id}`: a whole trace, patient data masked; a trace over the server's
/// span limit answers 413 `trace_too_large` ([`is_too_large`]).
pub async fn trace(id: &str) -> Result<Trace, ApiError> {
    get(&format!("/api/v1/traces/{}", percent_encode(id))).await
}

/// Whether an error says the trace must be read through its overview and windows.
pub fn is_too_large(error: &ApiError) -> bool {
    matches!(error, ApiError::Server { status: 413, .. })
}

/// `GET /api/v1/traces/{id}/summary`: a huge trace's overview.
pub async fn trace_overview(id: &str) -> Result<TraceOverview, ApiError> {
    get(&format!("/api/v1/traces/{}/summary", percent_encode(id))).await
}

/// `GET /api/v1/traces/{id}/window`: a huge trace's spans within `from..to` (nanoseconds) and
/// below `root`.
pub async fn trace_window(id: &str, from: i64, to: i64, root: Option<&str>) -> Result<TraceWindow, ApiError> {
    let mut url = format!("/api/v1/traces/{}/window?from={from}&to={to}", percent_encode(id));
    if let Some(root) = root {
        url.push_str("&root=");
        url.push_str(&percent_encode(root));
    }
    get(&url).await
}

/// `GET /api/v1/traces/{a}/compare/{b}`: where `b` spent its time differently from `a`.
pub async fn compare_traces(a: &str, b: &str) -> Result<TraceComparison, ApiError> {
    get(&format!(
        "/api/v1/traces/{}/compare/{}",
        percent_encode(a),
        percent_encode(b)
    ))
    .await
}

/// `GET /api/v1/service-map`: services, the AWS resources they call, and the calls between.
pub async fn service_map(from: &str, to: &str) -> Result<ServiceMap, ApiError> {
    get(&format!(
        "/api/v1/service-map?from={}&to={}",
        percent_encode(from),
        percent_encode(to)
    ))
    .await
}

/// `GET /readyz`: whether each source behind the server can answer.
///
/// A degraded server answers 503 with the same body, which is exactly what
/// the status page wants to show, so that answer counts as a success here.
pub async fn readiness() -> Result<Readiness, ApiError> {
    let answer = send(Method::GET, "/readyz", None, Activity::Background).await?;
    if answer.status == 503
        && let Ok(readiness) = serde_json::from_str::<Readiness>(&answer.body)
    {
        return Ok(readiness);
    }
    answer.decode()
}

/// The names a [`vitals_api::NameList`] answer holds: labels, label values, metric names.
async fn names(url: &str) -> Result<Vec<String>, ApiError> {
    get::<vitals_api::NameList>(url).await.map(|list| list.names)
}

/// A GET the person asked for, as someone logged in, and its decoded answer.
async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    call(
        Method::GET,
        url,
        None,
        Unauthorized::EndsSession,
        Activity::Person,
    )
    .await
}

/// A request and its decoded answer; a 401 on a call that needs a session
/// also tells the app the session ended.
async fn call<T: DeserializeOwned>(
    method: Method,
    url: &str,
    json: Option<String>,
    unauthorized: Unauthorized,
    activity: Activity,
) -> Result<T, ApiError> {
    let result = send(method, url, json, activity).await?.decode();
    if unauthorized == Unauthorized::EndsSession
        && matches!(result, Err(ApiError::Unauthorized { .. }))
        && let Some(hook) = SESSION_END_HOOK.get()
    {
        // After this answer has reached the resource that asked and been
        // shown: ending the session unmounts the page, and a resource
        // unmounted while delivering its answer panics when read.
        set_timeout(move || hook.run(()), Duration::ZERO);
    }
    result
}

fn json_body<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|error| ApiError::Decode(error.to_string()))
}

/// What the server answered, read in full.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    /// The `Retry-After` header, when the server sent one.
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The expected type on success, the server's error otherwise.
    fn decode<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.is_success() {
            serde_json::from_str(&self.body).map_err(|error| ApiError::Decode(error.to_string()))
        } else {
            Err(self.error())
        }
    }

    /// The error an unsuccessful answer stands for, with the server's code and sentence.
    fn error(&self) -> ApiError {
        let status = self.status;
        let (code, message, at) = match serde_json::from_str::<ErrorBody>(&self.body) {
            Ok(error_body) => (
                error_body.error.code,
                error_body.error.message,
                error_body.error.at,
            ),
            Err(_) => (
                String::new(),
                format!("the Vitals server answered with an error (status {status}); try again in a moment"),
                None,
            ),
        };
        if let (400, Some(at)) = (status, at) {
            return ApiError::WrongText { code, message, at };
        }
        match status {
            401 => ApiError::Unauthorized { code, message },
            403 => ApiError::Forbidden { code, message },
            429 => ApiError::TooManyAttempts {
                retry_after_secs: self.retry_after.as_deref().and_then(parse_retry_after),
                message,
            },
            _ => ApiError::Server {
                status,
                code,
                message,
            },
        }
    }
}

/// Seconds to wait from a `Retry-After` header; the HTTP-date form is not
/// used by the Vitals server, so it reads as unknown.
fn parse_retry_after(value: &str) -> Option<u64> {
    value.trim().parse().ok()
}

/// The header a request of `method` must carry besides `Accept`: the CSRF
/// header on everything that changes state.
fn csrf_header(method: &Method) -> Option<(&'static str, &'static str)> {
    let reads_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    (!reads_only).then_some(CSRF_HEADER)
}

/// Sends a request (with a JSON body, if any) and reads the whole answer.
///
/// A GET is aborted when the reactive owner that started it is cleaned up:
/// when a resource runs again or its page goes away, its old request stops
/// using the network. A request that changes state is never aborted halfway,
/// since the server may already have acted on it.
async fn send(
    method: Method,
    url: &str,
    json: Option<String>,
    activity: Activity,
) -> Result<Answer, ApiError> {
    let mut builder = RequestBuilder::new(url)
        .method(method.clone())
        .header("Accept", "application/json");
    if activity == Activity::Background {
        builder = builder.header(BACKGROUND_HEADER.0, BACKGROUND_HEADER.1);
    }
    if let Some((name, value)) = csrf_header(&method) {
        builder = builder.header(name, value);
    }
    if method == Method::GET {
        builder = builder.abort_signal(abort_on_cleanup().as_ref());
    }
    let request = match json {
        Some(json) => builder.header("Content-Type", "application/json").body(json),
        None => builder.build(),
    }
    .map_err(|_| ApiError::Network)?;
    let response = request.send().await.map_err(|_| ApiError::Network)?;
    let retry_after = response.headers().get("Retry-After");
    let body = response.text().await.map_err(|_| ApiError::Network)?;
    Ok(Answer {
        status: response.status(),
        retry_after,
        body,
    })
}

/// An abort signal fired by the cleanup of the current reactive owner; none
/// outside one (a task started from an event handler), where nothing would clean it up.
fn abort_on_cleanup() -> Option<AbortSignal> {
    let _owner = Owner::current()?;
    let controller = AbortController::new().ok()?;
    let signal = controller.signal();
    // The controller is a JS object (not `Send`); the owner's arena keeps it
    // until the cleanup below has run.
    let controller = StoredValue::<_, LocalStorage>::new_local(controller);
    on_cleanup(move || {
        controller.try_with_value(AbortController::abort);
    });
    Some(signal)
}

/// Percent-encodes a path segment or a query value, as the browser's `encodeURIComponent` does:
/// every byte of the UTF-8 text but letters, digits and `-_.!~*'()`.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_api::{ChallengeKind, Health, Role, Unit};

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.into(),
        }
    }

    #[test]
    fn a_refused_query_keeps_the_place_it_points_at() {
        let body = r#"{"error":{"code":"bad_filter","message":"the filter is wrong at character 5: expected AND or OR","at":{"start":4,"end":8}}}"#;
        match answer(400, body).decode::<()>() {
            Err(ApiError::WrongText { code, at, .. }) => {
                assert_eq!(code, "bad_filter");
                assert_eq!((at.start, at.end), (4, 8));
            }
            other => panic!("expected the wrong part, got {other:?}"),
        }
        assert!(matches!(
            answer(400, r#"{"error":{"code":"bad_range","message":"no"}}"#).decode::<()>(),
            Err(ApiError::Server { status: 400, .. })
        ));
    }

    #[test]
    fn values_are_encoded_as_encode_uri_component_does() {
        assert_eq!(percent_encode("now-1h"), "now-1h");
        assert_eq!(
            percent_encode(r#"{service="login-api"} |= "é""#),
            "%7Bservice%3D%22login-api%22%7D%20%7C%3D%20%22%C3%A9%22"
        );
        assert_eq!(percent_encode("a/b?c&d=e#f+g"), "a%2Fb%3Fc%26d%3De%23f%2Bg");
        assert_eq!(percent_encode("(it's)!*~_."), "(it's)!*~_.");
    }

    #[test]
    fn successful_answer_is_decoded_into_the_contract_type() {
        let body = r#"{"id":"registrations","title":"Registrations","kind":"stat","value":42.0,"unit":"count",
            "health":"good","sentence":"42 patients registered in the last hour.",
            "series":[{"name":"Registrations","points":[[1700000000000,3.0]]}],
            "from":1699996400000,"to":1700000000000,"as_of":1700000000000,"generated_at":1700000005000}"#;
        let panel: PanelData = answer(200, body).decode().unwrap();
        assert_eq!(panel.unit, Unit::Count);
        assert_eq!(panel.health, Health::Good);
        assert_eq!(panel.value, Some(42.0));
    }

    #[test]
    fn server_error_carries_the_servers_code_and_sentence() {
        let body = r#"{"error":{"code":"not_found","message":"there is no panel named nope"}}"#;
        let error = answer(404, body).decode::<PanelData>().unwrap_err();
        assert_eq!(
            error,
            ApiError::Server {
                status: 404,
                code: "not_found".into(),
                message: "there is no panel named nope".into()
            }
        );
        assert_eq!(error.to_string(), "there is no panel named nope");
    }

    #[test]
    fn unauthorized_forbidden_and_throttled_answers_are_told_apart() {
        let body = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        assert_eq!(
            answer(401, &body("session_expired")).error(),
            ApiError::Unauthorized {
                code: "session_expired".into(),
                message: "m".into()
            }
        );
        assert_eq!(
            answer(403, &body("no_role")).error(),
            ApiError::Forbidden {
                code: "no_role".into(),
                message: "m".into()
            }
        );
        let throttled = Answer {
            retry_after: Some("240".into()),
            ..answer(429, &body("too_many_attempts"))
        };
        assert_eq!(
            throttled.error(),
            ApiError::TooManyAttempts {
                retry_after_secs: Some(240),
                message: "m".into()
            }
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_only() {
        assert_eq!(parse_retry_after("30"), Some(30));
        assert_eq!(parse_retry_after(" 240 "), Some(240));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }

    #[test]
    fn error_without_json_body_still_reads_as_a_sentence() {
        let error = answer(502, "<html>Bad Gateway</html>")
            .decode::<PanelData>()
            .unwrap_err();
        assert!(error.to_string().contains("status 502"), "{error}");
    }

    #[test]
    fn unexpected_success_body_is_a_decode_error() {
        let error = answer(200, r#"{"id":"x"}"#).decode::<PanelData>().unwrap_err();
        assert!(matches!(error, ApiError::Decode(_)));
        assert!(
            error
                .to_string()
                .starts_with("the server's answer could not be read")
        );
    }

    #[test]
    fn login_answer_is_a_session_or_a_challenge() {
        let session: LoginResponse = answer(
            200,
            r#"{"user":"ana","roles":["engineer"],"idle_expires_at":1,"expires_at":2}"#,
        )
        .decode()
        .unwrap();
        assert!(matches!(session, LoginResponse::Session(info) if info.roles == [Role::Engineer]));
        let challenge: LoginResponse = answer(200, r#"{"challenge":"NEW_PASSWORD_REQUIRED"}"#)
            .decode()
            .unwrap();
        assert_eq!(
            challenge,
            LoginResponse::Challenge {
                challenge: ChallengeKind::NewPasswordRequired,
                authenticator: None,
            }
        );
        let setup: LoginResponse = answer(
            200,
            r#"{"challenge":"MFA_SETUP","authenticator":{"secret_key":"ABCD EFGH","uri":"otpauth://totp/Vitals:ana?secret=ABCDEFGH&issuer=Vitals","qr_svg":"<svg/>"}}"#,
        )
        .decode()
        .unwrap();
        assert!(matches!(
            setup,
            LoginResponse::Challenge { challenge: ChallengeKind::MfaSetup, authenticator: Some(setup) }
                if setup.secret_key == "ABCD EFGH"
        ));
    }

    #[test]
    fn an_svg_becomes_an_image_source_its_hashes_and_percents_escaped() {
        assert_eq!(
            svg_image_src(r##"<svg><rect fill="#fff" width="100%"/></svg>"##),
            r#"data:image/svg+xml,<svg><rect fill="%23fff" width="100%25"/></svg>"#
        );
    }

    #[test]
    fn state_changing_requests_carry_the_csrf_header_and_reads_do_not() {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(csrf_header(&method), Some(("x-vitals-csrf", "1")), "{method}");
        }
        assert_eq!(csrf_header(&Method::GET), None);
    }
}

/// What needs the browser's engine (`encodeURIComponent`); `cargo xtask test` runs these in
/// Node through `wasm-bindgen-test-runner`.
#[cfg(all(test, target_arch = "wasm32"))]
mod in_the_browser_engine {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn path_segments_and_values_are_percent_encoded() {
        assert_eq!(percent_encode("clinic-now"), "clinic-now");
        assert_eq!(percent_encode("a b/c?d=e&f#g"), "a%20b%2Fc%3Fd%3De%26f%23g");
        assert_eq!(percent_encode("Zoë 100%"), "Zo%C3%AB%20100%25");
    }

    #[wasm_bindgen_test]
    fn a_panel_asks_for_its_range_and_variables_and_nothing_else() {
        let view = SharedView {
            from: Some("2026-12-01T08:00:00Z".into()),
            to: None,
            vars: [("clinic".to_owned(), "north".to_owned())].into(),
        };
        assert_eq!(
            panel_url("patient-registrations", "registered", &view),
            "/api/v1/dashboards/patient-registrations/panels/registered?from=2026-12-01T08%3A00%3A00Z&var.clinic=north"
        );
        assert_eq!(
            panel_url("clinic-now", "registrations", &SharedView::default()),
            "/api/v1/dashboards/clinic-now/panels/registrations"
        );
    }

    #[wasm_bindgen_test]
    fn an_audit_query_sends_only_the_filters_filled_in_encoded() {
        assert_eq!(audit_url(&AuditQuery::default()), "/api/v1/audit?limit=200");
        let query = AuditQuery {
            user: " ana@clinic.example ".into(),
            action: Some(AuditAction::LogsQuery),
        };
        assert_eq!(
            audit_url(&query),
            "/api/v1/audit?limit=200&user=ana%40clinic.example&action=logs_query"
        );
    }
}
