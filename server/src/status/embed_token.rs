//! Embed tokens: what an intranet page puts in the status iframe's address instead of a cookie
//! (third-party cookies are blocked in iframes). A token names its record (which holds the
//! origins allowed to frame it and whether it was revoked), the one status page it opens and
//! its expiry, signed with the server's key so none of them can be changed or made up.
//!
//! Pure: signing and checking here; the record and its revocation live in the store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// The format's version, first in every token, so a later format can be told apart.
const VERSION: &str = "v1";

/// Signs and checks embed tokens with one key.
pub struct EmbedSigner {
    key: hmac::Key,
}

/// What a token says, once its signature checks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedClaims {
    /// The token's record in the store: its origins, and whether it was revoked.
    pub id: String,
    /// The status page it opens.
    pub page: String,
    /// Seconds since the epoch after which it opens nothing.
    pub expires_at_s: i64,
}

/// Why a token opens nothing. The embed page says only that the status cannot be shown; the
/// reason goes to the server's log for whoever set the iframe up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmbedRefusal {
    #[error("no token was given")]
    Missing,
    #[error("the token is not one this server makes")]
    Malformed,
    #[error("the token's signature does not match: it was changed, or made with another key")]
    Tampered,
    #[error("the token has expired")]
    Expired,
    #[error("the token opens another status page")]
    OtherPage,
}

/// A name allowed in a token's parts: letters, digits, `-` and `_`, so the dots between parts
/// stay unambiguous.
fn is_part(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

impl EmbedSigner {
    /// A signer with `secret` (at least 32 bytes), under a key of its own derived from it, so
    /// the same secret used elsewhere signs nothing that opens an embed.
    pub fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"vitals embed tokens v1",
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The token for `claims`. Panics only on ids or pages that are not plain names, which the
    /// server makes itself.
    pub fn sign(&self, claims: &EmbedClaims) -> String {
        assert!(
            is_part(&claims.id) && is_part(&claims.page),
            "embed token parts are plain names"
        );
        let signed = format!("{VERSION}.{}.{}.{}", claims.id, claims.page, claims.expires_at_s);
        let signature = hmac::sign(&self.key, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// What `token` says, if it is this server's, unchanged, unexpired at `now_s` and for `page`.
    pub fn check(&self, token: Option<&str>, page: &str, now_s: i64) -> Result<EmbedClaims, EmbedRefusal> {
        let token = token
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(EmbedRefusal::Missing)?;
        let (signed, signature) = token.rsplit_once('.').ok_or(EmbedRefusal::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| EmbedRefusal::Malformed)?;
        let parts: Vec<&str> = signed.split('.').collect();
        let [VERSION, id, claimed_page, expires] = parts[..] else {
            return Err(EmbedRefusal::Malformed);
        };
        if !is_part(id) || !is_part(claimed_page) {
            return Err(EmbedRefusal::Malformed);
        }
        let expires_at_s: i64 = expires.parse().map_err(|_| EmbedRefusal::Malformed)?;
        // The signature first: nothing a token claims counts until it is known to be ours.
        hmac::verify(&self.key, signed.as_bytes(), &signature).map_err(|_| EmbedRefusal::Tampered)?;
        if now_s >= expires_at_s {
            return Err(EmbedRefusal::Expired);
        }
        if claimed_page != page {
            return Err(EmbedRefusal::OtherPage);
        }
        Ok(EmbedClaims {
            id: id.to_owned(),
            page: claimed_page.to_owned(),
            expires_at_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_S: i64 = 1_795_515_600;
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims() -> EmbedClaims {
        EmbedClaims {
            id: "tok_3f9a".into(),
            page: "clinic".into(),
            expires_at_s: NOW_S + 3_600,
        }
    }

    #[test]
    fn a_token_opens_its_page_until_it_expires_and_nothing_else() {
        let signer = EmbedSigner::new(SECRET);
        let token = signer.sign(&claims());
        assert!(token.starts_with("v1.tok_3f9a.clinic."), "{token}");
        let expired = signer.sign(&EmbedClaims {
            expires_at_s: NOW_S,
            ..claims()
        });
        let other_key = EmbedSigner::new(b"another secret, thirty-two bytes").sign(&claims());
        let table: [(Option<&str>, &str, Result<EmbedClaims, EmbedRefusal>); 6] = [
            (Some(&token), "clinic", Ok(claims())),
            (Some(&expired), "clinic", Err(EmbedRefusal::Expired)),
            (Some(&token), "hospital", Err(EmbedRefusal::OtherPage)),
            (Some(&other_key), "clinic", Err(EmbedRefusal::Tampered)),
            (None, "clinic", Err(EmbedRefusal::Missing)),
            (Some("  "), "clinic", Err(EmbedRefusal::Missing)),
        ];
        for (given, page, expected) in table {
            assert_eq!(signer.check(given, page, NOW_S), expected, "{given:?} for {page}");
        }
        assert_eq!(
            signer.check(Some(&token), "clinic", NOW_S + 3_600),
            Err(EmbedRefusal::Expired),
            "expired at the very second"
        );
    }

    #[test]
    fn changing_any_part_of_a_token_breaks_it() {
        let signer = EmbedSigner::new(SECRET);
        let token = signer.sign(&claims());
        let tampered = [
            token.replace("tok_3f9a", "tok_3f9b"),
            token.replace(".clinic.", ".hospital."),
            token.replace(
                &format!(".{}.", NOW_S + 3_600),
                &format!(".{}.", NOW_S + 86_400 * 365),
            ),
            format!("{}A", &token[..token.len() - 1]),
        ];
        for changed in &tampered {
            let refused = signer.check(Some(changed), "clinic", NOW_S).unwrap_err();
            assert!(
                matches!(refused, EmbedRefusal::Tampered | EmbedRefusal::Malformed),
                "{changed}: {refused:?}"
            );
        }
        // The page claimed is checked only once the signature holds: a forged page is tampering.
        assert_eq!(
            signer.check(Some(&tampered[1]), "hospital", NOW_S),
            Err(EmbedRefusal::Tampered)
        );
        for malformed in [
            "v1",
            "v1.a.b.c",
            "v2.tok.clinic.1.sig",
            "v1.t.k.clinic.1.c2ln",
            "v1.tok.clinic.soon.c2ln",
            "v1.tok.cl inic.1.c2ln",
        ] {
            assert_eq!(
                signer.check(Some(malformed), "clinic", NOW_S),
                Err(EmbedRefusal::Malformed),
                "{malformed}"
            );
        }
    }
}
