//! The journey in sentences a clinic manager reads: "Of 142 patients who registered in the last
//! 24 hours, 96 booked an appointment (68%), below the usual 74%; the drop is in clinic south."

use vitals_api::{JourneyGroup, JourneyStep};

use super::Journey;
use crate::dashboards::words::number;

fn count(value: u64) -> String {
    number(value as f64, vitals_api::Unit::Count)
}

/// Shares closer than this to the usual one are "as usual".
const USUAL_WITHIN: f64 = 0.03;
/// A group needs this many journeys at the step before to be named as where a drop is.
const GROUP_AT_LEAST: u64 = 10;

fn percent(share: f64) -> String {
    format!("{}%", (share * 100.0).round())
}

fn patients(count: u64) -> &'static str {
    if count == 1 { "patient" } else { "patients" }
}

/// How a share compares with the usual one.
fn against_usual(share: f64, usual: Option<f64>) -> Option<(String, i8)> {
    let usual = usual?;
    Some(if share < usual - USUAL_WITHIN {
        (format!("below the usual {}", percent(usual)), -1)
    } else if share > usual + USUAL_WITHIN {
        (format!("above the usual {}", percent(usual)), 1)
    } else {
        ("as usual".to_owned(), 0)
    })
}

/// The group whose share at `index` fell the most below its own usual one, if one did.
fn drop_in(groups: &[JourneyGroup], index: usize) -> Option<&str> {
    groups
        .iter()
        .filter_map(|group| {
            let before = group.steps.get(index.checked_sub(1)?)?;
            let step = group.steps.get(index)?;
            if before.reached < GROUP_AT_LEAST {
                return None;
            }
            let fall = step.usual_share_of_previous? - step.share_of_previous?;
            (fall > USUAL_WITHIN).then_some((group.name.as_str(), fall))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
}

/// The funnel in sentences: the first step, then each later one against the usual share, naming
/// the group where a drop is.
pub fn sentence(
    journey: &Journey,
    steps: &[JourneyStep],
    groups: &[JourneyGroup],
    range_words: &str,
    group: Option<&str>,
) -> String {
    let Some(first) = steps.first() else {
        return String::new();
    };
    let place = group.map_or(String::new(), |name| format!(" in {} {name}", journey.group_noun));
    if first.reached == 0 {
        return format!("No patient {}{place} {range_words}.", journey.steps[0].did);
    }
    let mut sentence = format!(
        "Of {} {} who {}{place} {range_words}",
        count(first.reached),
        patients(first.reached),
        journey.steps[0].did
    );
    for (index, step) in steps.iter().enumerate().skip(1) {
        let share = step.share_of_previous.unwrap_or(0.0);
        let lead = if index == 1 { ", " } else { ". Of those, " };
        sentence.push_str(&format!(
            "{lead}{} {} ({})",
            count(step.reached),
            journey.steps[index].did,
            percent(share)
        ));
        if let Some((words, direction)) = against_usual(share, step.usual_share_of_previous) {
            sentence.push_str(&format!(", {words}"));
            if direction < 0
                && let Some(name) = drop_in(groups, index)
            {
                sentence.push_str(&format!("; the drop is in {} {name}", journey.group_noun));
            }
        }
        if step.reached == 0 {
            break;
        }
    }
    sentence.push('.');
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::journey::{SHIPPED, SHIPPED_FILE, parse};

    fn step(reached: u64, share: Option<f64>, usual: Option<f64>) -> JourneyStep {
        JourneyStep {
            name: String::new(),
            reached,
            share_of_previous: share,
            usual_share_of_previous: usual,
            reached_before: 0,
        }
    }

    fn journey() -> Journey {
        parse(SHIPPED_FILE, SHIPPED).unwrap().remove(0)
    }

    #[test]
    fn a_drop_below_the_usual_share_names_its_clinic() {
        let steps = [
            step(142, None, None),
            step(96, Some(96.0 / 142.0), Some(0.74)),
            step(80, Some(80.0 / 96.0), Some(0.84)),
        ];
        let groups = [
            JourneyGroup {
                name: "north".into(),
                steps: vec![
                    step(80, None, None),
                    step(60, Some(0.75), Some(0.75)),
                    step(50, None, None),
                ],
            },
            JourneyGroup {
                name: "south".into(),
                steps: vec![
                    step(62, None, None),
                    step(36, Some(0.58), Some(0.73)),
                    step(30, None, None),
                ],
            },
        ];
        assert_eq!(
            sentence(&journey(), &steps, &groups, "in the last 24 hours", None),
            "Of 142 patients who registered in the last 24 hours, 96 booked an appointment (68%), below the usual 74%; \
             the drop is in clinic south. Of those, 80 saw a doctor (83%), as usual."
        );
    }

    #[test]
    fn without_an_earlier_period_the_shares_stand_alone() {
        let steps = [
            step(1_410, None, None),
            step(705, Some(0.5), None),
            step(0, Some(0.0), None),
        ];
        assert_eq!(
            sentence(&journey(), &steps, &[], "in the last hour", Some("east")),
            "Of 1,410 patients who registered in clinic east in the last hour, 705 booked an appointment (50%). \
             Of those, 0 saw a doctor (0%)."
        );
    }

    #[test]
    fn nobody_registering_says_so() {
        let steps = [step(0, None, None), step(0, None, None), step(0, None, None)];
        assert_eq!(
            sentence(&journey(), &steps, &[], "in the last hour", None),
            "No patient registered in the last hour."
        );
    }

    #[test]
    fn small_groups_are_not_blamed_for_a_drop() {
        let groups = [JourneyGroup {
            name: "east".into(),
            steps: vec![step(4, None, None), step(1, Some(0.25), Some(0.75))],
        }];
        assert_eq!(drop_in(&groups, 1), None);
    }
}
