//! The service map: the clinic's services and the AWS resources they call, callers left of what
//! they call, each call with its rate, failures and p95 latency. A failing call is red with a
//! cross and the word "failing"; a node or call opens the traces through it, the failing ones
//! first when it fails.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{CallStats, NodeKind, ServiceMap};

use crate::api::{self, percent_encode};
use crate::components::loaded::Loaded;
use crate::components::time_picker::{TimePicker, relative_ms};
use crate::pages::traces::search::SearchForm;

/// Failed calls at or above this share make a call or node "failing" (red).
const FAILING_SHARE: f64 = 0.05;
/// At or above this share, "degraded" (yellow).
const DEGRADED_SHARE: f64 = 0.01;

/// How a node or call is doing, from its share of failed calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Degraded,
    Failing,
    /// No calls in the range.
    Idle,
}

impl Health {
    pub fn of(stats: &CallStats) -> Self {
        if stats.requests == 0 {
            return Self::Idle;
        }
        match failed_share(stats) {
            share if share >= FAILING_SHARE => Self::Failing,
            share if share >= DEGRADED_SHARE => Self::Degraded,
            _ => Self::Healthy,
        }
    }

    /// The word, the mark and the class: never colour alone.
    pub fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Healthy => ("healthy", "✓", "health-ok"),
            Self::Degraded => ("degraded", "▲", "health-degraded"),
            Self::Failing => ("failing", "✖", "health-failing"),
            Self::Idle => ("no calls", "–", "health-idle"),
        }
    }
}

/// The share of calls that ended in an error, fault or throttle.
pub fn failed_share(stats: &CallStats) -> f64 {
    if stats.requests == 0 {
        return 0.0;
    }
    (stats.errors + stats.faults + stats.throttles) as f64 / stats.requests as f64
}

/// The outcome a failing node or call's traces are searched for: the commoner of faults and
/// errors (throttles when neither), or any outcome for a healthy one.
fn failing_status(stats: &CallStats) -> &'static str {
    if !matches!(Health::of(stats), Health::Failing | Health::Degraded) {
        return "";
    }
    if stats.faults >= stats.errors && stats.faults > 0 {
        "fault"
    } else if stats.errors > 0 {
        "error"
    } else {
        "throttle"
    }
}

/// The trace search for the calls from `source` to `target` (or through `source` alone), over
/// the map's range.
pub fn traces_through(source: &str, target: Option<&str>, stats: &CallStats, from: &str, to: &str) -> String {
    let quoted = |name: &str| format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
    let filter = match target {
        Some(target) => format!("edge({}, {})", quoted(source), quoted(target)),
        None => format!("service({})", quoted(source)),
    };
    SearchForm {
        status: failing_status(stats).to_owned(),
        filter,
        from: from.to_owned(),
        to: to.to_owned(),
        ..SearchForm::default()
    }
    .url()
}

/// Calls per minute over a range of `range_ms`, or the count when the range is not known.
fn rate_words(stats: &CallStats, range_ms: Option<i64>) -> String {
    match range_ms {
        Some(ms) if ms > 0 => {
            let per_minute = stats.requests as f64 / (ms as f64 / 60_000.0);
            if per_minute >= 10.0 {
                format!("{per_minute:.0}/min")
            } else {
                format!("{per_minute:.1}/min")
            }
        }
        _ => format!("{} calls", stats.requests),
    }
}

/// A call's rate, failures and p95 latency in a few words, for a range of `range_ms`.
pub fn call_words(stats: &CallStats, range_ms: Option<i64>) -> String {
    let rate = rate_words(stats, range_ms);
    format!(
        "{rate} · {:.1}% failed · p95 {:.0} ms",
        failed_share(stats) * 100.0,
        stats.latency_p95_ms
    )
}

fn map_url(from: &str, to: &str) -> String {
    format!(
        "/engineering/map?from={}&to={}",
        percent_encode(from),
        percent_encode(to)
    )
}

#[component]
pub fn ServiceMapPage() -> impl IntoView {
    crate::pages::set_page_title("Service map");
    let params = use_query_map();
    let navigate = use_navigate();
    let from = Memo::new(move |_| params.read().get("from").unwrap_or_else(|| "now-1h".to_owned()));
    let to = Memo::new(move |_| params.read().get("to").unwrap_or_else(|| "now".to_owned()));
    let on_range = Callback::new(move |(from, to): (String, String)| {
        navigate(&map_url(&from, &to), NavigateOptions::default());
    });
    let answer = LocalResource::new(move || {
        let (from, to) = (from.get(), to.get());
        async move { api::service_map(&from, &to).await }
    });
    let retry = Callback::new(move |()| answer.refetch());
    view! {
        <section class="area service-map" aria-labelledby="map-heading">
            <div class="area-head">
                <h1 id="map-heading">"Service map"</h1>
                <A href="/engineering/traces">"Search traces"</A>
            </div>
            <div class="query-bar">
                <TimePicker from to on_change=on_range />
            </div>
            <Loaded lines=8 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| answer.map(|map| view! { <MapDrawing map from=from.get_untracked() to=to.get_untracked() /> }))
                }}
            </Loaded>
        </section>
    }
}

/// The map drawn, and the same calls as a table.
#[component]
fn MapDrawing(map: ServiceMap, from: String, to: String) -> impl IntoView {
    let Some(layout) = map.layout.clone().filter(|layout| !layout.nodes.is_empty()) else {
        return view! {
            <p class="empty-state" data-testid="map-empty">
                "No calls were traced in this range. Widen the range, or check that the services send their traces."
            </p>
        }
        .into_any();
    };
    let range_ms = relative_ms(&from);
    let navigate = use_navigate();
    let place = |name: &str| layout.nodes.iter().find(|node| node.name == name);
    let (node_width, node_height) = (layout.node_width, layout.node_height);
    let edges = map
        .edges
        .iter()
        .filter_map(|edge| {
            let (source, target) = (place(&edge.source)?, place(&edge.target)?);
            let (x1, y1) = (source.x + node_width, source.y + node_height / 2.0);
            let (x2, y2) = (target.x, target.y + node_height / 2.0);
            let bend = ((x2 - x1) / 2.0).max(20.0);
            let path = format!("M{x1} {y1} C{} {y1} {} {y2} {x2} {y2}", x1 + bend, x2 - bend);
            let health = Health::of(&edge.stats);
            let (words, mark, class) = health.words();
            let label = format!(
                "{mark} {:.1}% failed · {}",
                failed_share(&edge.stats) * 100.0,
                rate_words(&edge.stats, range_ms)
            );
            let title = format!(
                "{} → {}, {words}: {}",
                edge.source,
                edge.target,
                call_words(&edge.stats, range_ms)
            );
            let url = traces_through(&edge.source, Some(&edge.target), &edge.stats, &from, &to);
            let navigate = navigate.clone();
            let (mid_x, mid_y) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 6.0);
            Some(view! {
                <g
                    class=format!("map-edge {class}")
                    data-testid="map-edge"
                    data-health=words
                    data-edge=format!("{} → {}", edge.source, edge.target)
                    on:click=move |_| navigate(&url, NavigateOptions::default())
                >
                    <title>{title}</title>
                    <path class="edge-hit" d=path.clone() />
                    <path class="edge-line" d=path marker-end="url(#arrow)" />
                    <text x=mid_x y=mid_y text-anchor="middle">{label}</text>
                </g>
            })
        })
        .collect_view();
    let nodes = map
        .nodes
        .iter()
        .filter_map(|node| {
            let place = place(&node.name)?;
            let health = Health::of(&node.stats);
            let (words, mark, class) = health.words();
            let kind = match node.kind {
                NodeKind::Service => "service",
                NodeKind::Aws => "AWS",
            };
            let url = traces_through(&node.name, None, &node.stats, &from, &to);
            let navigate = navigate.clone();
            Some(view! {
                <g
                    class=format!("map-node {class}")
                    data-testid="map-node"
                    data-health=words
                    on:click=move |_| navigate(&url, NavigateOptions::default())
                >
                    <title>{format!("{} ({kind}), {words}: {}", node.name, call_words(&node.stats, range_ms))}</title>
                    <rect x=place.x y=place.y width=node_width height=node_height rx="6" />
                    <text x=place.x + 10.0 y=place.y + 20.0 class="node-name">{node.name.clone()}</text>
                    <text x=place.x + 10.0 y=place.y + 38.0 class="node-health">{format!("{mark} {words} · {kind}")}</text>
                </g>
            })
        })
        .collect_view();
    let rows = map
        .edges
        .iter()
        .map(|edge| {
            let (words, mark, class) = Health::of(&edge.stats).words();
            let url = traces_through(&edge.source, Some(&edge.target), &edge.stats, &from, &to);
            view! {
                <tr>
                    <th scope="row"><A href=url>{format!("{} → {}", edge.source, edge.target)}</A></th>
                    <td class=class><span aria-hidden="true">{mark}</span>" "{words}</td>
                    <td>{call_words(&edge.stats, range_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    let margin = 60.0;
    view! {
        <figure class="map-figure">
            <svg
                viewBox=format!("-20 -30 {} {}", layout.width + margin, layout.height + margin)
                role="img"
                aria-label="Which service calls which; the table below lists the same calls"
                data-testid="service-map"
            >
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                {edges}
                {nodes}
            </svg>
            <figcaption>"✓ healthy · ▲ degraded (1% of calls or more failed) · ✖ failing (5% or more). Choose a service or a call to see its traces."</figcaption>
        </figure>
        <div class="table-scroll">
            <table class="sources">
                <caption>"Calls between services"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Call"</th>
                        <th scope="col">"Health"</th>
                        <th scope="col">"Rate, failures and p95"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(requests: u64, errors: u64, faults: u64) -> CallStats {
        CallStats {
            requests,
            errors,
            faults,
            throttles: 0,
            latency_avg_ms: 20.0,
            latency_p95_ms: 120.0,
        }
    }

    #[test]
    fn health_follows_the_share_of_failed_calls() {
        let cases = [
            (stats(0, 0, 0), Health::Idle),
            (stats(1000, 0, 0), Health::Healthy),
            (stats(1000, 9, 0), Health::Healthy),
            (stats(1000, 10, 0), Health::Degraded),
            (stats(1000, 0, 49), Health::Degraded),
            (stats(1000, 30, 20), Health::Failing),
        ];
        for (stats, health) in cases {
            assert_eq!(Health::of(&stats), health, "{stats:?}");
        }
        assert_eq!(Health::Failing.words().0, "failing");
    }

    #[test]
    fn a_failing_call_opens_its_failing_traces_and_a_healthy_one_all() {
        let red = traces_through(
            "login-api",
            Some("DynamoDB"),
            &stats(100, 30, 0),
            "now-15m",
            "now",
        );
        assert!(red.contains("status=error"), "{red}");
        assert!(
            red.contains(&format!(
                "filter={}",
                percent_encode(r#"edge("login-api", "DynamoDB")"#)
            )),
            "{red}"
        );
        let healthy = traces_through("records-api", None, &stats(100, 0, 0), "now-1h", "now");
        assert!(!healthy.contains("status="), "{healthy}");
        assert!(
            healthy.contains(&percent_encode(r#"service("records-api")"#)),
            "{healthy}"
        );
    }

    #[test]
    fn a_call_reads_as_rate_failures_and_latency() {
        assert_eq!(
            call_words(&stats(900, 90, 0), relative_ms("now-15m")),
            "60/min · 10.0% failed · p95 120 ms"
        );
        assert_eq!(
            call_words(&stats(3, 0, 0), None),
            "3 calls · 0.0% failed · p95 120 ms"
        );
        assert_eq!(relative_ms("now-2d"), Some(172_800_000));
        assert_eq!(relative_ms("2026-11-24T10:00:00Z"), None);
    }
}
