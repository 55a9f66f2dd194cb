//! PromQL over the demo's metrics: a subset evaluated the way Prometheus 2.x evaluates it.
//!
//! The query is parsed with `promql-parser`, checked against the subset
//! (anything else is refused naming the part), then evaluated over the raw
//! 30 s samples, one whole series at a time across every step. Semantics
//! follow Prometheus 2.42 (the version the tests fill with the same data):
//! range selectors and the 5-minute lookback include both ends, `rate`,
//! `increase` and `delta` use `extrapolatedRate` with counter-reset
//! correction, and functions, arithmetic and aggregations drop `__name__`.

use std::collections::{BTreeMap, HashMap};

use promql_parser::label::Matchers;
use promql_parser::parser::token::{
    T_ADD, T_AVG, T_COUNT, T_DIV, T_EQLC, T_GTE, T_GTR, T_LSS, T_LTE, T_MAX, T_MIN, T_MOD, T_MUL, T_NEQ,
    T_POW, T_SUB, T_SUM,
};
use promql_parser::parser::{
    self, AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};
use vitals_api::{Labels, MetricQueryResponse, Point, ResultType, Series};

use super::DemoClinic;
use super::logql::Comparison;
use super::metrics::SampleGrid;
use super::simulation::{DAY_MS, STEP_MS};
use vitals_api::query_limits::{NESTING_CEILING, QueryLimits, too_deep};

use crate::error::{DemoError, bad_query};

/// How far back an instant selector looks for the latest sample.
const LOOKBACK_MS: i64 = 300_000;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

/// The longest stretch of raw samples one query may read: it keeps a
/// query's memory to a few tens of megabytes.
const MAX_SAMPLE_SPAN_MS: i64 = 32 * DAY_MS;

const NAME: &str = "__name__";

const SUPPORTED_FUNCTIONS: &str = "the demo source supports rate, increase, irate, delta, idelta, avg_over_time, \
    min_over_time, max_over_time, sum_over_time, count_over_time, last_over_time and histogram_quantile";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeFunction {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    LastOverTime,
}

impl RangeFunction {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => Self::Rate,
            "increase" => Self::Increase,
            "delta" => Self::Delta,
            "irate" => Self::Irate,
            "idelta" => Self::Idelta,
            "avg_over_time" => Self::AvgOverTime,
            "min_over_time" => Self::MinOverTime,
            "max_over_time" => Self::MaxOverTime,
            "sum_over_time" => Self::SumOverTime,
            "count_over_time" => Self::CountOverTime,
            "last_over_time" => Self::LastOverTime,
            _ => return None,
        })
    }

    /// The value over the samples of one window (times in ms).
    fn apply(self, samples: &[(i64, f64)], range_start: i64, range_end: i64, range_ms: i64) -> Option<f64> {
        let values = || samples.iter().map(|&(_, v)| v);
        match self {
            Self::Rate => extrapolated_rate(samples, range_start, range_end, range_ms, true, true),
            Self::Increase => extrapolated_rate(samples, range_start, range_end, range_ms, true, false),
            Self::Delta => extrapolated_rate(samples, range_start, range_end, range_ms, false, false),
            Self::Irate => instant_value(samples, true),
            Self::Idelta => instant_value(samples, false),
            _ if samples.is_empty() => None,
            Self::AvgOverTime => {
                let mut mean = Mean::default();
                values().for_each(|v| mean.add(v));
                Some(mean.value)
            }
            Self::MinOverTime => values().reduce(|min, v| if v < min || min.is_nan() { v } else { min }),
            Self::MaxOverTime => values().reduce(|max, v| if v > max || max.is_nan() { v } else { max }),
            Self::SumOverTime => Some(values().sum()),
            Self::CountOverTime => Some(samples.len() as f64),
            Self::LastOverTime => samples.last().map(|&(_, v)| v),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggregateOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Compare(Comparison),
}

impl BinaryOp {
    fn is_comparison(self) -> bool {
        matches!(self, Self::Compare(_))
    }

    /// Prometheus' `vectorElemBinop`: the value, and whether a comparison holds.
    fn apply(self, left: f64, right: f64) -> (f64, bool) {
        match self {
            Self::Add => (left + right, true),
            Self::Sub => (left - right, true),
            Self::Mul => (left * right, true),
            Self::Div => (left / right, true),
            Self::Mod => (left % right, true),
            Self::Pow => (left.powf(right), true),
            Self::Compare(comparison) => (left, comparison.holds(left, right)),
        }
    }
}

/// `by`/`on` (include) or `without`/`ignoring` (exclude) a list of labels.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelList {
    include: bool,
    labels: Vec<String>,
}

impl LabelList {
    fn from_modifier(modifier: &LabelModifier) -> Self {
        Self {
            include: modifier.is_include(),
            labels: modifier.labels().labels.clone(),
        }
    }
}

/// The query after checking it against the subset.
#[derive(Debug, Clone)]
enum Plan {
    Number(f64),
    /// Index into the planner's selectors.
    Instant(usize),
    Range {
        function: RangeFunction,
        selector: usize,
        range_ms: i64,
    },
    Aggregate {
        op: AggregateOp,
        grouping: Option<LabelList>,
        inner: Box<Plan>,
    },
    HistogramQuantile {
        phi: Box<Plan>,
        inner: Box<Plan>,
    },
    Binary {
        op: BinaryOp,
        return_bool: bool,
        matching: Option<LabelList>,
        lhs: Box<Plan>,
        rhs: Box<Plan>,
    },
    Negate(Box<Plan>),
}

struct Planner<'a> {
    clinic: &'a DemoClinic,
    /// Catalogue indices each selector matches, sorted by labels as
    /// Prometheus' storage returns them.
    selectors: Vec<Vec<usize>>,
    /// The furthest back any part of the query looks, in ms.
    max_window_ms: i64,
    /// How deep in the expression the planner is; the plan and its evaluation recurse as deep.
    depth: usize,
}

impl Planner<'_> {
    fn plan(&mut self, expr: &Expr) -> Result<Plan, DemoError> {
        self.depth += 1;
        if self.depth > NESTING_CEILING {
            return Err(bad_query(too_deep(NESTING_CEILING)));
        }
        let plan = self.plan_node(expr);
        self.depth -= 1;
        plan
    }

    fn plan_node(&mut self, expr: &Expr) -> Result<Plan, DemoError> {
        match expr {
            Expr::NumberLiteral(number) => Ok(Plan::Number(number.val)),
            Expr::Paren(paren) => self.plan(&paren.expr),
            Expr::Unary(unary) => Ok(Plan::Negate(Box::new(self.plan(&unary.expr)?))),
            Expr::VectorSelector(selector) => {
                let index = self.selector(selector)?;
                self.max_window_ms = self.max_window_ms.max(LOOKBACK_MS);
                Ok(Plan::Instant(index))
            }
            Expr::MatrixSelector(_) => Err(bad_query(
                "a range vector such as `x[5m]` cannot be shown as it is; wrap it in a function such as rate(x[5m]) \
                 or avg_over_time(x[5m])",
            )),
            Expr::Call(call) => self.call(call),
            Expr::Aggregate(aggregate) => self.aggregate(aggregate),
            Expr::Binary(binary) => self.binary(binary),
            Expr::Subquery(_) => Err(bad_query(
                "subqueries such as `rate(x[5m])[1h:1m]` are not supported by the demo source; use a range query \
                 instead",
            )),
            Expr::StringLiteral(_) => Err(bad_query(
                "a string literal is not a query result the demo source can show; query a metric",
            )),
            Expr::Extension(_) => Err(bad_query("this expression is not supported by the demo source")),
        }
    }

    fn selector(&mut self, selector: &VectorSelector) -> Result<usize, DemoError> {
        if selector.offset.is_some() {
            return Err(bad_query(
                "`offset` is not supported by the demo source; move the time range instead",
            ));
        }
        if selector.at.is_some() {
            return Err(bad_query(
                "`@` modifiers are not supported by the demo source; move the time range instead",
            ));
        }
        if !selector.matchers.or_matchers.is_empty() {
            return Err(bad_query(
                "`or` inside a selector is not supported by the demo source; use a regex matcher such as a=~\"x|y\"",
            ));
        }
        let series = &self.clinic.catalogue.series;
        let mut matched: Vec<usize> = (0..series.len())
            .filter(|&index| {
                let labels = &series[index].labels;
                selector
                    .name
                    .as_ref()
                    .is_none_or(|name| series[index].name() == name)
                    && matches_all(&selector.matchers, labels)
            })
            .collect();
        matched.sort_by(|&a, &b| series[a].labels.cmp(&series[b].labels));
        self.selectors.push(matched);
        Ok(self.selectors.len() - 1)
    }

    fn call(&mut self, call: &Call) -> Result<Plan, DemoError> {
        let name = call.func.name;
        let args = &call.args.args;
        if name == "histogram_quantile" {
            let (Some(phi), Some(inner)) = (args.first(), args.get(1)) else {
                return Err(bad_query(
                    "histogram_quantile takes a quantile and a vector of buckets",
                ));
            };
            return Ok(Plan::HistogramQuantile {
                phi: Box::new(self.plan(phi)?),
                inner: Box::new(self.plan(inner)?),
            });
        }
        let Some(function) = RangeFunction::from_name(name) else {
            return Err(bad_query(format!(
                "`{name}` is not supported by the demo source; {SUPPORTED_FUNCTIONS}"
            )));
        };
        match args.first().map(|arg| arg.as_ref()) {
            Some(Expr::MatrixSelector(matrix)) => {
                let selector = self.selector(&matrix.vs)?;
                let range_ms = matrix.range.as_millis() as i64;
                self.max_window_ms = self.max_window_ms.max(range_ms);
                Ok(Plan::Range {
                    function,
                    selector,
                    range_ms,
                })
            }
            Some(Expr::Subquery(_)) => Err(bad_query(format!(
                "subqueries inside `{name}` are not supported by the demo source; give it a range selector such as \
                 x[5m]"
            ))),
            _ => Err(bad_query(format!(
                "`{name}` takes a range selector such as x[5m]"
            ))),
        }
    }

    fn aggregate(&mut self, aggregate: &AggregateExpr) -> Result<Plan, DemoError> {
        let op = match aggregate.op.id() {
            T_SUM => AggregateOp::Sum,
            T_AVG => AggregateOp::Avg,
            T_MIN => AggregateOp::Min,
            T_MAX => AggregateOp::Max,
            T_COUNT => AggregateOp::Count,
            _ => {
                return Err(bad_query(format!(
                    "`{}` is not supported by the demo source; use sum, avg, min, max or count",
                    aggregate.op
                )));
            }
        };
        Ok(Plan::Aggregate {
            op,
            grouping: aggregate.modifier.as_ref().map(LabelList::from_modifier),
            inner: Box::new(self.plan(&aggregate.expr)?),
        })
    }

    fn binary(&mut self, binary: &BinaryExpr) -> Result<Plan, DemoError> {
        let op = match binary.op.id() {
            T_ADD => BinaryOp::Add,
            T_SUB => BinaryOp::Sub,
            T_MUL => BinaryOp::Mul,
            T_DIV => BinaryOp::Div,
            T_MOD => BinaryOp::Mod,
            T_POW => BinaryOp::Pow,
            T_EQLC => BinaryOp::Compare(Comparison::Equal),
            T_NEQ => BinaryOp::Compare(Comparison::NotEqual),
            T_GTR => BinaryOp::Compare(Comparison::Greater),
            T_GTE => BinaryOp::Compare(Comparison::GreaterOrEqual),
            T_LSS => BinaryOp::Compare(Comparison::Less),
            T_LTE => BinaryOp::Compare(Comparison::LessOrEqual),
            _ => {
                return Err(bad_query(format!(
                    "the operator `{}` is not supported by the demo source; use + - * / % ^ or a comparison",
                    binary.op
                )));
            }
        };
        let (return_bool, matching) = match &binary.modifier {
            None => (false, None),
            Some(modifier) => {
                if !matches!(modifier.card, VectorMatchCardinality::OneToOne) {
                    return Err(bad_query(
                        "`group_left` and `group_right` are not supported by the demo source; it matches series one \
                         to one (with on or ignoring)",
                    ));
                }
                if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
                    return Err(bad_query("`fill` modifiers are not supported by the demo source"));
                }
                (
                    modifier.return_bool,
                    modifier.matching.as_ref().map(LabelList::from_modifier),
                )
            }
        };
        Ok(Plan::Binary {
            op,
            return_bool,
            matching,
            lhs: Box::new(self.plan(&binary.lhs)?),
            rhs: Box::new(self.plan(&binary.rhs)?),
        })
    }
}

fn matches_all(matchers: &Matchers, labels: &Labels) -> bool {
    matchers
        .matchers
        .iter()
        .all(|matcher| matcher.is_match(labels.get(&matcher.name).map_or("", String::as_str)))
}

/// One series across every evaluation step (`None` where it has no value).
#[derive(Debug, Clone, PartialEq)]
struct Stream {
    labels: Labels,
    values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Scalar(Vec<f64>),
    Vector(Vec<Stream>),
}

struct Evaluator<'a> {
    clinic: &'a DemoClinic,
    grid: &'a SampleGrid,
    row_of: HashMap<usize, usize>,
    selectors: &'a [Vec<usize>],
    times: &'a [i64],
}

impl Evaluator<'_> {
    fn eval(&self, plan: &Plan) -> Result<Value, DemoError> {
        match plan {
            Plan::Number(number) => Ok(Value::Scalar(vec![*number; self.times.len()])),
            Plan::Instant(selector) => Ok(Value::Vector(self.instant(*selector))),
            Plan::Range {
                function,
                selector,
                range_ms,
            } => {
                let streams = self.range(*function, *selector, *range_ms);
                ensure_unique(&streams)?;
                Ok(Value::Vector(streams))
            }
            Plan::Aggregate { op, grouping, inner } => {
                let streams = self.vector(inner, "an aggregation")?;
                Ok(Value::Vector(aggregate(
                    *op,
                    grouping.as_ref(),
                    streams,
                    self.times.len(),
                )))
            }
            Plan::HistogramQuantile { phi, inner } => {
                let phi = match self.eval(phi)? {
                    Value::Scalar(values) => values,
                    Value::Vector(_) => {
                        return Err(bad_query(
                            "the first argument of histogram_quantile must be a number such as 0.95",
                        ));
                    }
                };
                let streams = self.vector(inner, "histogram_quantile")?;
                Ok(Value::Vector(histogram_quantile(&phi, streams, self.times.len())))
            }
            Plan::Binary {
                op,
                return_bool,
                matching,
                lhs,
                rhs,
            } => {
                let value = match (self.eval(lhs)?, self.eval(rhs)?) {
                    (Value::Scalar(left), Value::Scalar(right)) => Value::Scalar(
                        left.iter()
                            .zip(&right)
                            .map(|(&l, &r)| {
                                let (value, holds) = op.apply(l, r);
                                if op.is_comparison() {
                                    f64::from(u8::from(holds))
                                } else {
                                    value
                                }
                            })
                            .collect(),
                    ),
                    (Value::Vector(left), Value::Scalar(right)) => {
                        Value::Vector(vector_scalar(*op, *return_bool, left, &right, false))
                    }
                    (Value::Scalar(left), Value::Vector(right)) => {
                        Value::Vector(vector_scalar(*op, *return_bool, right, &left, true))
                    }
                    (Value::Vector(left), Value::Vector(right)) => Value::Vector(vector_vector(
                        *op,
                        *return_bool,
                        matching.as_ref(),
                        left,
                        right,
                        self.times.len(),
                    )?),
                };
                if let Value::Vector(streams) = &value {
                    ensure_unique(streams)?;
                }
                Ok(value)
            }
            Plan::Negate(inner) => match self.eval(inner)? {
                Value::Scalar(values) => Ok(Value::Scalar(values.into_iter().map(|v| -v).collect())),
                Value::Vector(streams) => {
                    let negated: Vec<Stream> = streams
                        .into_iter()
                        .map(|stream| Stream {
                            labels: without_name(stream.labels),
                            values: stream.values.into_iter().map(|v| v.map(|v| -v)).collect(),
                        })
                        .collect();
                    ensure_unique(&negated)?;
                    Ok(Value::Vector(negated))
                }
            },
        }
    }

    fn vector(&self, plan: &Plan, context: &str) -> Result<Vec<Stream>, DemoError> {
        match self.eval(plan)? {
            Value::Vector(streams) => Ok(streams),
            Value::Scalar(_) => Err(bad_query(format!(
                "{context} needs a vector of series, not a number"
            ))),
        }
    }

    fn instant(&self, selector: usize) -> Vec<Stream> {
        self.each_series(selector, |row, t| {
            let column = self.last_column_at(t)?;
            (self.grid.time(column) >= t - LOOKBACK_MS).then(|| row[column])
        })
    }

    /// One stream per series the selector picked, valued at each evaluation
    /// time by `value_at` from that series' samples.
    fn each_series(
        &self,
        selector: usize,
        mut value_at: impl FnMut(&[f64], i64) -> Option<f64>,
    ) -> Vec<Stream> {
        self.selectors[selector]
            .iter()
            .map(|series| {
                let row = self.grid.row(self.row_of[series]);
                Stream {
                    labels: self.clinic.catalogue.series[*series].labels.clone(),
                    values: self.times.iter().map(|&t| value_at(row, t)).collect(),
                }
            })
            .collect()
    }

    /// The column of the latest sample at or before `t`.
    fn last_column_at(&self, t: i64) -> Option<usize> {
        if t < self.grid.first_ms || self.grid.columns == 0 {
            return None;
        }
        Some((((t - self.grid.first_ms) / STEP_MS) as usize).min(self.grid.columns - 1))
    }

    fn range(&self, function: RangeFunction, selector: usize, range_ms: i64) -> Vec<Stream> {
        let mut window: Vec<(i64, f64)> = Vec::new();
        let streams = self.each_series(selector, |row, t| {
            window.clear();
            let range_start = t - range_ms;
            if let Some(last) = self.last_column_at(t) {
                let first = (range_start - self.grid.first_ms).max(0);
                let first = ((first + STEP_MS - 1) / STEP_MS) as usize;
                window.extend((first..=last).map(|column| (self.grid.time(column), row[column])));
            }
            function.apply(&window, range_start, t, range_ms)
        });
        if function == RangeFunction::LastOverTime {
            return streams;
        }
        streams
            .into_iter()
            .map(|stream| Stream {
                labels: without_name(stream.labels),
                values: stream.values,
            })
            .collect()
    }
}

fn without_name(mut labels: Labels) -> Labels {
    labels.remove(NAME);
    labels
}

/// Prometheus refuses a result with two series of the same labels at once.
fn ensure_unique(streams: &[Stream]) -> Result<(), DemoError> {
    let mut by_labels: HashMap<&Labels, &Stream> = HashMap::new();
    for stream in streams {
        if let Some(other) = by_labels.insert(&stream.labels, stream) {
            let overlap = stream
                .values
                .iter()
                .zip(&other.values)
                .any(|(a, b)| a.is_some() && b.is_some());
            if overlap {
                return Err(bad_query(format!(
                    "vector cannot contain metrics with the same labelset {}; aggregate them or select one metric",
                    format_labels(&stream.labels)
                )));
            }
        }
    }
    Ok(())
}

fn format_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// The labels a `by`/`without` grouping keeps (`without` also drops the name).
fn group_labels(labels: &Labels, grouping: Option<&LabelList>) -> Labels {
    match grouping {
        None => Labels::new(),
        Some(list) if list.include => labels
            .iter()
            .filter(|(name, _)| list.labels.contains(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Some(list) => labels
            .iter()
            .filter(|(name, _)| name.as_str() != NAME && !list.labels.contains(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The running mean Prometheus uses for `avg`, which survives infinities.
#[derive(Debug, Default)]
struct Mean {
    value: f64,
    count: f64,
}

impl Mean {
    fn add(&mut self, sample: f64) {
        self.count += 1.0;
        if self.count == 1.0 {
            self.value = sample;
            return;
        }
        if self.value.is_infinite() {
            if sample.is_infinite() && (self.value > 0.0) == (sample > 0.0) {
                return;
            }
            if !sample.is_infinite() && !sample.is_nan() {
                return;
            }
        }
        self.value += sample / self.count - self.value / self.count;
    }
}

fn aggregate(
    op: AggregateOp,
    grouping: Option<&LabelList>,
    streams: Vec<Stream>,
    steps: usize,
) -> Vec<Stream> {
    let mut groups: BTreeMap<Labels, Vec<Stream>> = BTreeMap::new();
    for stream in streams {
        groups
            .entry(group_labels(&stream.labels, grouping))
            .or_default()
            .push(stream);
    }
    groups
        .into_iter()
        .map(|(labels, members)| {
            let values = (0..steps)
                .map(|step| {
                    let mut present = members.iter().filter_map(|m| m.values[step]).peekable();
                    present.peek()?;
                    Some(match op {
                        AggregateOp::Sum => present.sum(),
                        AggregateOp::Count => present.count() as f64,
                        AggregateOp::Avg => {
                            let mut mean = Mean::default();
                            present.for_each(|v| mean.add(v));
                            mean.value
                        }
                        AggregateOp::Min => {
                            present.fold(f64::NAN, |min, v| if v < min || min.is_nan() { v } else { min })
                        }
                        AggregateOp::Max => {
                            present.fold(f64::NAN, |max, v| if v > max || max.is_nan() { v } else { max })
                        }
                    })
                })
                .collect();
            Stream { labels, values }
        })
        .collect()
}

fn vector_scalar(
    op: BinaryOp,
    return_bool: bool,
    streams: Vec<Stream>,
    scalar: &[f64],
    scalar_first: bool,
) -> Vec<Stream> {
    streams
        .into_iter()
        .filter_map(|stream| {
            let values: Vec<Option<f64>> = stream
                .values
                .iter()
                .zip(scalar)
                .map(|(&value, &s)| {
                    let v = value?;
                    let (left, right) = if scalar_first { (s, v) } else { (v, s) };
                    let (mut result, holds) = op.apply(left, right);
                    // A comparison keeps the vector's value even when the number is on the left.
                    if op.is_comparison() && scalar_first {
                        result = v;
                    }
                    if return_bool {
                        Some(f64::from(u8::from(holds)))
                    } else {
                        holds.then_some(result)
                    }
                })
                .collect();
            values.iter().any(Option::is_some).then(|| Stream {
                labels: if return_bool || !op.is_comparison() {
                    without_name(stream.labels)
                } else {
                    stream.labels
                },
                values,
            })
        })
        .collect()
}

/// The labels two series are matched on.
fn signature(labels: &Labels, matching: Option<&LabelList>) -> Labels {
    match matching {
        Some(list) => group_labels(labels, Some(list)),
        None => without_name(labels.clone()),
    }
}

fn vector_vector(
    op: BinaryOp,
    return_bool: bool,
    matching: Option<&LabelList>,
    left: Vec<Stream>,
    right: Vec<Stream>,
    steps: usize,
) -> Result<Vec<Stream>, DemoError> {
    let mut right_by_signature: HashMap<Labels, Vec<usize>> = HashMap::new();
    for (index, stream) in right.iter().enumerate() {
        right_by_signature
            .entry(signature(&stream.labels, matching))
            .or_default()
            .push(index);
    }
    let left_signatures: Vec<Labels> = left.iter().map(|s| signature(&s.labels, matching)).collect();
    // At each step a signature may have one series per side.
    let mut matched_left: HashMap<(&Labels, usize), usize> = HashMap::new();
    let mut results = Vec::new();
    for (left_index, stream) in left.iter().enumerate() {
        let Some(candidates) = right_by_signature.get(&left_signatures[left_index]) else {
            continue;
        };
        let mut values = vec![None; steps];
        for (step, value) in values.iter_mut().enumerate() {
            let Some(left_value) = stream.values[step] else {
                continue;
            };
            let mut present = candidates.iter().filter(|&&r| right[r].values[step].is_some());
            let Some(&right_index) = present.next() else {
                continue;
            };
            if present.next().is_some() {
                return Err(bad_query(format!(
                    "found duplicate series for the match group {} on the right hand-side of the operation; \
                     many-to-many matching is not allowed: make the labels unique on one side with on(…) or an \
                     aggregation",
                    format_labels(&left_signatures[left_index])
                )));
            }
            if let Some(previous) = matched_left.insert((&left_signatures[left_index], step), left_index)
                && previous != left_index
            {
                return Err(bad_query(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right), \
                     which the demo source does not support; aggregate the left side first",
                ));
            }
            let right_value = right[right_index].values[step].unwrap_or(f64::NAN);
            let (result, holds) = op.apply(left_value, right_value);
            *value = if return_bool {
                Some(f64::from(u8::from(holds)))
            } else {
                holds.then_some(result)
            };
        }
        if values.iter().all(Option::is_none) {
            continue;
        }
        let mut labels = stream.labels.clone();
        if !op.is_comparison() || return_bool {
            labels.remove(NAME);
        }
        if let Some(list) = matching {
            labels = if list.include {
                labels
                    .into_iter()
                    .filter(|(name, _)| list.labels.contains(name))
                    .collect()
            } else {
                labels
                    .into_iter()
                    .filter(|(name, _)| !list.labels.contains(name))
                    .collect()
            };
        }
        results.push(Stream { labels, values });
    }
    Ok(results)
}

fn histogram_quantile(phi: &[f64], streams: Vec<Stream>, steps: usize) -> Vec<Stream> {
    let mut groups: BTreeMap<Labels, Vec<(f64, Stream)>> = BTreeMap::new();
    for stream in streams {
        // Series without a parsable `le` are skipped, as Prometheus does.
        let Some(upper) = stream.labels.get("le").and_then(|le| le.parse::<f64>().ok()) else {
            continue;
        };
        let mut labels = without_name(stream.labels.clone());
        labels.remove("le");
        groups.entry(labels).or_default().push((upper, stream));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| {
            let values = (0..steps)
                .map(|step| {
                    let mut present: Vec<(f64, f64)> = buckets
                        .iter()
                        .filter_map(|(upper, stream)| stream.values[step].map(|count| (*upper, count)))
                        .collect();
                    if present.is_empty() {
                        return None;
                    }
                    Some(bucket_quantile(phi[step], &mut present))
                })
                .collect();
            Stream { labels, values }
        })
        .filter(|stream| stream.values.iter().any(Option::is_some))
        .collect()
}

/// Prometheus' `bucketQuantile` over (upper bound, cumulative count) pairs.
fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|last| last.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Buckets with the same bound add up; counts never go down.
    buckets.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
    let mut max = f64::NEG_INFINITY;
    for bucket in buckets.iter_mut() {
        if bucket.1 > max {
            max = bucket.1;
        } else if bucket.1 < max {
            bucket.1 = max;
        }
    }
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|bucket| bucket.1 < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let mut bucket_start = 0.0;
    let bucket_end = buckets[b].0;
    let mut count = buckets[b].1;
    if b > 0 {
        bucket_start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Prometheus' `extrapolatedRate` (2.x): the increase between the first and
/// last samples, corrected for counter resets, extrapolated towards the
/// window's edges when the samples come close to them.
fn extrapolated_rate(
    samples: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (first_t, first_v) = samples[0];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = last_v - first_v;
    if is_counter {
        let mut previous = first_v;
        for &(_, value) in &samples[1..] {
            if value < previous {
                result += previous;
            }
            previous = value;
        }
    }
    let mut duration_to_start = (first_t - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled_interval = (last_t - first_t) as f64 / 1000.0;
    let average_between_samples = sampled_interval / (samples.len() - 1) as f64;
    if is_counter && result > 0.0 && first_v >= 0.0 {
        // A counter cannot go below zero: do not extrapolate past the point
        // where it would have been zero.
        let duration_to_zero = sampled_interval * (first_v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_between_samples * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        average_between_samples / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        average_between_samples / 2.0
    };
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Prometheus' `instantValue` for `irate` and `idelta`: the last two samples.
fn instant_value(samples: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (previous_t, previous_v) = samples[samples.len() - 2];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = if is_rate && last_v < previous_v {
        // A counter reset: the counter counted from zero since.
        last_v
    } else {
        last_v - previous_v
    };
    let interval_ms = last_t - previous_t;
    if interval_ms == 0 {
        return None;
    }
    if is_rate {
        result /= interval_ms as f64 / 1000.0;
    }
    Some(result)
}

impl DemoClinic {
    /// Evaluates a PromQL query at every step from `start_ms` to `end_ms` (inclusive).
    pub fn promql_range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, DemoError> {
        if step_ms <= 0 {
            return Err(bad_query("the step must be positive; use a step such as 60s"));
        }
        if end_ms < start_ms {
            return Err(bad_query("the end of the range is before its start; swap them"));
        }
        if (end_ms - start_ms) / step_ms + 1 > MAX_POINTS {
            return Err(bad_query(format!(
                "exceeded maximum resolution of {MAX_POINTS} points per timeseries; try a larger step"
            )));
        }
        let times: Vec<i64> = (0..)
            .map(|i| start_ms + i * step_ms)
            .take_while(|&t| t <= end_ms)
            .collect();
        let series = match self.evaluate(query, &times)? {
            Value::Scalar(values) => vec![Series {
                labels: Labels::new(),
                points: times.iter().zip(values).map(|(&t, v)| Point(t, v)).collect(),
            }],
            Value::Vector(streams) => sorted_series(streams, &times),
        };
        Ok(MetricQueryResponse {
            result_type: ResultType::Matrix,
            series,
            step_seconds: step_ms as f64 / 1000.0,
            warnings: Vec::new(),
        })
    }

    /// Evaluates a PromQL query at one instant.
    pub fn promql_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, DemoError> {
        let times = [at_ms];
        let (result_type, series) = match self.evaluate(query, &times)? {
            Value::Scalar(values) => (
                ResultType::Scalar,
                vec![Series {
                    labels: Labels::new(),
                    points: vec![Point(at_ms, values[0])],
                }],
            ),
            Value::Vector(streams) => (ResultType::Vector, sorted_series(streams, &times)),
        };
        Ok(MetricQueryResponse {
            result_type,
            series,
            step_seconds: 0.0,
            warnings: Vec::new(),
        })
    }

    fn evaluate(&self, query: &str, times: &[i64]) -> Result<Value, DemoError> {
        // The parser recurses per bracket: a deep query must not reach it.
        QueryLimits::CEILING.check(query).map_err(bad_query)?;
        let expr =
            parser::parse(query).map_err(|err| bad_query(format!("the query does not parse: {err}")))?;
        let mut planner = Planner {
            clinic: self,
            selectors: Vec::new(),
            max_window_ms: 0,
            depth: 0,
        };
        let plan = planner.plan(&expr)?;
        let mut rows: Vec<usize> = planner.selectors.iter().flatten().copied().collect();
        rows.sort_unstable();
        rows.dedup();
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
            return Ok(Value::Vector(Vec::new()));
        };
        if last - first + planner.max_window_ms > MAX_SAMPLE_SPAN_MS {
            return Err(bad_query(
                "the demo source reads at most 32 days of samples per query; narrow the range or the range selectors",
            ));
        }
        let grid = if rows.is_empty() {
            SampleGrid::empty()
        } else {
            self.catalogue
                .sample_grid(&self.simulation, rows, first - planner.max_window_ms, last)
        };
        let row_of = grid
            .rows
            .iter()
            .enumerate()
            .map(|(row, &series)| (series, row))
            .collect();
        let evaluator = Evaluator {
            clinic: self,
            grid: &grid,
            row_of,
            selectors: &planner.selectors,
            times,
        };
        evaluator.eval(&plan)
    }
}

fn sorted_series(streams: Vec<Stream>, times: &[i64]) -> Vec<Series> {
    let mut series: Vec<Series> = streams
        .into_iter()
        .map(|stream| Series {
            labels: stream.labels,
            points: times
                .iter()
                .zip(stream.values)
                .filter_map(|(&t, value)| value.map(|v| Point(t, v)))
                .collect(),
        })
        .filter(|series| !series.points.is_empty())
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::{EventKind, LoginResult};
    use crate::tests::{HOUR, TUESDAY, clinic};
    use vitals_api::query::TimeRange;

    fn instant(clinic: &DemoClinic, query: &str, at: i64) -> Vec<Series> {
        clinic.promql_instant(query, at).unwrap().series
    }

    fn single(clinic: &DemoClinic, query: &str, at: i64) -> f64 {
        let series = instant(clinic, query, at);
        assert_eq!(series.len(), 1, "{query}: {series:?}");
        series[0].points[0].1
    }

    fn reason(result: Result<MetricQueryResponse, DemoError>) -> String {
        match result {
            Err(DemoError::BadQuery(reason)) => reason,
            other => panic!("expected a bad query, got {other:?}"),
        }
    }

    fn count_events(clinic: &DemoClinic, range: TimeRange, wanted: impl Fn(&EventKind) -> bool) -> f64 {
        let mut count = 0.0;
        clinic.simulation.for_each_event(range, |event| {
            if wanted(&event.kind) {
                count += 1.0;
            }
        });
        count
    }

    #[test]
    fn increase_over_whole_samples_equals_the_event_count() {
        let clinic = clinic();
        // At 11:00 the window [10:00, 11:00] holds 121 samples exactly on its
        // edges, so extrapolatedRate does not stretch the difference.
        let at = TUESDAY + 11 * HOUR;
        let expected = count_events(&clinic, TimeRange::new(at - HOUR, at), |kind| {
            matches!(
                kind,
                EventKind::LoginAttempt {
                    result: LoginResult::Success
                }
            )
        });
        let value = single(
            &clinic,
            r#"increase(login_attempts_total{result="success"}[1h])"#,
            at,
        );
        assert_eq!(value, expected);
        let rate = single(&clinic, r#"rate(login_attempts_total{result="success"}[1h])"#, at);
        assert!((rate - expected / 3600.0).abs() < 1e-12);
    }

    #[test]
    fn sum_by_adds_the_series_of_each_group() {
        let clinic = clinic();
        let at = TUESDAY + 15 * HOUR;
        let by_result = instant(&clinic, "sum by (result) (patient_registrations_total)", at);
        assert_eq!(by_result.len(), 2);
        for series in &by_result {
            assert_eq!(series.labels.keys().collect::<Vec<_>>(), vec!["result"]);
            let accepted = series.labels["result"] == "success";
            let expected = count_events(&clinic, TimeRange::new(TUESDAY, at), |kind| {
                *kind == EventKind::Registration { accepted }
            });
            assert_eq!(series.points[0].1, expected);
        }
        let total = single(&clinic, "sum(patient_registrations_total)", at);
        let without = single(
            &clinic,
            "sum without (clinic, result) (patient_registrations_total)",
            at,
        );
        assert_eq!(total, by_result.iter().map(|s| s.points[0].1).sum::<f64>());
        assert_eq!(total, without);
        assert_eq!(single(&clinic, "count(patient_registrations_total)", at), 6.0);
        let max = single(&clinic, "max(patient_registrations_total)", at);
        let min = single(&clinic, "min(patient_registrations_total)", at);
        let avg = single(&clinic, "avg(patient_registrations_total)", at);
        assert!(min <= avg && avg <= max);
        assert!((avg - total / 6.0).abs() < 1e-9);
    }

    #[test]
    fn arithmetic_with_numbers_and_between_matching_vectors() {
        let clinic = clinic();
        let at = TUESDAY + 15 * HOUR;
        let total = single(&clinic, "sum(login_attempts_total)", at);
        assert_eq!(
            single(&clinic, "sum(login_attempts_total) * 2 + 1", at),
            total * 2.0 + 1.0
        );
        assert_eq!(
            single(&clinic, "100 - sum(login_attempts_total)", at),
            100.0 - total
        );
        assert_eq!(single(&clinic, "-sum(login_attempts_total)", at), -total);
        let scalar = clinic.promql_instant("2 * (3 + 4)", at).unwrap();
        assert_eq!(scalar.result_type, ResultType::Scalar);
        assert_eq!(scalar.series[0].points[0].1, 14.0);

        let success = single(&clinic, r#"sum(login_attempts_total{result="success"})"#, at);
        let ratio = single(
            &clinic,
            r#"sum(login_attempts_total{result="success"}) / sum(login_attempts_total)"#,
            at,
        );
        assert!((ratio - success / total).abs() < 1e-12);
        // One-to-one matching on identical labels after dropping the name.
        let mean = instant(
            &clinic,
            "http_server_request_duration_seconds_sum / http_server_request_duration_seconds_count",
            at,
        );
        assert_eq!(mean.len(), 8);
        assert!(
            mean.iter()
                .all(|s| !s.labels.contains_key("__name__") && s.points[0].1 > 0.0)
        );
        let with_on = instant(
            &clinic,
            r#"sum by (service) (http_server_request_duration_seconds_count) / on(service) sum by (service) (http_server_request_duration_seconds_count)"#,
            at,
        );
        assert_eq!(with_on.len(), 4);
        assert!(with_on.iter().all(|s| s.points[0].1 == 1.0));
    }

    #[test]
    fn comparisons_filter_or_answer_booleans() {
        let clinic = clinic();
        let at = TUESDAY + 15 * HOUR;
        let all = instant(&clinic, "login_attempts_total", at);
        let kept = instant(&clinic, "login_attempts_total >= 0", at);
        assert_eq!(kept, all);
        assert!(instant(&clinic, "login_attempts_total > 1e9", at).is_empty());
        let reversed = instant(&clinic, "0 <= login_attempts_total", at);
        assert_eq!(reversed, all);
        let flags = instant(&clinic, "login_attempts_total > bool 1e9", at);
        assert_eq!(flags.len(), all.len());
        assert!(
            flags
                .iter()
                .all(|s| s.points[0].1 == 0.0 && !s.labels.contains_key("__name__"))
        );
    }

    #[test]
    fn histogram_quantile_lies_within_the_bucket_bounds() {
        let clinic = clinic();
        let at = TUESDAY + 11 * HOUR;
        let series = instant(
            &clinic,
            "histogram_quantile(0.95, sum by (le, service) (rate(http_server_request_duration_seconds_bucket[5m])))",
            at,
        );
        assert_eq!(series.len(), 4);
        for one in &series {
            let value = one.points[0].1;
            assert!(value > 0.0 && value <= 10.0, "{one:?}");
        }
        let login = series
            .iter()
            .find(|s| s.labels["service"] == "login-api")
            .unwrap()
            .points[0]
            .1;
        let interactions = series
            .iter()
            .find(|s| s.labels["service"] == "appointments")
            .unwrap()
            .points[0]
            .1;
        assert!(login < interactions, "{login} {interactions}");
    }

    #[test]
    fn bucket_quantile_interpolates_like_prometheus() {
        // 10 observations: 2 up to 0.1, 8 up to 0.5, 10 in total.
        let mut buckets = vec![(0.1, 2.0), (0.5, 8.0), (f64::INFINITY, 10.0)];
        assert!((bucket_quantile(0.5, &mut buckets) - (0.1 + 0.4 * (3.0 / 6.0))).abs() < 1e-12);
        assert_eq!(bucket_quantile(0.99, &mut buckets), 0.5);
        assert_eq!(bucket_quantile(0.1, &mut buckets), 0.05);
        assert!(bucket_quantile(0.5, &mut vec![(0.1, 0.0), (f64::INFINITY, 0.0)]).is_nan());
        assert!(bucket_quantile(0.5, &mut vec![(0.1, 1.0)]).is_nan());
        assert_eq!(bucket_quantile(-1.0, &mut buckets), f64::NEG_INFINITY);
    }

    #[test]
    fn extrapolated_rate_matches_hand_computed_cases() {
        // Samples on both edges of the window: no extrapolation.
        let edges: Vec<(i64, f64)> = (0..=10).map(|i| (i * 30_000, i as f64)).collect();
        assert_eq!(
            extrapolated_rate(&edges, 0, 300_000, 300_000, true, false),
            Some(10.0)
        );
        assert_eq!(
            extrapolated_rate(&edges, 0, 300_000, 300_000, true, true),
            Some(10.0 / 300.0)
        );
        // Samples 10 s after the start and 20 s before the end, 30 s apart:
        // both gaps are under 1.1 × 30 s, so extrapolate by 90/60.
        let inside = [(10_000, 1.0), (40_000, 2.0), (70_000, 3.0)];
        assert!((extrapolated_rate(&inside, 0, 90_000, 90_000, true, false).unwrap() - 3.0).abs() < 1e-12);
        // The zero point limits extrapolation towards the start: with a
        // first value of 0.1 the counter was zero 60 × 0.1/2.9 s before the
        // first sample, closer than the 10 s gap to the window's start.
        let low = [(10_000, 0.1), (40_000, 1.5), (70_000, 3.0)];
        let expected = 2.9 * (60.0 + 60.0 * 0.1 / 2.9 + 20.0) / 60.0;
        assert!((extrapolated_rate(&low, 0, 90_000, 90_000, true, false).unwrap() - expected).abs() < 1e-12);
        // Far from both edges: extend by half a sample interval each side.
        let middle = [(300_000, 10.0), (330_000, 11.0), (360_000, 12.0)];
        assert!((extrapolated_rate(&middle, 0, 600_000, 600_000, true, false).unwrap() - 3.0).abs() < 1e-12);
        // A counter reset adds the value before it.
        let reset = [(0, 5.0), (30_000, 8.0), (60_000, 2.0)];
        assert_eq!(
            extrapolated_rate(&reset, 0, 60_000, 60_000, true, false),
            Some(5.0)
        );
        // delta does not correct resets and may be negative.
        assert_eq!(
            extrapolated_rate(&reset, 0, 60_000, 60_000, false, false),
            Some(-3.0)
        );
        assert_eq!(
            extrapolated_rate(&reset[..1], 0, 60_000, 60_000, true, false),
            None
        );
        assert_eq!(instant_value(&reset, true), Some(2.0 / 30.0));
        assert_eq!(instant_value(&reset, false), Some(-6.0));
    }

    #[test]
    fn increase_across_midnight_corrects_the_nightly_reset() {
        let clinic = clinic();
        let midnight = TUESDAY + 24 * HOUR;
        let at = midnight + 30 * 60_000;
        let expected = count_events(&clinic, TimeRange::new(at - HOUR, at), |kind| {
            matches!(kind, EventKind::LoginAttempt { .. })
        });
        let value = single(&clinic, "sum(increase(login_attempts_total[1h]))", at);
        assert_eq!(value, expected);
    }

    #[test]
    fn range_query_answers_a_matrix_with_points_at_each_step() {
        let clinic = clinic();
        let start = TUESDAY + 10 * HOUR;
        let answer = clinic
            .promql_range("sum by (queue) (sqs_queue_depth)", start, start + HOUR, 300_000)
            .unwrap();
        assert_eq!(answer.result_type, ResultType::Matrix);
        assert_eq!(answer.step_seconds, 300.0);
        assert_eq!(answer.series.len(), 1);
        let times: Vec<i64> = answer.series[0].points.iter().map(|p| p.0).collect();
        assert_eq!(times, (0..=12).map(|i| start + i * 300_000).collect::<Vec<_>>());
        let over_time = clinic
            .promql_range(
                r#"max_over_time(sqs_queue_depth[10m]) >= avg_over_time(sqs_queue_depth[10m])"#,
                start,
                start + HOUR,
                300_000,
            )
            .unwrap();
        assert_eq!(over_time.series[0].points.len(), 13);
    }

    #[test]
    fn deep_queries_are_refused_without_overflowing() {
        let clinic = clinic();
        let nested = format!("{}up{}", "(".repeat(8_000), ")".repeat(8_000));
        // Operator chains nest without brackets: the longest query allowed still parses and is refused by depth.
        let chained = vec!["up"; 5_000].join("+");
        let negated = format!("{}up", "-".repeat(16_000));
        for query in [nested, chained, negated] {
            let reason = reason(clinic.promql_instant(&query, TUESDAY));
            assert!(reason.contains("levels deep; flatten it"), "{reason}");
        }
    }

    #[test]
    fn unsupported_parts_are_refused_by_name() {
        let clinic = clinic();
        let at = TUESDAY;
        assert!(reason(clinic.promql_instant("topk(3, login_attempts_total)", at)).contains("`topk`"));
        assert!(
            reason(clinic.promql_instant(
                r#"label_replace(login_attempts_total, "a", "$1", "result", "(.*)")"#,
                at
            ))
            .contains("`label_replace`")
        );
        assert!(reason(clinic.promql_instant("login_attempts_total offset 5m", at)).contains("`offset`"));
        assert!(
            reason(clinic.promql_instant("login_attempts_total and login_attempts_total", at))
                .contains("`and`")
        );
        assert!(
            reason(clinic.promql_instant("rate(login_attempts_total[5m])[1h:1m]", at)).contains("subqueries")
        );
        assert!(reason(clinic.promql_instant("login_attempts_total[5m]", at)).contains("range vector"));
        assert!(
            reason(clinic.promql_instant(
                "sum(login_attempts_total) / on() group_left login_attempts_total",
                at
            ))
            .contains("group_left")
        );
        assert!(reason(clinic.promql_instant("sum(login_attempts_total", at)).contains("does not parse"));
        assert!(reason(clinic.promql_range("login_attempts_total", at, at + 1, 0)).contains("step"));
        assert!(reason(clinic.promql_instant("increase(login_attempts_total[40d])", at)).contains("32 days"));
    }

    #[test]
    fn selectors_follow_every_matcher_kind() {
        let clinic = clinic();
        let at = TUESDAY + 12 * HOUR;
        assert_eq!(
            instant(&clinic, r#"login_attempts_total{result!="success"}"#, at).len(),
            2
        );
        assert_eq!(
            instant(&clinic, r#"login_attempts_total{result=~"succ.*|not_found"}"#, at).len(),
            2
        );
        assert_eq!(
            instant(&clinic, r#"login_attempts_total{result!~"succ"}"#, at).len(),
            3
        );
        assert_eq!(instant(&clinic, r#"{__name__=~"sqs_.*"}"#, at).len(), 3);
        assert!(instant(&clinic, "no_such_metric", at).is_empty());
    }

    #[test]
    fn duplicate_label_sets_after_dropping_the_name_are_refused() {
        let clinic = clinic();
        let err = reason(clinic.promql_instant(r#"rate({__name__=~"sqs_.*"}[5m])"#, TUESDAY));
        assert!(err.contains("same labelset"), "{err}");
    }
}
