//! Trace ids in the two forms people paste: X-Ray's `1-xxxxxxxx-<24 hex>` and W3C's 32 hex digits.

use std::fmt;

/// Which form a trace id was asked in, so the answer can use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdForm {
    /// `1-5f84c7a1-0123456789abcdef01234567`.
    XRay,
    /// `5f84c7a10123456789abcdef01234567`.
    W3c,
}

/// A trace id: 32 hex digits whose first 8 are the trace's start in epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId {
    /// Lowercase, 32 hex digits.
    hex: String,
}

/// Why a text is not a trace id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a trace id; use the X-Ray form 1-xxxxxxxx-<24 hex digits> or 32 hex digits (W3C)")]
pub struct BadTraceId(pub String);

impl TraceId {
    /// Reads either form, and says which one it was.
    pub fn parse(text: &str) -> Result<(Self, IdForm), BadTraceId> {
        let text = text.trim();
        let is_hex =
            |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
        let (hex, form) = match text.split('-').collect::<Vec<_>>().as_slice() {
            [whole] if is_hex(whole, 32) => ((*whole).to_owned(), IdForm::W3c),
            ["1", epoch, unique] if is_hex(epoch, 8) && is_hex(unique, 24) => {
                (format!("{epoch}{unique}"), IdForm::XRay)
            }
            _ => return Err(BadTraceId(text.to_owned())),
        };
        Ok((
            Self {
                hex: hex.to_ascii_lowercase(),
            },
            form,
        ))
    }

    /// `1-` + the first 8 hex digits + `-` + the last 24: what X-Ray stores and answers.
    pub fn xray(&self) -> String {
        format!("1-{}-{}", &self.hex[..8], &self.hex[8..])
    }

    /// The 32 hex digits, as OpenTelemetry and the clinic's logs carry them.
    pub fn w3c(&self) -> String {
        self.hex.clone()
    }

    pub fn in_form(&self, form: IdForm) -> String {
        match form {
            IdForm::XRay => self.xray(),
            IdForm::W3c => self.w3c(),
        }
    }

    /// The epoch second the id was made in (X-Ray's first part), in nanoseconds.
    pub fn epoch_ns(&self) -> i64 {
        i64::from_str_radix(&self.hex[..8], 16).unwrap_or_default() * 1_000_000_000
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.xray())
    }
}

/// The X-Ray form of `text` when it is a trace id in either form; otherwise `text` unchanged.
pub fn to_xray_form(text: &str) -> String {
    TraceId::parse(text).map_or_else(|_| text.to_owned(), |(id, _)| id.xray())
}

#[cfg(test)]
mod tests {
    use super::*;

    const W3C: &str = "6a23a1f80123456789abcdef01234567";
    const XRAY: &str = "1-6a23a1f8-0123456789abcdef01234567";

    #[test]
    fn w3c_id_becomes_xray_form_by_splitting_after_eight_digits() {
        let (id, form) = TraceId::parse(W3C).unwrap();
        assert_eq!(form, IdForm::W3c);
        assert_eq!(id.xray(), XRAY);
        assert_eq!(to_xray_form(W3C), XRAY);
    }

    #[test]
    fn xray_id_becomes_w3c_form_by_dropping_version_and_dashes() {
        let (id, form) = TraceId::parse(XRAY).unwrap();
        assert_eq!(form, IdForm::XRay);
        assert_eq!(id.w3c(), W3C);
        assert_eq!(id.in_form(IdForm::XRay), XRAY);
        assert_eq!(id.in_form(IdForm::W3c), W3C);
    }

    #[test]
    fn both_forms_and_cases_name_the_same_trace_and_its_second() {
        let (from_w3c, _) = TraceId::parse(W3C).unwrap();
        let (from_xray, _) = TraceId::parse(&XRAY.to_uppercase()).unwrap();
        assert_eq!(from_w3c, from_xray);
        assert_eq!(from_w3c.epoch_ns(), 0x6a23_a1f8_i64 * 1_000_000_000);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for text in [
            "",
            "0123",
            "2-6a23a1f8-0123456789abcdef01234567",
            "1-6a23a1f-80123456789abcdef01234567",
            "1-6a23a1f8-0123456789abcdef0123456z",
            "6a23a1f80123456789abcdef0123456g",
            "../../etc/passwd",
        ] {
            assert!(TraceId::parse(text).is_err(), "{text:?} was accepted");
        }
        assert_eq!(to_xray_form("not-an-id"), "not-an-id");
    }
}
