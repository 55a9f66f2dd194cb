//! The nightly records imports: three batch jobs a night whose traces hold 10,000, 100,000 and
//! 1,000,000 spans, so that huge traces can be searched for and opened on the demo clinic.
//!
//! Nothing is stored: a trace's id names its night and size, and the spans are generated from
//! them on demand, the same every time. Each import writes records in batches of a hundred,
//! four at a time; every record is a `PutItem`, every tenth also sends a message, and a few
//! `PutItem`s fail as DynamoDB's do: a conditional check (an error), a throttle, and in the
//! largest import one internal error (a fault).

use std::collections::BTreeMap;

use vitals_api::query::TimeRange;
use vitals_api::{SpanKind, SpanStatus, TraceSummary};
use vitals_trace::{NO_ATTRIBUTES, NO_PARENT, NewSpan, SpanTable, TableBuilder};

use crate::simulation::{AWS_REGION, derive};
use crate::trace_filter::TraceFacts;

/// The service that runs the imports.
pub const IMPORT_SERVICE: &str = "records-import";
/// The request that starts every import.
const IMPORT_PATH: &str = "/imports/nightly";
/// The nodes an import's trace passes through.
const SERVICES: [&str; 3] = [IMPORT_SERVICE, "DynamoDB", "SQS"];
/// The middle of every import's trace id: `import` in hex.
const MARK: &str = "696d706f7274";
const DAY_S: i64 = 86_400;
const MS: i64 = 1_000_000;

/// Records per batch, and how many are written at once.
const BATCH_RECORDS: u32 = 100;
const LANES: u32 = 4;
/// Time per record, the gap between batches, in nanoseconds.
const RECORD_NS: i64 = 8 * MS;
const BATCH_NS: i64 = (BATCH_RECORDS / LANES) as i64 * RECORD_NS;
const BATCH_GAP_NS: i64 = 5 * MS;

/// One of the nightly imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Import {
    pub spans: u32,
    /// Seconds after midnight (UTC) it starts.
    pub at_s: i64,
    pub name: &'static str,
}

/// The imports of every night, smallest first.
pub const IMPORTS: [Import; 3] = [
    Import {
        spans: 10_000,
        at_s: 2 * 3600,
        name: "nightly import: appointments",
    },
    Import {
        spans: 100_000,
        at_s: 2 * 3600 + 1800,
        name: "nightly import: lab results",
    },
    Import {
        spans: 1_000_000,
        at_s: 3 * 3600,
        name: "nightly import: records archive",
    },
];

/// One night's run of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportRun {
    pub import: Import,
    /// Seconds since the Unix epoch.
    pub start_s: i64,
}

impl ImportRun {
    /// The run named by a trace id, if it names one.
    pub fn from_trace_id(id: &str) -> Option<Self> {
        let hex = id.trim().replace('-', "");
        let hex = hex
            .strip_prefix('1')
            .filter(|rest| rest.len() == 32)
            .unwrap_or(&hex);
        if hex.len() != 32 || &hex[8..20] != MARK {
            return None;
        }
        let start_s = i64::from_str_radix(&hex[..8], 16).ok()?;
        let spans = u32::from_str_radix(&hex[20..], 16).ok()?;
        let import = IMPORTS.into_iter().find(|import| import.spans == spans)?;
        (start_s.rem_euclid(DAY_S) == import.at_s).then_some(Self { import, start_s })
    }

    /// The runs that started and finished within `range` (milliseconds), newest first.
    pub fn within(range: TimeRange) -> Vec<Self> {
        let mut runs = Vec::new();
        let first_night = range.start_ms.div_euclid(1000).div_euclid(DAY_S) - 1;
        let last_night = range.end_ms.div_euclid(1000).div_euclid(DAY_S);
        for night in first_night..=last_night {
            for import in IMPORTS {
                let run = Self {
                    import,
                    start_s: night * DAY_S + import.at_s,
                };
                let start_ms = run.start_s * 1000;
                let end_ms = (run.start_ns() + run.duration_ns()) / MS;
                if start_ms >= range.start_ms && end_ms <= range.end_ms {
                    runs.push(run);
                }
            }
        }
        runs.sort_by_key(|run| std::cmp::Reverse(run.start_s));
        runs
    }

    /// W3C form: the start in seconds, `import`, and the span count.
    pub fn trace_id(&self) -> String {
        format!("{:08x}{MARK}{:012x}", self.start_s, self.import.spans)
    }

    pub fn start_ns(&self) -> i64 {
        self.start_s * 1_000 * MS
    }

    fn batches(&self) -> i64 {
        // A full batch is its own span and two or three per record.
        let per_batch = 1 + i64::from(BATCH_RECORDS) * 2 + i64::from(BATCH_RECORDS / 10);
        (i64::from(self.import.spans) - 1 + per_batch - 1) / per_batch
    }

    pub fn duration_ns(&self) -> i64 {
        BATCH_GAP_NS + self.batches() * (BATCH_NS + BATCH_GAP_NS)
    }

    /// How the run appears in a search.
    pub fn summary(&self) -> TraceSummary {
        TraceSummary {
            trace_id: self.trace_id(),
            service: IMPORT_SERVICE.to_owned(),
            name: self.import.name.to_owned(),
            start: self.start_ns(),
            duration: self.duration_ns(),
            status: self.worst_status(),
            http_status: Some(200),
            services: SERVICES.iter().map(|service| (*service).to_owned()).collect(),
        }
    }

    /// The worst outcome among the run's spans.
    pub fn worst_status(&self) -> SpanStatus {
        let records = self.records();
        if records >= FAULT_EVERY {
            SpanStatus::Fault
        } else if records >= ERROR_EVERY {
            SpanStatus::Error
        } else {
            SpanStatus::Ok
        }
    }

    /// What a trace filter can ask of the run.
    pub(crate) fn facts(&self) -> TraceFacts<'static> {
        let records = self.records();
        let seconds = self.duration_ns() as f64 / 1e9;
        TraceFacts {
            services: &SERVICES,
            ok: records < ERROR_EVERY,
            error: records >= ERROR_EVERY,
            fault: records >= FAULT_EVERY,
            throttle: records >= THROTTLE_EVERY,
            response_time_seconds: seconds,
            duration_seconds: seconds,
            http_status: Some(200),
            url: IMPORT_PATH,
        }
    }

    /// About how many records the run writes.
    fn records(&self) -> u32 {
        (self.batches() * i64::from(BATCH_RECORDS)) as u32
    }

    /// Every span of the run.
    pub fn spans(&self) -> SpanTable {
        Generator::new(*self).run()
    }
}

/// One `PutItem` in this many fails its condition, one in `THROTTLE_EVERY` is throttled, and one
/// in `FAULT_EVERY` meets an internal error.
const ERROR_EVERY: u32 = 997;
const THROTTLE_EVERY: u32 = 4_999;
const FAULT_EVERY: u32 = 333_331;

struct Generator {
    run: ImportRun,
    builder: TableBuilder,
    seed: u64,
    sets: Sets,
}

/// The attribute sets the spans share.
struct Sets {
    root: u32,
    put: u32,
    put_failed: u32,
    put_throttled: u32,
    put_fault: u32,
    send: u32,
    record_failed: u32,
}

impl Generator {
    fn new(run: ImportRun) -> Self {
        let mut builder = TableBuilder::new(&run.trace_id());
        builder.reserve(run.import.spans as usize);
        let attributes = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        };
        let put = |status: &str, extra: &[(&str, &str)]| {
            let mut set = attributes(&[
                ("aws.operation", "PutItem"),
                ("aws.region", AWS_REGION),
                ("aws.table_name", "patient-records"),
                ("peer.service", "DynamoDB"),
                ("http.status_code", status),
            ]);
            set.extend(attributes(extra));
            set
        };
        let sets = Sets {
            root: builder.attribute_set(&attributes(&[
                ("job", "nightly-import"),
                ("import.name", run.import.name),
            ])),
            put: builder.attribute_set(&put("200", &[])),
            put_failed: builder.attribute_set(&put(
                "400",
                &[
                    ("error", "ConditionalCheckFailedException"),
                    (
                        "exception.message",
                        "The conditional request failed: a newer version of the record is stored",
                    ),
                ],
            )),
            put_throttled: builder.attribute_set(&put(
                "400",
                &[
                    ("error", "ProvisionedThroughputExceededException"),
                    (
                        "exception.message",
                        "The level of configured provisioned throughput for the table was exceeded",
                    ),
                ],
            )),
            put_fault: builder.attribute_set(&put(
                "500",
                &[
                    ("error", "InternalServerError"),
                    ("exception.message", "Internal server error"),
                ],
            )),
            send: builder.attribute_set(&attributes(&[
                ("aws.operation", "SendMessage"),
                ("aws.region", AWS_REGION),
                (
                    "aws.queue_url",
                    "https://sqs.eu-west-1.amazonaws.com/123456789012/record-updates",
                ),
                ("peer.service", "SQS"),
                ("http.status_code", "200"),
            ])),
            record_failed: builder.attribute_set(&attributes(&[("error", "record not written")])),
        };
        Self {
            run,
            builder,
            seed: u64::from(run.import.spans) ^ (run.start_s as u64).rotate_left(20),
            sets,
        }
    }

    fn push(
        &mut self,
        parent: u32,
        what: Piece,
        start: i64,
        duration: i64,
        status: SpanStatus,
        attributes: u32,
    ) -> u32 {
        let id = derive(self.seed, u64::from(self.count())).max(1);
        let (name, kind) = match what {
            Piece::Root => (self.run.import.name, SpanKind::Server),
            Piece::Batch => ("import batch", SpanKind::Internal),
            Piece::Record => ("write record", SpanKind::Internal),
            Piece::Put => ("DynamoDB.PutItem", SpanKind::Client),
            Piece::Send => ("SQS.SendMessage", SpanKind::Client),
        };
        self.builder.push(NewSpan {
            id,
            parent,
            service: IMPORT_SERVICE,
            name,
            start,
            duration,
            status,
            kind,
            attributes,
        })
    }

    fn count(&self) -> u32 {
        self.builder.len() as u32
    }

    fn full(&self) -> bool {
        self.count() >= self.run.import.spans
    }

    fn run(mut self) -> SpanTable {
        let start = self.run.start_ns();
        let root_set = self.sets.root;
        let root = self.push(
            NO_PARENT,
            Piece::Root,
            start,
            self.run.duration_ns(),
            SpanStatus::Ok,
            root_set,
        );
        let mut record_number = 0_u32;
        let mut batch_start = start + BATCH_GAP_NS;
        while !self.full() {
            let batch = self.push(
                root,
                Piece::Batch,
                batch_start,
                BATCH_NS,
                SpanStatus::Ok,
                NO_ATTRIBUTES,
            );
            for in_batch in 0..BATCH_RECORDS {
                if self.full() {
                    break;
                }
                record_number += 1;
                let jitter = (derive(self.seed, u64::from(record_number) << 32) % 1_000_000) as i64;
                let record_start = batch_start + i64::from(in_batch / LANES) * RECORD_NS + jitter / 4;
                let (status, put_set) = self.outcome(record_number);
                let record_set = if status == SpanStatus::Ok {
                    NO_ATTRIBUTES
                } else {
                    self.sets.record_failed
                };
                let record = self.push(batch, Piece::Record, record_start, 7 * MS, status, record_set);
                if !self.full() {
                    let put_duration = 3 * MS + jitter * 2;
                    self.push(
                        record,
                        Piece::Put,
                        record_start + MS,
                        put_duration,
                        status,
                        put_set,
                    );
                }
                if in_batch % 10 == 9 && !self.full() {
                    let send_set = self.sets.send;
                    self.push(
                        record,
                        Piece::Send,
                        record_start + 6 * MS,
                        MS / 2,
                        SpanStatus::Ok,
                        send_set,
                    );
                }
            }
            batch_start += BATCH_NS + BATCH_GAP_NS;
        }
        self.builder.finish()
    }

    /// How the `number`th record's `PutItem` ends, and its attribute set.
    fn outcome(&self, number: u32) -> (SpanStatus, u32) {
        if number.is_multiple_of(FAULT_EVERY) {
            (SpanStatus::Fault, self.sets.put_fault)
        } else if number.is_multiple_of(THROTTLE_EVERY) {
            (SpanStatus::Throttle, self.sets.put_throttled)
        } else if number.is_multiple_of(ERROR_EVERY) {
            (SpanStatus::Error, self.sets.put_failed)
        } else {
            (SpanStatus::Ok, self.sets.put)
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Piece {
    Root,
    Batch,
    Record,
    Put,
    Send,
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_trace::huge::Analysed;

    /// Tuesday 2026-11-24 00:00 UTC.
    const NIGHT_S: i64 = 1_795_478_400;

    #[test]
    fn a_run_is_named_by_its_trace_id_and_nothing_else_is() {
        let run = ImportRun {
            import: IMPORTS[1],
            start_s: NIGHT_S + IMPORTS[1].at_s,
        };
        let id = run.trace_id();
        assert_eq!(id.len(), 32);
        assert_eq!(ImportRun::from_trace_id(&id), Some(run));
        let xray = format!("1-{}-{}", &id[..8], &id[8..]);
        assert_eq!(ImportRun::from_trace_id(&xray), Some(run));
        let wrong_hour = ImportRun {
            start_s: run.start_s + 60,
            ..run
        };
        assert_eq!(ImportRun::from_trace_id(&wrong_hour.trace_id()), None);
        assert_eq!(ImportRun::from_trace_id("5f84c7a1696d706f7274000000000007"), None);
        assert_eq!(ImportRun::from_trace_id("0123456789abcdef0123456789abcdef"), None);
    }

    #[test]
    fn every_import_has_its_size_its_failures_and_one_root() {
        for import in &IMPORTS[..2] {
            let run = ImportRun {
                import: *import,
                start_s: NIGHT_S + import.at_s,
            };
            let table = run.spans();
            assert_eq!(table.len(), import.spans as usize, "{}", import.name);
            let trace = Analysed::new(table);
            assert_eq!(trace.tree.roots(), &[0]);
            let overview = trace.overview(5_000).unwrap();
            assert_eq!(overview.duration, run.duration_ns(), "{}", import.name);
            assert_eq!(overview.spans_per_depth.len(), 4, "root, batches, records, calls");
            assert!(overview.error_count > 0, "{}", import.name);
            assert!(
                overview
                    .errors
                    .iter()
                    .any(|span| span.status == run.worst_status()),
                "{}",
                import.name
            );
            assert_eq!(run.summary().status, run.worst_status());
        }
    }

    #[test]
    fn the_same_id_gives_the_same_spans() {
        let run = ImportRun {
            import: IMPORTS[0],
            start_s: NIGHT_S + IMPORTS[0].at_s,
        };
        let (first, again) = (run.spans(), run.spans());
        for index in [0, 1, 2, 5_000, 9_999] {
            assert_eq!(first.span(index), again.span(index));
        }
    }

    #[test]
    fn the_imports_are_found_by_search_and_opened_by_id() {
        use crate::{DemoClinic, DemoConfig};
        use vitals_api::query::TraceQuery;
        let clinic = DemoClinic::new(DemoConfig::default());
        let night = TimeRange::new(NIGHT_S * 1000, (NIGHT_S + 5 * 3600) * 1000);
        let search = |filter: &str, limit| {
            clinic
                .search_traces(&TraceQuery {
                    filter: filter.to_owned(),
                    range: night,
                    limit,
                })
                .unwrap()
        };
        let imports = search("service(\"records-import\")", 10);
        let sizes: Vec<&str> = imports.iter().map(|found| found.name.as_str()).collect();
        assert_eq!(
            sizes,
            [
                "nightly import: records archive",
                "nightly import: lab results",
                "nightly import: appointments"
            ]
        );
        let faults = search("fault", 1_000);
        assert!(
            faults.iter().any(|found| found.trace_id == imports[0].trace_id),
            "the archive import had a fault"
        );
        let everything = search("", 100_000);
        let starts: Vec<i64> = everything.iter().map(|found| found.start).collect();
        assert!(
            starts.windows(2).all(|pair| pair[0] >= pair[1]),
            "newest first, imports merged in"
        );
        assert_eq!(
            everything
                .iter()
                .filter(|found| found.service == IMPORT_SERVICE)
                .count(),
            3
        );

        let smallest = clinic.trace_table_by_id(&imports[2].trace_id).unwrap();
        assert_eq!(smallest.len(), 10_000);
        assert_eq!(
            clinic.trace_by_id(&imports[2].trace_id).unwrap().spans.len(),
            10_000
        );
    }

    #[test]
    fn only_finished_runs_in_the_range_are_found() {
        let night = |hours: i64| (NIGHT_S + hours * 3600) * 1000;
        let runs = ImportRun::within(TimeRange::new(night(0), night(5)));
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0].import.spans, 1_000_000, "newest first");
        let early = ImportRun::within(TimeRange::new(night(0), night(3)));
        assert_eq!(early.len(), 2, "the archive import has not finished at 03:00");
    }
}
