//! Keeps secrets and patient-like data out of the audit trail by masking them in what an entry says.

use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

/// A value: quoted, or up to the next separator.
const VALUE: &str = r#"("[^"]*"|'[^']*'|[^\s,;&}\])]+)"#;

/// `name=value` or `"name": "value"` for a field that holds a credential.
static SECRET_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    field_pattern(
        "password|passwd|pwd|new_password|passphrase|secret|client_secret|secret_key|secret_access_key\
         |aws_secret_access_key|token|access_token|refresh_token|id_token|session_token|api_key|apikey\
         |authorization|cookie|set-cookie|mfa_code|otp",
    )
});
/// The same for a field that holds something about a patient.
static PERSONAL_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    field_pattern(
        "dob|date_of_birth|birth_?date|birthday|mrn|medical_record_number|ssn|social_security_number\
         |patient_name|first_name|last_name|full_name|phone|phone_number|mobile|email|home_address|postcode",
    )
});
static BEARER: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"));
/// Three base64url segments, the first a JSON object (`{"` encodes as `eyJ`).
static JWT: LazyLock<Regex> = LazyLock::new(|| pattern(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"));
static AWS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));
static SSN: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d{3}-\d{2}-\d{4}\b"));
/// An ISO date, with its time of day when it has one: a timestamp is kept, a bare date masked.
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ]\d{2}:\d{2})?")
});
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d{1,2}[/.]\d{1,2}[/.](?:19|20)\d{2}\b"));
/// International (`+44 7700 900123`), North American (`(555) 010-1234`) and UK national
/// (`07700 900123`) forms; a bare run of digits stays, as ids and timestamps look the same.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"\+\d[\d\s().-]{7,18}\d|(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b|\b0\d{3,4}[\s.-]?\d{3}[\s.-]?\d{3,4}\b",
    )
});
static MRN: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)\bMRN[\s#:-]*\d{4,}\b"));

/// Whether any secret pattern matches: text none of them match comes back as it is, after
/// one pass instead of one per pattern (the common case: a query, a username, an address).
static ANY_SECRET: LazyLock<RegexSet> =
    LazyLock::new(|| any_of(&[&BEARER, &SECRET_FIELD, &JWT, &AWS_KEY_ID]));
/// The same for every pattern [`scrub`] masks.
static ANY_SECRET_OR_PERSONAL: LazyLock<RegexSet> = LazyLock::new(|| {
    any_of(&[
        &BEARER,
        &SECRET_FIELD,
        &JWT,
        &AWS_KEY_ID,
        &PERSONAL_FIELD,
        &EMAIL,
        &SSN,
        &ISO_DATE,
        &NUMERIC_DATE,
        &PHONE,
        &MRN,
    ])
});

fn any_of(patterns: &[&Regex]) -> RegexSet {
    RegexSet::new(patterns.iter().map(|pattern| pattern.as_str())).expect("the scrub patterns are valid")
}

fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("the scrub patterns are valid")
}

fn field_pattern(names: &str) -> Regex {
    pattern(&format!(r#"(?i)(["']?\b(?:{names})\b["']?\s*[:=]\s*){VALUE}"#))
}

/// `text` with credentials, tokens, AWS key ids and patient-like data (emails, phone
/// numbers, birth dates, record numbers, SSNs, and the values of fields named after them)
/// replaced by a bracketed word saying what was there.
///
/// Timestamps with a time of day are kept, so a query's range stays readable.
pub fn scrub(text: &str) -> String {
    if !ANY_SECRET_OR_PERSONAL.is_match(text) {
        return text.to_owned();
    }
    let text = scrub_secrets(text);
    let text = PERSONAL_FIELD.replace_all(&text, "${1}[redacted]");
    let text = EMAIL.replace_all(&text, "[email]");
    let text = SSN.replace_all(&text, "[ssn]");
    let text = ISO_DATE.replace_all(&text, |date: &Captures| {
        let date = &date[0];
        if date.len() > "yyyy-mm-dd".len() {
            date.to_owned()
        } else {
            "[date]".to_owned()
        }
    });
    let text = NUMERIC_DATE.replace_all(&text, "[date]");
    let text = PHONE.replace_all(&text, "[phone]");
    MRN.replace_all(&text, "[mrn]").into_owned()
}

/// `text` with credentials, tokens and AWS key ids masked, and personal data left: for
/// the user of an entry, whose email address is who they are.
pub(crate) fn scrub_secrets(text: &str) -> String {
    if !ANY_SECRET.is_match(text) {
        return text.to_owned();
    }
    let text = BEARER.replace_all(text, "${1} [redacted]");
    let text = SECRET_FIELD.replace_all(&text, "${1}[redacted]");
    let text = JWT.replace_all(&text, "[jwt]");
    AWS_KEY_ID.replace_all(&text, "[aws-key-id]").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_each_kind_of_secret_and_patient_data() {
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImR1bW15In0.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl";
        let cases = [
            (format!("token {jwt} used"), "token [jwt] used"),
            (
                "key AKIAIOSFODNN7EXAMPLE here".to_owned(),
                "key [aws-key-id] here",
            ),
            ("session ASIAY34FZKBOKMUTVV7A".to_owned(), "session [aws-key-id]"),
            (
                "login password=hunter2 ok".to_owned(),
                "login password=[redacted] ok",
            ),
            (
                r#"{"username":"ana","password":"p@ss word"}"#.to_owned(),
                r#"{"username":"ana","password":[redacted]}"#,
            ),
            (
                "Authorization: Bearer abc.def-123".to_owned(),
                "Authorization: [redacted] [redacted]",
            ),
            ("refresh_token='xyz'".to_owned(), "refresh_token=[redacted]"),
            (
                "patient jane.doe42@mail.example booked".to_owned(),
                "patient [email] booked",
            ),
            ("call +44 7700 900123 today".to_owned(), "call [phone] today"),
            ("call 07700 900123 today".to_owned(), "call [phone] today"),
            ("call (555) 010-1234 now".to_owned(), "call [phone] now"),
            ("call 555-010-1234 now".to_owned(), "call [phone] now"),
            ("born 1980-01-02 here".to_owned(), "born [date] here"),
            ("born 02/01/1980 here".to_owned(), "born [date] here"),
            ("ssn 123-45-6789 seen".to_owned(), "ssn [ssn] seen"),
            ("record MRN 12345678 seen".to_owned(), "record [mrn] seen"),
            (r#"| json | mrn="12345678""#.to_owned(), "| json | mrn=[redacted]"),
            (
                "dob=19800102 ssn=123456789".to_owned(),
                "dob=[redacted] ssn=[redacted]",
            ),
            (
                r#"patient_name="Jane Doe" ok"#.to_owned(),
                "patient_name=[redacted] ok",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(scrub(&text), expected, "{text}");
        }
    }

    #[test]
    fn scrub_keeps_an_ordinary_query_and_its_range() {
        for text in [
            r#"{service="login-api"} |= "ResourceNotFoundException" | duration_ms > 500"#,
            "sum by (status) (rate(dynamodb_requests_total{operation=\"GetItem\"}[5m]))",
            "2026-11-25T09:00:00Z to 2026-11-25T10:00:00.500+01:00",
            "from=1732525200000 to=1732528800000",
            "trace 1-5f84c7a1-0123456789abcdef01234567 and 0af7651916cd43dd8448eb211c80319c",
            "10.0.0.7",
        ] {
            assert_eq!(scrub(text), text);
        }
    }

    #[test]
    fn an_authenticator_apps_secret_key_is_masked_in_its_uri_and_its_json() {
        assert_eq!(
            scrub_secrets("otpauth://totp/Vitals:ana?secret=JBSWY3DPEHPK3PXP&issuer=Vitals"),
            "otpauth://totp/Vitals:ana?secret=[redacted]&issuer=Vitals"
        );
        assert_eq!(
            scrub_secrets(r#"{"secret_key":"JBSW Y3DP EHPK 3PXP"}"#),
            r#"{"secret_key":[redacted]}"#
        );
    }

    #[test]
    fn scrub_secrets_leaves_who_the_user_is() {
        assert_eq!(scrub_secrets("ana@clinic.example"), "ana@clinic.example");
        assert_eq!(scrub_secrets("pwd: hunter2"), "pwd: [redacted]");
    }
}
