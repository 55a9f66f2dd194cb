//! A line chart on a canvas: readable axes, a legend, a tooltip that follows the pointer or the
//! arrow keys, and a sentence per line for people who cannot see it.
//!
//! The markup is made once and then changed by hand, from one place (`ChartState::handle`), and
//! the cursor is painted on the canvas: each reactive closure, `Show` or `view!` per line would
//! add kilobytes to the app's download, which has a budget.

use leptos::prelude::*;
use vitals_api::{ChartSeries, Point, Unit};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CanvasRenderingContext2d, CssStyleDeclaration, Element, Event, HtmlCanvasElement, HtmlElement,
    KeyboardEvent, PointerEvent, ResizeObserver, ResizeObserverEntry,
};

use crate::format::{as_sentence, decimal, format_value, local_clock, local_day_and_time};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What the chart says when no line has a point in its range.
const NO_DATA: &str = "no data in this period";

/// Room around the plot, in CSS pixels: above for half the top value label, to the right for the
/// end of the line, below for the time labels.
const PAD_TOP: f64 = 10.0;
const PAD_RIGHT: f64 = 12.0;
const PAD_BOTTOM: f64 = 24.0;
/// Space between the value labels and the plot.
const VALUE_LABEL_GAP: f64 = 8.0;
/// Space between the plot and the time labels under it.
const TIME_LABEL_DROP: f64 = 6.0;
/// Least space between two time labels.
const TIME_LABEL_GAP: f64 = 16.0;
/// Space between the cursor line and the tooltip.
const TOOLTIP_GAP: f64 = 12.0;

const MIN_VALUE_TICKS: i64 = 4;
const MAX_VALUE_TICKS: i64 = 6;

/// Steps between time ticks when labels are clock times, finest first.
const CLOCK_STEPS: [i64; 11] = [
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
];
/// Steps between time ticks when labels are days, finest first.
const DAY_STEPS: [i64; 9] = [
    DAY_MS,
    2 * DAY_MS,
    7 * DAY_MS,
    14 * DAY_MS,
    28 * DAY_MS,
    56 * DAY_MS,
    91 * DAY_MS,
    182 * DAY_MS,
    364 * DAY_MS,
];
/// Monday 5 January 1970, from which ticks are counted, so that weekly ticks fall on Mondays.
const TICK_ORIGIN_MS: i64 = 4 * DAY_MS;

/// How many lines get a colour and dash of their own (`--chart-1` … `--chart-6`); more reuse them.
const PALETTE_SIZE: usize = 6;
/// The dash of each palette slot, in CSS pixels: colour is never the only thing telling lines apart.
const DASHES: [&[u8]; PALETTE_SIZE] = [
    &[],
    &[8, 4],
    &[2, 3],
    &[10, 3, 2, 3],
    &[4, 4],
    &[12, 3, 2, 3, 2, 3],
];
const LINE_WIDTH: f64 = 2.0;
/// Radius of a point with no neighbour to join, which would otherwise not show.
const LONE_POINT_RADIUS: f64 = 2.5;
/// Radius of the dot the cursor puts on each line, and the ring around it.
const CURSOR_DOT_RADIUS: f64 = 4.0;
const CURSOR_RING_WIDTH: f64 = 2.0;

/// Set when a chart is handed its series; [`DRAW_MEASURE`] runs from it to the lines drawn.
const DATA_MARK: &str = "vitals:chart-data";
const DRAWN_MARK: &str = "vitals:chart-drawn";
/// What the bench reads: from a chart's series handed over to its lines, legend and caption drawn.
pub const DRAW_MEASURE: &str = "vitals:chart-draw";

/// A chart of `series` over `range`, with a legend, a tooltip and a sentence per line.
///
/// Each line has its own colour and dash. Hovering the chart, or focusing it and pressing the
/// arrow keys, shows every line's value at one time; the keys' readings are also announced.
#[component]
pub fn Chart(
    /// The lines to draw; may be empty (then the component shows an empty state in words: "No data in this period").
    #[prop(into)]
    series: Signal<Vec<ChartSeries>>,
    unit: Unit,
    /// What the chart shows, for its accessible name and text alternative.
    #[prop(into)]
    title: String,
    /// The time range the x axis spans (ms since epoch), so gaps at the ends show as gaps.
    #[prop(into)]
    range: Signal<(i64, i64)>,
) -> impl IntoView {
    let chart = StoredValue::new_local(ChartState {
        unit,
        title,
        data: ChartData::default(),
        size: (0.0, 0.0),
        geometry: None,
        cursor: None,
        parts: None,
    });
    Effect::new(move || {
        crate::perf::mark(DATA_MARK);
        let data = series.with(|series| ChartData::new(series, range.get()));
        send(chart, ChartEvent::Data(data));
    });
    on_cleanup(move || {
        chart.try_with_value(|chart| chart.parts.as_ref().map(ChartParts::stop_watching));
    });
    view! { <figure class="chart" use:fill_figure=chart></figure> }
}

/// Fills the chart's figure as soon as it is made; the chart shows its data once both are there.
fn fill_figure(figure: Element, chart: SharedChart) {
    send(chart, ChartEvent::Found(ChartParts::build(&figure, chart)));
}

/// What goes in the chart's figure. The tooltip is hidden from screen readers: the live region
/// speaks for the keys, and would be flooded by the pointer. The empty state and the legend are
/// too: the caption says the same.
const MARKUP: &str = r#"<div class="chart-plot"><canvas class="chart-canvas" role="img" tabindex="-1"></canvas><p class="chart-empty" aria-hidden="true" hidden></p><div class="chart-tooltip" aria-hidden="true" hidden></div></div><ul class="chart-legend" aria-hidden="true"></ul><figcaption class="chart-caption"></figcaption><p class="visually-hidden" aria-live="polite"></p>"#;

/// The canvas' events the chart follows.
const CANVAS_EVENTS: [&str; 5] = ["pointermove", "pointerdown", "pointerleave", "keydown", "blur"];

/// A chart's state, kept outside the reactive graph: nothing here is read by a view.
type SharedChart = StoredValue<ChartState, LocalStorage>;

/// Lets the chart handle `event`; does nothing once the chart has gone away.
fn send(chart: SharedChart, event: ChartEvent) {
    chart.update_value(|chart| {
        chart.handle(event);
    });
}

/// What can happen to a chart.
enum ChartEvent {
    /// The markup is in place.
    Found(Option<ChartParts>),
    Data(ChartData),
    /// The canvas' size in CSS pixels.
    Resize(f64, f64),
    /// The pointer is at this x on the canvas.
    Pointer(f64),
    /// The pointer has left the canvas.
    Leave,
    Key(KeyboardEvent),
    Blur,
}

/// A chart's data, layout and cursor, and the elements that show them.
struct ChartState {
    unit: Unit,
    title: String,
    data: ChartData,
    /// The canvas' size in CSS pixels, as the browser last reported it.
    size: (f64, f64),
    geometry: Option<ChartGeometry>,
    /// The time the cursor is at, rather than an index, so that it stays put when a refresh adds points.
    cursor: Option<i64>,
    parts: Option<ChartParts>,
}

impl ChartState {
    fn handle(&mut self, event: ChartEvent) -> Option<()> {
        match event {
            ChartEvent::Found(parts) => {
                self.parts = parts;
                self.show_data()?;
            }
            ChartEvent::Data(data) => {
                self.data = data;
                self.show_data()?;
            }
            ChartEvent::Resize(width, height) => {
                self.size = (width, height);
                self.lay_out();
            }
            ChartEvent::Pointer(x) => {
                let time = self.geometry.as_ref()?.scale.time_at(x);
                let nearest = self.nearest_time(time);
                // The pointer moves many times between two points; the chart is redrawn only when
                // the cursor moves.
                if nearest != self.cursor {
                    self.cursor = nearest;
                    self.paint();
                }
            }
            ChartEvent::Leave => {
                self.cursor = None;
                self.paint();
            }
            ChartEvent::Key(event) => {
                let times = &self.data.times;
                let at = self.cursor.and_then(|time| nearest_index(times, time));
                self.cursor = match cursor_after_key(&event.key(), at, times.len()) {
                    CursorKey::Move(index) => Some(times[index]),
                    CursorKey::Hide => None,
                    CursorKey::Ignore => return None,
                };
                event.prevent_default();
                let words = self.cursor.map(|time| {
                    let moment = moment_words(time, self.data.to - self.data.from);
                    reading_words(&moment, &self.data, &self.data.values_at(time), self.unit)
                });
                let words = escape_html(&words.unwrap_or_default());
                self.parts.as_ref()?.live.set_inner_html(&words);
                self.paint();
            }
            ChartEvent::Blur => {
                self.cursor = None;
                self.parts.as_ref()?.live.set_inner_html("");
                self.paint();
            }
        }
        Some(())
    }

    /// The time with a point closest to `time`: a refresh may have moved the range past it.
    fn nearest_time(&self, time: i64) -> Option<i64> {
        nearest_index(&self.data.times, time).map(|index| self.data.times[index])
    }

    /// Writes the words around the canvas (its name, the empty state, the legend and the caption),
    /// then lays the chart out.
    fn show_data(&mut self) -> Option<()> {
        let parts = self.parts.as_ref()?;
        let data = &self.data;
        let span = data.to - data.from;
        let empty = data.is_empty();
        let label = if empty {
            format!("{}: {NO_DATA}.", self.title)
        } else {
            format!(
                "{}: chart from {} to {}. Use the left and right arrow keys to read its values.",
                self.title,
                moment_words(data.from, span),
                moment_words(data.to, span),
            )
        };
        parts.canvas.set_attribute("aria-label", &label).ok()?;
        parts
            .canvas
            .set_attribute("tabindex", if empty { "-1" } else { "0" })
            .ok()?;
        show(&parts.empty, empty);
        show(&parts.legend, !empty);
        parts
            .legend
            .set_inner_html(&line_items_html(data, None, self.unit));
        let mut caption = String::new();
        for sentence in describe(data, self.unit, |ms| moment_words(ms, span)) {
            caption += &format!("<p>{}</p>", escape_html(&sentence));
        }
        parts.caption.set_inner_html(&caption);
        self.lay_out();
        if !empty {
            crate::perf::mark(DRAWN_MARK);
            crate::perf::measure(DRAW_MEASURE, DATA_MARK, DRAWN_MARK);
        }
        Some(())
    }

    /// Fits the chart to the canvas' size, then paints it.
    fn lay_out(&mut self) {
        self.geometry = self.parts.as_ref().and_then(|parts| {
            parts.set_font()?;
            let text_width = |text: &str| {
                parts
                    .context
                    .measure_text(text)
                    .map_or(0.0, |metrics| metrics.width())
            };
            ChartGeometry::new(&self.data, self.unit, self.size, text_width, utc_offset_at)
        });
        self.paint();
    }

    /// Paints the chart and the cursor, and shows the cursor's tooltip.
    fn paint(&self) {
        let Some(parts) = &self.parts else {
            return;
        };
        let cursor = self.cursor.and_then(|time| self.nearest_time(time));
        draw(parts, self.geometry.as_ref(), &self.data, cursor);
        let tooltip = &parts.tooltip;
        match (cursor, &self.geometry) {
            (Some(time), Some(geometry)) => {
                tooltip.set_inner_html(&tooltip_html(&self.data, time, self.unit));
                place_tooltip(&tooltip.style(), geometry, geometry.scale.x(time));
                show(tooltip, true);
            }
            _ => show(tooltip, false),
        }
    }
}

/// The elements of a chart's markup, and what watches them for it.
struct ChartParts {
    canvas: HtmlCanvasElement,
    context: CanvasRenderingContext2d,
    /// The canvas' computed style, which the browser keeps up to date: its font and colours.
    style: CssStyleDeclaration,
    empty: HtmlElement,
    tooltip: HtmlElement,
    legend: HtmlElement,
    caption: HtmlElement,
    live: HtmlElement,
    resize_observer: ResizeObserver,
    /// What the browser calls for every event the chart follows. Kept until the chart goes away:
    /// the browser must stop calling it before it is dropped.
    listener: Closure<dyn Fn(JsValue)>,
}

impl ChartParts {
    /// Fills `figure` with the chart's markup and starts telling `chart` about the canvas' events
    /// and size.
    ///
    /// Markup and listeners are set here by hand, with one closure for every listener, rather than
    /// through `view!` and `on:`, which would cost the app several kilobytes more.
    fn build(figure: &Element, chart: SharedChart) -> Option<Self> {
        figure.set_inner_html(MARKUP);
        let part = |selector: &str| -> Option<HtmlElement> {
            Some(figure.query_selector(selector).ok()??.unchecked_into())
        };
        let canvas: HtmlCanvasElement = part("canvas")?.unchecked_into();
        let context = canvas.get_context("2d").ok()??.unchecked_into();
        let style = window().get_computed_style(&canvas).ok()??;
        let listener = Closure::<dyn Fn(JsValue)>::new(move |value: JsValue| {
            if let Some(event) = chart_event(value) {
                send(chart, event);
            }
        });
        let callback = listener.as_ref().unchecked_ref();
        for name in CANVAS_EVENTS {
            canvas.add_event_listener_with_callback(name, callback).ok()?;
        }
        let resize_observer = ResizeObserver::new(callback).ok()?;
        resize_observer.observe(&canvas);
        let empty = part(".chart-empty")?;
        empty.set_inner_html(&as_sentence(NO_DATA));
        Some(Self {
            canvas,
            context,
            style,
            empty,
            tooltip: part(".chart-tooltip")?,
            legend: part(".chart-legend")?,
            caption: part(".chart-caption")?,
            live: part("[aria-live]")?,
            resize_observer,
            listener,
        })
    }

    /// Gives the context the font of the canvas' CSS, so that labels are measured as drawn.
    fn set_font(&self) -> Option<()> {
        let size = self.style.get_property_value("font-size").ok()?;
        let family = self.style.get_property_value("font-family").ok()?;
        self.context.set_font(&format!("{size} {family}"));
        Some(())
    }

    fn stop_watching(&self) {
        self.resize_observer.disconnect();
        let callback = self.listener.as_ref().unchecked_ref();
        // Failing to remove a listener from something that is going away changes nothing.
        for name in CANVAS_EVENTS {
            let _ = self.canvas.remove_event_listener_with_callback(name, callback);
        }
    }
}

/// What the browser's call to the chart's listener means: a `ResizeObserver` passes its entries,
/// the canvas an event.
fn chart_event(value: JsValue) -> Option<ChartEvent> {
    if let Some(entries) = value.dyn_ref::<js_sys::Array>() {
        let rect = entries
            .get(0)
            .unchecked_into::<ResizeObserverEntry>()
            .content_rect();
        return Some(ChartEvent::Resize(rect.width(), rect.height()));
    }
    let event: Event = value.unchecked_into();
    let pointer = || event.unchecked_ref::<PointerEvent>();
    Some(match event.type_().as_str() {
        "keydown" => ChartEvent::Key(event.unchecked_into()),
        "blur" => ChartEvent::Blur,
        // A finger lifting off also "leaves"; its reading stays until the chart loses focus.
        "pointerleave" if pointer().pointer_type() == "touch" => return None,
        "pointerleave" => ChartEvent::Leave,
        _ => ChartEvent::Pointer(f64::from(pointer().offset_x())),
    })
}

/// Puts the tooltip beside the cursor at `x`. In the right half it opens to the left of the cursor,
/// so it is never cut off; its CSS caps its width at half the chart.
///
/// Through the CSSOM: the page's Content-Security-Policy forbids `style` attributes, not that.
fn place_tooltip(style: &CssStyleDeclaration, geometry: &ChartGeometry, x: f64) {
    let (left, right) = if x > geometry.width / 2.0 {
        ("auto".to_owned(), pixels(geometry.width - x + TOOLTIP_GAP))
    } else {
        (pixels(x + TOOLTIP_GAP), "auto".to_owned())
    };
    for (property, value) in [
        ("left", left),
        ("right", right),
        ("top", pixels(geometry.scale.top)),
    ] {
        // A style the browser refuses leaves the tooltip where it was.
        let _ = style.set_property(property, &value);
    }
}

/// Shows or hides `element`, through `hidden`, which the chart's CSS honours.
fn show(element: &Element, shown: bool) {
    // An attribute the browser refuses to change leaves the element as it was.
    let _ = if shown {
        element.remove_attribute("hidden")
    } else {
        element.set_attribute("hidden", "")
    };
}

fn pixels(value: f64) -> String {
    format!("{}px", decimal(value, 1))
}

/// `text` made safe to put in HTML markup.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// One item per line, for the legend and the tooltip: a short stretch of the line in its colour
/// and dash, its name and, when `values` are given, its value there.
fn line_items_html(data: &ChartData, values: Option<&[Option<f64>]>, unit: Unit) -> String {
    let mut items = String::new();
    for (index, series) in data.series.iter().enumerate() {
        let slot = index % PALETTE_SIZE;
        let mut dash = String::new();
        for length in DASHES[slot] {
            dash += &format!("{length} ");
        }
        let value = values.map_or(String::new(), |values| {
            format!(
                r#"<span class="chart-value">{}</span>"#,
                value_words(values[index], unit)
            )
        });
        items += &format!(
            r#"<li><svg class="chart-swatch chart-colour-{}" viewBox="0 0 24 8" aria-hidden="true"><line x1="0" y1="4" x2="24" y2="4" stroke-dasharray="{}"/></svg><span class="chart-name">{}</span>{value}</li>"#,
            slot + 1,
            if dash.is_empty() { "none" } else { dash.trim_end() },
            escape_html(&series.name),
        );
    }
    items
}

/// The tooltip's contents at `time`: the moment, then each line's swatch, name and value.
fn tooltip_html(data: &ChartData, time: i64, unit: Unit) -> String {
    format!(
        r#"<p class="chart-tooltip-time">{}</p><ul>{}</ul>"#,
        moment_words(time, data.to - data.from),
        line_items_html(data, Some(&data.values_at(time)), unit),
    )
}

/// A moment of the chart in local time: the clock alone when the chart spans at most a day.
fn moment_words(ms: i64, span_ms: i64) -> String {
    if span_ms <= DAY_MS {
        local_clock(ms)
    } else {
        local_day_and_time(ms)
    }
}

/// The text of a time tick in local time.
fn tick_words(ms: i64, label: TimeLabel) -> String {
    match label {
        TimeLabel::Clock => local_clock(ms),
        TimeLabel::Day => {
            // Day ticks fall at midnight, so the clock `local_day_and_time` ends with says nothing.
            let words = local_day_and_time(ms);
            match words.rsplit_once(' ') {
                Some((day, _clock)) => day.to_owned(),
                None => words,
            }
        }
    }
}

/// How far local time is ahead of UTC at `ms`, in milliseconds, in the browser's time zone.
fn utc_offset_at(ms: i64) -> i64 {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    (-date.get_timezone_offset() * MINUTE_MS as f64) as i64
}

/// Paints `geometry` at the screen's pixel density, with the cursor at `cursor` if shown; clears
/// the canvas when there is nothing to paint.
fn draw(
    parts: &ChartParts,
    geometry: Option<&ChartGeometry>,
    data: &ChartData,
    cursor: Option<i64>,
) -> Option<()> {
    let (canvas, context, style) = (&parts.canvas, &parts.context, &parts.style);
    let ratio = window().device_pixel_ratio();
    let (width, height) = geometry.map_or((0.0, 0.0), |geometry| (geometry.width, geometry.height));
    // Resizing the bitmap also clears it and resets the context.
    canvas.set_width((width * ratio).round() as u32);
    canvas.set_height((height * ratio).round() as u32);
    let geometry = geometry?;
    context.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0).ok()?;
    parts.set_font()?;
    let colour = |name: &str| style.get_property_value(name).unwrap_or_default();
    let line_colour = |index: usize| colour(&format!("--chart-{}", index % PALETTE_SIZE + 1));
    let scale = &geometry.scale;
    let muted = colour("--text-muted");
    draw_axes(context, geometry, &colour("--border"), &muted)?;
    for (index, runs) in geometry.lines.iter().enumerate() {
        draw_line(context, runs, &line_colour(index), DASHES[index % PALETTE_SIZE])?;
    }
    let time = cursor?;
    let x = scale.x(time);
    set_dash(context, &[])?;
    context.set_line_width(1.0);
    context.set_stroke_style_str(&muted);
    context.begin_path();
    context.move_to(crisp(x), scale.top);
    context.line_to(crisp(x), scale.top + scale.height);
    context.stroke();
    context.set_line_width(CURSOR_RING_WIDTH);
    context.set_stroke_style_str(&colour("--surface"));
    for (index, value) in data.values_at(time).into_iter().enumerate() {
        let Some(value) = value else {
            continue;
        };
        context.begin_path();
        context
            .arc(x, scale.y(value), CURSOR_DOT_RADIUS, 0.0, std::f64::consts::TAU)
            .ok()?;
        context.set_fill_style_str(&line_colour(index));
        context.fill();
        context.stroke();
    }
    Some(())
}

/// Half a pixel off the grid, a one-pixel line covers whole pixels instead of blurring over two.
fn crisp(at: f64) -> f64 {
    at.round() + 0.5
}

fn set_dash(context: &CanvasRenderingContext2d, dash: &[u8]) -> Option<()> {
    // `setLineDash` takes any list of numbers; a typed array is the cheapest to make.
    context.set_line_dash(&js_sys::Uint8Array::from(dash)).ok()
}

/// Grid lines at the ticks, the value labels left of the plot and the time labels under it.
fn draw_axes(
    context: &CanvasRenderingContext2d,
    geometry: &ChartGeometry,
    grid: &str,
    text: &str,
) -> Option<()> {
    let scale = &geometry.scale;
    context.set_line_width(1.0);
    context.set_stroke_style_str(grid);
    context.begin_path();
    for (value, _) in &geometry.value_labels {
        let y = crisp(scale.y(*value));
        context.move_to(scale.left, y);
        context.line_to(scale.left + scale.width, y);
    }
    for time in &geometry.time_ticks.times {
        let x = crisp(scale.x(*time));
        context.move_to(x, scale.top);
        context.line_to(x, scale.top + scale.height);
    }
    context.stroke();

    context.set_fill_style_str(text);
    context.set_text_align("right");
    context.set_text_baseline("middle");
    for (value, words) in &geometry.value_labels {
        context
            .fill_text(words, scale.left - VALUE_LABEL_GAP, scale.y(*value))
            .ok()?;
    }
    context.set_text_align("center");
    context.set_text_baseline("top");
    let label = geometry.time_ticks.label;
    for time in &geometry.time_ticks.times {
        let y = scale.top + scale.height + TIME_LABEL_DROP;
        context
            .fill_text(&tick_words(*time, label), scale.x(*time), y)
            .ok()?;
    }
    Some(())
}

/// One line: each unbroken stretch joined, each lone point as a dot.
fn draw_line(
    context: &CanvasRenderingContext2d,
    runs: &[Vec<(f64, f64)>],
    colour: &str,
    dash: &[u8],
) -> Option<()> {
    context.set_stroke_style_str(colour);
    context.set_fill_style_str(colour);
    context.set_line_width(LINE_WIDTH);
    context.set_line_join("round");
    set_dash(context, dash)?;
    for run in runs {
        context.begin_path();
        match run.as_slice() {
            [] => {}
            [(x, y)] => {
                context
                    .arc(*x, *y, LONE_POINT_RADIUS, 0.0, std::f64::consts::TAU)
                    .ok()?;
                context.fill();
            }
            [(x, y), rest @ ..] => {
                context.move_to(*x, *y);
                for (x, y) in rest {
                    context.line_to(*x, *y);
                }
                context.stroke();
            }
        }
    }
    Some(())
}

/// The lines of a chart made ready to draw: finite values inside the range, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartData {
    /// Every line, points outside the range, not finite (NaN, infinities) or out of time order left
    /// out; they show as gaps.
    pub series: Vec<ChartSeries>,
    pub from: i64,
    pub to: i64,
    /// Every time at which some line has a point, in order: where the cursor can stop.
    pub times: Vec<i64>,
}

impl ChartData {
    pub fn new(series: &[ChartSeries], (from, to): (i64, i64)) -> Self {
        // An empty or reversed range still needs a length to divide by.
        let to = to.max(from + 1);
        let mut kept = Vec::with_capacity(series.len());
        let mut times = Vec::new();
        for series in series {
            // The server sends points in time order; one that breaks it (or repeats a time) is left
            // out rather than sorted in, which would cost a sort the app has no other use for.
            let mut points: Vec<Point> = Vec::with_capacity(series.points.len());
            for point in &series.points {
                let in_order = points.last().is_none_or(|last| last.0 < point.0);
                if in_order && point.1.is_finite() && (from..=to).contains(&point.0) {
                    points.push(*point);
                    times.push(point.0);
                }
            }
            kept.push(ChartSeries {
                name: series.name.clone(),
                points,
            });
        }
        times.sort_unstable();
        times.dedup();
        Self {
            series: kept,
            from,
            to,
            times,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Each line's value at exactly `time`, `None` for a line with no point then.
    pub fn values_at(&self, time: i64) -> Vec<Option<f64>> {
        self.series
            .iter()
            .map(|series| {
                let index = series.points.binary_search_by_key(&time, |point| point.0).ok()?;
                Some(series.points[index].1)
            })
            .collect()
    }
}

/// The lowest and highest value of `points`; `None` without points.
fn value_extent(points: &[Point]) -> Option<(f64, f64)> {
    points.iter().fold(None, |extent, point| {
        let (lowest, highest) = extent.unwrap_or((point.1, point.1));
        Some((lowest.min(point.1), highest.max(point.1)))
    })
}

/// Thins `points` (in time order, finite values) to at most two per pixel column of
/// `from_ms..=to_ms`: the lowest and the highest of each column, in the order they happened.
///
/// A column's extremes are exactly what its pixels would show, so a long range draws as fast as a
/// short one and looks the same, spikes included. With no more than two points per column on
/// average, the points are returned unchanged.
pub fn decimate(points: &[Point], from_ms: i64, to_ms: i64, columns: usize) -> Vec<Point> {
    if columns == 0 || points.len() <= 2 * columns || to_ms <= from_ms {
        return points.to_vec();
    }
    let span = to_ms - from_ms;
    let column_of = |time: i64| {
        let offset = time.clamp(from_ms, to_ms) - from_ms;
        // Cannot overflow: a range of a thousand years on a canvas a million pixels wide is still
        // a thousand times short of it.
        let column = offset * columns as i64 / span;
        (column as usize).min(columns - 1)
    };
    let mut kept = Vec::with_capacity(2 * columns);
    for column in points.chunk_by(|a, b| column_of(a.0) == column_of(b.0)) {
        // Where in the column its first lowest and first highest point are.
        let (mut lowest, mut highest) = (0, 0);
        for (index, point) in column.iter().enumerate() {
            if point.1 < column[lowest].1 {
                lowest = index;
            }
            if point.1 > column[highest].1 {
                highest = index;
            }
        }
        kept.push(column[lowest.min(highest)]);
        if lowest != highest {
            kept.push(column[lowest.max(highest)]);
        }
    }
    kept
}

/// The usual time between two points of a line (in time order): the median, so one hole does not
/// count; `None` with fewer than two points.
fn typical_step(points: &[Point]) -> Option<i64> {
    let mut steps: Vec<i64> = points.windows(2).map(|pair| pair[1].0 - pair[0].0).collect();
    steps.sort_unstable();
    steps.get(steps.len() / 2).copied()
}

/// The unbroken stretches of a line: it breaks where two neighbours are more than `max_gap_ms`
/// apart, so missing data shows as missing rather than as a straight line across.
fn split_at_gaps(points: &[Point], max_gap_ms: i64) -> impl Iterator<Item = &[Point]> {
    points.chunk_by(move |a, b| b.0 - a.0 <= max_gap_ms)
}

/// The value axis: from 4 to 6 ticks, a whole number of steps of 1, 2 or 5 × 10ⁿ apart, from at
/// or below the lowest value to at or above the highest.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    pub ticks: Vec<f64>,
}

/// A step of 1, 2 or 5 × 10^`exponent`.
#[derive(Debug, Clone, Copy)]
struct NiceStep {
    mantissa: i64,
    exponent: i32,
}

impl NiceStep {
    /// The `count`th multiple of the step, computed so that 3 × 0.1 is 0.3 and not 0.30000000000000004.
    fn times(self, count: i64) -> f64 {
        let whole = (count * self.mantissa) as f64;
        if self.exponent >= 0 {
            whole * 10f64.powi(self.exponent)
        } else {
            whole / 10f64.powi(-self.exponent)
        }
    }
}

impl ValueAxis {
    pub fn new(lowest: f64, highest: f64, unit: Unit) -> Self {
        let (low, high) = axis_extent(lowest, highest);
        let smallest = smallest_step(unit, low.abs().max(high.abs()));
        // A value exactly on a tick can divide to a hair off a whole number; this slack keeps it on.
        const SLACK: f64 = 1e-9;
        // The step sought leaves at most six ticks, so it is more than a hundredth of the range;
        // and no unit's smallest step is under 10⁻³. The search starts below both.
        let mut exponent = -3;
        while (NiceStep {
            mantissa: 1,
            exponent,
        })
        .times(100)
            < high - low
        {
            exponent += 1;
        }
        loop {
            for mantissa in [1, 2, 5] {
                let step = NiceStep { mantissa, exponent };
                let size = step.times(1);
                if size < smallest * (1.0 - SLACK) {
                    continue;
                }
                let first = (low / size + SLACK).floor() as i64;
                let last = (high / size - SLACK).ceil() as i64;
                if last - first < MAX_VALUE_TICKS {
                    // Too coarse a unit (whole counts over a range of 2) leaves too few ticks; add above.
                    let last = last.max(first + MIN_VALUE_TICKS - 1);
                    let ticks = (first..=last).map(|count| step.times(count)).collect();
                    return Self { ticks };
                }
            }
            exponent += 1;
        }
    }

    pub fn low(&self) -> f64 {
        self.ticks.first().copied().unwrap_or(0.0)
    }

    pub fn high(&self) -> f64 {
        self.ticks.last().copied().unwrap_or(1.0)
    }
}

/// The values the axis must show. Counting from zero shows how big the values are, unless it would
/// flatten the line (95% to 99% would look flat from 0%); a flat line sits half-way up.
fn axis_extent(lowest: f64, highest: f64) -> (f64, f64) {
    if lowest == highest {
        return match lowest {
            value if value > 0.0 => (0.0, 2.0 * value),
            value if value < 0.0 => (2.0 * value, 0.0),
            _ => (0.0, 1.0),
        };
    }
    if lowest > 0.0 && lowest <= highest / 2.0 {
        (0.0, highest)
    } else {
        (lowest, highest)
    }
}

/// The finest step whose ticks `format_value` still writes differently from each other.
fn smallest_step(unit: Unit, magnitude: f64) -> f64 {
    match unit {
        Unit::Count => 1.0,
        Unit::Ratio => 0.001,
        Unit::Seconds if magnitude < 1.0 => 0.001,
        Unit::Seconds | Unit::PerMinute => 0.1,
        Unit::Number => (magnitude / 1_000.0).max(f64::MIN_POSITIVE),
    }
}

/// How time ticks are written, by how long the range is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLabel {
    /// Hours and minutes, up to two days.
    Clock,
    /// Day and month, beyond.
    Day,
}

impl TimeLabel {
    pub fn for_span(span_ms: i64) -> Self {
        if span_ms <= 2 * DAY_MS {
            TimeLabel::Clock
        } else {
            TimeLabel::Day
        }
    }

    fn steps(self) -> &'static [i64] {
        match self {
            TimeLabel::Clock => &CLOCK_STEPS,
            TimeLabel::Day => &DAY_STEPS,
        }
    }

    /// A label at least as wide as most, to measure before choosing how far apart ticks go.
    fn wide_sample(self) -> &'static str {
        match self {
            TimeLabel::Clock => "00:00",
            TimeLabel::Day => "30 May",
        }
    }
}

/// The ticks of the time axis, at round local times.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTicks {
    pub label: TimeLabel,
    /// Milliseconds since the epoch.
    pub times: Vec<i64>,
}

/// Ticks for `from..=to` drawn `width` pixels wide: the finest step that leaves room for labels
/// `label_width` wide, at round local times (`utc_offset_at` gives local time minus UTC), and only
/// where the whole label fits in the width, so no two labels overlap and none is cut off.
pub fn time_ticks(
    from: i64,
    to: i64,
    width: f64,
    label_width: f64,
    utc_offset_at: impl Fn(i64) -> i64,
) -> TimeTicks {
    let label = TimeLabel::for_span(to - from);
    let span = (to - from).max(1) as f64;
    let x = |time: i64| (time - from) as f64 / span * width;
    let steps = label.steps();
    let step = steps
        .iter()
        .copied()
        .find(|step| *step as f64 / span * width >= label_width + TIME_LABEL_GAP)
        .unwrap_or(steps[steps.len() - 1]);
    let half_label = label_width / 2.0;
    let start = from + utc_offset_at(from);
    let mut local = TICK_ORIGIN_MS + (start - TICK_ORIGIN_MS).div_euclid(step) * step;
    let mut times = Vec::new();
    loop {
        // Read as UTC, a local time can sit on the other side of a daylight-saving change; a
        // second look from the first guess settles it.
        let guess = local - utc_offset_at(local);
        let time = local - utc_offset_at(guess);
        if time > to {
            break;
        }
        if time >= from && x(time) >= half_label && x(time) <= width - half_label {
            times.push(time);
        }
        local += step;
    }
    TimeTicks { label, times }
}

/// Where the plot sits on the canvas, and how times and values map onto it, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub from: i64,
    pub to: i64,
    pub low: f64,
    pub high: f64,
}

impl Scale {
    pub fn x(&self, time: i64) -> f64 {
        self.left + (time - self.from) as f64 / (self.to - self.from) as f64 * self.width
    }

    pub fn y(&self, value: f64) -> f64 {
        self.top + (self.high - value) / (self.high - self.low) * self.height
    }

    /// The time under `x`, held to the range.
    pub fn time_at(&self, x: f64) -> i64 {
        let share = ((x - self.left) / self.width).clamp(0.0, 1.0);
        self.from + (share * (self.to - self.from) as f64).round() as i64
    }
}

/// Everything the canvas draws, in CSS pixels, computed without the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartGeometry {
    /// The canvas' size.
    pub width: f64,
    pub height: f64,
    pub scale: Scale,
    /// Each value tick and its text.
    pub value_labels: Vec<(f64, String)>,
    pub time_ticks: TimeTicks,
    /// For each line, its unbroken stretches as points on the canvas.
    pub lines: Vec<Vec<Vec<(f64, f64)>>>,
}

impl ChartGeometry {
    /// Lays out `data` on a canvas of `size`, measuring labels with `text_width`; `None` when
    /// there is nothing to draw or no room to draw it.
    pub fn new(
        data: &ChartData,
        unit: Unit,
        (width, height): (f64, f64),
        text_width: impl Fn(&str) -> f64,
        utc_offset_at: impl Fn(i64) -> i64,
    ) -> Option<Self> {
        let (lowest, highest) = data
            .series
            .iter()
            .filter_map(|series| value_extent(&series.points))
            .reduce(|(low, high), (lowest, highest)| (low.min(lowest), high.max(highest)))?;
        let axis = ValueAxis::new(lowest, highest, unit);
        let mut value_labels = Vec::with_capacity(axis.ticks.len());
        let mut widest: f64 = 0.0;
        for value in &axis.ticks {
            let words = format_value(*value, unit);
            widest = widest.max(text_width(&words));
            value_labels.push((*value, words));
        }
        let left = widest + VALUE_LABEL_GAP;
        let scale = Scale {
            left,
            top: PAD_TOP,
            width: width - left - PAD_RIGHT,
            height: height - PAD_TOP - PAD_BOTTOM,
            from: data.from,
            to: data.to,
            low: axis.low(),
            high: axis.high(),
        };
        if scale.width < 1.0 || scale.height < 1.0 {
            return None;
        }
        let label_width = text_width(TimeLabel::for_span(data.to - data.from).wide_sample());
        let time_ticks = time_ticks(data.from, data.to, scale.width, label_width, utc_offset_at);
        let mut lines = Vec::with_capacity(data.series.len());
        for series in &data.series {
            lines.push(line_runs(&series.points, &scale));
        }
        Some(Self {
            width,
            height,
            scale,
            value_labels,
            time_ticks,
            lines,
        })
    }
}

/// A line's points on the canvas, thinned to the plot's pixel columns and broken where data is missing.
fn line_runs(points: &[Point], scale: &Scale) -> Vec<Vec<(f64, f64)>> {
    let columns = (scale.width.round() as usize).max(1);
    let column_ms = (scale.to - scale.from) / columns as i64;
    // Kept points of neighbouring columns can be up to two columns apart; a hole that small would
    // not show anyway. Otherwise a line breaks where one point or more is missing.
    let max_gap = typical_step(points)
        .map_or(0, |step| step * 3 / 2)
        .max(2 * column_ms);
    let thinned = decimate(points, scale.from, scale.to, columns);
    let mut runs = Vec::new();
    for run in split_at_gaps(&thinned, max_gap) {
        let mut at = Vec::with_capacity(run.len());
        for point in run {
            at.push((scale.x(point.0), scale.y(point.1)));
        }
        runs.push(at);
    }
    runs
}

/// The index in `times` (in order) of the time closest to `target`, the earlier one on a tie.
pub fn nearest_index(times: &[i64], target: i64) -> Option<usize> {
    let after = times.partition_point(|time| *time < target);
    match (after.checked_sub(1), times.get(after)) {
        (Some(before), Some(next)) if target - times[before] <= next - target => Some(before),
        (_, Some(_)) => Some(after),
        (Some(before), None) => Some(before),
        (None, None) => None,
    }
}

/// What a key does to the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKey {
    /// Show the cursor at this index of the chart's times.
    Move(usize),
    Hide,
    /// Not a key the chart uses: let the page have it.
    Ignore,
}

/// What `key` does with the cursor at index `at` (if shown) among `stops` times: the arrows move it
/// one time, Home and End to the ends, Escape hides it.
pub fn cursor_after_key(key: &str, at: Option<usize>, stops: usize) -> CursorKey {
    let Some(last) = stops.checked_sub(1) else {
        return CursorKey::Ignore;
    };
    match (key, at) {
        // The first press shows the latest values, the ones people look for first.
        ("ArrowLeft" | "ArrowRight", None) => CursorKey::Move(last),
        ("ArrowLeft", Some(at)) => CursorKey::Move(at.saturating_sub(1)),
        ("ArrowRight", Some(at)) => CursorKey::Move((at + 1).min(last)),
        ("Home", _) => CursorKey::Move(0),
        ("End", _) => CursorKey::Move(last),
        ("Escape", Some(_)) => CursorKey::Hide,
        _ => CursorKey::Ignore,
    }
}

/// A value as the tooltip writes it.
fn value_words(value: Option<f64>, unit: Unit) -> String {
    value.map_or_else(|| "no data".to_owned(), |value| format_value(value, unit))
}

/// What the cursor shows, as one sentence: `10:20: Registrations 14, Cancellations no data.`
pub fn reading_words(moment: &str, data: &ChartData, values: &[Option<f64>], unit: Unit) -> String {
    let mut words = format!("{moment}:");
    for (index, (series, value)) in data.series.iter().zip(values).enumerate() {
        let separator = if index == 0 { " " } else { ", " };
        words += &format!("{separator}{} {}", series.name, value_words(*value, unit));
    }
    words + "."
}

/// A sentence per line for people who cannot see the chart: its lowest and highest values and
/// its latest one, at a time written by `moment`.
pub fn describe(data: &ChartData, unit: Unit, moment: impl Fn(i64) -> String) -> Vec<String> {
    if data.is_empty() {
        return vec![as_sentence(NO_DATA)];
    }
    data.series
        .iter()
        .map(|series| {
            let (Some(latest), Some((lowest, highest))) =
                (series.points.last(), value_extent(&series.points))
            else {
                return format!("{}: {NO_DATA}.", series.name);
            };
            let (lowest, highest) = (format_value(lowest, unit), format_value(highest, unit));
            let when = moment(latest.0);
            if lowest == highest {
                format!("{}: steady at {lowest}, latest at {when}.", series.name)
            } else {
                let latest = format_value(latest.1, unit);
                format!(
                    "{}: from {lowest} to {highest}, latest {latest} at {when}.",
                    series.name
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 14:00 UTC on 14 November 2023.
    const START: i64 = 1_699_970_400_000;

    fn utc(_ms: i64) -> i64 {
        0
    }

    fn line(name: &str, values: &[f64], step_ms: i64) -> ChartSeries {
        ChartSeries {
            name: name.into(),
            points: values
                .iter()
                .enumerate()
                .map(|(index, value)| Point(START + index as i64 * step_ms, *value))
                .collect(),
        }
    }

    /// A wavy series of `count` points one second apart, between 10 and 20.
    fn wavy(count: usize) -> Vec<Point> {
        (0..count)
            .map(|index| {
                Point(
                    START + index as i64 * 1_000,
                    15.0 + 5.0 * (index as f64 / 37.0).sin(),
                )
            })
            .collect()
    }

    #[test]
    fn a_spike_and_a_dip_in_ten_thousand_points_survive_decimation_to_300_columns() {
        let mut points = wavy(10_000);
        points[6_789].1 = 500.0;
        points[1_234].1 = -100.0;
        let end = START + 9_999 * 1_000;
        let thinned = decimate(&points, START, end, 300);
        assert!(thinned.len() <= 600, "{} points kept", thinned.len());
        assert!(thinned.contains(&points[6_789]));
        assert!(thinned.contains(&points[1_234]));
        assert!(
            thinned.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "kept points are in time order"
        );
    }

    #[test]
    fn decimation_keeps_the_lowest_and_highest_point_of_every_column_in_time_order() {
        let points = wavy(5_000);
        let (from, to) = (START, START + 4_999 * 1_000);
        let columns = 120;
        let thinned = decimate(&points, from, to, columns);
        let column_of =
            |point: &Point| ((point.0 - from) as i128 * columns as i128 / (to - from) as i128) as usize;
        for column in 0..columns {
            let original: Vec<Point> = points
                .iter()
                .copied()
                .filter(|p| column_of(p).min(columns - 1) == column)
                .collect();
            let kept: Vec<Point> = thinned
                .iter()
                .copied()
                .filter(|p| column_of(p).min(columns - 1) == column)
                .collect();
            let lowest = original
                .iter()
                .copied()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            // The first of equally high points, as `max_by` would give the last.
            let highest = original
                .iter()
                .copied()
                .reduce(|highest, point| if point.1 > highest.1 { point } else { highest })
                .unwrap();
            let mut expected = vec![lowest, highest];
            expected.sort_by_key(|point| point.0);
            expected.dedup();
            assert_eq!(kept, expected, "column {column}");
        }
    }

    #[test]
    fn few_points_are_not_decimated() {
        let points = wavy(600);
        assert_eq!(decimate(&points, START, START + 599_000, 300), points);
        assert_eq!(decimate(&[], START, START + 1, 300), vec![]);
    }

    #[test]
    fn value_ticks_are_four_to_six_nice_steps_covering_the_data() {
        let ranges = [
            (0.0, 22.0),
            (3.0, 7.0),
            (12.0, 31.0),
            (0.95, 0.991),
            (0.2, 0.35),
            (-4.0, 3.0),
            (0.0, 1.0),
            (980.0, 1_020.0),
            (0.0, 123_456.0),
            (0.013, 0.42),
            (1.7, 2.3),
            (5.0, 5.0),
            (0.0, 0.0),
        ];
        for unit in [
            Unit::Count,
            Unit::Ratio,
            Unit::Seconds,
            Unit::PerMinute,
            Unit::Number,
        ] {
            for (lowest, highest) in ranges {
                let axis = ValueAxis::new(lowest, highest, unit);
                let ticks = &axis.ticks;
                let context = format!("{unit:?} {lowest}..{highest}: {ticks:?}");
                assert!((4..=6).contains(&ticks.len()), "{context}");
                assert!(axis.low() <= lowest && axis.high() >= highest, "{context}");
                let step = ticks[1] - ticks[0];
                let magnitude = 10f64.powf(step.log10().floor());
                let mantissa = step / magnitude;
                assert!(
                    [1.0, 2.0, 5.0, 10.0]
                        .iter()
                        .any(|nice| (mantissa - nice).abs() < 1e-6),
                    "{context}: step {step}"
                );
                assert!(
                    ticks
                        .windows(2)
                        .all(|pair| (pair[1] - pair[0] - step).abs() < step * 1e-6),
                    "{context}"
                );
                assert!(
                    ticks
                        .iter()
                        .all(|tick| (tick / step - (tick / step).round()).abs() < 1e-6),
                    "{context}"
                );
                let words: Vec<String> = ticks.iter().map(|tick| format_value(*tick, unit)).collect();
                let mut distinct = words.clone();
                distinct.dedup();
                assert_eq!(distinct, words, "{context}: two ticks read the same");
            }
        }
    }

    #[test]
    fn counts_start_at_zero_and_close_ratios_do_not() {
        assert_eq!(
            ValueAxis::new(12.0, 31.0, Unit::Count).ticks,
            vec![0.0, 10.0, 20.0, 30.0, 40.0]
        );
        assert_eq!(
            ValueAxis::new(0.0, 2.0, Unit::Count).ticks,
            vec![0.0, 1.0, 2.0, 3.0]
        );
        let ratio = ValueAxis::new(0.95, 0.991, Unit::Ratio);
        assert_eq!(ratio.ticks, vec![0.95, 0.96, 0.97, 0.98, 0.99, 1.0]);
    }

    #[test]
    fn a_flat_line_sits_half_way_up() {
        let axis = ValueAxis::new(5.0, 5.0, Unit::Count);
        assert_eq!((axis.low(), axis.high()), (0.0, 10.0));
    }

    #[test]
    fn clock_ticks_fall_on_round_local_times_far_enough_apart_for_their_labels() {
        let india = |_ms: i64| 5 * HOUR_MS + 30 * MINUTE_MS;
        let (from, to) = (START + 7 * MINUTE_MS, START + 6 * HOUR_MS);
        let ticks = time_ticks(from, to, 600.0, 32.0, india);
        assert_eq!(ticks.label, TimeLabel::Clock);
        assert!((4..=15).contains(&ticks.times.len()), "{:?}", ticks.times);
        let step = ticks.times[1] - ticks.times[0];
        assert!(CLOCK_STEPS.contains(&step));
        assert!(step as f64 / (to - from) as f64 * 600.0 >= 32.0 + TIME_LABEL_GAP);
        for time in &ticks.times {
            assert_eq!(
                (time + india(*time)) % step,
                0,
                "{time} is not a round local time"
            );
            assert!((from..=to).contains(time));
        }
    }

    #[test]
    fn time_labels_never_leave_the_plot_even_when_narrow() {
        let (from, to) = (START, START + 24 * HOUR_MS);
        for width in [60.0, 150.0, 333.0, 1_200.0] {
            let ticks = time_ticks(from, to, width, 40.0, utc);
            let xs: Vec<f64> = ticks
                .times
                .iter()
                .map(|t| (t - from) as f64 / (to - from) as f64 * width)
                .collect();
            assert!(
                xs.iter().all(|x| *x >= 20.0 && *x <= width - 20.0),
                "{width}: {xs:?}"
            );
            assert!(
                xs.windows(2)
                    .all(|pair| pair[1] - pair[0] >= 40.0 + TIME_LABEL_GAP),
                "{width}: {xs:?}"
            );
        }
    }

    #[test]
    fn ranges_up_to_two_days_read_as_clock_times_and_longer_ones_as_days_at_midnight() {
        assert_eq!(TimeLabel::for_span(2 * DAY_MS), TimeLabel::Clock);
        let (from, to) = (START, START + 7 * DAY_MS);
        let ticks = time_ticks(from, to, 700.0, 40.0, utc);
        assert_eq!(ticks.label, TimeLabel::Day);
        assert!(ticks.times.len() >= 3, "{:?}", ticks.times);
        assert!(ticks.times.iter().all(|time| time % DAY_MS == 0));
    }

    #[test]
    fn daylight_saving_change_keeps_ticks_on_the_hour() {
        // Clocks go forward an hour at START + 3 hours.
        let change = START + 3 * HOUR_MS;
        let offset = move |ms: i64| if ms < change { HOUR_MS } else { 2 * HOUR_MS };
        let ticks = time_ticks(START, START + 6 * HOUR_MS, 600.0, 60.0, offset);
        assert!(!ticks.times.is_empty());
        for time in ticks.times {
            assert_eq!((time + offset(time)) % HOUR_MS, 0, "{time}");
        }
    }

    #[test]
    fn the_range_spans_the_plot_so_missing_ends_show_as_gaps() {
        let mut registrations = line("Registrations", &[4.0, 9.0, 6.0], 10 * MINUTE_MS);
        for point in &mut registrations.points {
            point.0 += HOUR_MS;
        }
        let data = ChartData::new(&[registrations], (START, START + 3 * HOUR_MS));
        let geometry = ChartGeometry::new(
            &data,
            Unit::Count,
            (600.0, 220.0),
            |text| text.len() as f64 * 7.0,
            utc,
        )
        .unwrap();
        let scale = geometry.scale;
        assert_eq!(scale.x(START), scale.left);
        assert_eq!(scale.x(START + 3 * HOUR_MS), scale.left + scale.width);
        let first = geometry.lines[0][0][0];
        assert!(
            (first.0 - (scale.left + scale.width / 3.0)).abs() < 1e-9,
            "{first:?}"
        );
        assert_eq!(scale.y(scale.low), scale.top + scale.height);
        assert_eq!(scale.y(scale.high), scale.top);
        assert_eq!(scale.time_at(scale.left - 50.0), START);
    }

    #[test]
    fn a_missing_point_breaks_the_line_and_a_lone_point_stays() {
        let mut points = line("Logins", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], MINUTE_MS).points;
        points.remove(4);
        let runs: Vec<&[Point]> = split_at_gaps(&points, typical_step(&points).unwrap() * 3 / 2).collect();
        assert_eq!(runs.iter().map(|run| run.len()).collect::<Vec<_>>(), vec![4, 1]);
    }

    #[test]
    fn values_outside_the_range_not_finite_or_out_of_time_order_are_left_out() {
        let mut series = line("Logins", &[1.0, f64::NAN, 3.0, f64::INFINITY, 5.0], MINUTE_MS);
        // A repeated time and one that goes back.
        series.points.insert(3, Point(START + 2 * MINUTE_MS, 7.0));
        series.points.push(Point(START + 3 * MINUTE_MS, 8.0));
        let data = ChartData::new(&[series], (START + MINUTE_MS, START + 10 * MINUTE_MS));
        assert_eq!(
            data.series[0].points,
            vec![
                Point(START + 2 * MINUTE_MS, 3.0),
                Point(START + 4 * MINUTE_MS, 5.0)
            ]
        );
        assert_eq!(data.times, vec![START + 2 * MINUTE_MS, START + 4 * MINUTE_MS]);
    }

    #[test]
    fn the_cursor_stops_at_the_nearest_time() {
        let times = [10, 20, 40];
        assert_eq!(nearest_index(&times, 0), Some(0));
        assert_eq!(nearest_index(&times, 15), Some(0));
        assert_eq!(nearest_index(&times, 16), Some(1));
        assert_eq!(nearest_index(&times, 31), Some(2));
        assert_eq!(nearest_index(&times, 99), Some(2));
        assert_eq!(nearest_index(&[], 5), None);
    }

    #[test]
    fn arrow_keys_move_one_time_and_home_end_escape_jump_or_hide() {
        assert_eq!(cursor_after_key("ArrowLeft", None, 5), CursorKey::Move(4));
        assert_eq!(cursor_after_key("ArrowLeft", Some(2), 5), CursorKey::Move(1));
        assert_eq!(cursor_after_key("ArrowLeft", Some(0), 5), CursorKey::Move(0));
        assert_eq!(cursor_after_key("ArrowRight", Some(2), 5), CursorKey::Move(3));
        assert_eq!(cursor_after_key("ArrowRight", Some(4), 5), CursorKey::Move(4));
        assert_eq!(cursor_after_key("Home", Some(3), 5), CursorKey::Move(0));
        assert_eq!(cursor_after_key("End", None, 5), CursorKey::Move(4));
        assert_eq!(cursor_after_key("Escape", Some(3), 5), CursorKey::Hide);
        assert_eq!(cursor_after_key("Escape", None, 5), CursorKey::Ignore);
        assert_eq!(cursor_after_key("Tab", Some(3), 5), CursorKey::Ignore);
        assert_eq!(cursor_after_key("ArrowLeft", None, 0), CursorKey::Ignore);
    }

    #[test]
    fn the_reading_names_every_line_at_the_cursor_time() {
        let registrations = line("Registrations", &[3.0, 14.0], 10 * MINUTE_MS);
        let mut cancellations = line("Cancellations", &[1.0, 2.0], 10 * MINUTE_MS);
        cancellations.points.truncate(1);
        let data = ChartData::new(&[registrations, cancellations], (START, START + HOUR_MS));
        let at = START + 10 * MINUTE_MS;
        assert_eq!(data.values_at(at), vec![Some(14.0), None]);
        assert_eq!(
            reading_words("14:10", &data, &data.values_at(at), Unit::Count),
            "14:10: Registrations 14, Cancellations no data."
        );
    }

    #[test]
    fn description_names_lowest_highest_and_latest_of_each_line() {
        let registrations = line("Registrations", &[0.0, 22.0, 9.0, 14.0], 10 * MINUTE_MS);
        let success = line("Login success", &[0.991, 0.991], 10 * MINUTE_MS);
        let quiet = line("Cancellations", &[], 10 * MINUTE_MS);
        let data = ChartData::new(&[registrations, quiet], (START, START + HOUR_MS));
        let moment = |ms: i64| format!("+{}min", (ms - START) / MINUTE_MS);
        assert_eq!(
            describe(&data, Unit::Count, moment),
            vec![
                "Registrations: from 0 to 22, latest 14 at +30min.".to_owned(),
                "Cancellations: no data in this period.".to_owned(),
            ]
        );
        let data = ChartData::new(&[success], (START, START + HOUR_MS));
        assert_eq!(
            describe(&data, Unit::Ratio, moment),
            vec!["Login success: steady at 99.1%, latest at +10min."]
        );
    }

    #[test]
    fn legend_and_tooltip_items_show_each_line_with_its_dash_and_escaped_name() {
        let data = ChartData::new(
            &[
                line("<b>North</b> & \"east\"", &[3.0, 14.0], 10 * MINUTE_MS),
                line("South", &[1.0], 10 * MINUTE_MS),
            ],
            (START, START + HOUR_MS),
        );
        let legend = line_items_html(&data, None, Unit::Count);
        assert_eq!(legend.matches("<li>").count(), 2);
        assert!(
            legend.contains(r#"chart-colour-1" viewBox="0 0 24 8" aria-hidden="true"><line x1="0" y1="4" x2="24" y2="4" stroke-dasharray="none"/>"#),
            "{legend}"
        );
        assert!(
            legend.contains(r#"chart-colour-2""#) && legend.contains(r#"stroke-dasharray="8 4""#),
            "{legend}"
        );
        assert!(
            legend.contains("&lt;b&gt;North&lt;/b&gt; &amp; &quot;east&quot;"),
            "{legend}"
        );
        assert!(
            !legend.contains("<b>") && !legend.contains("chart-value"),
            "{legend}"
        );
        let at = START + 10 * MINUTE_MS;
        let tooltip = line_items_html(&data, Some(&data.values_at(at)), Unit::Count);
        assert!(
            tooltip.contains(r#"<span class="chart-value">14</span>"#),
            "{tooltip}"
        );
        assert!(
            tooltip.contains(r#"<span class="chart-value">no data</span>"#),
            "{tooltip}"
        );
    }

    #[test]
    fn an_empty_chart_says_there_is_no_data() {
        let data = ChartData::new(&[], (START, START + HOUR_MS));
        assert!(data.is_empty());
        assert_eq!(
            describe(&data, Unit::Count, |_| unreachable!()),
            vec!["No data in this period."]
        );
        assert_eq!(
            ChartGeometry::new(&data, Unit::Count, (600.0, 220.0), |_| 30.0, utc),
            None
        );
    }
}
