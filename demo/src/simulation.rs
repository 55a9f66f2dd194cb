//! The clinic's business events, derived for any 30-second step from the seed alone.
//!
//! Nothing is stored and no random state runs from one step to the next: the
//! events of a step come from a hash of (seed, step, activity, clinic), so any
//! time range can be produced on demand and the same seed always gives the
//! same clinic. Logs, metrics and traces are all rendered from these events,
//! which is what makes them agree.

use crate::config::{DemoConfig, FailureWindow};
use vitals_api::query::TimeRange;

/// The simulation's tick: every event lies entirely inside one step.
pub(crate) const STEP_MS: i64 = 30_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

/// The longest a reminder waits in the SQS queue before the consumer takes it.
pub(crate) const MAX_REMINDER_DELAY_MS: i64 = 600_000;

/// Share of login attempts that hit the broken `GetItem` during a failure window.
const FAILING_LOGIN_SHARE: f64 = 0.7;

/// AWS region the clinic's resources live in (as trace attributes show it).
pub(crate) const AWS_REGION: &str = "eu-west-1";

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a strong 64-bit mixer.
fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A new key from a key and one more part, so each (seed, step, stream, …)
/// gets its own independent-looking 64 bits.
pub(crate) fn derive(key: u64, part: u64) -> u64 {
    finalise(
        key.wrapping_add(GOLDEN_GAMMA)
            ^ finalise(
                part.wrapping_mul(GOLDEN_GAMMA)
                    .wrapping_add(0x632B_E59B_D9B4_E019),
            ),
    )
}

/// The draws of one event: a SplitMix64 sequence started from the event's key
/// and thrown away with it.
pub(crate) struct Draws(u64);

impl Draws {
    pub(crate) fn new(key: u64) -> Self {
        Self(key)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        finalise(self.0)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Uniform in [0, n).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A duration between `min` and `max` ms, skewed towards `min` as real
    /// latencies are: most requests are quick, a few are slow.
    fn skewed_ms(&mut self, min: u32, max: u32) -> u32 {
        let u = self.unit();
        min + ((max - min) as f64 * u * u) as u32
    }
}

/// Tags that keep the hash inputs of different things apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Count = 1,
    Event = 2,
    Staging = 3,
    Journey = 4,
    Booking = 5,
    Visit = 6,
}

/// Of the patients who register at each clinic (by index), the share who go on to book an
/// appointment: the second clinic loses more of them, the drop the journey view should find.
pub(crate) const BOOKS_AFTER_REGISTERING: [f64; 3] = [0.78, 0.55, 0.75];
/// For clinics beyond those named above.
const BOOKS_OTHERWISE: f64 = 0.7;
/// Of the patients who booked, the share who then see a doctor.
pub(crate) const SEES_AFTER_BOOKING: f64 = 0.85;
/// Steps from registering to booking (1, 2½ or 4½ minutes), and from registering to seeing a
/// doctor (6, 10 or 15 minutes): a few lags, so a step looks back at six earlier steps only.
const STEPS_TO_BOOK: [i64; 3] = [2, 5, 9];
const STEPS_TO_SEE: [i64; 3] = [12, 20, 30];

/// What a registered patient goes on to do, from the registration's key: the steps after it at
/// which they book and see a doctor, if they do.
pub(crate) fn journey_of(registration_key: u64, clinic_index: usize) -> (Option<i64>, Option<i64>) {
    let mut draws = Draws::new(derive(registration_key, Tag::Journey as u64));
    let books = draws.chance(
        BOOKS_AFTER_REGISTERING
            .get(clinic_index)
            .copied()
            .unwrap_or(BOOKS_OTHERWISE),
    );
    let to_book = STEPS_TO_BOOK[draws.below(STEPS_TO_BOOK.len() as u64) as usize];
    let sees = draws.chance(SEES_AFTER_BOOKING);
    let to_see = STEPS_TO_SEE[draws.below(STEPS_TO_SEE.len() as u64) as usize];
    if !books {
        return (None, None);
    }
    (Some(to_book), sees.then_some(to_see))
}

/// The journeys begun at one clinic in one step, as [`Simulation::journeys_begun`] keeps them.
#[derive(Debug, Clone, Default)]
struct JourneysBegun {
    /// (seed, clinic, step); `None` in a slot never filled.
    tag: Option<(u64, usize, i64)>,
    journeys: Vec<(u64, Option<i64>, Option<i64>)>,
}

thread_local! {
    static JOURNEYS_BEGUN: std::cell::RefCell<Vec<JourneysBegun>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a registration was accepted: the first draw of its event.
pub(crate) fn registration_accepted(key: u64) -> bool {
    Draws::new(key).chance(0.9)
}

/// The four services of the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Service {
    PatientRegistration,
    Appointments,
    LoginApi,
    Records,
}

impl Service {
    pub(crate) const ALL: [Service; 4] = [
        Service::PatientRegistration,
        Service::Appointments,
        Service::LoginApi,
        Service::Records,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::PatientRegistration => "patient-registration",
            Service::Appointments => "appointments",
            Service::LoginApi => "login-api",
            Service::Records => "records",
        }
    }
}

/// What a doctor did with a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InteractionKind {
    Consultation,
    Prescription,
    FollowUp,
}

impl InteractionKind {
    pub(crate) const ALL: [InteractionKind; 3] = [
        InteractionKind::Consultation,
        InteractionKind::Prescription,
        InteractionKind::FollowUp,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            InteractionKind::Consultation => "consultation",
            InteractionKind::Prescription => "prescription",
            InteractionKind::FollowUp => "follow-up",
        }
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginResult {
    Success,
    InvalidCredentials,
    /// The training failure: `GetItem` with key `timestamp = "latest"`
    /// answered ResourceNotFoundException and the login page answered 404.
    NotFound,
}

impl LoginResult {
    pub(crate) const ALL: [LoginResult; 3] = [
        LoginResult::Success,
        LoginResult::InvalidCredentials,
        LoginResult::NotFound,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            LoginResult::Success => "success",
            LoginResult::InvalidCredentials => "invalid_credentials",
            LoginResult::NotFound => "not_found",
        }
    }
}

/// One business event and its outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EventKind {
    Registration { accepted: bool },
    AppointmentBooked { reminder_delay_ms: u32 },
    DoctorInteraction { kind: InteractionKind },
    LoginAttempt { result: LoginResult },
    RecordView,
}

/// The AWS calls the services make, one resource each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsCallKind {
    PutPatient,
    GetUser,
    GetRecord,
    SendReminder,
}

impl AwsCallKind {
    /// The node the call reaches on the service map (`peer.service`).
    pub(crate) fn target(self) -> &'static str {
        match self {
            AwsCallKind::SendReminder => "SQS",
            _ => "DynamoDB",
        }
    }

    pub(crate) fn operation(self) -> &'static str {
        match self {
            AwsCallKind::PutPatient => "PutItem",
            AwsCallKind::GetUser | AwsCallKind::GetRecord => "GetItem",
            AwsCallKind::SendReminder => "SendMessage",
        }
    }

    /// The DynamoDB table or SQS queue name.
    pub(crate) fn resource(self) -> &'static str {
        match self {
            AwsCallKind::PutPatient => "patients",
            AwsCallKind::GetUser => "users",
            AwsCallKind::GetRecord => "records",
            AwsCallKind::SendReminder => "appointment-reminders",
        }
    }
}

/// A call to DynamoDB or SQS inside an event's request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AwsCall {
    pub(crate) kind: AwsCallKind,
    /// From the start of the request.
    pub(crate) offset_ms: u32,
    pub(crate) duration_ms: u32,
    /// ResourceNotFoundException (only the training failure fails).
    pub(crate) failed: bool,
}

/// Work a service does itself inside a request (an `internal` span).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InternalWork {
    pub(crate) name: &'static str,
    pub(crate) offset_ms: u32,
    pub(crate) duration_ms: u32,
}

/// One request to one of the clinic's services, with everything logs,
/// metrics and traces need to tell the same story about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Event {
    pub(crate) kind: EventKind,
    /// Index into the configured clinics; `None` for login attempts, which
    /// go to the shared login page.
    pub(crate) clinic: Option<u16>,
    pub(crate) start_ms: i64,
    pub(crate) duration_ms: u32,
    pub(crate) call: Option<AwsCall>,
    pub(crate) internal: Option<InternalWork>,
    /// The first 32 bits are the start in epoch seconds, as in X-Ray ids, so
    /// the trace can be found again from its id alone.
    pub(crate) trace_id: u128,
    /// The key every further detail (names, ids, span ids) is derived from.
    pub(crate) key: u64,
    /// The key of the patient the event is about: for a booking or a visit that continues a
    /// registration's journey, the registration's key; otherwise the event's own.
    pub(crate) patient_key: u64,
}

impl Event {
    pub(crate) fn service(&self) -> Service {
        match self.kind {
            EventKind::Registration { .. } => Service::PatientRegistration,
            EventKind::AppointmentBooked { .. } | EventKind::DoctorInteraction { .. } => {
                Service::Appointments
            }
            EventKind::LoginAttempt { .. } => Service::LoginApi,
            EventKind::RecordView => Service::Records,
        }
    }

    /// The entry operation, as the root span names it and the histogram's `route` label.
    pub(crate) fn route(&self) -> &'static str {
        match self.kind {
            EventKind::Registration { .. } => "POST /registrations",
            EventKind::AppointmentBooked { .. } => "POST /appointments",
            EventKind::DoctorInteraction { .. } => "POST /interactions",
            EventKind::LoginAttempt { .. } => "POST /login",
            EventKind::RecordView => "GET /records/{id}",
        }
    }

    pub(crate) fn http_status(&self) -> u16 {
        match self.kind {
            EventKind::Registration { accepted: true } => 201,
            EventKind::Registration { accepted: false } => 422,
            EventKind::AppointmentBooked { .. } | EventKind::DoctorInteraction { .. } => 201,
            EventKind::LoginAttempt { result } => match result {
                LoginResult::Success => 200,
                LoginResult::InvalidCredentials => 401,
                LoginResult::NotFound => 404,
            },
            EventKind::RecordView => 200,
        }
    }

    pub(crate) fn end_ms(&self) -> i64 {
        self.start_ms + i64::from(self.duration_ms)
    }
}

/// Peak requests per minute of each activity for a clinic of scale 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Registration = 0,
    AppointmentBooked = 1,
    DoctorInteraction = 2,
    LoginAttempt = 3,
    RecordView = 4,
}

impl Activity {
    const PER_CLINIC: [Activity; 4] = [
        Activity::Registration,
        Activity::AppointmentBooked,
        Activity::DoctorInteraction,
        Activity::RecordView,
    ];

    fn peak_per_minute(self) -> f64 {
        match self {
            Activity::Registration => 1.2,
            Activity::AppointmentBooked => 0.8,
            Activity::DoctorInteraction => 1.6,
            // Per clinic: the login page serves every clinic's staff.
            Activity::LoginAttempt => 1.0,
            Activity::RecordView => 1.2,
        }
    }
}

/// The clinic's day in local hours: quiet at night, busy from 8 to 18 with a
/// lunch dip, winding down in the evening.
const DAY_CURVE: [(f64, f64); 10] = [
    (0.0, 0.04),
    (6.0, 0.04),
    (8.0, 1.0),
    (12.0, 1.0),
    (12.5, 0.7),
    (13.5, 0.7),
    (14.0, 1.0),
    (17.0, 1.0),
    (20.0, 0.15),
    (24.0, 0.04),
];

/// Weekends see only urgent care.
const WEEKEND_FACTOR: f64 = 0.25;

/// The simulated clinic: configuration and the pure functions over it.
#[derive(Debug, Clone)]
pub(crate) struct Simulation {
    seed: u64,
    clinics: Vec<String>,
    failure_windows: Vec<FailureWindow>,
    utc_offset_ms: i64,
}

impl Simulation {
    pub(crate) fn new(config: &DemoConfig) -> Self {
        Self {
            seed: config.seed,
            clinics: config.clinics.clone(),
            failure_windows: config.failure_windows.clone(),
            utc_offset_ms: i64::from(config.utc_offset_hours) * 3_600_000,
        }
    }

    pub(crate) fn clinics(&self) -> &[String] {
        &self.clinics
    }

    #[cfg(test)]
    pub(crate) fn has_failure_windows(&self) -> bool {
        !self.failure_windows.is_empty()
    }

    /// Whether the training failure runs at this instant (minute of the hour in UTC).
    pub(crate) fn failure_active(&self, t_ms: i64) -> bool {
        let minute = t_ms.div_euclid(MINUTE_MS).rem_euclid(60) as u32;
        self.failure_windows.iter().any(|window| window.contains(minute))
    }

    /// How busy the clinic is, from about 0.01 (weekend night) to 1 (weekday peak).
    pub(crate) fn activity(&self, t_ms: i64) -> f64 {
        let local_ms = t_ms + self.utc_offset_ms;
        let day = local_ms.div_euclid(DAY_MS);
        let hour = local_ms.rem_euclid(DAY_MS) as f64 / 3_600_000.0;
        let curve = DAY_CURVE
            .windows(2)
            .find(|pair| hour < pair[1].0)
            .map(|pair| {
                let ((h0, v0), (h1, v1)) = (pair[0], pair[1]);
                v0 + (v1 - v0) * (hour - h0) / (h1 - h0)
            })
            .unwrap_or(DAY_CURVE[DAY_CURVE.len() - 1].1);
        // 1970-01-01 was a Thursday: with Monday = 0 it is day 3.
        let weekday = (day + 3).rem_euclid(7);
        if weekday >= 5 {
            curve * WEEKEND_FACTOR
        } else {
            curve
        }
    }

    /// Smaller sites see fewer patients: the first clinic is the largest.
    fn clinic_scale(index: usize) -> f64 {
        1.0 / (1.0 + 0.25 * index as f64)
    }

    /// Every event of one step, ordered by start time. `out` is cleared first
    /// so callers can reuse one buffer for a whole range.
    pub(crate) fn events_in_step(&self, step: i64, out: &mut Vec<Event>) {
        out.clear();
        let step_start = step * STEP_MS;
        let failing = self.failure_active(step_start);
        for (clinic_index, _) in self.clinics.iter().enumerate() {
            for activity_kind in Activity::PER_CLINIC {
                let (stream_key, lambda) = self.stream(activity_kind, Some(clinic_index), step);
                self.push_events(
                    activity_kind,
                    Some(clinic_index as u16),
                    lambda,
                    stream_key,
                    step_start,
                    failing,
                    out,
                );
            }
            self.push_journey_events(clinic_index, step, failing, out);
        }
        let (stream_key, lambda) = self.stream(Activity::LoginAttempt, None, step);
        self.push_events(
            Activity::LoginAttempt,
            None,
            lambda,
            stream_key,
            step_start,
            failing,
            out,
        );
        out.sort_by_key(|event| (event.start_ms, event.trace_id));
    }

    /// The key and expected count of one activity's events in one step, at one clinic (or, for
    /// logins, at the shared login page).
    fn stream(&self, activity_kind: Activity, clinic_index: Option<usize>, step: i64) -> (u64, f64) {
        let step_start = step * STEP_MS;
        let activity = self.activity(step_start + STEP_MS / 2);
        let step_key = derive(self.seed, step as u64);
        let minutes_per_step = STEP_MS as f64 / MINUTE_MS as f64;
        match clinic_index {
            Some(index) => (
                derive(derive(step_key, activity_kind as u64), index as u64 + 1),
                activity_kind.peak_per_minute() * Self::clinic_scale(index) * activity * minutes_per_step,
            ),
            None => {
                let scale: f64 = (0..self.clinics.len()).map(Self::clinic_scale).sum();
                (
                    derive(step_key, activity_kind as u64),
                    activity_kind.peak_per_minute() * scale * activity * minutes_per_step,
                )
            }
        }
    }

    /// The journeys begun at a clinic in one step: each accepted registration's key with the
    /// steps after it at which the patient books and sees a doctor. A walk over a range asks for
    /// each step six times, so the answers of the last 64 steps are kept on the thread.
    fn journeys_begun(
        &self,
        clinic_index: usize,
        step: i64,
        visit: &mut dyn FnMut(u64, Option<i64>, Option<i64>),
    ) {
        let slot = (step.rem_euclid(64) as usize) * 4 + clinic_index % 4;
        let tag = Some((self.seed, clinic_index, step));
        let kept = JOURNEYS_BEGUN.with_borrow(|cache| {
            let entry = cache.get(slot).filter(|entry| entry.tag == tag)?;
            for &(key, book, see) in &entry.journeys {
                visit(key, book, see);
            }
            Some(())
        });
        if kept.is_some() {
            return;
        }
        let (stream_key, lambda) = self.stream(Activity::Registration, Some(clinic_index), step);
        let count = poisson(lambda, Draws::new(derive(stream_key, Tag::Count as u64)).unit());
        let mut entry = JourneysBegun {
            tag,
            journeys: Vec::new(),
        };
        for index in 0..count {
            let key = derive(derive(stream_key, Tag::Event as u64), u64::from(index));
            if registration_accepted(key) {
                let (book, see) = journey_of(key, clinic_index);
                entry.journeys.push((key, book, see));
                visit(key, book, see);
            }
        }
        JOURNEYS_BEGUN.with_borrow_mut(|cache| {
            if cache.len() < 256 {
                cache.resize(256, JourneysBegun::default());
            }
            cache[slot] = entry;
        });
    }

    /// The bookings and visits of patients who registered at this clinic shortly before, that
    /// fall in this step: their events carry the registration's key as the patient's.
    fn push_journey_events(&self, clinic_index: usize, step: i64, failing: bool, out: &mut Vec<Event>) {
        let step_start = step * STEP_MS;
        let clinic = Some(clinic_index as u16);
        for back in STEPS_TO_BOOK.into_iter().chain(STEPS_TO_SEE) {
            self.journeys_begun(clinic_index, step - back, &mut |registration, book, see| {
                for (at, activity, tag) in [
                    (book, Activity::AppointmentBooked, Tag::Booking),
                    (see, Activity::DoctorInteraction, Tag::Visit),
                ] {
                    if at == Some(back) {
                        let key = derive(registration, tag as u64);
                        let mut event = build_event(activity, clinic, key, step_start, failing);
                        event.patient_key = registration;
                        out.push(event);
                    }
                }
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_events(
        &self,
        activity: Activity,
        clinic: Option<u16>,
        lambda: f64,
        stream_key: u64,
        step_start: i64,
        failing: bool,
        out: &mut Vec<Event>,
    ) {
        let mut count_draws = Draws::new(derive(stream_key, Tag::Count as u64));
        let count = poisson(lambda, count_draws.unit());
        for index in 0..count {
            let key = derive(derive(stream_key, Tag::Event as u64), u64::from(index));
            out.push(build_event(activity, clinic, key, step_start, failing));
        }
    }

    /// Calls `visit` with every event starting in the range, oldest first.
    pub(crate) fn for_each_event(&self, range: TimeRange, mut visit: impl FnMut(&Event)) {
        let mut buffer = Vec::new();
        for step in steps_of(range) {
            self.events_in_step(step, &mut buffer);
            buffer
                .iter()
                .filter(|event| event.start_ms >= range.start_ms && event.start_ms < range.end_ms)
                .for_each(&mut visit);
        }
    }

    /// A little noise from the staging environment: at most one line a step,
    /// at this time (ms) with these draws, or none.
    pub(crate) fn staging_noise(&self, step: i64) -> Option<(i64, Draws)> {
        let mut draws = Draws::new(derive(derive(self.seed, step as u64), Tag::Staging as u64));
        if !draws.chance(0.04) {
            return None;
        }
        let at_ms = step * STEP_MS + draws.below(STEP_MS as u64) as i64;
        Some((at_ms, draws))
    }
}

/// The steps whose events may start inside the range.
pub(crate) fn steps_of(range: TimeRange) -> std::ops::Range<i64> {
    if range.end_ms <= range.start_ms {
        return 0..0;
    }
    range.start_ms.div_euclid(STEP_MS)..(range.end_ms - 1).div_euclid(STEP_MS) + 1
}

/// A Poisson draw by inverting the distribution function: cheap for the
/// small means of one step.
fn poisson(lambda: f64, uniform: f64) -> u32 {
    let mut probability = (-lambda).exp();
    let mut cumulative = probability;
    let mut count = 0;
    while uniform > cumulative && count < 64 {
        count += 1;
        probability *= lambda / f64::from(count);
        cumulative += probability;
    }
    count
}

fn build_event(activity: Activity, clinic: Option<u16>, key: u64, step_start: i64, failing: bool) -> Event {
    let mut draws = Draws::new(key);
    let (kind, call, internal, duration_ms) = match activity {
        Activity::Registration => {
            let accepted = draws.chance(0.9);
            let validation = InternalWork {
                name: "validate registration",
                offset_ms: 1 + draws.below(3) as u32,
                duration_ms: draws.skewed_ms(5, 40),
            };
            let validated_at = validation.offset_ms + validation.duration_ms;
            if accepted {
                let call = AwsCall {
                    kind: AwsCallKind::PutPatient,
                    offset_ms: validated_at + draws.skewed_ms(2, 10),
                    duration_ms: draws.skewed_ms(8, 60),
                    failed: false,
                };
                let duration = call.offset_ms + call.duration_ms + draws.skewed_ms(20, 500);
                (
                    EventKind::Registration { accepted },
                    Some(call),
                    Some(validation),
                    duration,
                )
            } else {
                let duration = validated_at + draws.skewed_ms(2, 20);
                (
                    EventKind::Registration { accepted },
                    None,
                    Some(validation),
                    duration,
                )
            }
        }
        Activity::AppointmentBooked => {
            let call = AwsCall {
                kind: AwsCallKind::SendReminder,
                offset_ms: draws.skewed_ms(30, 200),
                duration_ms: draws.skewed_ms(10, 60),
                failed: false,
            };
            let duration = call.offset_ms + call.duration_ms + draws.skewed_ms(10, 300);
            let reminder_delay_ms = draws.skewed_ms(5_000, MAX_REMINDER_DELAY_MS as u32);
            (
                EventKind::AppointmentBooked { reminder_delay_ms },
                Some(call),
                None,
                duration,
            )
        }
        Activity::DoctorInteraction => {
            let kind = match draws.below(10) {
                0..=4 => InteractionKind::Consultation,
                5..=7 => InteractionKind::Prescription,
                _ => InteractionKind::FollowUp,
            };
            let work = InternalWork {
                name: "record interaction",
                offset_ms: draws.skewed_ms(5, 30),
                duration_ms: draws.skewed_ms(150, 2500),
            };
            let duration = work.offset_ms + work.duration_ms + draws.skewed_ms(5, 400);
            (EventKind::DoctorInteraction { kind }, None, Some(work), duration)
        }
        Activity::LoginAttempt => {
            if failing && draws.chance(FAILING_LOGIN_SHARE) {
                let call = AwsCall {
                    kind: AwsCallKind::GetUser,
                    offset_ms: draws.skewed_ms(2, 10),
                    duration_ms: draws.skewed_ms(3, 15),
                    failed: true,
                };
                let duration = call.offset_ms + call.duration_ms + draws.skewed_ms(2, 40);
                let kind = EventKind::LoginAttempt {
                    result: LoginResult::NotFound,
                };
                (kind, Some(call), None, duration)
            } else {
                let result = if draws.chance(0.88) {
                    LoginResult::Success
                } else {
                    LoginResult::InvalidCredentials
                };
                let call = AwsCall {
                    kind: AwsCallKind::GetUser,
                    offset_ms: draws.skewed_ms(3, 15),
                    duration_ms: draws.skewed_ms(4, 30),
                    failed: false,
                };
                // Checking the password hash is deliberately slow.
                let duration = call.offset_ms + call.duration_ms + draws.skewed_ms(20, 200);
                (EventKind::LoginAttempt { result }, Some(call), None, duration)
            }
        }
        Activity::RecordView => {
            let call = AwsCall {
                kind: AwsCallKind::GetRecord,
                offset_ms: draws.skewed_ms(2, 15),
                duration_ms: draws.skewed_ms(4, 35),
                failed: false,
            };
            let duration = call.offset_ms + call.duration_ms + draws.skewed_ms(5, 200);
            (EventKind::RecordView, Some(call), None, duration)
        }
    };
    // The whole request fits in its step, so every signal counts it in the
    // same step whether it looks at the start or the end.
    let latest_start = STEP_MS - i64::from(duration_ms);
    let start_ms = step_start + draws.below(latest_start as u64) as i64;
    let start_seconds = start_ms.div_euclid(1000) as u64 & 0xFFFF_FFFF;
    let random_bits = (u128::from(draws.next_u64()) << 32) | u128::from(draws.next_u64() >> 32);
    Event {
        kind,
        clinic,
        start_ms,
        duration_ms,
        call,
        internal,
        trace_id: (u128::from(start_seconds) << 96) | random_bits,
        key,
        patient_key: key,
    }
}

/// The step that holds events starting at this second (for finding a trace by id).
pub(crate) fn step_of_second(epoch_seconds: i64) -> i64 {
    (epoch_seconds * 1000).div_euclid(STEP_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::TUESDAY;

    fn simulation() -> Simulation {
        Simulation::new(&DemoConfig::default())
    }

    #[test]
    fn every_event_fits_inside_its_step() {
        let sim = simulation();
        let mut buffer = Vec::new();
        for step in steps_of(TimeRange::new(TUESDAY, TUESDAY + DAY_MS)).step_by(7) {
            sim.events_in_step(step, &mut buffer);
            for event in &buffer {
                assert_eq!(event.start_ms.div_euclid(STEP_MS), step);
                assert_eq!((event.end_ms() - 1).div_euclid(STEP_MS), step);
                assert_eq!((event.trace_id >> 96) as i64, event.start_ms / 1000);
            }
        }
    }

    #[test]
    fn weekday_afternoons_are_busier_than_nights_and_weekends() {
        let sim = simulation();
        let hour = 3_600_000;
        assert!(sim.activity(TUESDAY + 10 * hour) > 0.9);
        assert!(sim.activity(TUESDAY + 3 * hour) < 0.1);
        // The Saturday after.
        assert!(sim.activity(TUESDAY + 4 * DAY_MS + 10 * hour) < 0.3);
    }

    #[test]
    fn local_time_follows_the_configured_offset() {
        let config = DemoConfig {
            utc_offset_hours: 10,
            ..DemoConfig::default()
        };
        let sim = Simulation::new(&config);
        // 00:00 UTC is 10:00 in the clinic.
        assert!(sim.activity(TUESDAY) > 0.9);
    }

    #[test]
    fn failure_windows_are_minutes_of_every_hour() {
        let sim = simulation();
        assert!(!sim.failure_active(TUESDAY + 39 * MINUTE_MS + 59_999));
        assert!(sim.failure_active(TUESDAY + 40 * MINUTE_MS));
        assert!(sim.failure_active(TUESDAY + 5 * 3_600_000 + 49 * MINUTE_MS));
        assert!(!sim.failure_active(TUESDAY + 50 * MINUTE_MS));
    }

    #[test]
    fn poisson_draws_average_to_their_mean() {
        let mut draws = Draws::new(7);
        let total: u32 = (0..20_000).map(|_| poisson(0.8, draws.unit())).sum();
        let mean = f64::from(total) / 20_000.0;
        assert!((mean - 0.8).abs() < 0.03, "{mean}");
    }

    #[test]
    fn steps_cover_a_closed_open_range() {
        assert_eq!(steps_of(TimeRange::new(0, STEP_MS)), 0..1);
        assert_eq!(steps_of(TimeRange::new(1, STEP_MS + 1)), 0..2);
        assert_eq!(steps_of(TimeRange::new(5, 5)), 0..0);
    }
}
