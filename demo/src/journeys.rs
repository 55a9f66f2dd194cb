//! The patient journeys the simulation produces, counted from its events: the ground truth a
//! journey view read from the logs must equal. A patient who registers may book an appointment
//! up to 20 minutes later and see a doctor up to 40 minutes after that; how many do, per
//! clinic, is set in the simulation (`BOOKS_AFTER_REGISTERING`, `SEES_AFTER_BOOKING`).

use std::collections::HashMap;

use vitals_api::query::TimeRange;

use crate::DemoClinic;
use crate::people::Person;
use crate::simulation::EventKind;

impl DemoClinic {
    /// How many patients registered in `range` (at `clinic`, or anywhere), how many of them then
    /// booked an appointment, and how many of those then saw a doctor, all within the range.
    /// A patient counts once per step, from their first registration in the range.
    pub fn journey_truth(&self, range: TimeRange, clinic: Option<&str>) -> [u64; 3] {
        let clinics = self.simulation.clinics();
        // Each patient's registration (time, clinic), booking and visit times.
        let mut registered: HashMap<u32, (i64, Option<u16>)> = HashMap::new();
        let mut booked: HashMap<u32, Vec<i64>> = HashMap::new();
        let mut seen: HashMap<u32, Vec<i64>> = HashMap::new();
        // Patients as the logs name them: two registrations with the same patient id are one patient.
        self.simulation.for_each_event(range, |event| {
            let at = event.end_ms();
            let patient = Person::of_event(event.patient_key).patient_id;
            match event.kind {
                EventKind::Registration { accepted: true } => {
                    let entry = registered.entry(patient).or_insert((at, event.clinic));
                    if at < entry.0 {
                        *entry = (at, event.clinic);
                    }
                }
                EventKind::AppointmentBooked { .. } => booked.entry(patient).or_default().push(at),
                EventKind::DoctorInteraction { .. } => seen.entry(patient).or_default().push(at),
                _ => {}
            }
        });
        let mut counts = [0u64; 3];
        for (patient, (at, at_clinic)) in registered {
            let name = at_clinic.and_then(|index| clinics.get(usize::from(index)));
            if clinic.is_some_and(|wanted| name.map(String::as_str) != Some(wanted)) {
                continue;
            }
            counts[0] += 1;
            let after = |times: Option<&Vec<i64>>, since: i64| {
                times.and_then(|times| times.iter().copied().filter(|time| *time >= since).min())
            };
            let Some(booked_at) = after(booked.get(&patient), at) else {
                continue;
            };
            counts[1] += 1;
            if after(seen.get(&patient), booked_at).is_some() {
                counts[2] += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DemoConfig;

    /// Tuesday 2026-11-24, 08:00 to 12:00 UTC.
    const MORNING: TimeRange = TimeRange {
        start_ms: 1_795_507_200_000,
        end_ms: 1_795_507_200_000 + 4 * 3_600_000,
    };

    #[test]
    fn most_who_register_book_and_most_who_book_see_a_doctor() {
        let clinic = DemoClinic::new(DemoConfig::default());
        let [registered, booked, seen] = clinic.journey_truth(MORNING, None);
        assert!(registered > 300, "{registered}");
        let book_share = booked as f64 / registered as f64;
        // About 70% book across the clinics, less the ones whose booking falls after the range.
        assert!((0.6..0.78).contains(&book_share), "{book_share}");
        let see_share = seen as f64 / booked as f64;
        assert!((0.7..0.88).contains(&see_share), "{see_share}");
    }

    #[test]
    fn the_south_clinic_loses_more_patients_before_booking() {
        let clinic = DemoClinic::new(DemoConfig::default());
        let share = |name| {
            let [registered, booked, _] = clinic.journey_truth(MORNING, Some(name));
            booked as f64 / registered as f64
        };
        assert!(
            share("south") + 0.1 < share("north"),
            "south {} north {}",
            share("south"),
            share("north")
        );
        let all = clinic.journey_truth(MORNING, None);
        let parts: Vec<[u64; 3]> = ["north", "south", "east"]
            .iter()
            .map(|name| clinic.journey_truth(MORNING, Some(name)))
            .collect();
        assert_eq!(all[0], parts.iter().map(|part| part[0]).sum::<u64>());
    }
}
