//! A SigV4 check written from AWS's specification alone, so tests can tell that a request as it arrived verifies.
//!
//! The only hand computation of a signature in Vitals, and only for tests:
//! the product signs with `aws-sigv4`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A request as a server received it.
pub(in crate::sources::prometheus) struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug)]
pub(in crate::sources::prometheus) struct Authorization {
    pub access_key_id: String,
    /// `<yyyymmdd>/<region>/<service>/aws4_request`.
    pub scope: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Recomputes the signature of `request` with the secret key and compares it with the one it carries.
pub(in crate::sources::prometheus) fn verify(
    request: &ReceivedRequest<'_>,
    secret_access_key: &str,
) -> Result<Authorization, String> {
    let authorization = parse_authorization(&header(request, "authorization")?)?;
    let amz_date = header(request, "x-amz-date")?;
    let date = amz_date.get(..8).ok_or("x-amz-date is too short")?;
    if !authorization.scope.starts_with(&format!("{date}/")) {
        return Err(format!(
            "the scope {} is not for the date {date}",
            authorization.scope
        ));
    }
    let canonical_headers: String = authorization
        .signed_headers
        .iter()
        .map(|name| Ok(format!("{name}:{}\n", header(request, name)?)))
        .collect::<Result<_, String>>()?;
    let canonical_request = [
        request.method.to_owned(),
        uri_encode(request.path, false),
        canonical_query(request.query)?,
        canonical_headers,
        authorization.signed_headers.join(";"),
        hex(&Sha256::digest(request.body)),
    ]
    .join("\n");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        authorization.scope,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = format!("AWS4{secret_access_key}").into_bytes();
    for part in authorization.scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if expected != authorization.signature {
        return Err(format!(
            "the signature does not verify: expected {expected}, got {}\n--- canonical request ---\n{canonical_request}",
            authorization.signature
        ));
    }
    Ok(authorization)
}

/// All values of a header, trimmed and joined with commas, as SigV4 canonicalises them.
fn header(request: &ReceivedRequest<'_>, name: &str) -> Result<String, String> {
    let values: Vec<String> = request
        .headers
        .iter()
        .filter(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if values.is_empty() {
        return Err(format!("the request has no {name} header"));
    }
    Ok(values.join(","))
}

fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let fields = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| format!("authorization is not AWS4-HMAC-SHA256: {value}"))?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("authorization has no {name}"))
    };
    let (access_key_id, scope) = field("Credential")?
        .split_once('/')
        .ok_or("the credential has no scope")?;
    Ok(Authorization {
        access_key_id: access_key_id.to_owned(),
        scope: scope.to_owned(),
        signed_headers: field("SignedHeaders")?.split(';').map(str::to_owned).collect(),
        signature: field("Signature")?.to_owned(),
    })
}

/// Each parameter decoded, encoded again the SigV4 way, sorted by name then value.
fn canonical_query(query: &str) -> Result<String, String> {
    let mut pairs = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                uri_encode(&percent_decode(name)?, true),
                uri_encode(&percent_decode(value)?, true),
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    pairs.sort();
    Ok(pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&"))
}

/// Percent-encodes every byte but the unreserved ones (and `/` in a path). A path
/// arrives encoded once and is encoded again: SigV4 double-encodes paths for all
/// services but S3.
fn uri_encode(text: &str, encode_slash: bool) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            b'/' if !encode_slash => "/".to_owned(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3).ok_or("a % escape is cut short")?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| format!("%{hex} is not an escape"))?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| "a query parameter is not UTF-8".to_owned())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `get-vanilla-with-session-token` from AWS's SigV4 test suite.
    fn suite_request(signature: &str) -> ReceivedRequest<'static> {
        ReceivedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: vec![
                ("Host".into(), "example.amazonaws.com".into()),
                (
                    "X-Amz-Security-Token".into(),
                    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267".into(),
                ),
                ("X-Amz-Date".into(), "20150830T123600Z".into()),
                (
                    "Authorization".into(),
                    format!(
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                         SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={signature}"
                    ),
                ),
            ],
            body: b"",
        }
    }

    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn the_check_accepts_aws_test_suite_signature() {
        let request = suite_request("07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
        let authorization = verify(&request, SUITE_SECRET).unwrap();
        assert_eq!(authorization.access_key_id, "AKIDEXAMPLE");
        assert_eq!(authorization.scope, "20150830/us-east-1/service/aws4_request");
    }

    #[test]
    fn the_check_refuses_a_wrong_signature_or_secret() {
        let request = suite_request("17ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
        assert!(verify(&request, SUITE_SECRET).is_err());
        let request = suite_request("07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
        assert!(verify(&request, "another secret").is_err());
    }

    #[test]
    fn query_parameters_are_decoded_encoded_again_and_sorted() {
        assert_eq!(
            canonical_query("query=sum%20(up)&match%5B%5D=a%2Bb&end=2&").unwrap(),
            "end=2&match%5B%5D=a%2Bb&query=sum%20%28up%29"
        );
    }
}
