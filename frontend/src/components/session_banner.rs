//! The warning shown shortly before the session ends, with a way to keep it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::wait_words;
use crate::session::{ExpiryWarning, use_session};

/// A non-modal banner from two minutes before the session ends; "Stay logged
/// in" asks the server again, which restarts its idle timer.
///
/// The live region stays in the page so that screen readers announce the
/// warning when it appears and when its wording changes (once a minute, not
/// every second).
#[component]
pub fn SessionBanner() -> impl IntoView {
    let session = use_session();
    let expiry = session.expiry();
    let renewable = Memo::new(move |_| match expiry.get() {
        ExpiryWarning::Warn { renewable, .. } => Some(renewable),
        _ => None,
    });
    let sentence = Memo::new(move |_| match expiry.get() {
        ExpiryWarning::Warn {
            seconds_left,
            renewable,
        } => warning_sentence(seconds_left, renewable),
        _ => String::new(),
    });
    let (busy, set_busy) = signal(false);
    let stay = move |_| {
        if busy.get_untracked() {
            return;
        }
        set_busy.set(true);
        spawn_local(async move {
            session.renew().await;
            set_busy.set(false);
        });
    };
    view! {
        <div class="session-banner-region" role="status">
            {move || {
                renewable
                    .get()
                    .map(|renewable| {
                        view! {
                            <div class="session-banner" data-testid="session-warning">
                                <p>{sentence}</p>
                                {renewable
                                    .then(|| {
                                        view! {
                                            <button
                                                type="button"
                                                class="button-primary"
                                                data-testid="stay-logged-in"
                                                aria-disabled=move || busy.get().then_some("true")
                                                on:click=stay
                                            >
                                                "Stay logged in"
                                            </button>
                                        }
                                    })}
                            </div>
                        }
                    })
            }}
        </div>
    }
}

/// The banner's sentence: in whole minutes while a minute or more is left.
fn warning_sentence(seconds_left: i64, renewable: bool) -> String {
    let left = if seconds_left < 60 {
        "less than a minute".to_owned()
    } else {
        wait_words(seconds_left.unsigned_abs())
    };
    if renewable {
        format!("You will be logged out in {left} unless you continue.")
    } else {
        format!("Your session reaches its time limit in {left}; you will then need to log in again.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_counts_whole_minutes_then_less_than_a_minute() {
        assert_eq!(
            warning_sentence(120, true),
            "You will be logged out in 2 minutes unless you continue."
        );
        assert_eq!(
            warning_sentence(61, true),
            "You will be logged out in 2 minutes unless you continue."
        );
        assert_eq!(
            warning_sentence(60, true),
            "You will be logged out in 1 minute unless you continue."
        );
        assert_eq!(
            warning_sentence(59, true),
            "You will be logged out in less than a minute unless you continue."
        );
    }

    #[test]
    fn warning_before_the_time_limit_offers_no_way_to_stay() {
        assert_eq!(
            warning_sentence(90, false),
            "Your session reaches its time limit in 2 minutes; you will then need to log in again."
        );
    }
}
