//! A transparent layer over a chart or a strip of time that reports the stretch dragged across
//! it, so that dragging narrows a range: the trace minimap and ruler, the log volume.

use leptos::prelude::*;

/// A transparent layer that reports the stretch dragged across it, as fractions of its width.
#[component]
pub fn DragSelect(on_select: Callback<(f64, f64)>) -> impl IntoView {
    let (dragging, set_dragging) = signal(None::<(f64, f64)>);
    let fraction = |event: &leptos::ev::PointerEvent| -> f64 {
        let width = event
            .current_target()
            .and_then(|target| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target).ok())
            .map_or(1.0, |element| f64::from(element.client_width()).max(1.0));
        (f64::from(event.offset_x()) / width).clamp(0.0, 1.0)
    };
    view! {
        <div
            class="drag-select"
            on:pointerdown=move |event| {
                let at = fraction(&event);
                set_dragging.set(Some((at, at)));
            }
            on:pointermove=move |event| {
                if dragging.get_untracked().is_some() {
                    let at = fraction(&event);
                    set_dragging.update(|drag| {
                        if let Some(drag) = drag {
                            drag.1 = at;
                        }
                    });
                }
            }
            on:pointerup=move |_| {
                if let Some((a, b)) = dragging.get_untracked() {
                    set_dragging.set(None);
                    if let Some(range) = dragged_range(a, b) {
                        on_select.run(range);
                    }
                }
            }
            on:pointerleave=move |_| set_dragging.set(None)
        >
            {move || dragging.get().map(|(a, b)| {
                view! {
                    <span
                        class="drag-selection"
                        style:left=format!("{:.2}%", a.min(b) * 100.0)
                        style:width=format!("{:.2}%", (a - b).abs() * 100.0)
                    ></span>
                }
            })}
        </div>
    }
}

/// The stretch a drag from `a` to `b` chose, in either direction; a click, or a drag too short
/// to mean a stretch, chooses none.
pub fn dragged_range(a: f64, b: f64) -> Option<(f64, f64)> {
    const SHORTEST: f64 = 0.005;
    let (from, to) = (a.min(b).clamp(0.0, 1.0), a.max(b).clamp(0.0, 1.0));
    (to - from >= SHORTEST).then_some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drag_either_way_chooses_a_stretch_and_a_click_chooses_none() {
        assert_eq!(dragged_range(0.2, 0.6), Some((0.2, 0.6)));
        assert_eq!(dragged_range(0.6, 0.2), Some((0.2, 0.6)));
        assert_eq!(dragged_range(0.4, 0.401), None);
        assert_eq!(dragged_range(-0.5, 1.5), Some((0.0, 1.0)));
    }
}
