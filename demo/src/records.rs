//! The clinic's log lines: which stream each event writes to and what it says, in logfmt or JSON.
//!
//! A line is kept as typed fields until someone needs its text, so counting
//! or filtering on labels never formats a string.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vitals_api::Labels;

use super::people::Person;
use super::simulation::{Event, EventKind, LoginResult, STEP_MS, Service, Simulation};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Env {
    Prod,
    Staging,
}

impl Env {
    const ALL: [Env; 2] = [Env::Prod, Env::Staging];

    fn name(self) -> &'static str {
        match self {
            Env::Prod => "prod",
            Env::Staging => "staging",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    const ALL: [Level; 3] = [Level::Info, Level::Warn, Level::Error];

    fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// The labels of a log stream, as Loki would index them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamKey {
    pub(crate) service: Service,
    pub(crate) env: Env,
    pub(crate) clinic: Option<u16>,
    pub(crate) level: Level,
}

/// Every stream the clinic could write to, with its labels built once.
#[derive(Debug, Clone)]
pub(crate) struct StreamTable {
    clinic_count: usize,
    labels: Vec<Labels>,
}

impl StreamTable {
    pub(crate) fn new(clinics: &[String]) -> Self {
        let mut table = Self {
            clinic_count: clinics.len(),
            labels: Vec::new(),
        };
        let slots = Service::ALL.len() * Env::ALL.len() * (clinics.len() + 1) * Level::ALL.len();
        table.labels = vec![Labels::new(); slots];
        for service in Service::ALL {
            for env in Env::ALL {
                for clinic in std::iter::once(None).chain((0..clinics.len()).map(|c| Some(c as u16))) {
                    for level in Level::ALL {
                        let key = StreamKey {
                            service,
                            env,
                            clinic,
                            level,
                        };
                        let mut labels = Labels::new();
                        labels.insert("service".into(), service.name().into());
                        labels.insert("env".into(), env.name().into());
                        if let Some(clinic) = clinic {
                            labels.insert("clinic".into(), clinics[usize::from(clinic)].clone());
                        }
                        labels.insert("level".into(), level.name().into());
                        let index = table.index(key);
                        table.labels[index] = labels;
                    }
                }
            }
        }
        table
    }

    pub(crate) fn index(&self, key: StreamKey) -> usize {
        let clinic_slot = key.clinic.map_or(0, |c| usize::from(c) + 1);
        ((key.service as usize * Env::ALL.len() + key.env as usize) * (self.clinic_count + 1) + clinic_slot)
            * Level::ALL.len()
            + key.level as usize
    }

    pub(crate) fn labels(&self, index: usize) -> &Labels {
        &self.labels[index]
    }

    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineFormat {
    Logfmt,
    Json,
}

/// A field's value, typed so it is only formatted when someone reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldValue {
    Text(&'static str),
    Int(i64),
    /// Index into the configured clinic names.
    Clinic(u16),
    TraceId(u128),
    /// An identifier such as `p-8103`: prefix and number.
    Id(&'static str, u32),
    Name(&'static str, &'static str),
    Date(u16, u8, u8),
    Phone(u16),
    Email(&'static str, &'static str, u16),
    Ssn(u16, u8, u16),
}

impl FieldValue {
    /// Appends the value as text, without quotes.
    pub(crate) fn write_to(&self, clinics: &[String], out: &mut String) {
        // Writing into a String cannot fail.
        let _ = match *self {
            FieldValue::Text(text) => {
                out.push_str(text);
                Ok(())
            }
            FieldValue::Int(number) => write!(out, "{number}"),
            FieldValue::Clinic(index) => {
                out.push_str(clinics.get(usize::from(index)).map_or("unknown", String::as_str));
                Ok(())
            }
            FieldValue::TraceId(id) => write!(out, "{id:032x}"),
            FieldValue::Id(prefix, number) => write!(out, "{prefix}{number}"),
            FieldValue::Name(first, last) => write!(out, "{first} {last}"),
            FieldValue::Date(year, month, day) => write!(out, "{year:04}-{month:02}-{day:02}"),
            FieldValue::Phone(suffix) => write!(out, "+44 7700 900{suffix:03}"),
            FieldValue::Email(first, last, number) => {
                out.extend(first.chars().map(|c| c.to_ascii_lowercase()));
                out.push('.');
                out.extend(last.chars().map(|c| c.to_ascii_lowercase()));
                write!(out, "{number}@example.com")
            }
            FieldValue::Ssn(area, group, serial) => write!(out, "{area:03}-{group:02}-{serial:04}"),
        };
    }

    fn is_number(&self) -> bool {
        matches!(self, FieldValue::Int(_))
    }
}

const MAX_FIELDS: usize = 12;

/// The fields of one line in the order the line shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fields {
    entries: [(&'static str, FieldValue); MAX_FIELDS],
    len: usize,
}

impl Fields {
    fn new() -> Self {
        Self {
            entries: [("", FieldValue::Int(0)); MAX_FIELDS],
            len: 0,
        }
    }

    fn push(&mut self, key: &'static str, value: FieldValue) {
        // The clinic's lines are written here with at most MAX_FIELDS fields;
        // a longer one would be a bug in this file, caught by the tests.
        debug_assert!(
            self.len < MAX_FIELDS,
            "a log line has more than {MAX_FIELDS} fields"
        );
        if self.len < MAX_FIELDS {
            self.entries[self.len] = (key, value);
            self.len += 1;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(&'static str, FieldValue)> {
        self.entries[..self.len].iter()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&FieldValue> {
        self.iter().find(|(name, _)| *name == key).map(|(_, value)| value)
    }
}

/// One log line before it is formatted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogRecord {
    pub(crate) time_ns: i64,
    pub(crate) stream: usize,
    pub(crate) format: LineFormat,
    pub(crate) fields: Fields,
}

impl LogRecord {
    /// Appends the line's text in its format.
    pub(crate) fn render(&self, clinics: &[String], out: &mut String) {
        let mut value = String::new();
        match self.format {
            LineFormat::Logfmt => {
                for (position, (key, field)) in self.fields.iter().enumerate() {
                    if position > 0 {
                        out.push(' ');
                    }
                    out.push_str(key);
                    out.push('=');
                    value.clear();
                    field.write_to(clinics, &mut value);
                    let needs_quotes = value.is_empty() || value.contains([' ', '"', '=', '\\']);
                    if needs_quotes {
                        push_quoted(&value, out);
                    } else {
                        out.push_str(&value);
                    }
                }
            }
            LineFormat::Json => {
                out.push('{');
                for (position, (key, field)) in self.fields.iter().enumerate() {
                    if position > 0 {
                        out.push(',');
                    }
                    push_quoted(key, out);
                    out.push(':');
                    value.clear();
                    field.write_to(clinics, &mut value);
                    if field.is_number() {
                        out.push_str(&value);
                    } else {
                        push_quoted(&value, out);
                    }
                }
                out.push('}');
            }
        }
    }

    pub(crate) fn text(&self, clinics: &[String]) -> String {
        let mut line = String::with_capacity(160);
        self.render(clinics, &mut line);
        line
    }

    /// The fields as a parser would extract them: every value as text.
    pub(crate) fn field_map(&self, clinics: &[String]) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(key, field)| {
                let mut value = String::with_capacity(24);
                field.write_to(clinics, &mut value);
                ((*key).to_owned(), value)
            })
            .collect()
    }
}

/// A JSON string literal; it is also a valid quoted logfmt value.
fn push_quoted(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Doctor interactions slower than this also log a warning.
const SLOW_INTERACTION_MS: u32 = 2000;

/// The lines one event writes. The main line is written when the request
/// completes; every line carries the event's trace id.
pub(crate) fn records_of_event(event: &Event, streams: &StreamTable, out: &mut Vec<LogRecord>) {
    let person = Person::of_event(event.key);
    // Sub-millisecond jitter, kept below a millisecond minus one so a second
    // line one nanosecond later still lies inside the event's step.
    let time_ns = event.end_ms() * 1_000_000 + (event.key % 999_999) as i64;
    let service = event.service();
    let clinic = event.clinic;
    let stream = |level| {
        streams.index(StreamKey {
            service,
            env: Env::Prod,
            clinic,
            level,
        })
    };
    let mut fields = Fields::new();
    let (level, format) = match event.kind {
        EventKind::Registration { accepted } => {
            let level = if accepted { Level::Info } else { Level::Error };
            fields.push("level", FieldValue::Text(level.name()));
            fields.push(
                "msg",
                FieldValue::Text(if accepted {
                    "patient registered"
                } else {
                    "registration failed"
                }),
            );
            push_clinic(&mut fields, clinic);
            if accepted {
                fields.push("patient_id", FieldValue::Id("p-", person.patient_id));
                if person.discloses(25) {
                    fields.push(
                        "patient_name",
                        FieldValue::Name(person.first_name, person.last_name),
                    );
                    fields.push("mrn", FieldValue::Int(i64::from(person.mrn)));
                    let (year, month, day) = person.birth_date;
                    fields.push("dob", FieldValue::Date(year, month, day));
                }
            } else {
                let reason = if person.discloses(70) {
                    "validation"
                } else {
                    "duplicate_record"
                };
                fields.push("reason", FieldValue::Text(reason));
            }
            (level, LineFormat::Logfmt)
        }
        EventKind::AppointmentBooked { .. } => {
            fields.push("level", FieldValue::Text("info"));
            fields.push("msg", FieldValue::Text("appointment booked"));
            push_clinic(&mut fields, clinic);
            fields.push(
                "patient_id",
                FieldValue::Id("p-", Person::of_event(event.patient_key).patient_id),
            );
            fields.push("appointment_id", FieldValue::Id("a-", person.appointment_id));
            fields.push("doctor_id", FieldValue::Id("d-", person.doctor_id));
            fields.push("queue", FieldValue::Text("appointment-reminders"));
            if person.discloses(20) {
                fields.push(
                    "patient_name",
                    FieldValue::Name(person.first_name, person.last_name),
                );
                fields.push("phone", FieldValue::Phone(person.phone_suffix));
            }
            (Level::Info, LineFormat::Logfmt)
        }
        EventKind::DoctorInteraction { kind } => {
            fields.push("level", FieldValue::Text("info"));
            fields.push("msg", FieldValue::Text("doctor interaction"));
            push_clinic(&mut fields, clinic);
            fields.push(
                "patient_id",
                FieldValue::Id("p-", Person::of_event(event.patient_key).patient_id),
            );
            fields.push("doctor_id", FieldValue::Id("d-", person.doctor_id));
            fields.push("kind", FieldValue::Text(kind.name()));
            if person.discloses(15) {
                fields.push("mrn", FieldValue::Int(i64::from(person.mrn)));
            }
            if person.disclosure >= 92 {
                let (area, group, serial) = person.ssn;
                fields.push("ssn", FieldValue::Ssn(area, group, serial));
            }
            (Level::Info, LineFormat::Logfmt)
        }
        EventKind::LoginAttempt { result } => {
            match result {
                LoginResult::Success => {
                    fields.push("level", FieldValue::Text("info"));
                    fields.push("msg", FieldValue::Text("login ok"));
                    fields.push("user", FieldValue::Id("u", person.user_id));
                    if person.discloses(30) {
                        fields.push(
                            "email",
                            FieldValue::Email(person.first_name, person.last_name, person.email_number),
                        );
                    }
                    if person.disclosure >= 90 {
                        fields.push("phone", FieldValue::Phone(person.phone_suffix));
                    }
                }
                LoginResult::InvalidCredentials => {
                    fields.push("level", FieldValue::Text("warn"));
                    fields.push("msg", FieldValue::Text("login failed"));
                    fields.push("reason", FieldValue::Text("invalid_credentials"));
                    fields.push("user", FieldValue::Id("u", person.user_id));
                }
                LoginResult::NotFound => {
                    fields.push("level", FieldValue::Text("error"));
                    fields.push("msg", FieldValue::Text("GetItem failed"));
                    fields.push("table", FieldValue::Text("users"));
                    fields.push("key", FieldValue::Text("latest"));
                    fields.push("error", FieldValue::Text("ResourceNotFoundException"));
                }
            }
            fields.push("status", FieldValue::Int(i64::from(event.http_status())));
            let level = match result {
                LoginResult::Success => Level::Info,
                LoginResult::InvalidCredentials => Level::Warn,
                LoginResult::NotFound => Level::Error,
            };
            (level, LineFormat::Json)
        }
        EventKind::RecordView => {
            fields.push("level", FieldValue::Text("info"));
            fields.push("msg", FieldValue::Text("record viewed"));
            fields.push("record_id", FieldValue::Id("r-", person.record_id));
            if person.discloses(50) {
                fields.push("mrn", FieldValue::Int(i64::from(person.mrn)));
            }
            fields.push("status", FieldValue::Int(i64::from(event.http_status())));
            (Level::Info, LineFormat::Json)
        }
    };
    fields.push("duration_ms", FieldValue::Int(i64::from(event.duration_ms)));
    fields.push("trace_id", FieldValue::TraceId(event.trace_id));
    out.push(LogRecord {
        time_ns,
        stream: stream(level),
        format,
        fields,
    });

    if matches!(event.kind, EventKind::DoctorInteraction { .. }) && event.duration_ms > SLOW_INTERACTION_MS {
        let mut slow = Fields::new();
        slow.push("level", FieldValue::Text("warn"));
        slow.push("msg", FieldValue::Text("slow request"));
        push_clinic(&mut slow, clinic);
        slow.push("route", FieldValue::Text(event.route()));
        slow.push("duration_ms", FieldValue::Int(i64::from(event.duration_ms)));
        slow.push("trace_id", FieldValue::TraceId(event.trace_id));
        out.push(LogRecord {
            time_ns: time_ns + 1,
            stream: stream(Level::Warn),
            format: LineFormat::Logfmt,
            fields: slow,
        });
    }
}

fn push_clinic(fields: &mut Fields, clinic: Option<u16>) {
    if let Some(clinic) = clinic {
        fields.push("clinic", FieldValue::Clinic(clinic));
    }
}

/// The staging environment's occasional warning (no request behind it, so no trace id).
fn staging_record(sim: &Simulation, step: i64, streams: &StreamTable) -> Option<LogRecord> {
    let (at_ms, mut draws) = sim.staging_noise(step)?;
    let mut fields = Fields::new();
    fields.push("level", FieldValue::Text("warn"));
    fields.push("msg", FieldValue::Text("queue depth high"));
    fields.push("queue", FieldValue::Text("registrations"));
    fields.push("depth", FieldValue::Int(50 + draws.below(150) as i64));
    fields.push("oldest_age_s", FieldValue::Int(30 + draws.below(600) as i64));
    Some(LogRecord {
        time_ns: at_ms * 1_000_000,
        stream: streams.index(StreamKey {
            service: Service::LoginApi,
            env: Env::Staging,
            clinic: None,
            level: Level::Warn,
        }),
        format: LineFormat::Logfmt,
        fields,
    })
}

/// Every line of one step, oldest first. Both buffers are cleared first.
pub(crate) fn records_in_step(
    sim: &Simulation,
    streams: &StreamTable,
    step: i64,
    events: &mut Vec<Event>,
    out: &mut Vec<LogRecord>,
) {
    out.clear();
    sim.events_in_step(step, events);
    for event in events.iter() {
        records_of_event(event, streams, out);
    }
    out.extend(staging_record(sim, step, streams));
    out.sort_by_key(|record| record.time_ns);
    debug_assert!(
        out.iter()
            .all(|record| record.time_ns.div_euclid(STEP_MS * 1_000_000) == step)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DemoConfig;

    fn clinics() -> Vec<String> {
        DemoConfig::default().clinics
    }

    #[test]
    fn stream_indexes_are_distinct_and_labelled() {
        let clinics = clinics();
        let table = StreamTable::new(&clinics);
        let key = StreamKey {
            service: Service::PatientRegistration,
            env: Env::Prod,
            clinic: Some(1),
            level: Level::Error,
        };
        let labels = table.labels(table.index(key));
        assert_eq!(labels["service"], "patient-registration");
        assert_eq!(labels["clinic"], "south");
        assert_eq!(labels["level"], "error");
        let mut seen = std::collections::HashSet::new();
        assert!((0..table.len()).all(|index| seen.insert(table.labels(index).clone())));
    }

    #[test]
    fn logfmt_quotes_values_with_spaces_and_json_leaves_numbers_bare() {
        let clinics = clinics();
        let mut fields = Fields::new();
        fields.push("level", FieldValue::Text("info"));
        fields.push("msg", FieldValue::Text("patient registered"));
        fields.push("clinic", FieldValue::Clinic(0));
        fields.push("patient_name", FieldValue::Name("Jane", "Doe"));
        fields.push("mrn", FieldValue::Int(12_345_678));
        fields.push("dob", FieldValue::Date(1980, 1, 2));
        fields.push("trace_id", FieldValue::TraceId(0xab));
        let mut record = LogRecord {
            time_ns: 0,
            stream: 0,
            format: LineFormat::Logfmt,
            fields,
        };
        assert_eq!(
            record.text(&clinics),
            "level=info msg=\"patient registered\" clinic=north patient_name=\"Jane Doe\" mrn=12345678 \
             dob=1980-01-02 trace_id=000000000000000000000000000000ab"
        );
        record.format = LineFormat::Json;
        let json: serde_json::Value = serde_json::from_str(&record.text(&clinics)).unwrap();
        assert_eq!(json["mrn"], 12_345_678);
        assert_eq!(json["patient_name"], "Jane Doe");
    }
}
