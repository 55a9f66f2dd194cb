//! Invented patient-like details (names, birth dates, record numbers, contacts) and ids that the clinic's logs carry; redaction must mask the personal ones.
//!
//! Every value is made up and drawn from ranges reserved for fiction where
//! one exists: phone numbers in Ofcom's drama range (07700 900xxx), e-mail at
//! `example.com`, social security numbers with area 9xx (never issued).

use super::simulation::{Draws, derive};

const FIRST_NAMES: [&str; 24] = [
    "Maria", "Wei", "Amara", "Lukas", "Sofia", "Kenji", "Fatima", "Noah", "Ingrid", "Mateo", "Aisha",
    "Oliver", "Priya", "Jonas", "Elena", "Samuel", "Yara", "Tomasz", "Chloe", "Dmitri", "Nadia", "Hugo",
    "Leila", "Ravi",
];

const LAST_NAMES: [&str; 24] = [
    "Garcia",
    "Silva",
    "Okafor",
    "Berg",
    "Rossi",
    "Tanaka",
    "Haddad",
    "Novak",
    "Larsen",
    "Moreau",
    "Kowalski",
    "Nguyen",
    "Schmidt",
    "Costa",
    "Patel",
    "Murphy",
    "Jensen",
    "Ibrahim",
    "Fischer",
    "Dubois",
    "Sato",
    "Varga",
    "Lindqvist",
    "Mensah",
];

/// Tag that keeps a person's draws apart from the event's own.
const PERSON_TAG: u64 = 0x5045_5253_4f4e;

/// The patient (or user) an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Person {
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) birth_date: (u16, u8, u8),
    /// Medical record number, 8 digits.
    pub(crate) mrn: u32,
    /// The last three digits in the drama range `+44 7700 900xxx`.
    pub(crate) phone_suffix: u16,
    /// A number that keeps e-mail addresses apart.
    pub(crate) email_number: u16,
    pub(crate) ssn: (u16, u8, u16),
    /// Which optional details this event's lines carry, from 0 to 99.
    pub(crate) disclosure: u8,
    /// Identifiers of the things the event touches (`p-`, `u`, `d-`, `a-`, `r-` in the logs).
    pub(crate) patient_id: u32,
    pub(crate) user_id: u32,
    pub(crate) doctor_id: u32,
    pub(crate) appointment_id: u32,
    pub(crate) record_id: u32,
}

impl Person {
    /// The person of an event, derived from its key.
    pub(crate) fn of_event(event_key: u64) -> Self {
        let mut draws = Draws::new(derive(event_key, PERSON_TAG));
        Self {
            first_name: FIRST_NAMES[draws.below(FIRST_NAMES.len() as u64) as usize],
            last_name: LAST_NAMES[draws.below(LAST_NAMES.len() as u64) as usize],
            birth_date: (
                1940 + draws.below(76) as u16,
                1 + draws.below(12) as u8,
                1 + draws.below(28) as u8,
            ),
            mrn: 10_000_000 + draws.below(90_000_000) as u32,
            phone_suffix: draws.below(1000) as u16,
            email_number: draws.below(100) as u16,
            ssn: (
                900 + draws.below(100) as u16,
                10 + draws.below(90) as u8,
                1000 + draws.below(9000) as u16,
            ),
            disclosure: draws.below(100) as u8,
            patient_id: 1000 + draws.below(9000) as u32,
            user_id: 100 + draws.below(900) as u32,
            doctor_id: 1 + draws.below(60) as u32,
            appointment_id: 10_000 + draws.below(90_000) as u32,
            record_id: 100_000 + draws.below(900_000) as u32,
        }
    }

    /// Whether this event's lines carry the optional details, for a share
    /// `percent` of events.
    pub(crate) fn discloses(&self, percent: u8) -> bool {
        self.disclosure < percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_derived_from_the_event_key_alone() {
        assert_eq!(Person::of_event(42), Person::of_event(42));
        assert_ne!(Person::of_event(42), Person::of_event(43));
    }

    #[test]
    fn invented_details_stay_in_fictional_ranges() {
        for key in 0..500 {
            let person = Person::of_event(key);
            assert!((900..1000).contains(&person.ssn.0));
            assert!((10_000_000..100_000_000).contains(&person.mrn));
            assert!(person.phone_suffix < 1000);
            assert!((1..=28).contains(&person.birth_date.2));
        }
    }
}
