//! A trace's spans in columns.

use std::collections::{BTreeMap, HashMap};

use vitals_api::{Span, SpanKind, SpanStatus};

/// The parent of a span that has none in the trace.
pub const NO_PARENT: u32 = u32::MAX;

/// The attribute set of a span without attributes.
pub const NO_ATTRIBUTES: u32 = 0;

/// A trace's spans, one column per field, indexed by the order they were added.
///
/// Span ids are kept as numbers (X-Ray's and W3C's are 16 hex digits); an id of another form is
/// kept as text beside them. Services, operation names and attribute sets are interned.
#[derive(Debug, Clone, Default)]
pub struct SpanTable {
    trace_id: String,
    ids: Vec<u64>,
    /// Ids that are not 16 hex digits, by the number standing for them in `ids`.
    odd_ids: HashMap<u64, String>,
    parents: Vec<u32>,
    services: Vec<u32>,
    names: Vec<u32>,
    starts: Vec<i64>,
    durations: Vec<i64>,
    statuses: Vec<SpanStatus>,
    kinds: Vec<SpanKind>,
    attributes: Vec<u32>,
    words: Vec<String>,
    attribute_sets: Vec<BTreeMap<String, String>>,
}

impl SpanTable {
    /// The table of `spans`, which may come in any order. A span whose parent is not among them
    /// becomes a root.
    pub fn from_spans(trace_id: &str, spans: &[Span]) -> Self {
        let mut builder = TableBuilder::new(trace_id);
        let index: HashMap<&str, u32> = spans
            .iter()
            .enumerate()
            .map(|(position, span)| (span.span_id.as_str(), position as u32))
            .collect();
        for span in spans {
            let parent = span
                .parent_id
                .as_deref()
                .and_then(|parent| index.get(parent).copied())
                .unwrap_or(NO_PARENT);
            let attributes = builder.attribute_set(&span.attributes);
            let id = builder.id_number(&span.span_id);
            builder.push(NewSpan {
                id,
                parent,
                service: &span.service,
                name: &span.name,
                start: span.start,
                duration: span.duration,
                status: span.status,
                kind: span.kind,
                attributes,
            });
        }
        builder.finish()
    }

    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The span at `index` as the API sends it.
    pub fn span(&self, index: u32) -> Span {
        let at = index as usize;
        let parent = self.parents[at];
        Span {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id(index),
            parent_id: (parent != NO_PARENT).then(|| self.span_id(parent)),
            service: self.service(index).to_owned(),
            name: self.name(index).to_owned(),
            start: self.starts[at],
            duration: self.durations[at],
            status: self.statuses[at],
            kind: self.kinds[at],
            attributes: self.attribute_sets[self.attributes[at] as usize].clone(),
            reveal_ref: None,
        }
    }

    pub fn span_id(&self, index: u32) -> String {
        let number = self.ids[index as usize];
        match self.odd_ids.get(&number) {
            Some(text) => text.clone(),
            None => format!("{number:016x}"),
        }
    }

    /// The index of the span with the id `span_id`, by a scan of the ids.
    pub fn find(&self, span_id: &str) -> Option<u32> {
        let number = match parse_hex_id(span_id) {
            Some(number) => number,
            None => *self.odd_ids.iter().find(|(_, text)| *text == span_id)?.0,
        };
        self.ids.iter().position(|id| *id == number).map(|at| at as u32)
    }

    pub fn parent(&self, index: u32) -> u32 {
        self.parents[index as usize]
    }

    pub fn service(&self, index: u32) -> &str {
        &self.words[self.services[index as usize] as usize]
    }

    /// The interned number of the span's service, for counting by service.
    pub fn service_number(&self, index: u32) -> u32 {
        self.services[index as usize]
    }

    /// The service an interned number stands for.
    pub fn word(&self, number: u32) -> &str {
        &self.words[number as usize]
    }

    pub fn name(&self, index: u32) -> &str {
        &self.words[self.names[index as usize] as usize]
    }

    pub fn start(&self, index: u32) -> i64 {
        self.starts[index as usize]
    }

    pub fn end(&self, index: u32) -> i64 {
        self.starts[index as usize].saturating_add(self.durations[index as usize].max(0))
    }

    pub fn status(&self, index: u32) -> SpanStatus {
        self.statuses[index as usize]
    }

    pub fn kind(&self, index: u32) -> SpanKind {
        self.kinds[index as usize]
    }

    pub fn attributes(&self, index: u32) -> &BTreeMap<String, String> {
        &self.attribute_sets[self.attributes[index as usize] as usize]
    }
}

/// One span for [`TableBuilder::push`].
#[derive(Debug, Clone, Copy)]
pub struct NewSpan<'a> {
    pub id: u64,
    /// The index of the parent span, already added or added later; [`NO_PARENT`] for a root.
    pub parent: u32,
    pub service: &'a str,
    pub name: &'a str,
    pub start: i64,
    pub duration: i64,
    pub status: SpanStatus,
    pub kind: SpanKind,
    /// From [`TableBuilder::attribute_set`], or [`NO_ATTRIBUTES`].
    pub attributes: u32,
}

/// Builds a [`SpanTable`] one span at a time, without a [`Span`] for each: how a generated
/// trace of a million spans is made.
#[derive(Debug)]
pub struct TableBuilder {
    table: SpanTable,
    word_numbers: HashMap<String, u32>,
    set_numbers: HashMap<BTreeMap<String, String>, u32>,
}

impl TableBuilder {
    pub fn new(trace_id: &str) -> Self {
        Self {
            table: SpanTable {
                trace_id: trace_id.to_owned(),
                attribute_sets: vec![BTreeMap::new()],
                ..SpanTable::default()
            },
            word_numbers: HashMap::new(),
            set_numbers: HashMap::from([(BTreeMap::new(), NO_ATTRIBUTES)]),
        }
    }

    /// Room for `spans` more spans.
    pub fn reserve(&mut self, spans: usize) {
        let table = &mut self.table;
        table.ids.reserve(spans);
        table.parents.reserve(spans);
        table.services.reserve(spans);
        table.names.reserve(spans);
        table.starts.reserve(spans);
        table.durations.reserve(spans);
        table.statuses.reserve(spans);
        table.kinds.reserve(spans);
        table.attributes.reserve(spans);
    }

    /// The number `span_id` is kept as.
    pub fn id_number(&mut self, span_id: &str) -> u64 {
        if let Some(number) = parse_hex_id(span_id) {
            return number;
        }
        // Any id of another form stands as a number no 16-hex-digit id reaches: the top bit set
        // and its position among the odd ids.
        let number = (1 << 63) | self.table.odd_ids.len() as u64;
        self.table.odd_ids.insert(number, span_id.to_owned());
        number
    }

    /// The number of an attribute set, shared by every span that has the same attributes.
    pub fn attribute_set(&mut self, attributes: &BTreeMap<String, String>) -> u32 {
        if let Some(number) = self.set_numbers.get(attributes) {
            return *number;
        }
        let number = self.table.attribute_sets.len() as u32;
        self.table.attribute_sets.push(attributes.clone());
        self.set_numbers.insert(attributes.clone(), number);
        number
    }

    /// Adds a span; its index is the number of spans added before it.
    pub fn push(&mut self, span: NewSpan<'_>) -> u32 {
        let index = self.table.ids.len() as u32;
        let service = self.word(span.service);
        let name = self.word(span.name);
        let table = &mut self.table;
        table.ids.push(span.id);
        table.parents.push(span.parent);
        table.services.push(service);
        table.names.push(name);
        table.starts.push(span.start);
        table.durations.push(span.duration);
        table.statuses.push(span.status);
        table.kinds.push(span.kind);
        table.attributes.push(span.attributes);
        index
    }

    /// How many spans have been added.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn finish(self) -> SpanTable {
        self.table
    }

    fn word(&mut self, text: &str) -> u32 {
        if let Some(number) = self.word_numbers.get(text) {
            return *number;
        }
        let number = self.table.words.len() as u32;
        self.table.words.push(text.to_owned());
        self.word_numbers.insert(text.to_owned(), number);
        number
    }
}

/// `text` as a number when it is exactly 16 hex digits.
fn parse_hex_id(text: &str) -> Option<u64> {
    (text.len() == 16
        && text.bytes().all(|byte| byte.is_ascii_hexdigit())
        && text == text.to_ascii_lowercase())
    .then(|| u64::from_str_radix(text, 16).ok())
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: i64, duration: i64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            service: "login-api".into(),
            name: format!("op {id}"),
            start,
            duration,
            status: SpanStatus::Ok,
            kind: SpanKind::Internal,
            attributes: BTreeMap::from([("id".to_owned(), id.to_owned())]),
            reveal_ref: None,
        }
    }

    #[test]
    fn spans_come_back_as_they_went_in_whatever_their_ids() {
        let spans = vec![
            span("00000000000000aa", None, 0, 100),
            span("W3C-style-id", Some("00000000000000aa"), 10, 20),
            span("00000000000000BB", Some("W3C-style-id"), 12, 5),
        ];
        let table = SpanTable::from_spans("t", &spans);
        assert_eq!(table.len(), 3);
        for (index, original) in spans.iter().enumerate() {
            assert_eq!(&table.span(index as u32), original);
        }
        assert_eq!(table.parent(1), 0);
        assert_eq!(table.parent(2), 1);
        assert_eq!(table.find("W3C-style-id"), Some(1));
        assert_eq!(table.find("00000000000000BB"), Some(2));
        assert_eq!(table.find("00000000000000aa"), Some(0));
        assert_eq!(table.find("nope"), None);
    }

    #[test]
    fn a_span_whose_parent_is_missing_is_a_root() {
        let table = SpanTable::from_spans("t", &[span("00000000000000aa", Some("00000000000000ff"), 0, 1)]);
        assert_eq!(table.parent(0), NO_PARENT);
        assert_eq!(table.span(0).parent_id, None);
    }
}
