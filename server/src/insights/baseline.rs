//! Whether now is unusual: the band the same hour of the last four weeks spans, and where now
//! lies against it. Weekly, so a Monday morning is compared with Monday mornings.

use vitals_api::{Baseline, BaselineVerdict};

use super::slo::budget::DAY_MS;

/// How many earlier weeks make the band.
pub const WEEKS: i64 = 4;
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// The band of `earlier` (the same hour one, two, three and four weeks ago, where measured) and
/// the verdict on `now`. Two earlier weeks at least make a band; now counts as unusual when it
/// lies beyond the band by more than a quarter of its width, and by more than `slack` (so a
/// flat band of zeros does not call the smallest change unusual).
pub fn against(now: Option<f64>, earlier: &[Option<f64>], slack: f64) -> Option<Baseline> {
    let known: Vec<f64> = earlier
        .iter()
        .flatten()
        .copied()
        .filter(|value| value.is_finite())
        .collect();
    let low = known.iter().copied().reduce(f64::min)?;
    let high = known.iter().copied().reduce(f64::max)?;
    let margin = ((high - low) * 0.25).max(slack);
    let verdict = match now {
        _ if known.len() < 2 => BaselineVerdict::Unknown,
        None => BaselineVerdict::Unknown,
        Some(value) if value > high + margin => BaselineVerdict::Higher,
        Some(value) if value < low - margin => BaselineVerdict::Lower,
        Some(_) => BaselineVerdict::Usual,
    };
    Some(Baseline {
        low,
        high,
        weeks: known.len() as u32,
        now,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_within_the_band_of_earlier_weeks_is_usual() {
        let band = against(Some(0.012), &[Some(0.01), Some(0.015), None, Some(0.011)], 0.001).unwrap();
        assert_eq!((band.low, band.high, band.weeks), (0.01, 0.015, 3));
        assert_eq!(band.verdict, BaselineVerdict::Usual);
    }

    #[test]
    fn now_beyond_the_band_and_its_margin_is_higher_or_lower() {
        let earlier = [Some(0.01), Some(0.02), Some(0.015), Some(0.012)];
        // The margin is a quarter of the width (0.0025) or the slack, whichever is larger.
        assert_eq!(
            against(Some(0.0224), &earlier, 0.0).unwrap().verdict,
            BaselineVerdict::Usual
        );
        assert_eq!(
            against(Some(0.0226), &earlier, 0.0).unwrap().verdict,
            BaselineVerdict::Higher
        );
        assert_eq!(
            against(Some(0.0074), &earlier, 0.0).unwrap().verdict,
            BaselineVerdict::Lower
        );
        assert_eq!(
            against(Some(0.0226), &earlier, 0.01).unwrap().verdict,
            BaselineVerdict::Usual
        );
    }

    #[test]
    fn a_flat_band_of_zeros_needs_more_than_the_slack() {
        let zeros = [Some(0.0); 4];
        assert_eq!(
            against(Some(0.0005), &zeros, 0.001).unwrap().verdict,
            BaselineVerdict::Usual
        );
        assert_eq!(
            against(Some(0.3), &zeros, 0.001).unwrap().verdict,
            BaselineVerdict::Higher
        );
    }

    #[test]
    fn too_few_weeks_or_nothing_now_cannot_say() {
        assert_eq!(
            against(Some(1.0), &[Some(0.0), None, None, None], 0.0)
                .unwrap()
                .verdict,
            BaselineVerdict::Unknown
        );
        assert_eq!(
            against(None, &[Some(0.0); 4], 0.0).unwrap().verdict,
            BaselineVerdict::Unknown
        );
        assert!(against(Some(1.0), &[None; 4], 0.0).is_none());
    }
}
