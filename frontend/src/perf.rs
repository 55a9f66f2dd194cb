//! Performance marks and measures the bench reads from the browser (`performance.mark`,
//! `performance.measure`); without a `performance` object they do nothing.

use wasm_bindgen::{JsCast, JsValue};

/// Calls `performance.<method>(args…)`, ignoring a browser without it.
fn call(method: &str, args: &[&str]) {
    let Ok(performance) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance")) else {
        return;
    };
    let Some(function) = js_sys::Reflect::get(&performance, &JsValue::from_str(method))
        .ok()
        .and_then(|function| function.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    let args: js_sys::Array = args.iter().map(|arg| JsValue::from_str(arg)).collect();
    let _ = function.apply(&performance, &args);
}

/// `performance.mark(name)`.
pub fn mark(name: &str) {
    call("mark", &[name]);
}

/// `performance.measure(name, start, end)` between two marks.
pub fn measure(name: &str, start: &str, end: &str) {
    call("measure", &[name, start, end]);
}
