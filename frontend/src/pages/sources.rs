//! The engineers' view of Vitals' own health: whether it can reach each of its data sources.

use leptos::prelude::*;
use vitals_api::{Backend, Readiness, ReadinessStatus, Signal, SourceState, SourceStatus};

use crate::api;
use crate::components::loaded::Loaded;
use crate::refresh::{LIVE_REFRESH, refresh_every};

/// Readiness of the server and each source, checked again every [`LIVE_REFRESH`].
#[component]
pub fn SourcesPage() -> impl IntoView {
    crate::pages::set_page_title("Data sources");
    let readiness = LocalResource::new(api::readiness);
    refresh_every(readiness, LIVE_REFRESH);
    let retry = Callback::new(move |()| readiness.refetch());

    view! {
        <section class="area" aria-labelledby="sources-heading">
            <h1 id="sources-heading">"Data sources"</h1>
            <p class="lead">
                {format!(
                    "Whether Vitals can reach the places its data comes from. Checked again every {} seconds.",
                    LIVE_REFRESH.as_secs()
                )}
            </p>
            <Loaded lines=4 on_retry=retry>
                {move || {
                    readiness.get().map(|answer| answer.map(|readiness| view! { <ReadinessReport readiness /> }))
                }}
            </Loaded>
        </section>
    }
}

/// The overall verdict, then one row per source.
#[component]
fn ReadinessReport(readiness: Readiness) -> impl IntoView {
    let (summary_class, summary) = if readiness.status == ReadinessStatus::Ready {
        ("status-summary state-up", "✓ Every data source is answering.")
    } else {
        (
            "status-summary state-down",
            "✕ Some data sources are not answering: views that use them may be empty or late.",
        )
    };
    view! {
        <p class=summary_class role="status">{summary}</p>
        <table class="sources" data-testid="source-list">
            <caption class="visually-hidden">"Data sources and their state"</caption>
            <thead>
                <tr>
                    <th scope="col">"Data"</th>
                    <th scope="col">"Comes from"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Last check"</th>
                </tr>
            </thead>
            <tbody>
                {readiness.sources.into_iter().map(|source| view! { <SourceRow source /> }).collect_view()}
            </tbody>
        </table>
        <p class="version">"Vitals server version " {readiness.version}</p>
    }
}

#[component]
fn SourceRow(source: SourceStatus) -> impl IntoView {
    let (state_class, state_word) = state_words(source.state);
    view! {
        <tr>
            <th scope="row">{signal_words(source.signal)}</th>
            <td>{backend_words(source.backend)}</td>
            <td>
                <span class=format!("state {state_class}")>{state_word}</span>
            </td>
            <td>{source.detail}</td>
        </tr>
    }
}

/// What a source provides, as a heading word.
fn signal_words(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "Logs",
        Signal::Metrics => "Metrics",
        Signal::Traces => "Traces",
    }
}

/// The backend's product name.
fn backend_words(backend: Backend) -> &'static str {
    match backend {
        Backend::Demo => "the built-in demo clinic",
        Backend::Loki => "Grafana Loki",
        Backend::Prometheus => "Prometheus",
        Backend::Amp => "Amazon Managed Service for Prometheus",
        Backend::Xray => "AWS X-Ray",
    }
}

/// The CSS class and the words for a source's state.
fn state_words(state: SourceState) -> (&'static str, &'static str) {
    match state {
        SourceState::Up => ("state-up", "✓ Working"),
        SourceState::Down => ("state-down", "✕ Not answering"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sources_read_as_plain_words() {
        assert_eq!(signal_words(Signal::Traces), "Traces");
        assert_eq!(
            backend_words(Backend::Amp),
            "Amazon Managed Service for Prometheus"
        );
        assert_eq!(state_words(SourceState::Down), ("state-down", "✕ Not answering"));
    }
}
