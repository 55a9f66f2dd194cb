//! What a person needs to add Vitals to an authenticator app: the secret key grouped for typing, the `otpauth://` URI and its QR code.

use qrcodegen::{QrCode, QrCodeEcc};
use vitals_api::AuthenticatorSetup;

use super::AuthError;

/// The issuer authenticator apps show beside the code.
const ISSUER: &str = "Vitals";
/// The light modules around a QR code that scanners need to find it.
const QUIET_ZONE: i32 = 4;

/// The setup for `username`'s new authenticator, from the secret key Cognito made for it.
pub(crate) fn authenticator_setup(username: &str, secret: &str) -> Result<AuthenticatorSetup, AuthError> {
    let uri = otpauth_uri(username, secret);
    let qr_svg = qr_svg(&uri)?;
    Ok(AuthenticatorSetup {
        secret_key: in_groups_of_four(secret),
        uri,
        qr_svg,
    })
}

/// `ABCDEFGHIJ` as `ABCD EFGH IJ`: easier to type and to check.
fn in_groups_of_four(secret: &str) -> String {
    secret
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(String::from_iter)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Key URI Format authenticator apps read: `otpauth://totp/Vitals:<username>?secret=…&issuer=Vitals`.
fn otpauth_uri(username: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&issuer={ISSUER}",
        percent_encoded(username),
        percent_encoded(secret)
    )
}

/// `text` with every byte but letters, digits, `-._~` and `@` percent-encoded, so a space is `%20` (never `+`).
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A QR code of `text` as a small SVG document: one path, a rectangle per run of dark modules in a row.
fn qr_svg(text: &str) -> Result<String, AuthError> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| {
        AuthError::NotAllowed(
            "your username is too long for an authenticator app's QR code; ask an admin".into(),
        )
    })?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            path.push_str(&format!(
                "M{} {}h{}v1h-{}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE,
                x - start,
                x - start
            ));
        }
    }
    let side = size + 2 * QUIET_ZONE;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_key_is_shown_in_groups_of_four() {
        let cases = [
            ("", ""),
            ("ABC", "ABC"),
            ("ABCD", "ABCD"),
            ("ABCDEFGHIJ", "ABCD EFGH IJ"),
            ("asdfasdfasdf", "asdf asdf asdf"),
        ];
        for (secret, shown) in cases {
            assert_eq!(in_groups_of_four(secret), shown, "{secret}");
        }
    }

    #[test]
    fn the_uri_names_the_user_and_vitals_with_usernames_encoded() {
        let cases = [
            (
                "ana",
                "otpauth://totp/Vitals:ana?secret=JBSWY3DPEHPK3PXP&issuer=Vitals",
            ),
            (
                "ana.lima@clinic.example",
                "otpauth://totp/Vitals:ana.lima@clinic.example?secret=JBSWY3DPEHPK3PXP&issuer=Vitals",
            ),
            (
                "dr ana+ops/night?&x=1",
                "otpauth://totp/Vitals:dr%20ana%2Bops%2Fnight%3F%26x%3D1?secret=JBSWY3DPEHPK3PXP&issuer=Vitals",
            ),
            (
                "zoë:1",
                "otpauth://totp/Vitals:zo%C3%AB%3A1?secret=JBSWY3DPEHPK3PXP&issuer=Vitals",
            ),
        ];
        for (username, uri) in cases {
            assert_eq!(otpauth_uri(username, "JBSWY3DPEHPK3PXP"), uri, "{username}");
        }
    }

    #[test]
    fn the_qr_code_is_a_small_svg_of_the_uri() {
        let setup =
            authenticator_setup("ana.lima@clinic.example", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(setup.secret_key, "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
        let svg = &setup.qr_svg;
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>") && svg.contains("<path d=\"M"), "{svg}");
        assert!(svg.len() < 8_000, "{} bytes", svg.len());
        // The code itself: a version whose side fits the URI, its finder pattern's first row one run of 7.
        let code = QrCode::encode_text(&setup.uri, QrCodeEcc::Medium).unwrap();
        let side = code.size() + 2 * QUIET_ZONE;
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")), "{svg}");
        assert!(svg.contains("<path d=\"M4 4h7v1h-7z"), "{svg}");
    }

    #[test]
    fn a_username_too_long_for_a_qr_code_is_refused_in_words() {
        let refused = authenticator_setup(&"a".repeat(5_000), "JBSWY3DPEHPK3PXP").unwrap_err();
        assert!(refused.to_string().contains("ask an admin"), "{refused}");
    }
}
