//! Prometheus' JSON for series and samples, in which Loki answers its metric queries too.

use serde::Deserialize;
use serde::de::IgnoredAny;
use vitals_api::{Labels, Point, Series};

/// One series of a matrix: `{"metric": {…}, "values": [[<unix seconds>, "<value>"], …]}`.
#[derive(Deserialize)]
pub(crate) struct RangeSeries {
    #[serde(default)]
    pub metric: Labels,
    #[serde(default)]
    pub values: Vec<Sample>,
    /// Native histogram samples, which a `Point` cannot hold.
    #[serde(default)]
    pub histograms: Option<IgnoredAny>,
}

impl RangeSeries {
    pub fn into_series(self) -> Series {
        Series {
            labels: self.metric,
            points: self.values.into_iter().map(|Sample(point)| point).collect(),
        }
    }
}

/// One sample of a vector: `{"metric": {…}, "value": [<unix seconds>, "<value>"]}`.
#[derive(Deserialize)]
pub(crate) struct InstantSample {
    #[serde(default)]
    pub metric: Labels,
    /// Left out when the sample is a native histogram.
    #[serde(default)]
    pub value: Option<Sample>,
    #[serde(default)]
    pub histogram: Option<IgnoredAny>,
}

impl InstantSample {
    /// The sample as a one-point series; `None` for a native histogram.
    pub fn into_series(self) -> Option<Series> {
        let Sample(point) = self.value?;
        Some(Series {
            labels: self.metric,
            points: vec![point],
        })
    }
}

/// `[<unix seconds>, "<value>"]`; the value may be `NaN`, `+Inf` or `-Inf`.
#[derive(Deserialize)]
#[serde(try_from = "(f64, String)")]
pub(crate) struct Sample(pub Point);

impl TryFrom<(f64, String)> for Sample {
    type Error = String;

    fn try_from((seconds, value): (f64, String)) -> Result<Self, Self::Error> {
        let value = parse_value(&value).ok_or_else(|| format!("a sample value {value:?} is not a number"))?;
        Ok(Self(Point((seconds * 1000.0).round() as i64, value)))
    }
}

/// Both write values with Go's `strconv.FormatFloat`: digits, `NaN`, `+Inf` or `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok().filter(|value: &f64| value.is_finite()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_go_floats_and_refuse_anything_else() {
        let read = |json: &str| serde_json::from_str::<Sample>(json).map(|Sample(point)| point);
        assert_eq!(
            read(r#"[1700000000.5, "2.5"]"#).unwrap(),
            Point(1_700_000_000_500, 2.5)
        );
        assert!(read(r#"[1, "NaN"]"#).unwrap().1.is_nan());
        assert_eq!(read(r#"[1, "+Inf"]"#).unwrap().1, f64::INFINITY);
        assert_eq!(read(r#"[1, "-Inf"]"#).unwrap().1, f64::NEG_INFINITY);
        assert!(read(r#"[1, "infinity"]"#).is_err(), "Rust's spelling is not Go's");
        assert!(read(r#"[1, "many"]"#).is_err());
    }

    #[test]
    fn a_histogram_sample_has_no_point_to_show() {
        let sample: InstantSample =
            serde_json::from_str(r#"{"metric": {"a": "b"}, "histogram": [1, {}]}"#).unwrap();
        assert!(sample.histogram.is_some());
        assert!(sample.into_series().is_none());
    }
}
