//! Performance marks and measures the bench reads from the browser (`performance.mark`,
//! `performance.measure`); without a `performance` object they do nothing.

use wasm_bindgen::{JsCast, JsValue};

/// `performance` and its method `name`, when the browser has them.
fn method(name: &str) -> Option<(JsValue, js_sys::Function)> {
    let performance = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok()?;
    let function = js_sys::Reflect::get(&performance, &JsValue::from_str(name))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    Some((performance, function))
}

/// `performance.mark(name)`.
pub fn mark(name: &str) {
    if let Some((performance, mark)) = method("mark") {
        let _ = mark.call1(&performance, &JsValue::from_str(name));
    }
}

/// `performance.measure(name, start, end)` between two marks.
pub fn measure(name: &str, start: &str, end: &str) {
    if let Some((performance, measure)) = method("measure") {
        let _ = measure.call3(
            &performance,
            &JsValue::from_str(name),
            &JsValue::from_str(start),
            &JsValue::from_str(end),
        );
    }
}
