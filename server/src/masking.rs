//! Patient data masked before anything leaves the server: in log lines, span attributes,
//! exception messages and upstream error text, for every role.
//!
//! One pass over the text, byte by byte, with no regular expression: the scanner stops only at
//! bytes that can start something personal (`=` or `:` after a field name, `@` of an e-mail
//! address, a digit, a capital after a word such as "patient") and skips everything else, which
//! is most of a log line. What it masks:
//!
//! - the value of a field whose name says it is personal, in logfmt (`patient_name="Maria
//!   Garcia"`, `mrn=12345678`) and JSON (`"dob": "1984-03-02"`), names from configuration;
//! - e-mail addresses, US social security numbers (`123-45-6789`) and phone numbers (10 to 15
//!   digits, with the separators people write), anywhere;
//! - a record number or a birth date written after its word in free text (`MRN 12345678`,
//!   `born 1984-03-02`), and a name after `patient` (`patient Maria Garcia`).
//!
//! Near misses stay as they are: dates that are not birth dates, trace and span ids (hex, often
//! with letters, and never next to a field name that says personal), durations, counts, ports
//! and versions.
//!
//! The audit trail has its own, stricter scrubber (`store::scrub`): what a person typed into a
//! query is masked wherever anything could be personal, a bare date included, and secrets too.
//! Here the text is the clinic's own logs and spans, which engineers must still be able to read,
//! so only what is personal goes.
use std::borrow::Cow;

use serde::Deserialize;
use vitals_api::{LogLine, Span};

use crate::settings::InvalidSetting;

/// `[masking]`: personal field names beyond the defaults, such as a national patient number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingConfig {
    #[serde(default)]
    pub fields: Vec<String>,
}

impl MaskingConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        match self.fields.iter().find(|field| {
            field.is_empty() || field.len() > MAX_FIELD_CHARS || !field.bytes().all(is_word_byte)
        }) {
            Some(field) => Err(InvalidSetting::new(
                "masking.fields",
                format!(
                    "has \"{field}\"; write field names of up to {MAX_FIELD_CHARS} letters, digits, `_`, `-` and `.`"
                ),
            )),
            None => Ok(()),
        }
    }

    /// The masker for the defaults and these fields.
    pub fn masker(&self) -> Masker {
        Masker::new(
            DEFAULT_FIELDS
                .iter()
                .copied()
                .chain(self.fields.iter().map(String::as_str)),
        )
    }
}

/// What stands in the place of a masked value.
pub const MASK: &str = "[masked]";

/// Field names whose values are personal, compared without case and with `-` read as `_`.
pub const DEFAULT_FIELDS: [&str; 23] = [
    "patient_name",
    "patient",
    "first_name",
    "last_name",
    "full_name",
    "given_name",
    "family_name",
    "mrn",
    "medical_record_number",
    "dob",
    "date_of_birth",
    "birth_date",
    "birthdate",
    "phone",
    "phone_number",
    "mobile",
    "email",
    "ssn",
    "social_security_number",
    "address",
    "street",
    "postcode",
    "zip",
];

/// Words after which the next value in free text is personal.
const CUE_WORDS: [&str; 6] = ["mrn", "dob", "born", "patient", "ssn", "birth"];

/// The longest field name compared.
const MAX_FIELD_CHARS: usize = 40;

/// Masks patient data in text.
#[derive(Debug, Clone)]
pub struct Masker {
    /// Lowercase, `_` for `-`.
    fields: Vec<String>,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new(DEFAULT_FIELDS.iter().copied())
    }
}

impl Masker {
    /// A masker for these personal field names, on top of the patterns.
    pub fn new<'a>(fields: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            fields: fields.into_iter().map(normal_field).collect(),
        }
    }

    /// `text` with every personal value replaced by [`MASK`]; borrowed when nothing was found.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let bytes = text.as_bytes();
        let mut out: Option<String> = None;
        // Everything before `copied` is in `out` already (or needs no copy).
        let mut copied = 0;
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            let found = match byte {
                b'=' | b':' => self.field_value(bytes, at),
                b'@' => email(bytes, at),
                b'0'..=b'9' | b'+' | b'(' if starts_token(bytes, at) => number(bytes, at),
                b'A'..=b'Z' | b'a'..=b'z' if starts_token(bytes, at) => cued(bytes, at),
                _ => None,
            };
            match found {
                Some((start, end)) if start >= copied => {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[copied..start]);
                    out.push_str(MASK);
                    copied = end;
                    at = end.max(at + 1);
                }
                _ => at += 1,
            }
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(&text[copied..]);
                Cow::Owned(out)
            }
        }
    }

    /// Masks a log line, its labels (a parser stage adds the line's fields to them) and the
    /// fields parsed from it; whether anything was masked.
    pub fn mask_log_line(&self, line: &mut LogLine) -> bool {
        let mut masked = self.mask_in_place(&mut line.line);
        for (key, value) in line.labels.iter_mut().chain(&mut line.fields) {
            masked |= self.mask_named(key, value);
        }
        masked
    }

    /// Masks a span's name and attributes (its metadata, annotations and exception included);
    /// whether anything was masked.
    pub fn mask_span(&self, span: &mut Span) -> bool {
        let mut masked = self.mask_in_place(&mut span.name);
        for (key, value) in &mut span.attributes {
            masked |= self.mask_named(key, value);
        }
        masked
    }

    /// Masks `text` where it lies; whether anything was masked.
    pub fn mask_in_place(&self, text: &mut String) -> bool {
        match self.mask(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(masked) => {
                *text = masked;
                true
            }
        }
    }

    /// A named value: whole when its name is personal (`mrn`, `patient.mrn`), by pattern
    /// otherwise.
    pub fn mask_named(&self, key: &str, value: &mut String) -> bool {
        let personal = self.is_personal(key)
            || key
                .strip_prefix("patient.")
                .is_some_and(|rest| self.is_personal(rest));
        if !personal {
            return self.mask_in_place(value);
        }
        let masked = !value.is_empty() && value != MASK;
        if masked {
            *value = MASK.to_owned();
        }
        masked
    }

    fn is_personal(&self, key: &str) -> bool {
        self.fields
            .iter()
            .any(|field| same_field(field.as_bytes(), key.as_bytes()))
    }

    /// At a `=` or `:`: when the key before it is a personal field, where its value is.
    fn field_value(&self, bytes: &[u8], at: usize) -> Option<(usize, usize)> {
        let (key_start, key_end) = key_before(bytes, at)?;
        if key_end - key_start > MAX_FIELD_CHARS {
            return None;
        }
        let key = &bytes[key_start..key_end];
        if !self.fields.iter().any(|field| same_field(field.as_bytes(), key)) {
            return None;
        }
        value_after(bytes, at + 1)
    }
}

fn normal_field(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

fn same_field(field: &[u8], key: &[u8]) -> bool {
    field.len() == key.len()
        && field
            .iter()
            .zip(key)
            .all(|(f, k)| *f == if *k == b'-' { b'_' } else { k.to_ascii_lowercase() })
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || byte == b'.'
}

/// Whether a token starts at `at`: the byte before it is not part of a word.
fn starts_token(bytes: &[u8], at: usize) -> bool {
    at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b'-')
}

/// The key just before the `=` or `:` at `at`: a bare word, or a JSON string.
fn key_before(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut end = at;
    // JSON allows spaces before the colon.
    while end > 0 && bytes[at] == b':' && bytes[end - 1] == b' ' {
        end -= 1;
    }
    if end > 0 && bytes[end - 1] == b'"' {
        let close = end - 1;
        let open = bytes[..close].iter().rposition(|byte| *byte == b'"')?;
        return Some((open + 1, close));
    }
    let mut start = end;
    while start > 0 && is_word_byte(bytes[start - 1]) {
        start -= 1;
    }
    (start < end).then_some((start, end))
}

/// The value that starts after a separator at `from`: a quoted string (its inside), or a bare
/// word up to the next space, comma or closing brace.
fn value_after(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut start = from;
    while start < bytes.len() && bytes[start] == b' ' {
        start += 1;
    }
    let first = *bytes.get(start)?;
    if first == b'"' {
        let mut end = start + 1;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        return (end > start + 1).then_some((start + 1, end));
    }
    // A JSON object, list or null holds no value of its own to mask.
    if first == b'{' || first == b'[' || bytes[start..].starts_with(b"null") {
        return None;
    }
    let end = bytes[start..]
        .iter()
        .position(|byte| matches!(byte, b' ' | b',' | b'}' | b']' | b'\t'))
        .map_or(bytes.len(), |offset| start + offset);
    (end > start).then_some((start, end))
}

/// At an `@`: the e-mail address around it, when the part after has a dot.
fn email(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let local = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut start = at;
    while start > 0 && local(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'.' | b'-')) {
        end += 1;
    }
    // A trailing dot ends the sentence, not the address.
    while end > at + 1 && bytes[end - 1] == b'.' {
        end -= 1;
    }
    let domain = &bytes[at + 1..end];
    let has_dot = domain.iter().skip(1).any(|byte| *byte == b'.');
    (start < at && has_dot).then_some((start, end))
}

/// At a digit, `+` or `(` that starts a token: a social security number or a phone number.
fn number(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let separator = |byte: &u8| matches!(byte, b' ' | b'-' | b'(' | b')' | b'.');
    let digit_at = |index: usize| bytes.get(index).is_some_and(u8::is_ascii_digit);
    // A separator belongs to the number when a digit follows it, through at most one more.
    let continues = |index: usize| {
        digit_at(index + 1) || (bytes.get(index + 1).is_some_and(separator) && digit_at(index + 2))
    };
    let mut end = at;
    let mut digits = 0;
    let mut last_digit_end = at;
    while end < bytes.len() {
        let byte = bytes[end];
        if byte.is_ascii_digit() {
            digits += 1;
            last_digit_end = end + 1;
        } else if !((byte == b'+' && end == at) || (separator(&byte) && continues(end))) {
            break;
        }
        end += 1;
    }
    let end = last_digit_end;
    // Part of a longer word (a hex id, a version such as 1.2.3a): not a number of a person.
    if end == at || (end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')) {
        return None;
    }
    let run = &bytes[at..end];
    if is_ssn(run) {
        return Some((at, end));
    }
    // A phone number is written with separators or a `+`; a bare run of digits is a count, an
    // id or a timestamp. Dates and dotted numbers (addresses, versions) are not phones either.
    let separated = run.iter().any(|byte| !byte.is_ascii_digit());
    let looks_dated = run.len() >= 10 && run[4] == b'-' && run[7] == b'-';
    let dotted = run.contains(&b'.');
    ((10..=15).contains(&digits) && separated && !looks_dated && !dotted).then_some((at, end))
}

/// `123-45-6789`.
fn is_ssn(run: &[u8]) -> bool {
    run.len() == 11
        && run.iter().enumerate().all(|(index, byte)| {
            if index == 3 || index == 6 {
                *byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        })
}

/// At a word: when it is a cue word (`MRN`, `born`, `patient`…), the personal value after it.
fn cued(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let word_end = bytes[at..]
        .iter()
        .position(|byte| !byte.is_ascii_alphabetic())
        .map_or(bytes.len(), |offset| at + offset);
    let word = &bytes[at..word_end];
    if word.len() > 7
        || !CUE_WORDS
            .iter()
            .any(|cue| word.eq_ignore_ascii_case(cue.as_bytes()))
    {
        return None;
    }
    // Past `: `, `# ` or spaces.
    let mut start = word_end;
    while start < bytes.len() && matches!(bytes[start], b' ' | b':' | b'#') && start - word_end < 3 {
        start += 1;
    }
    if start == word_end && bytes.get(start) != Some(&b' ') {
        return None;
    }
    if word.eq_ignore_ascii_case(b"patient") {
        return capitalised_name(bytes, start);
    }
    // A record number, a date or a social security number: digits and `-` or `/`.
    let end = bytes[start..]
        .iter()
        .position(|byte| !(byte.is_ascii_digit() || matches!(byte, b'-' | b'/')))
        .map_or(bytes.len(), |offset| start + offset);
    let digits = bytes[start..end]
        .iter()
        .filter(|byte| byte.is_ascii_digit())
        .count();
    (digits >= 6).then_some((start, end))
}

/// Two or three capitalised words from `start`: `Maria Garcia`.
fn capitalised_name(bytes: &[u8], start: usize) -> Option<(usize, usize)> {
    let mut end = start;
    let mut words = 0;
    while words < 3 && end < bytes.len() && bytes[end].is_ascii_uppercase() {
        let word_end = bytes[end + 1..]
            .iter()
            .position(|byte| !(byte.is_ascii_lowercase() || *byte == b'\'' || *byte == b'-'))
            .map_or(bytes.len(), |offset| end + 1 + offset);
        if word_end - end < 2 {
            break;
        }
        words += 1;
        end = word_end;
        if bytes.get(end) == Some(&b' ') && bytes.get(end + 1).is_some_and(u8::is_ascii_uppercase) {
            end += 1;
        } else {
            break;
        }
    }
    (words >= 2).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(line: &str) -> String {
        Masker::default().mask(line).into_owned()
    }

    #[test]
    fn personal_fields_are_masked_in_logfmt_and_json() {
        let cases = [
            (
                r#"level=info msg="patient registered" clinic=north patient_id=p-8103 patient_name="Maria Garcia" mrn=48211093 dob=1984-03-02 duration_ms=337"#,
                r#"level=info msg="patient registered" clinic=north patient_id=p-8103 patient_name="[masked]" mrn=[masked] dob=[masked] duration_ms=337"#,
            ),
            (
                r#"{"level":"info","msg":"appointment booked","patient_name": "Wei Silva","phone":"07700 900123","doctor_id":"d-12"}"#,
                r#"{"level":"info","msg":"appointment booked","patient_name": "[masked]","phone":"[masked]","doctor_id":"d-12"}"#,
            ),
            (
                r#"{"Date-Of-Birth": "02/03/1984", "SSN": 912345678}"#,
                r#"{"Date-Of-Birth": "[masked]", "SSN": [masked]}"#,
            ),
            (
                "email=wei.silva42@example.com user=u17",
                "email=[masked] user=u17",
            ),
            (
                "address=\"12 Harbour Road, Leith\" clinic=east",
                "address=\"[masked]\" clinic=east",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(masked(line), expected, "{line}");
        }
    }

    #[test]
    fn patterns_are_masked_anywhere_in_free_text() {
        let cases = [
            (
                "could not reach wei.silva@example.com, retrying",
                "could not reach [masked], retrying",
            ),
            ("ssn 912-34-5678 rejected", "ssn [masked] rejected"),
            ("call +44 7700 900123 back", "call [masked] back"),
            ("call (555) 010-4477 today", "call [masked] today"),
            ("lookup failed for MRN 48211093", "lookup failed for MRN [masked]"),
            (
                "lookup failed for mrn:48211093.",
                "lookup failed for mrn:[masked].",
            ),
            (
                "patient born 1984-03-02 admitted",
                "patient born [masked] admitted",
            ),
            (
                "reminder for patient Maria Garcia sent",
                "reminder for patient [masked] sent",
            ),
            (
                "ValidationError: dob 02/03/1984 is in the future",
                "ValidationError: dob [masked] is in the future",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(masked(line), expected, "{line}");
        }
    }

    #[test]
    fn near_misses_stay_as_they_are() {
        for line in [
            "level=info msg=\"doctor interaction\" clinic=north doctor_id=d-39 kind=follow-up duration_ms=774 trace_id=302053c0a961d70ecc9584399a66f3af",
            "ts=2026-11-24T10:20:00.123Z appointment on 2026-12-01 at 14:30",
            "span 5f84c7a10123abcd took 1234567 ns; trace 1-5f84c7a1-0123456789abcdef01234567",
            "trace_id=12345678901234567890123456789012 user=u1234567890ab",
            "listening on 10.0.3.17:8080, version 1.24.3, build 20261124",
            "processed 1234567890 bytes in 3.5 s",
            "ts_ms=1795515600000 next=1795515605000 seq 12345678901",
            "queue depth 15, oldest message 42 s, request id 0a1b2c3d-4e5f-6789-abcd-ef0123456789",
            "The patient was seen; patient registered at the north clinic",
            "GetItem failed table=users key=latest error=ResourceNotFoundException status=404",
            "name_server=ns1.example.com ok",
        ] {
            assert_eq!(masked(line), line);
        }
    }

    #[test]
    fn nothing_found_borrows_the_line() {
        let line = "level=info msg=\"login ok\" user=u17 status=200";
        assert!(matches!(Masker::default().mask(line), Cow::Borrowed(_)));
    }

    #[test]
    fn configured_fields_join_the_defaults() {
        let masker = Masker::new(DEFAULT_FIELDS.iter().copied().chain(["nhs_number"]));
        assert_eq!(masker.mask("nhs_number=9434765919 ok"), "nhs_number=[masked] ok");
        assert_eq!(Masker::default().mask("ward=b4 bed=12"), "ward=b4 bed=12");
    }

    #[test]
    fn span_attributes_and_parsed_fields_are_masked_by_name_and_pattern() {
        let masker = Masker::default();
        let mut span: Span = serde_json::from_value(serde_json::json!({
            "trace_id": "t", "span_id": "s", "parent_id": null, "service": "records", "name": "GET /records",
            "start": 0, "duration": 1, "status": "ok", "kind": "server",
            "attributes": {
                "patient.mrn": "48211093",
                "exception.message": "no record for wei.silva@example.com",
                "server.address": "10.0.3.17",
                "http.route": "/records",
            }
        }))
        .unwrap();
        masker.mask_span(&mut span);
        assert_eq!(span.attributes["patient.mrn"], MASK);
        assert_eq!(span.attributes["exception.message"], "no record for [masked]");
        assert_eq!(span.attributes["server.address"], "10.0.3.17");
        assert_eq!(span.attributes["http.route"], "/records");

        let mut line: LogLine = serde_json::from_value(serde_json::json!({
            "time": 0, "labels": {"service": "records"}, "line": "mrn=48211093 ok",
            "fields": {"mrn": "48211093", "status": "200"}
        }))
        .unwrap();
        masker.mask_log_line(&mut line);
        assert_eq!(line.line, "mrn=[masked] ok");
        assert_eq!(line.fields["mrn"], MASK);
        assert_eq!(line.fields["status"], "200");
    }

    #[test]
    fn configured_field_names_are_checked() {
        let config = MaskingConfig {
            fields: vec!["nhs number".into()],
        };
        assert_eq!(config.validate().unwrap_err().key, "masking.fields");
        let config = MaskingConfig {
            fields: vec!["nhs_number".into()],
        };
        assert_eq!(
            config.masker().mask("nhs_number=943 ok"),
            "nhs_number=[masked] ok"
        );
    }

    #[test]
    fn broken_text_is_masked_without_panicking() {
        for line in [
            "mrn=",
            "\"dob\":",
            "@",
            "x@y",
            "+",
            "(",
            "patient ",
            "email=\"open",
            "é@ü.é mrn=\"ü\"",
        ] {
            let _ = Masker::default().mask(line);
        }
        assert_eq!(masked("email=\"open"), "email=\"[masked]");
    }

    /// The personal values a line carries, found by their field names in the line as written.
    fn personal_values(line: &str) -> Vec<String> {
        let mut values = Vec::new();
        for field in ["patient_name", "mrn", "dob", "email", "phone", "ssn"] {
            for key in [format!(" {field}="), format!("\"{field}\":")] {
                if let Some(at) = line.find(&key) {
                    let rest = &line[at + key.len()..];
                    let value = match rest.strip_prefix('"') {
                        Some(quoted) => quoted.split('"').next().unwrap_or_default(),
                        None => rest.split([' ', ',', '}']).next().unwrap_or_default(),
                    };
                    values.push(value.to_owned());
                }
            }
        }
        values
    }

    #[test]
    fn the_patient_lines_of_the_recorded_loki_payload_are_masked_and_the_rest_kept() {
        let payload: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/loki/push-payload.json")).unwrap();
        let (mut personal, mut plain) = (0, 0);
        for stream in payload["streams"].as_array().unwrap() {
            for value in stream["values"].as_array().unwrap() {
                let line = value[1].as_str().unwrap();
                let out = masked(line);
                let values = personal_values(line);
                if values.is_empty() {
                    plain += 1;
                    assert_eq!(out, line, "a line without patient data changed");
                } else {
                    personal += 1;
                    for value in values {
                        assert!(!out.contains(&value), "{value} left in {out}");
                    }
                    assert!(out.contains("trace_id"), "the rest of the line stays: {out}");
                }
            }
        }
        assert!(
            personal >= 50 && plain > personal,
            "{personal} personal, {plain} plain"
        );
    }

    #[test]
    fn a_day_of_the_demo_clinic_leaves_no_patient_detail_behind() {
        use vitals_api::query::TimeRange;
        use vitals_demo::{DemoClinic, DemoConfig};
        let clinic = DemoClinic::new(DemoConfig::default());
        // Tuesday 2026-11-24, a whole day.
        let lines = clinic.log_lines(TimeRange::new(1_795_478_400_000, 1_795_564_800_000));
        let mut masked_lines = 0;
        for line in &lines {
            let out = masked(&line.line);
            let values = personal_values(&line.line);
            if values.is_empty() {
                assert_eq!(out, line.line, "a line without patient details changed");
            } else {
                masked_lines += 1;
            }
            for value in values {
                assert!(!out.contains(&value), "{value} left in {out}");
            }
            assert!(
                !out.contains("@example.com") && !out.contains("07700 900"),
                "{out}"
            );
        }
        assert!(
            masked_lines > 100,
            "{masked_lines} of {} lines masked",
            lines.len()
        );
    }
}
