//! A query or filter the server refused, shown with the part it points at marked, and its reason.

use leptos::prelude::*;
use vitals_api::TextSpan;

/// `text` split around the characters `at` covers: before, the wrong part, after. A span past the
/// end marks the end, so "missing a closing quote" still points somewhere.
pub fn split_at_span(text: &str, at: TextSpan) -> (String, String, String) {
    let chars: Vec<char> = text.chars().collect();
    let start = (at.start as usize).min(chars.len());
    let end = (at.end as usize).clamp(start, chars.len());
    let part = |range: std::ops::Range<usize>| chars[range].iter().collect::<String>();
    let wrong = if start == end {
        " ".to_owned()
    } else {
        part(start..end)
    };
    (part(0..start), wrong, part(end..chars.len()))
}

#[component]
pub fn WrongPart(
    /// What the person wrote.
    text: String,
    /// Why the server refused it.
    message: String,
    at: TextSpan,
    #[prop(optional)] test_id: &'static str,
) -> impl IntoView {
    let (before, wrong, after) = split_at_span(&text, at);
    view! {
        <div class="wrong-part" role="alert" data-testid=test_id>
            <p class="error-text">{crate::format::as_sentence(&message)}</p>
            <pre class="wrong-text">{before}<mark title="the wrong part">{wrong}</mark>{after}</pre>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrong_part_is_cut_out_by_characters_not_bytes() {
        let at = |start, end| TextSpan { start, end };
        assert_eq!(
            split_at_span(r#"service("é") ANDD error"#, at(13, 17)),
            (
                r#"service("é") "#.to_owned(),
                "ANDD".to_owned(),
                " error".to_owned()
            )
        );
        assert_eq!(
            split_at_span(r#"service("x"#, at(11, 11)),
            (r#"service("x"#.to_owned(), " ".to_owned(), String::new()),
            "past the end, the end is marked"
        );
    }
}
