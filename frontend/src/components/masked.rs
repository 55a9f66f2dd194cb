//! Patient data as the page shows it: masked parts set apart in the text, and the form that
//! reveals one masked line or span whole, for a reason the audit trail keeps.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vitals_api::{RevealRequest, Revealed};

use crate::api;

/// The shortest reason the server accepts for a reveal.
const MIN_REASON_CHARS: usize = 8;
/// What the server writes in place of a patient detail.
pub const MASK: &str = "[masked]";

/// A line's text with each masked part set apart.
pub fn marked(text: &str) -> impl IntoView + use<> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MASK) {
        parts.push(view! { <span>{rest[..at].to_owned()}</span> }.into_any());
        parts.push(view! { <span class="masked" title="patient data, masked">{MASK}</span> }.into_any());
        rest = &rest[at + MASK.len()..];
    }
    parts.push(view! { <span>{rest.to_owned()}</span> }.into_any());
    parts
}

/// Asks for a masked line or span whole, with a reason; shows it to this person only.
#[component]
pub fn RevealForm(
    reveal_ref: String,
    /// What is masked: "line" or "span".
    #[prop(default = "line")]
    what: &'static str,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let (problem, set_problem) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let (shown, set_shown) = signal(None::<String>);
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let why = reason.get_untracked().trim().to_owned();
        if why.chars().count() < MIN_REASON_CHARS {
            set_problem.set(Some(format!(
                "Say why you need to see this patient's details, in at least {MIN_REASON_CHARS} characters: the incident or ticket you are working on."
            )));
            return;
        }
        set_problem.set(None);
        set_busy.set(true);
        let request = RevealRequest {
            reveal_ref: reveal_ref.clone(),
            reason: why,
        };
        spawn_local(async move {
            match api::reveal(&request).await {
                Ok(Revealed::Line { line }) => set_shown.set(Some(line.line)),
                Ok(Revealed::Span { span }) => {
                    let attributes = span
                        .attributes
                        .iter()
                        .map(|(name, value)| format!("\n{name} = {value}"));
                    set_shown.set(Some(std::iter::once(span.name).chain(attributes).collect()));
                }
                Err(error) => set_problem.set(Some(error.to_string())),
            }
            set_busy.set(false);
        });
    };
    view! {
        <div class="reveal">
            <h3>{format!("Patient details are masked in this {what}")}</h3>
            {move || match shown.get() {
                Some(whole) => view! {
                    <p class="notice-text">"Shown to you only, and recorded in the audit trail with your reason."</p>
                    <pre class="revealed" data-testid="revealed-line">{whole}</pre>
                }
                .into_any(),
                None => view! {
                    <form on:submit=submit.clone()>
                        <div class="field">
                            <label for="reveal-reason">"Why do you need to see them?"</label>
                            <textarea
                                id="reveal-reason"
                                rows="2"
                                bind:value=reason
                                aria-describedby="reveal-help"
                            ></textarea>
                            <p id="reveal-help" class="field-help">"The audit trail keeps your reason beside your name."</p>
                        </div>
                        {move || problem.get().map(|problem| view! { <p class="error-text" role="alert">{problem}</p> })}
                        <button type="submit" class="button-primary" disabled=busy data-testid="reveal-submit">
                            {format!("Reveal this {what}")}
                        </button>
                    </form>
                }
                .into_any(),
            }}
        </div>
    }
}
