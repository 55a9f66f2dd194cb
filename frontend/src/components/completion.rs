//! Completion for the query editors: the word being typed at the cursor, the words that could
//! finish it, and a list to choose from with the keyboard (↑ ↓ to move, Tab or Enter to take,
//! Escape to close) or the pointer.

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::components::query_syntax::SyntaxProblem;
use crate::components::wrong_part::WrongPart;

/// Suggestions shown at most.
const MOST_SHOWN: usize = 8;

/// Where the word at `cursor` (a byte offset) starts: the run of letters, digits, `_` and `:`
/// before it.
pub fn word_start(text: &str, cursor: usize) -> usize {
    let cursor = cursor.min(text.len());
    text[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .last()
        .map_or(cursor, |(at, _)| at)
}

/// The candidates that start with the word at `cursor` (any case), those matching its case
/// first, up to [`MOST_SHOWN`]; nothing for an empty word or a word already whole.
pub fn complete(text: &str, cursor: usize, candidates: &[String]) -> Vec<String> {
    let start = word_start(text, cursor);
    let word = &text[start..cursor.min(text.len())];
    if word.is_empty() {
        return Vec::new();
    }
    starting_with(word, candidates)
}

/// What could finish the text being typed: the suggestions, and where the part they replace
/// starts (a byte offset; the part ends at the cursor).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suggestions {
    pub start: usize,
    pub words: Vec<String>,
}

/// Suggestions for the word at `cursor` from a fixed list: PromQL's names and functions.
pub fn word_suggestions(text: &str, cursor: usize, candidates: &[String]) -> Suggestions {
    Suggestions {
        start: word_start(text, cursor),
        words: complete(text, cursor, candidates),
    }
}

/// The candidates that start with `typed` (any case), those matching its case first, up to
/// [`MOST_SHOWN`]; everything (up to that many) when nothing is typed yet.
pub fn starting_with(typed: &str, candidates: &[String]) -> Vec<String> {
    let lower = typed.to_lowercase();
    let mut found: Vec<&String> = candidates
        .iter()
        .filter(|candidate| candidate.len() > typed.len() && candidate.to_lowercase().starts_with(&lower))
        .collect();
    found.sort_by_key(|candidate| (!candidate.starts_with(typed), candidate.len(), candidate.as_str()));
    found.dedup();
    found.into_iter().take(MOST_SHOWN).map(String::clone).collect()
}

/// The text with `start..cursor` replaced by `choice`, and where the cursor goes after it.
pub fn accept(text: &str, start: usize, cursor: usize, choice: &str) -> (String, usize) {
    let cursor = cursor.min(text.len());
    let start = start.min(cursor);
    let mut done = String::with_capacity(text.len() + choice.len());
    done.push_str(&text[..start]);
    done.push_str(choice);
    let after = done.len();
    done.push_str(&text[cursor..]);
    (done, after)
}

/// A query editor: a text area with suggestions from `suggest`, and the syntax problem `check`
/// finds shown as it is typed, its place marked. Ctrl+Enter runs the query, unless it has a
/// problem the page can already see.
#[component]
pub fn QueryEditor(
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    text: RwSignal<String>,
    /// What could finish the text at a cursor (a byte offset).
    suggest: Callback<(String, usize), Suggestions>,
    /// The syntax problem of a text, if the page can see one.
    #[prop(optional)]
    check: Option<fn(&str) -> Option<SyntaxProblem>>,
    on_run: Callback<()>,
) -> impl IntoView {
    let area = NodeRef::<Textarea>::new();
    let (shown, set_shown) = signal(Vec::<String>::new());
    let (start, set_start) = signal(0_usize);
    let problem = Memo::new(move |_| check.and_then(|check| text.with(|text| check(text))));
    let run = move || {
        set_shown.set(Vec::new());
        if problem.get_untracked().is_none() {
            on_run.run(());
        } else if let Some(area) = area.get_untracked() {
            let _ = area.focus();
        }
    };
    let (active, set_active) = signal(0_usize);
    let cursor = move || {
        area.get_untracked()
            .and_then(|area| area.selection_start().ok().flatten())
            .map_or(0, |at| {
                // The browser counts UTF-16 units; the text is walked in bytes.
                let text = text.get_untracked();
                let mut units = 0;
                text.char_indices()
                    .find(|(_, c)| {
                        let before = units;
                        units += c.len_utf16() as u32;
                        before >= at
                    })
                    .map_or(text.len(), |(byte, _)| byte)
            })
    };
    let refresh = move || {
        let found = suggest.run((text.get_untracked(), cursor()));
        set_active.set(0);
        set_start.set(found.start);
        set_shown.set(found.words);
    };
    let take = move |choice: String| {
        let (done, after) = accept(&text.get_untracked(), start.get_untracked(), cursor(), &choice);
        text.set(done.clone());
        set_shown.set(Vec::new());
        if let Some(area) = area.get_untracked() {
            area.set_value(&done);
            let units = done[..after].encode_utf16().count() as u32;
            let _ = area.set_selection_range(units, units);
            let _ = area.focus();
        }
    };
    let list_id = format!("{id}-completions");
    view! {
        <div class="field query-field query-editor">
            <label for=id>{label}</label>
            <textarea
                id=id
                node_ref=area
                rows="2"
                spellcheck="false"
                autocapitalize="none"
                autocomplete="off"
                placeholder=placeholder
                role="combobox"
                aria-autocomplete="list"
                aria-controls=list_id.clone()
                aria-expanded=move || (!shown.with(Vec::is_empty)).to_string()
                prop:value=move || text.get()
                on:input=move |event| {
                    text.set(event_target_value(&event));
                    refresh();
                }
                on:blur=move |_| set_shown.set(Vec::new())
                on:keydown=move |event: leptos::ev::KeyboardEvent| {
                    let open = !shown.with_untracked(Vec::is_empty);
                    match event.key().as_str() {
                        "Enter" if event.ctrl_key() || event.meta_key() => {
                            event.prevent_default();
                            run();
                        }
                        "ArrowDown" if open => {
                            event.prevent_default();
                            let count = shown.with_untracked(Vec::len);
                            set_active.update(|at| *at = (*at + 1) % count);
                        }
                        "ArrowUp" if open => {
                            event.prevent_default();
                            let count = shown.with_untracked(Vec::len);
                            set_active.update(|at| *at = (*at + count - 1) % count);
                        }
                        "Tab" | "Enter" if open => {
                            event.prevent_default();
                            let choice = shown.with_untracked(|shown| shown[active.get_untracked()].clone());
                            take(choice);
                        }
                        "Escape" if open => {
                            event.prevent_default();
                            set_shown.set(Vec::new());
                        }
                        _ => {}
                    }
                }
            ></textarea>
            <ul class="completions" id=list_id role="listbox" aria-label="Completions" hidden=move || shown.with(Vec::is_empty) data-testid=format!("{id}-completions")>
                {move || {
                    shown
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(at, choice)| {
                            let chosen = choice.clone();
                            view! {
                                <li
                                    role="option"
                                    aria-selected=move || (active.get() == at).to_string()
                                    class:active=move || active.get() == at
                                    // Before the text area's blur closes the list.
                                    on:mousedown=move |event| {
                                        event.prevent_default();
                                        take(chosen.clone());
                                    }
                                >
                                    {choice}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <p class="field-help">"Tab or Enter takes a suggestion; Ctrl+Enter runs the query."</p>
            {move || {
                problem.get().map(|found| {
                    view! { <WrongPart text=text.get_untracked() message=found.message at=found.at test_id="query-problem" /> }
                })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn the_word_at_the_cursor_is_completed_from_the_candidates() {
        let candidates = names(&[
            "rate",
            "rate_limit",
            "irate",
            "sum",
            "login_attempts_total",
            "Rate",
        ]);
        let text = "sum(ra";
        assert_eq!(word_start(text, text.len()), 4);
        assert_eq!(
            complete(text, text.len(), &candidates),
            ["rate", "rate_limit", "Rate"]
        );
        assert_eq!(
            complete("sum(", 4, &candidates),
            Vec::<String>::new(),
            "no word, no list"
        );
        assert_eq!(
            complete("sum", 3, &candidates),
            Vec::<String>::new(),
            "a whole word"
        );
        assert_eq!(complete("log", 3, &candidates), ["login_attempts_total"]);
        assert_eq!(
            complete("rate(log) + 1", 8, &candidates),
            ["login_attempts_total"],
            "the word before the cursor, not the end"
        );
    }

    #[test]
    fn taking_a_suggestion_replaces_the_word_and_leaves_the_rest() {
        assert_eq!(accept("sum(ra", 4, 6, "rate"), ("sum(rate".to_owned(), 8));
        assert_eq!(
            accept("rate(log[5m])", 5, 8, "login_attempts_total"),
            ("rate(login_attempts_total[5m])".to_owned(), 25)
        );
        assert_eq!(
            accept("é lo", 3, 5, "login"),
            ("é login".to_owned(), 8),
            "bytes, not characters"
        );
        assert_eq!(
            word_suggestions("sum(ra", 6, &names(&["rate"])),
            Suggestions {
                start: 4,
                words: names(&["rate"])
            }
        );
    }
}
