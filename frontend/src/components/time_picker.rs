//! The time range of a page: a preset ("Last 24 hours") or a custom range entered in the
//! person's own time zone. The range is written as the server reads it: `now-24h`, or an
//! RFC 3339 instant.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// The presets, as `from` is written for them and as people read them.
pub const PRESETS: [(&str, &str); 7] = [
    ("now-15m", "Last 15 minutes"),
    ("now-1h", "Last hour"),
    ("now-6h", "Last 6 hours"),
    ("now-24h", "Last 24 hours"),
    ("now-2d", "Last 2 days"),
    ("now-7d", "Last 7 days"),
    ("now-30d", "Last 30 days"),
];

const CUSTOM: &str = "custom";

/// The preset a range is, if it is one: ends now and starts at a preset.
pub fn preset_of(from: &str, to: &str) -> Option<&'static str> {
    let ends_now = to.is_empty() || to == "now";
    PRESETS
        .iter()
        .find(|(preset, _)| ends_now && *preset == from)
        .map(|(preset, _)| *preset)
}

/// `now-15m`, `now-6h`, `now-2d` in milliseconds; anything else is unknown.
pub fn relative_ms(from: &str) -> Option<i64> {
    vitals_api::query::parse_duration_ms(from.strip_prefix("now-")?)
}

/// The range in words: the preset's name, or both ends in local time.
pub fn range_words(from: &str, to: &str, local: impl Fn(&str) -> String) -> String {
    match preset_of(from, to) {
        Some(preset) => PRESETS
            .iter()
            .find(|(value, _)| *value == preset)
            .map_or_else(String::new, |(_, words)| (*words).to_owned()),
        None => {
            let end = if to.is_empty() || to == "now" {
                "now".to_owned()
            } else {
                local(to)
            };
            format!("{} to {end}", local(from))
        }
    }
}

/// A time as the server reads it (`now-1h` or RFC 3339), in the person's local time.
pub fn local_words(text: &str) -> String {
    if text.starts_with("now") {
        return text.to_owned();
    }
    let ms = js_sys::Date::parse(text);
    if ms.is_nan() {
        text.to_owned()
    } else {
        crate::format::local_day_and_time(ms as i64)
    }
}

/// A `datetime-local` value (`2026-12-06T09:30`, local time) as an RFC 3339 instant in UTC.
fn local_input_to_instant(value: &str) -> Option<String> {
    let date = js_sys::Date::new(&JsValue::from_str(value));
    (!date.get_time().is_nan()).then(|| String::from(date.to_iso_string()))
}

/// An instant (RFC 3339 or `now-…`) as a `datetime-local` value in local time.
fn instant_to_local_input(text: &str, now_ms: f64) -> String {
    let ms = match text.strip_prefix("now-") {
        Some(ago) => now_ms - vitals_api::query::parse_duration_ms(ago).unwrap_or(0) as f64,
        None if text.is_empty() || text == "now" => now_ms,
        None => js_sys::Date::parse(text),
    };
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    if date.get_time().is_nan() {
        return String::new();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// The person's time zone as an offset from UTC right now: `UTC+01:00`.
fn time_zone() -> String {
    // `getTimezoneOffset` counts minutes west of UTC.
    let east = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    utc_offset_words(east)
}

/// Minutes east of UTC as `UTC+01:00` or `UTC-05:30`.
pub fn utc_offset_words(east_minutes: i64) -> String {
    let sign = if east_minutes < 0 { '-' } else { '+' };
    let minutes = east_minutes.abs();
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A preset selector, and for a custom range two local date-and-time fields.
#[component]
pub fn TimePicker(
    #[prop(into)] from: Signal<String>,
    #[prop(into)] to: Signal<String>,
    /// Called with the new `from` and `to`.
    on_change: Callback<(String, String)>,
) -> impl IntoView {
    let (custom_open, set_custom_open) = signal(false);
    let chosen = move || {
        if custom_open.get() {
            CUSTOM.to_owned()
        } else {
            preset_of(&from.get(), &to.get()).unwrap_or(CUSTOM).to_owned()
        }
    };
    let (start, set_start) = signal(String::new());
    let (end, set_end) = signal(String::new());
    let (problem, set_problem) = signal(None::<String>);
    // A range written out (from the address) fills the custom fields, so they show what is shown.
    Effect::new(move |_| {
        let (from, to) = (from.get(), to.get());
        if preset_of(&from, &to).is_none() {
            let now = js_sys::Date::now();
            set_start.set(instant_to_local_input(&from, now));
            set_end.set(instant_to_local_input(&to, now));
        }
    });
    let open_custom = move || {
        let now = js_sys::Date::now();
        set_start.set(instant_to_local_input(&from.get_untracked(), now));
        set_end.set(instant_to_local_input(&to.get_untracked(), now));
        set_problem.set(None);
        set_custom_open.set(true);
    };
    let on_select = move |event: leptos::ev::Event| {
        let value = event_target_value(&event);
        if value == CUSTOM {
            open_custom();
        } else {
            set_custom_open.set(false);
            on_change.run((value, "now".to_owned()));
        }
    };
    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (Some(start), Some(end)) = (
            local_input_to_instant(&start.get_untracked()),
            local_input_to_instant(&end.get_untracked()),
        ) else {
            set_problem.set(Some(
                "Enter both a start and an end, with a date and a time.".to_owned(),
            ));
            return;
        };
        if js_sys::Date::parse(&start) >= js_sys::Date::parse(&end) {
            set_problem.set(Some("The start must come before the end.".to_owned()));
            return;
        }
        set_problem.set(None);
        set_custom_open.set(false);
        on_change.run((start, end));
    };
    let zone = time_zone();
    view! {
        <div class="time-picker">
            <div class="field">
                <label for="time-range">"Time range"</label>
                <select id="time-range" data-testid="time-range" on:change=on_select prop:value=chosen>
                    {PRESETS
                        .iter()
                        .map(|(value, words)| view! { <option value=*value>{*words}</option> })
                        .collect_view()}
                    <option value=CUSTOM>"Custom range…"</option>
                </select>
            </div>
            <Show when=move || custom_open.get() || preset_of(&from.get(), &to.get()).is_none()>
                <form class="custom-range" on:submit=apply>
                    <div class="field">
                        <label for="range-start">"From"</label>
                        <input
                            id="range-start"
                            type="datetime-local"
                            prop:value=start
                            on:input=move |event| set_start.set(event_target_value(&event))
                            on:focus=move |_| {
                                if !custom_open.get_untracked() {
                                    open_custom();
                                }
                            }
                        />
                    </div>
                    <div class="field">
                        <label for="range-end">"To"</label>
                        <input
                            id="range-end"
                            type="datetime-local"
                            prop:value=end
                            on:input=move |event| set_end.set(event_target_value(&event))
                        />
                    </div>
                    <button type="submit" class="button-primary">"Apply"</button>
                    <p class="panel-note">{format!("Times are in your time zone ({zone}).")}</p>
                    {move || problem.get().map(|problem| view! { <p class="form-error" role="alert">{problem}</p> })}
                </form>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_range_ending_now_is_its_preset() {
        assert_eq!(preset_of("now-24h", "now"), Some("now-24h"));
        assert_eq!(preset_of("now-24h", ""), Some("now-24h"));
        assert_eq!(preset_of("now-24h", "now-1h"), None);
        assert_eq!(preset_of("2026-12-01T08:00:00Z", "now"), None);
    }

    #[test]
    fn an_offset_reads_as_hours_and_minutes_from_utc() {
        assert_eq!(utc_offset_words(60), "UTC+01:00");
        assert_eq!(utc_offset_words(-330), "UTC-05:30");
        assert_eq!(utc_offset_words(0), "UTC+00:00");
    }

    #[test]
    fn a_range_is_said_by_its_preset_or_its_ends() {
        let local = |text: &str| format!("<{text}>");
        assert_eq!(range_words("now-7d", "now", local), "Last 7 days");
        assert_eq!(range_words("a", "b", local), "<a> to <b>");
        assert_eq!(range_words("a", "now", local), "<a> to now");
    }
}
