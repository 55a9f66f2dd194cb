//! The clinic's Prometheus metrics: the series it exposes and their raw samples every 30 s, counted from the same events as the logs and traces.
//!
//! A sample at time T counts the events completed before T. Counters start
//! from zero at 00:00 UTC (the services are redeployed nightly), so a value
//! never costs more than a day of events to compute; the sample at midnight
//! still shows the whole previous day, and the next one starts again.

use std::fmt::Write as _;

use vitals_api::{Labels, Point, Series};

use super::DemoClinic;
use super::simulation::{
    AwsCallKind, DAY_MS, Event, EventKind, InteractionKind, LoginResult, MAX_REMINDER_DELAY_MS, STEP_MS,
    Service, Simulation,
};
use vitals_api::query::TimeRange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl MetricType {
    fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// A metric family as OpenMetrics names it (counters without `_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) metric_type: MetricType,
    help: &'static str,
}

const REGISTRATIONS: Family = Family {
    name: "patient_registrations",
    metric_type: MetricType::Counter,
    help: "Patient registrations by clinic and result.",
};
const INTERACTIONS: Family = Family {
    name: "doctor_interactions",
    metric_type: MetricType::Counter,
    help: "Doctor interactions by clinic and kind.",
};
const APPOINTMENTS: Family = Family {
    name: "appointments_booked",
    metric_type: MetricType::Counter,
    help: "Appointments booked by clinic.",
};
const LOGINS: Family = Family {
    name: "login_attempts",
    metric_type: MetricType::Counter,
    help: "Login attempts by result.",
};
const DYNAMODB: Family = Family {
    name: "dynamodb_requests",
    metric_type: MetricType::Counter,
    help: "DynamoDB requests by operation, table and status.",
};
const QUEUE_DEPTH: Family = Family {
    name: "sqs_queue_depth",
    metric_type: MetricType::Gauge,
    help: "Messages waiting in the SQS queue.",
};
const OLDEST_MESSAGE: Family = Family {
    name: "sqs_oldest_message_age_seconds",
    metric_type: MetricType::Gauge,
    help: "Age of the oldest message waiting in the SQS queue.",
};
const PROCESSED: Family = Family {
    name: "sqs_messages_processed",
    metric_type: MetricType::Counter,
    help: "Messages the consumer took from the SQS queue.",
};
const HTTP_DURATION: Family = Family {
    name: "http_server_request_duration_seconds",
    metric_type: MetricType::Histogram,
    help: "Duration of HTTP server requests.",
};

const FAMILIES: [Family; 9] = [
    REGISTRATIONS,
    INTERACTIONS,
    APPOINTMENTS,
    LOGINS,
    DYNAMODB,
    QUEUE_DEPTH,
    OLDEST_MESSAGE,
    PROCESSED,
    HTTP_DURATION,
];

/// Upper bounds of the duration histogram in ms (OpenTelemetry's defaults for
/// `http.server.request.duration`), then +Inf. Kept in whole ms so an
/// observation lands in its bucket without rounding doubt.
const BUCKET_BOUNDS_MS: [u32; 14] = [
    5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/// Each (service, route, status) the clinic answers, one histogram each.
const HTTP_ROUTES: [(Service, &str, u16); 8] = [
    (Service::PatientRegistration, "POST /registrations", 201),
    (Service::PatientRegistration, "POST /registrations", 422),
    (Service::Appointments, "POST /appointments", 201),
    (Service::Appointments, "POST /interactions", 201),
    (Service::LoginApi, "POST /login", 200),
    (Service::LoginApi, "POST /login", 401),
    (Service::LoginApi, "POST /login", 404),
    (Service::Records, "GET /records/{id}", 200),
];

/// The DynamoDB series, one per (operation, table, status).
const DYNAMODB_SERIES: [(&str, &str, &str); 4] = [
    ("PutItem", "patients", "200"),
    ("GetItem", "users", "200"),
    ("GetItem", "users", "ResourceNotFoundException"),
    ("GetItem", "records", "200"),
];

/// One series: its family and its labels (with `__name__`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesDef {
    pub(crate) family: Family,
    pub(crate) labels: Labels,
}

impl SeriesDef {
    pub(crate) fn name(&self) -> &str {
        self.labels.get("__name__").map_or("", String::as_str)
    }
}

/// Where the series of one histogram live in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HistogramSeries {
    /// The first `_bucket` series; the other buckets, +Inf last, follow it.
    first_bucket: usize,
    count: usize,
    sum: usize,
}

/// Every series the clinic exposes, and which of them each event moves.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    pub(crate) series: Vec<SeriesDef>,
    registrations: Vec<[usize; 2]>,
    interactions: Vec<[usize; 3]>,
    appointments: Vec<usize>,
    logins: [usize; 3],
    dynamodb: [usize; 4],
    queue_depth: usize,
    oldest_message: usize,
    processed: usize,
    histograms: Vec<HistogramSeries>,
}

impl Catalogue {
    pub(crate) fn new(clinics: &[String]) -> Self {
        let mut series = Vec::new();
        let mut add = |family: Family, suffix: &str, pairs: &[(&str, &str)]| {
            let mut labels = Labels::new();
            labels.insert("__name__".into(), format!("{}{suffix}", family.name));
            for (name, value) in pairs {
                labels.insert((*name).into(), (*value).into());
            }
            series.push(SeriesDef { family, labels });
            series.len() - 1
        };
        let registrations = clinics
            .iter()
            .map(|clinic| {
                ["success", "rejected"]
                    .map(|result| add(REGISTRATIONS, "_total", &[("clinic", clinic), ("result", result)]))
            })
            .collect();
        let interactions = clinics
            .iter()
            .map(|clinic| {
                InteractionKind::ALL.map(|kind| {
                    add(
                        INTERACTIONS,
                        "_total",
                        &[("clinic", clinic), ("kind", kind.name())],
                    )
                })
            })
            .collect();
        let appointments = clinics
            .iter()
            .map(|clinic| add(APPOINTMENTS, "_total", &[("clinic", clinic)]))
            .collect();
        let logins = LoginResult::ALL.map(|result| add(LOGINS, "_total", &[("result", result.name())]));
        let dynamodb = DYNAMODB_SERIES.map(|(operation, table, status)| {
            add(
                DYNAMODB,
                "_total",
                &[("operation", operation), ("table", table), ("status", status)],
            )
        });
        let queue = AwsCallKind::SendReminder.resource();
        let queue_depth = add(QUEUE_DEPTH, "", &[("queue", queue)]);
        let oldest_message = add(OLDEST_MESSAGE, "", &[("queue", queue)]);
        let processed = add(PROCESSED, "_total", &[("queue", queue)]);
        let histograms = HTTP_ROUTES
            .iter()
            .map(|&(service, route, status)| {
                let status = status.to_string();
                let base = [
                    ("service", service.name()),
                    ("route", route),
                    ("status", status.as_str()),
                ];
                let bounds = BUCKET_BOUNDS_MS
                    .iter()
                    .map(|&ms| (f64::from(ms) / 1000.0).to_string())
                    .chain(std::iter::once("+Inf".to_string()));
                let mut first_bucket = None;
                for bound in bounds {
                    let mut pairs = base.to_vec();
                    pairs.push(("le", bound.as_str()));
                    let index = add(HTTP_DURATION, "_bucket", &pairs);
                    first_bucket.get_or_insert(index);
                }
                HistogramSeries {
                    first_bucket: first_bucket.unwrap_or_default(),
                    count: add(HTTP_DURATION, "_count", &base),
                    sum: add(HTTP_DURATION, "_sum", &base),
                }
            })
            .collect();
        Self {
            series,
            registrations,
            interactions,
            appointments,
            logins,
            dynamodb,
            queue_depth,
            oldest_message,
            processed,
            histograms,
        }
    }

    /// The metric names as Prometheus lists them (histogram parts apart), sorted.
    pub(crate) fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.series.iter().map(|s| s.name().to_owned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Adds one event to the counters and, for a booked appointment, its
    /// reminder to the queue: (sent at, taken by the consumer at) in ms.
    fn count_event(&self, event: &Event, counters: &mut [f64], queue: &mut Vec<(i64, i64)>) {
        match event.kind {
            EventKind::Registration { accepted } => {
                if let Some(clinic) = event.clinic {
                    counters[self.registrations[usize::from(clinic)][usize::from(!accepted)]] += 1.0;
                }
            }
            EventKind::AppointmentBooked { reminder_delay_ms } => {
                if let Some(clinic) = event.clinic {
                    counters[self.appointments[usize::from(clinic)]] += 1.0;
                }
                if let Some(call) = event.call {
                    let sent_at = event.start_ms + i64::from(call.offset_ms + call.duration_ms);
                    queue.push((sent_at, sent_at + i64::from(reminder_delay_ms)));
                }
            }
            EventKind::DoctorInteraction { kind } => {
                if let Some(clinic) = event.clinic {
                    let kind_index = InteractionKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
                    counters[self.interactions[usize::from(clinic)][kind_index]] += 1.0;
                }
            }
            EventKind::LoginAttempt { result } => {
                let result_index = LoginResult::ALL.iter().position(|r| *r == result).unwrap_or(0);
                counters[self.logins[result_index]] += 1.0;
            }
            EventKind::RecordView => {}
        }
        if let Some(call) = event.call {
            let dynamodb_index = match (call.kind, call.failed) {
                (AwsCallKind::PutPatient, _) => Some(0),
                (AwsCallKind::GetUser, false) => Some(1),
                (AwsCallKind::GetUser, true) => Some(2),
                (AwsCallKind::GetRecord, _) => Some(3),
                (AwsCallKind::SendReminder, _) => None,
            };
            if let Some(index) = dynamodb_index {
                counters[self.dynamodb[index]] += 1.0;
            }
        }
        let route = (event.service(), event.route(), event.http_status());
        if let Some(position) = HTTP_ROUTES.iter().position(|r| *r == route) {
            let histogram = self.histograms[position];
            for (offset, bound) in BUCKET_BOUNDS_MS.iter().enumerate() {
                if event.duration_ms <= *bound {
                    counters[histogram.first_bucket + offset] += 1.0;
                }
            }
            counters[histogram.first_bucket + BUCKET_BOUNDS_MS.len()] += 1.0;
            counters[histogram.count] += 1.0;
            counters[histogram.sum] += f64::from(event.duration_ms) / 1000.0;
        }
    }

    /// Raw samples of the given series at every 30 s boundary in [from, to].
    pub(crate) fn sample_grid(
        &self,
        sim: &Simulation,
        rows: Vec<usize>,
        from_ms: i64,
        to_ms: i64,
    ) -> SampleGrid {
        let first_ms = ceil_to_step(from_ms);
        let last_ms = to_ms.div_euclid(STEP_MS) * STEP_MS;
        let columns = if last_ms >= first_ms {
            ((last_ms - first_ms) / STEP_MS + 1) as usize
        } else {
            0
        };
        let mut grid = SampleGrid {
            first_ms,
            columns,
            values: vec![0.0; rows.len() * columns],
            rows,
        };
        if columns == 0 {
            return grid;
        }
        // Counters of the day the first sample belongs to, plus the
        // reminders still queued from before that day began.
        let day_start = (first_ms - 1).div_euclid(DAY_MS) * DAY_MS;
        let first_step = (day_start - MAX_REMINDER_DELAY_MS).div_euclid(STEP_MS);
        let last_step = last_ms / STEP_MS;
        let mut counters = vec![0.0; self.series.len()];
        let mut queue: Vec<(i64, i64)> = Vec::new();
        let mut events = Vec::new();
        for step in first_step..=last_step {
            let t = step * STEP_MS;
            let waiting = queue.len();
            queue.retain(|&(_, taken_at)| taken_at > t);
            counters[self.processed] += (waiting - queue.len()) as f64;
            if t >= first_ms {
                counters[self.queue_depth] = queue.len() as f64;
                counters[self.oldest_message] = queue
                    .iter()
                    .map(|&(sent_at, _)| sent_at)
                    .min()
                    .map_or(0.0, |sent_at| (t - sent_at) as f64 / 1000.0);
                let column = ((t - first_ms) / STEP_MS) as usize;
                for (row, &series) in grid.rows.iter().enumerate() {
                    grid.values[row * columns + column] = counters[series];
                }
            }
            if t.rem_euclid(DAY_MS) == 0 {
                counters.fill(0.0);
            }
            if step == last_step {
                break;
            }
            sim.events_in_step(step, &mut events);
            for event in &events {
                self.count_event(event, &mut counters, &mut queue);
            }
        }
        grid
    }
}

fn ceil_to_step(t_ms: i64) -> i64 {
    -((-t_ms).div_euclid(STEP_MS)) * STEP_MS
}

/// Samples of some series on the shared 30 s grid, one row per series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleGrid {
    /// Time of the first column.
    pub(crate) first_ms: i64,
    pub(crate) columns: usize,
    /// The catalogue index of each row.
    pub(crate) rows: Vec<usize>,
    values: Vec<f64>,
}

impl SampleGrid {
    pub(crate) fn empty() -> Self {
        Self {
            first_ms: 0,
            columns: 0,
            rows: Vec::new(),
            values: Vec::new(),
        }
    }

    pub(crate) fn row(&self, row: usize) -> &[f64] {
        &self.values[row * self.columns..(row + 1) * self.columns]
    }

    pub(crate) fn time(&self, column: usize) -> i64 {
        self.first_ms + column as i64 * STEP_MS
    }
}

impl DemoClinic {
    /// Raw samples of every series at each 30 s boundary in the range
    /// (labels with `__name__`): what a day of metrics costs.
    pub fn raw_series(&self, range: TimeRange) -> Vec<Series> {
        let grid = self.samples_in(range);
        grid.rows
            .iter()
            .enumerate()
            .map(|(row, &series)| Series {
                labels: self.catalogue.series[series].labels.clone(),
                points: grid
                    .row(row)
                    .iter()
                    .enumerate()
                    .map(|(column, &value)| Point(grid.time(column), value))
                    .collect(),
            })
            .collect()
    }

    /// The raw samples of the range as OpenMetrics text (timestamps in
    /// seconds, ending `# EOF`), for `promtool tsdb create-blocks-from openmetrics`.
    pub fn openmetrics(&self, range: TimeRange) -> String {
        // The grid holds every series, so a catalogue index is also its row.
        let grid = self.samples_in(range);
        let series = &self.catalogue.series;
        let mut text = String::with_capacity(grid.rows.len() * grid.columns * 96 + 4096);
        for family in FAMILIES {
            let _ = writeln!(text, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(text, "# TYPE {} {}", family.name, family.metric_type.name());
            if family.metric_type == MetricType::Histogram {
                // All parts of one histogram at one time form one point, in
                // the order OpenMetrics wants: buckets, count, sum.
                for histogram in &self.catalogue.histograms {
                    let parts: Vec<usize> = (histogram.first_bucket
                        ..=histogram.first_bucket + BUCKET_BOUNDS_MS.len())
                        .chain([histogram.count, histogram.sum])
                        .collect();
                    for column in 0..grid.columns {
                        for &part in &parts {
                            write_sample(
                                &mut text,
                                &series[part].labels,
                                grid.row(part)[column],
                                grid.time(column),
                            );
                        }
                    }
                }
            } else {
                for (index, def) in series.iter().enumerate().filter(|(_, def)| def.family == family) {
                    for column in 0..grid.columns {
                        write_sample(&mut text, &def.labels, grid.row(index)[column], grid.time(column));
                    }
                }
            }
        }
        text.push_str("# EOF\n");
        text
    }

    /// Samples of every series in [start, end).
    fn samples_in(&self, range: TimeRange) -> SampleGrid {
        let rows = (0..self.catalogue.series.len()).collect();
        self.catalogue
            .sample_grid(&self.simulation, rows, range.start_ms, range.end_ms - 1)
    }
}

fn write_sample(text: &mut String, labels: &Labels, value: f64, t_ms: i64) {
    text.push_str(labels.get("__name__").map_or("", String::as_str));
    let mut first = true;
    for (name, label_value) in labels.iter().filter(|(name, _)| name.as_str() != "__name__") {
        text.push(if first { '{' } else { ',' });
        first = false;
        text.push_str(name);
        text.push_str("=\"");
        for c in label_value.chars() {
            match c {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                c => text.push(c),
            }
        }
        text.push('"');
    }
    if !first {
        text.push('}');
    }
    let _ = writeln!(text, " {value} {}", t_ms.div_euclid(1000));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{HOUR, TUESDAY, clinic};

    fn series_with<'a>(all: &'a [Series], name: &str, pairs: &[(&str, &str)]) -> &'a Series {
        all.iter()
            .find(|s| {
                s.labels["__name__"] == name
                    && pairs
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("no series {name} {pairs:?}"))
    }

    #[test]
    fn counters_count_the_events_completed_before_each_sample() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 9 * HOUR, TUESDAY + 10 * HOUR + 1);
        let all = clinic.raw_series(range);
        let booked = series_with(&all, "appointments_booked_total", &[("clinic", "north")]);
        let mut expected = 0;
        clinic
            .simulation
            .for_each_event(TimeRange::new(TUESDAY + 9 * HOUR, TUESDAY + 10 * HOUR), |event| {
                if matches!(event.kind, EventKind::AppointmentBooked { .. }) && event.clinic == Some(0) {
                    expected += 1;
                }
            });
        let first = booked.points[0].1;
        let last = booked.points[booked.points.len() - 1].1;
        assert_eq!(booked.points.len(), 121);
        assert_eq!(last - first, f64::from(expected));
    }

    #[test]
    fn counters_restart_after_midnight_and_show_the_whole_day_at_midnight() {
        let clinic = clinic();
        let midnight = TUESDAY + 24 * HOUR;
        let all = clinic.raw_series(TimeRange::new(midnight - 60_000, midnight + 60_000));
        let logins = series_with(&all, "login_attempts_total", &[("result", "success")]);
        let mut day_total = 0;
        clinic
            .simulation
            .for_each_event(TimeRange::new(TUESDAY, midnight), |event| {
                if event.kind
                    == (EventKind::LoginAttempt {
                        result: LoginResult::Success,
                    })
                {
                    day_total += 1;
                }
            });
        let values: Vec<f64> = logins.points.iter().map(|p| p.1).collect();
        assert_eq!(values[2], f64::from(day_total), "{values:?}");
        assert!(values[3] < values[2]);
        assert!(values[3] <= 2.0, "{values:?}");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let clinic = clinic();
        let all = clinic.raw_series(TimeRange::new(TUESDAY + 11 * HOUR, TUESDAY + 11 * HOUR + 1));
        let labels = [
            ("service", "records"),
            ("route", "GET /records/{id}"),
            ("status", "200"),
        ];
        let count = series_with(&all, "http_server_request_duration_seconds_count", &labels).points[0].1;
        let mut previous = 0.0;
        for bound in ["0.005", "0.01", "0.1", "0.25", "1", "10", "+Inf"] {
            let mut pairs = labels.to_vec();
            pairs.push(("le", bound));
            let value = series_with(&all, "http_server_request_duration_seconds_bucket", &pairs).points[0].1;
            assert!(value >= previous);
            previous = value;
        }
        assert_eq!(previous, count);
        assert!(count > 0.0);
    }

    #[test]
    fn queue_depth_follows_booked_reminders() {
        let clinic = clinic();
        let all = clinic.raw_series(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 12 * HOUR));
        let depth = series_with(&all, "sqs_queue_depth", &[("queue", "appointment-reminders")]);
        let age = series_with(
            &all,
            "sqs_oldest_message_age_seconds",
            &[("queue", "appointment-reminders")],
        );
        assert!(depth.points.iter().any(|p| p.1 > 0.0));
        for (d, a) in depth.points.iter().zip(&age.points) {
            assert_eq!(d.1 == 0.0, a.1 == 0.0);
            assert!(a.1 <= MAX_REMINDER_DELAY_MS as f64 / 1000.0);
        }
        let processed = series_with(
            &all,
            "sqs_messages_processed_total",
            &[("queue", "appointment-reminders")],
        );
        assert!(processed.points.windows(2).all(|pair| pair[1].1 >= pair[0].1));
        assert!(processed.points.last().unwrap().1 > processed.points[0].1);
    }

    #[test]
    fn openmetrics_text_has_types_timestamps_in_seconds_and_eof() {
        let clinic = clinic();
        let text = clinic.openmetrics(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 60_000));
        assert!(text.contains("# TYPE patient_registrations counter\n"));
        assert!(text.contains("# TYPE http_server_request_duration_seconds histogram\n"));
        assert!(text.contains("# TYPE sqs_queue_depth gauge\n"));
        let expected = "dynamodb_requests_total{operation=\"GetItem\",status=\"200\",table=\"users\"} ";
        let line = text.lines().find(|l| l.starts_with(expected)).unwrap();
        assert!(
            line.ends_with(&format!(" {}", (TUESDAY + 10 * HOUR) / 1000)),
            "{line}"
        );
        assert!(text.contains("le=\"+Inf\",route=\"POST /login\",service=\"login-api\",status=\"404\"}"));
        assert!(text.ends_with("# EOF\n"));
        // Two samples per series: 10:00:00 and 10:00:30.
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, clinic.catalogue.series.len() * 2);
    }

    #[test]
    fn metric_names_list_every_sample_name() {
        let names = clinic().catalogue.metric_names();
        assert_eq!(
            names,
            vec![
                "appointments_booked_total",
                "doctor_interactions_total",
                "dynamodb_requests_total",
                "http_server_request_duration_seconds_bucket",
                "http_server_request_duration_seconds_count",
                "http_server_request_duration_seconds_sum",
                "login_attempts_total",
                "patient_registrations_total",
                "sqs_messages_processed_total",
                "sqs_oldest_message_age_seconds",
                "sqs_queue_depth",
            ]
        );
    }
}
