//! A list that keeps only the rows in view in the page, however many it holds: the log list,
//! and the trace waterfall, stay fluid at tens of thousands of rows.

use leptos::html::Div;
use leptos::prelude::*;

/// Rows drawn above and below the visible ones, so a quick scroll shows no gap.
const OVERSCAN: usize = 12;
/// Rows assumed visible before the list has measured itself.
const FIRST_GUESS_ROWS: usize = 40;

/// The range of rows `first..end` to draw for a scroll position and a viewport height.
pub fn visible_rows(count: usize, row_height: f64, scroll_top: f64, viewport: f64) -> (usize, usize) {
    if count == 0 || row_height <= 0.0 {
        return (0, 0);
    }
    let first = (scroll_top.max(0.0) / row_height).floor() as usize;
    let shown = if viewport > 0.0 {
        (viewport / row_height).ceil() as usize
    } else {
        FIRST_GUESS_ROWS
    };
    let start = first.saturating_sub(OVERSCAN).min(count);
    let end = (first + shown + OVERSCAN).min(count);
    (start, end)
}

/// Where to scroll so that `row` shows, if it does not: one step away, to the edge it crossed
/// (moving row by row from the keyboard); further, to the middle of the view.
pub fn scroll_into_view(row: usize, row_height: f64, scroll_top: f64, viewport: f64) -> Option<f64> {
    let top = row as f64 * row_height;
    let bottom = top + row_height;
    let above = top < scroll_top;
    let below = viewport > 0.0 && bottom > scroll_top + viewport;
    if !above && !below {
        return None;
    }
    let near = if above {
        top >= scroll_top - row_height
    } else {
        bottom <= scroll_top + viewport + row_height
    };
    Some(match (near, above) {
        (true, true) => top,
        (true, false) => bottom - viewport,
        (false, _) => (top - (viewport - row_height) / 2.0).max(0.0),
    })
}

/// A scrolling list of `count` rows of `row_height` pixels; `row(i)` draws row `i`. The list
/// is a `listbox`-free plain list: each row brings its own controls.
#[component]
pub fn VirtualList(
    #[prop(into)] count: Signal<usize>,
    /// Every row's height in pixels; rows may all grow or shrink together (wrapped lines).
    #[prop(into)]
    row_height: Signal<f64>,
    /// Draws one row; called only for rows in view.
    row: Callback<usize, AnyView>,
    /// Names the list for assistive technology.
    label: &'static str,
    #[prop(optional)] test_id: &'static str,
    /// A row to bring into view when it changes (the row chosen from the keyboard, the next error).
    #[prop(optional, into)]
    scroll_to: Option<Signal<Option<usize>>>,
) -> impl IntoView {
    let viewport = NodeRef::<Div>::new();
    let (scroll_top, set_scroll_top) = signal(0.0);
    let (height, set_height) = signal(0.0);
    let measure = move || {
        if let Some(element) = viewport.get_untracked() {
            set_scroll_top.set(f64::from(element.scroll_top()));
            set_height.set(f64::from(element.client_height()));
        }
    };
    Effect::new(move |_| {
        // Measure once mounted, and again when the rows change.
        count.track();
        if viewport.get().is_some() {
            measure();
        }
    });
    if let Some(scroll_to) = scroll_to {
        Effect::new(move |_| {
            let (Some(row), Some(element)) = (scroll_to.get(), viewport.get()) else {
                return;
            };
            let top = f64::from(element.scroll_top());
            let height = f64::from(element.client_height());
            if let Some(wanted) = scroll_into_view(row, row_height.get_untracked(), top, height) {
                element.set_scroll_top(wanted as i32);
                measure();
            }
        });
    }
    let window =
        Memo::new(move |_| visible_rows(count.get(), row_height.get(), scroll_top.get(), height.get()));
    view! {
        <div
            class="virtual-list"
            node_ref=viewport
            on:scroll=move |_| measure()
            role="region"
            aria-label=label
            tabindex="0"
            data-testid=test_id
        >
            <div class="virtual-list-inner" style:height=move || format!("{}px", count.get() as f64 * row_height.get())>
                <div
                    class="virtual-list-rows"
                    style:transform=move || format!("translateY({}px)", window.get().0 as f64 * row_height.get())
                >
                    {move || {
                        let (start, end) = window.get();
                        (start..end).map(|index| row.run(index)).collect_view()
                    }}
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rows_in_view_and_a_margin_are_drawn() {
        assert_eq!(visible_rows(0, 24.0, 0.0, 480.0), (0, 0));
        assert_eq!(visible_rows(5_000, 24.0, 0.0, 480.0), (0, 20 + OVERSCAN));
        let (start, end) = visible_rows(5_000, 24.0, 24.0 * 2_000.0, 480.0);
        assert_eq!((start, end), (2_000 - OVERSCAN, 2_020 + OVERSCAN));
        assert_eq!(visible_rows(30, 24.0, 24.0 * 25.0, 480.0), (25 - OVERSCAN, 30));
        assert_eq!(visible_rows(100, 24.0, 0.0, 0.0).1, FIRST_GUESS_ROWS + OVERSCAN);
    }

    #[test]
    fn a_row_out_of_view_is_scrolled_to_with_the_least_movement() {
        // 20 rows of 24 px in view from row 100.
        let top = 24.0 * 100.0;
        assert_eq!(scroll_into_view(110, 24.0, top, 480.0), None, "already in view");
        assert_eq!(
            scroll_into_view(99, 24.0, top, 480.0),
            Some(24.0 * 99.0),
            "one above: to the top"
        );
        assert_eq!(
            scroll_into_view(120, 24.0, top, 480.0),
            Some(24.0 * 121.0 - 480.0),
            "one below: to the bottom"
        );
        assert_eq!(
            scroll_into_view(500, 24.0, top, 480.0),
            Some(24.0 * 500.0 - 228.0),
            "far away: in the middle"
        );
        assert_eq!(
            scroll_into_view(2, 24.0, top, 480.0),
            Some(0.0),
            "never above the first row"
        );
    }
}
