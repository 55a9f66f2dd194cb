//! A live panel as a card: a headline number, its sentence, its health and a small chart.

use leptos::prelude::*;
use vitals_api::{Health, PanelData};

use crate::api;
use crate::components::error_message::{ErrorMessage, RetryButton, first_error};
use crate::components::skeleton::StatCardSkeleton;
use crate::components::sparkline::Sparkline;
use crate::format::{format_value, freshness_words, local_clock};
use crate::refresh::{LIVE_REFRESH, refresh_every};

/// One panel of a dashboard, fetched now and every [`LIVE_REFRESH`] after.
///
/// While a refresh runs the card keeps showing what it has (a `Transition`,
/// not a `Suspense`); the skeleton appears only before the first answer. When
/// a refresh fails after data was shown, the data stays with a note saying it
/// could not be refreshed.
#[component]
pub fn StatCard(
    dashboard: &'static str,
    panel: &'static str,
    /// What the card is about, for the loading and error states that have no server title yet.
    label: &'static str,
) -> impl IntoView {
    let answer = LocalResource::new(move || api::panel(dashboard, panel));
    refresh_every(answer, LIVE_REFRESH);
    let last_shown = StoredValue::new(None::<PanelData>);
    let (busy, set_busy) = signal(false);
    let retry = Callback::new(move |()| answer.refetch());

    // Read synchronously rather than through `Suspend`: the render effect keeps
    // the error hook of its own `ErrorBoundary`, whereas two `Suspend`s
    // resolving at once in Leptos 0.8 can throw into each other's boundary.
    let body = move || {
        answer.get().map(|result| match result {
            Ok(data) => {
                last_shown.set_value(Some(data.clone()));
                Ok(view! { <StatBody data refresh_error=None busy on_retry=retry /> })
            }
            Err(error) => match last_shown.get_value() {
                Some(data) => Ok(view! {
                    <StatBody data refresh_error=Some(error.to_string()) busy on_retry=retry />
                }),
                None => Err(error),
            },
        })
    };

    view! {
        <article class="stat-card" data-testid=format!("stat-{panel}") aria-label=label>
            <Transition fallback=StatCardSkeleton set_pending=set_busy>
                <ErrorBoundary fallback=move |errors| {
                    view! {
                        <div class="stat-body health-unknown">
                            <h2 class="stat-title">{label}</h2>
                            <ErrorMessage message=first_error(&errors) busy on_retry=retry />
                        </div>
                    }
                }>{body}</ErrorBoundary>
            </Transition>
        </article>
    }
}

/// The card's contents once the server has answered at least once.
#[component]
fn StatBody(
    data: PanelData,
    /// Why the latest refresh failed, when the data shown is from an earlier answer.
    refresh_error: Option<String>,
    busy: ReadSignal<bool>,
    on_retry: Callback<()>,
) -> impl IntoView {
    let (health_class, health_icon, health_word) = health_look(data.health);
    let freshness = freshness_words(data.as_of, data.generated_at, &local_clock(data.generated_at));
    let headline = match data.value {
        Some(value) => view! {
            <p class="stat-value" data-testid="stat-value">{format_value(value, data.unit)}</p>
        }
        .into_any(),
        None => view! { <p class="stat-no-value">"No data in this period"</p> }.into_any(),
    };
    view! {
        <div class=format!("stat-body {health_class}")>
            <div class="stat-head">
                <h2 class="stat-title">{data.title.clone()}</h2>
                <span class="health-badge">
                    <span class="health-icon" aria-hidden="true">{health_icon}</span>
                    {health_word}
                </span>
            </div>
            {headline}
            <p class="stat-sentence">{data.sentence}</p>
            <Sparkline
                points=data.series.into_iter().next().map(|series| series.points).unwrap_or_default()
                title=data.title
                unit=data.unit
            />
            <p class=if freshness.stale { "stat-freshness stale" } else { "stat-freshness" }>
                {freshness.words}
            </p>
            {refresh_error.map(|message| view! {
                <div class="refresh-error" role="status">
                    <p>"Could not refresh: " {message}</p>
                    <RetryButton busy on_retry />
                </div>
            })}
        </div>
    }
}

/// The CSS class, symbol and word that show a panel's health; the word and
/// symbol carry the meaning so that colour is never the only signal.
fn health_look(health: Health) -> (&'static str, &'static str, &'static str) {
    match health {
        Health::Good => ("health-good", "✓", "Good"),
        Health::Warning => ("health-warning", "!", "Worth a look"),
        Health::Bad => ("health-bad", "✕", "Needs attention"),
        Health::Unknown => ("health-unknown", "?", "No verdict"),
    }
}
