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

/// `performance.mark(name, { detail })`: a mark carrying figures for the bench to read.
pub fn mark_with(name: &str, detail: &[(&str, f64)]) {
    let Some((performance, mark)) = method("mark") else {
        return;
    };
    let figures = js_sys::Object::new();
    for (key, value) in detail {
        let _ = js_sys::Reflect::set(&figures, &JsValue::from_str(key), &JsValue::from_f64(*value));
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &JsValue::from_str("detail"), &figures);
    let _ = mark.call2(&performance, &JsValue::from_str(name), &options);
}

/// The bytes the page holds in memory: the app's WebAssembly memory (which only grows) and,
/// where the browser tells it (`performance.memory`, Chromium), the JavaScript heap in use.
/// Where the browser lets a page collect garbage (`gc`, which only a bench's browser offers),
/// it does first, so the figure is what the page keeps rather than what it has yet to let go.
pub fn memory_in_use() -> f64 {
    if let Ok(collect) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("gc"))
        .and_then(|gc| gc.dyn_into::<js_sys::Function>())
    {
        let _ = collect.call0(&JsValue::UNDEFINED);
    }
    let number = |object: &JsValue, path: &[&str]| {
        path.iter()
            .try_fold(object.clone(), |value, key| {
                js_sys::Reflect::get(&value, &JsValue::from_str(key)).ok()
            })
            .and_then(|value| value.as_f64())
            .unwrap_or(0.0)
    };
    let wasm = number(&wasm_bindgen::memory(), &["buffer", "byteLength"]);
    let heap = number(&js_sys::global(), &["performance", "memory", "usedJSHeapSize"]);
    wasm + heap
}
