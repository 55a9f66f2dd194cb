//! The key that keeps Cognito's tokens encrypted in the session store (AES-256-GCM), so a copy of the store holds none that work.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

/// Bytes in a key: AES-256.
const KEY_BYTES: usize = 32;

/// The file under `data_dir` holding the key a server makes itself when none is configured.
const KEPT_KEY_FILE: &str = "token.key";

/// What a person setting up Vitals is told when the key is missing or unusable.
const MAKE_A_KEY: &str = "make one with `openssl rand -base64 32` and set it as VITALS_SESSION_TOKEN_KEY \
     (in production, from a Secrets Manager secret)";

/// What is wrong when Cognito is configured without `session.token_key`.
pub fn missing_with_cognito() -> String {
    format!("is not set; Cognito's tokens are kept encrypted with it: {MAKE_A_KEY}")
}

/// A 256-bit AES-GCM key from `session.token_key`, read from its base64 text.
#[derive(Clone)]
pub struct TokenKey {
    key: Arc<LessSafeKey>,
    /// The SHA-256 of the key: two settings are equal when these are, and the key itself is kept once.
    fingerprint: [u8; 32],
    /// A secret derived from the key for signing (embed tokens), so one setting serves both
    /// and every replica with the same key signs alike.
    signing_secret: Arc<[u8; 32]>,
}

/// Why sealed tokens could not be opened: another key, a changed store entry, or not sealed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the session's secrets could not be decrypted with this server's key")]
    Open,
    #[error("the session's secrets could not be encrypted")]
    Seal,
    #[error("the operating system's random number generator failed; no session can start until it works")]
    Random,
}

impl TokenKey {
    /// The key from its base64 text; the error says what is wrong with it (never the key itself).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| format!("is not base64; {MAKE_A_KEY}"))?;
        if bytes.len() != KEY_BYTES {
            return Err(format!(
                "is {} bytes long, not {KEY_BYTES}; {MAKE_A_KEY}",
                bytes.len()
            ));
        }
        Self::from_bytes(&bytes).ok_or_else(|| format!("cannot be used; {MAKE_A_KEY}"))
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        let signing = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes),
            b"vitals signing secret v1",
        );
        Some(Self {
            key: Arc::new(LessSafeKey::new(key)),
            fingerprint: Sha256::digest(bytes).into(),
            signing_secret: Arc::new(signing.as_ref().try_into().ok()?),
        })
    }

    /// The key kept in `dir` (`token.key`, readable by this user alone) for a server configured
    /// without `session.token_key`: made on the first start and read on every later one, so the
    /// embed links it signs outlive a restart. Replicas sharing a DynamoDB store need the
    /// configured key instead, as each would make its own here.
    pub fn kept_in(dir: &Path) -> Result<Self, String> {
        let path = dir.join(KEPT_KEY_FILE);
        let unreadable = |problem: &dyn std::fmt::Display| {
            format!(
                "cannot read the server's own key from {}: {problem}; remove the file to make a new one \
                 (embed links signed with the old one stop working), or set `session.token_key`",
                path.display()
            )
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                return Self::from_base64(&text).map_err(|problem| unreadable(&problem));
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(unreadable(&error));
            }
            Err(_) => {}
        }
        let mut bytes = [0_u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| SealError::Random.to_string())?;
        let cannot_write = |error: std::io::Error| {
            format!(
                "cannot keep the server's own key in {}: {error}; make `data_dir` writable or set `session.token_key`",
                path.display()
            )
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, STANDARD.encode(bytes).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(cannot_write)?;
                Self::from_bytes(&bytes).ok_or_else(|| SealError::Random.to_string())
            }
            // Another process started on the same directory made it first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).map_err(|error| unreadable(&error))?;
                Self::from_base64(&text).map_err(|problem| unreadable(&problem))
            }
            Err(error) => Err(cannot_write(error)),
        }
    }

    /// The secret signatures are made with, derived from the key (never the key itself).
    pub fn signing_secret(&self) -> &[u8] {
        self.signing_secret.as_slice()
    }

    /// Encrypts `plaintext` under a fresh random nonce, bound to `context` (who it belongs to),
    /// as base64 of the nonce followed by the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts what [`TokenKey::seal`] made for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut opened = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut opened)
            .map_err(|_| SealError::Open)?;
        Ok(plaintext.to_vec())
    }
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for TokenKey {}

/// The base64 text in the configuration, checked as it is read.
impl<'de> Deserialize<'de> for TokenKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const OTHER_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

    #[test]
    fn a_server_without_a_configured_key_keeps_its_own_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let first = TokenKey::kept_in(dir.path()).unwrap();
        let again = TokenKey::kept_in(dir.path()).unwrap();
        assert_eq!(
            first.signing_secret(),
            again.signing_secret(),
            "the same key after a restart"
        );
        let sealed = first.seal(b"secret", "ana").unwrap();
        assert_eq!(again.open(&sealed, "ana").unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEPT_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "readable by the server's user alone");
        }
        let elsewhere = tempfile::tempdir().unwrap();
        assert_ne!(
            TokenKey::kept_in(elsewhere.path()).unwrap().signing_secret(),
            first.signing_secret(),
            "each data directory makes its own"
        );
    }

    #[test]
    fn a_damaged_kept_key_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEPT_KEY_FILE), "not a key").unwrap();
        let problem = TokenKey::kept_in(dir.path()).err().unwrap();
        assert!(problem.contains("token.key"), "{problem}");
        assert!(problem.contains("remove the file"), "{problem}");
        assert!(problem.contains("session.token_key"), "{problem}");
    }

    #[test]
    fn sealed_tokens_open_with_the_same_key_and_context() {
        let key = TokenKey::from_base64(KEY).unwrap();
        let sealed = key.seal(b"refresh-token-secret", "ana").unwrap();
        assert!(!sealed.contains("refresh"), "{sealed}");
        assert_ne!(
            sealed,
            key.seal(b"refresh-token-secret", "ana").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed, "ana").unwrap(), b"refresh-token-secret");
    }

    #[test]
    fn a_wrong_key_or_context_or_changed_byte_fails_to_open() {
        let key = TokenKey::from_base64(KEY).unwrap();
        let sealed = key.seal(b"refresh-token-secret", "ana").unwrap();
        let other = TokenKey::from_base64(OTHER_KEY).unwrap();
        assert_eq!(other.open(&sealed, "ana"), Err(SealError::Open));
        assert_eq!(key.open(&sealed, "ben"), Err(SealError::Open));
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(key.open(&STANDARD.encode(bytes), "ana"), Err(SealError::Open));
        assert_eq!(key.open("not base64!", "ana"), Err(SealError::Open));
    }

    #[test]
    fn a_key_that_is_not_32_bytes_of_base64_says_how_to_make_one() {
        for text in ["", "short", "c2hvcnQ=", "not base64 at all!"] {
            let problem = TokenKey::from_base64(text).unwrap_err();
            assert!(problem.contains("openssl rand -base64 32"), "{problem}");
        }
    }
}
