//! A small inline SVG chart of a panel's recent values, with a sentence describing it.

use leptos::prelude::*;
use vitals_api::{Point, Unit};

use crate::format::{decimal, duration_words, format_value};

/// Drawing area of the chart, in SVG user units; CSS stretches it to the card.
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 64.0;
/// Room above and below the line so its stroke is never clipped.
const PAD: f64 = 3.0;

/// A line and the area under it, computed from a series.
#[derive(Debug, Clone, PartialEq)]
pub struct SparklineGeometry {
    /// `points` attribute of the polyline: `x,y x,y …`.
    pub line: String,
    /// `d` attribute of the filled area under the line.
    pub area: String,
    pub min: f64,
    pub max: f64,
    /// Time between two points, in milliseconds.
    pub step_ms: i64,
    /// Time the series covers, counting the last point's interval.
    pub span_ms: i64,
}

impl SparklineGeometry {
    /// Scales the points into the chart; `None` with fewer than two usable points.
    pub fn new(points: &[Point]) -> Option<Self> {
        let points: Vec<Point> = points
            .iter()
            .copied()
            .filter(|point| point.1.is_finite())
            .collect();
        let (first, last) = (points.first()?, points.last()?);
        if points.len() < 2 || last.0 <= first.0 {
            return None;
        }
        let (min, max) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), point| {
                (min.min(point.1), max.max(point.1))
            });
        let duration = (last.0 - first.0) as f64;
        let x = |time: i64| (time - first.0) as f64 / duration * WIDTH;
        let y = |value: f64| {
            if max > min {
                PAD + (max - value) / (max - min) * (HEIGHT - 2.0 * PAD)
            } else {
                // A flat series sits in the middle rather than on an edge.
                HEIGHT / 2.0
            }
        };
        let coordinates: Vec<String> = points
            .iter()
            .map(|point| format!("{},{}", coordinate(x(point.0)), coordinate(y(point.1))))
            .collect();
        let line = coordinates.join(" ");
        let (width, height) = (coordinate(WIDTH), coordinate(HEIGHT));
        let area = format!("M0,{height} L{} L{width},{height} Z", coordinates.join(" L"));
        let step_ms = (last.0 - first.0) / (points.len() as i64 - 1);
        Some(Self {
            line,
            area,
            min,
            max,
            step_ms,
            span_ms: last.0 - first.0 + step_ms,
        })
    }

    /// What the chart shows, for people who cannot see it.
    pub fn describe(&self, title: &str, unit: Unit) -> String {
        format!(
            "{title}: one point every {} over the last {}, from {} to {}",
            duration_words(self.step_ms),
            duration_words(self.span_ms),
            format_value(self.min, unit),
            format_value(self.max, unit),
        )
    }
}

/// Two decimals at most are more than enough for a chart this size and keep the markup short.
fn coordinate(value: f64) -> String {
    let text = decimal(value, 2);
    if let Some(whole) = text.strip_suffix(".00") {
        return whole.to_owned();
    }
    match text.strip_suffix('0') {
        Some(shorter) => shorter.to_owned(),
        None => text,
    }
}

/// The chart of a panel's series; a short note instead when there is too little to draw.
#[component]
pub fn Sparkline(points: Vec<Point>, title: String, unit: Unit) -> impl IntoView {
    match SparklineGeometry::new(&points) {
        Some(geometry) => {
            let description = geometry.describe(&title, unit);
            let label = description.clone();
            view! {
                <svg
                    class="sparkline"
                    viewBox=format!("0 0 {} {}", coordinate(WIDTH), coordinate(HEIGHT))
                    preserveAspectRatio="none"
                    role="img"
                    aria-label=label
                >
                    <title>{description}</title>
                    <path class="sparkline-area" d=geometry.area />
                    <polyline
                        class="sparkline-line"
                        points=geometry.line
                        vector-effect="non-scaling-stroke"
                    />
                </svg>
            }
            .into_any()
        }
        None => view! { <p class="sparkline-empty">"Not enough recent data for a chart yet."</p> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_MINUTES: i64 = 5 * 60 * 1000;

    fn series(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(index, value)| Point(1_700_000_000_000 + index as i64 * FIVE_MINUTES, *value))
            .collect()
    }

    #[test]
    fn highest_value_is_at_the_top_and_lowest_at_the_bottom() {
        let geometry = SparklineGeometry::new(&series(&[12.0, 31.0, 20.0])).unwrap();
        assert_eq!(geometry.line, "0,61 150,3 300,36.58");
        assert_eq!(geometry.area, "M0,64 L0,61 L150,3 L300,36.58 L300,64 Z");
        assert_eq!((geometry.min, geometry.max), (12.0, 31.0));
    }

    #[test]
    fn flat_series_is_drawn_across_the_middle() {
        let geometry = SparklineGeometry::new(&series(&[7.0, 7.0, 7.0])).unwrap();
        assert_eq!(geometry.line, "0,32 150,32 300,32");
    }

    #[test]
    fn fewer_than_two_points_draw_nothing() {
        assert_eq!(SparklineGeometry::new(&[]), None);
        assert_eq!(SparklineGeometry::new(&series(&[3.0])), None);
        assert_eq!(SparklineGeometry::new(&series(&[3.0, f64::NAN])), None);
    }

    #[test]
    fn description_names_the_step_the_span_and_the_range() {
        let values: Vec<f64> = (0..72).map(|index| 12.0 + f64::from(index % 20)).collect();
        let geometry = SparklineGeometry::new(&series(&values)).unwrap();
        assert_eq!(
            geometry.describe("Registrations", Unit::Count),
            "Registrations: one point every 5 minutes over the last 6 hours, from 12 to 31"
        );
    }

    #[test]
    fn ratio_description_reads_as_percentages() {
        let geometry = SparklineGeometry::new(&series(&[0.95, 0.991])).unwrap();
        assert!(
            geometry
                .describe("Login success", Unit::Ratio)
                .ends_with("from 95.0% to 99.1%"),
            "{}",
            geometry.describe("Login success", Unit::Ratio)
        );
    }
}
