//! The patient journey's arithmetic: which journeys reached each step, in order, joined by a
//! pseudonymous id. Pure, so each count can be worked out by hand.
//!
//! A journey begins with its first line of the first step in the range. It reaches a later step
//! when a line of that step with the same id comes at or after the time it reached the step
//! before; the earliest such line is when it reached it. A journey counts once per step however
//! many lines it has there, and belongs to the group (the clinic) of the line that began it.

use std::collections::{BTreeMap, HashMap};

/// One line of one step: when, whose journey (a keyed hash, never an identifier), and its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLine {
    pub time_ns: i64,
    pub journey: [u8; 32],
    pub group: Option<String>,
}

/// Journeys reaching each step, in all and per group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    pub reached: Vec<u64>,
    pub by_group: BTreeMap<String, Vec<u64>>,
}

/// Counts the journeys through `steps`: each step's lines, in any order.
pub fn count(steps: &[Vec<StepLine>]) -> Funnel {
    let mut funnel = Funnel {
        reached: vec![0; steps.len()],
        by_group: BTreeMap::new(),
    };
    let Some(first) = steps.first() else {
        return funnel;
    };
    // Each journey's start: its earliest first-step line, and that line's group.
    let mut journeys: HashMap<[u8; 32], (i64, Option<String>)> = HashMap::new();
    for line in first {
        journeys
            .entry(line.journey)
            .and_modify(|start| {
                if line.time_ns < start.0 {
                    *start = (line.time_ns, line.group.clone());
                }
            })
            .or_insert((line.time_ns, line.group.clone()));
    }
    let mut at: HashMap<[u8; 32], i64> = journeys.iter().map(|(id, (time, _))| (*id, *time)).collect();
    let mut reached_by_step = vec![at.keys().copied().collect::<Vec<_>>()];
    for lines in &steps[1..] {
        // Each journey's lines of this step, earliest first.
        let mut times: HashMap<[u8; 32], Vec<i64>> = HashMap::new();
        for line in lines {
            times.entry(line.journey).or_default().push(line.time_ns);
        }
        let mut next = HashMap::new();
        for (id, since) in &at {
            if let Some(reached) = times
                .get(id)
                .and_then(|times| times.iter().copied().filter(|time| time >= since).min())
            {
                next.insert(*id, reached);
            }
        }
        reached_by_step.push(next.keys().copied().collect());
        at = next;
    }
    for (step, ids) in reached_by_step.iter().enumerate() {
        funnel.reached[step] = ids.len() as u64;
        for id in ids {
            if let Some((_, Some(group))) = journeys.get(id) {
                funnel
                    .by_group
                    .entry(group.clone())
                    .or_insert_with(|| vec![0; steps.len()])[step] += 1;
            }
        }
    }
    funnel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time_ns: i64, who: u8, group: &str) -> StepLine {
        StepLine {
            time_ns,
            journey: [who; 32],
            group: Some(group.to_owned()),
        }
    }

    #[test]
    fn journeys_count_once_per_step_in_order() {
        let registered = vec![
            line(10, 1, "north"),
            line(20, 2, "north"),
            line(30, 3, "south"),
            line(40, 1, "north"),
        ];
        // 1 books twice, 2 books before registering (not in order), 4 never registered.
        let booked = vec![
            line(15, 1, "north"),
            line(16, 1, "north"),
            line(5, 2, "north"),
            line(50, 3, "south"),
            line(60, 4, "east"),
        ];
        // 1 sees a doctor after booking; 3 saw one before booking (not in order).
        let seen = vec![line(17, 1, "north"), line(45, 3, "south")];
        let funnel = count(&[registered, booked, seen]);
        assert_eq!(funnel.reached, [3, 2, 1]);
        assert_eq!(funnel.by_group["north"], [2, 1, 1]);
        assert_eq!(funnel.by_group["south"], [1, 1, 0]);
        assert!(
            !funnel.by_group.contains_key("east"),
            "a journey belongs to the group it began in"
        );
    }

    #[test]
    fn a_journey_begins_at_its_earliest_first_step_line() {
        // Registered twice: the journey begins at 10 in north, so a booking at 12 follows it.
        let funnel = count(&[
            vec![line(30, 1, "south"), line(10, 1, "north")],
            vec![line(12, 1, "north")],
        ]);
        assert_eq!(funnel.reached, [1, 1]);
        assert_eq!(funnel.by_group["north"], [1, 1]);
        assert!(!funnel.by_group.contains_key("south"));
    }

    #[test]
    fn a_step_at_the_same_moment_counts_as_after() {
        assert_eq!(
            count(&[vec![line(10, 1, "a")], vec![line(10, 1, "a")]]).reached,
            [1, 1]
        );
    }

    #[test]
    fn no_lines_no_journeys() {
        assert_eq!(count(&[Vec::new(), vec![line(1, 1, "a")]]).reached, [0, 0]);
        assert_eq!(count(&[]).reached, Vec::<u64>::new());
    }
}
