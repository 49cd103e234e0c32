//! Short-lived check-in codes: what the front desk shows (a screen, a tablet, a note on
//! the door) so clients check themselves in from their phones.
//!
//! A code is stateless: HMAC-SHA256 over the studio, the class and a
//! [`WINDOW_SECS`]-long time window, keyed by a key derived from the API's signing
//! secret. Nothing is stored, every API instance computes the same code, and a code
//! cannot be forged without the secret. A code is accepted in its own window and the
//! next one, so a code read just before a window ends still works for a full window:
//! it lives between 10 and 20 minutes (the issuer gets `expires_at`). A photo of the
//! code sent to someone at home is useless soon after.
//!
//! Six characters from a 32-character alphabet without look-alikes (no `0`/`O`, `1`/`I`)
//! carry 30 bits of the MAC: guessing one is a one-in-a-billion shot per request, and
//! requests are rate-limited. Comparison is constant-time.
//!
//! Whether check-in is open at all (from an hour before the start, while the class is
//! neither cancelled nor closed) is the class aggregate's rule, not the code's.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Length of a code.
pub const CODE_LEN: usize = 6;

/// Length of one code window. A code is accepted in its window and the next.
pub const WINDOW_SECS: i64 = 10 * 60;

/// 32 characters (5 bits each): digits 2–9 and the letters without `I` and `O`.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Separates this key from every other use of the signing secret.
const KEY_LABEL: &[u8] = b"repstream/check-in-code/v1";

/// A code as handed to staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub code: String,
    /// The first instant the code is refused.
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies check-in codes. Cheap to clone.
#[derive(Clone)]
pub struct CheckInCodes {
    /// HMAC-SHA256 keyed with the derived key, cloned for each code.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CheckInCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckInCodes { key: *** }")
    }
}

impl CheckInCodes {
    /// Codes keyed by a key derived from `secret` (the access-token signing secret):
    /// rotating that secret invalidates outstanding codes, which live minutes anyway.
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| anyhow::anyhow!("check-in code key: {e}"))?;
        derive.update(KEY_LABEL);
        let key = derive.finalize().into_bytes();
        let mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|e| anyhow::anyhow!("check-in code key: {e}"))?;
        Ok(Self { mac })
    }

    /// The code for `class` of `studio` at `now`, and when it stops being accepted.
    pub fn issue(&self, studio: Uuid, class: Uuid, now: DateTime<Utc>) -> IssuedCode {
        let window = window_of(now);
        let code = self.code_for(studio, class, window);
        let expires_at = DateTime::from_timestamp((window + 2) * WINDOW_SECS, 0)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        IssuedCode {
            code: code.iter().map(|&b| char::from(b)).collect(),
            expires_at,
        }
    }

    /// Whether `input` is the code of the current or the previous window. Case,
    /// spaces and hyphens are forgiven (`ab3-k7q` is `AB3K7Q`).
    pub fn verify(&self, studio: Uuid, class: Uuid, input: &str, now: DateTime<Utc>) -> bool {
        let Some(typed) = normalize(input) else {
            return false;
        };
        let window = window_of(now);
        let current = self.code_for(studio, class, window);
        let previous = self.code_for(studio, class, window - 1);
        // Both comparisons always run: no timing tells which window matched.
        bool::from(typed.ct_eq(&current) | typed.ct_eq(&previous))
    }

    fn code_for(&self, studio: Uuid, class: Uuid, window: i64) -> [u8; CODE_LEN] {
        let mut mac = self.mac.clone();
        mac.update(studio.as_bytes());
        mac.update(class.as_bytes());
        mac.update(&window.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        // The first 30 bits of the tag, five per character.
        let bits = u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]]) >> 2;
        let mut code = [0u8; CODE_LEN];
        for (i, c) in code.iter_mut().enumerate() {
            let shift = 5 * (CODE_LEN - 1 - i);
            *c = ALPHABET[((bits >> shift) & 0x1f) as usize];
        }
        code
    }
}

/// The window `t` falls in.
fn window_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(WINDOW_SECS)
}

/// Upper-cased, without spaces and hyphens; `None` unless exactly [`CODE_LEN`] ASCII
/// characters remain.
fn normalize(input: &str) -> Option<[u8; CODE_LEN]> {
    let mut out = [0u8; CODE_LEN];
    let mut n = 0;
    for c in input.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        if !c.is_ascii() || n == CODE_LEN {
            return None;
        }
        out[n] = c.to_ascii_uppercase() as u8;
        n += 1;
    }
    (n == CODE_LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const STUDIO: Uuid = Uuid::from_u128(1);
    const CLASS: Uuid = Uuid::from_u128(2);

    fn codes() -> CheckInCodes {
        CheckInCodes::new(&[7u8; 48]).expect("any key length works")
    }

    /// 18:00:00Z, the start of a window.
    fn at(minutes: i64, seconds: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
            + Duration::seconds(seconds)
    }

    #[test]
    fn a_code_is_six_characters_without_look_alikes_and_the_same_on_every_instance() {
        let issued = codes().issue(STUDIO, CLASS, at(3, 0));
        assert_eq!(issued.code.len(), CODE_LEN);
        assert!(
            issued.code.bytes().all(|b| ALPHABET.contains(&b)),
            "{}",
            issued.code
        );
        for look_alike in ['0', 'O', '1', 'I'] {
            assert!(!ALPHABET.contains(&(look_alike as u8)));
        }
        assert_eq!(issued, codes().issue(STUDIO, CLASS, at(9, 59)));
    }

    #[test]
    fn a_code_is_accepted_in_its_window_and_the_next_and_refused_from_expires_at() {
        let c = codes();
        let issued = c.issue(STUDIO, CLASS, at(9, 59));
        assert_eq!(issued.expires_at, at(20, 0));
        assert!(c.verify(STUDIO, CLASS, &issued.code, at(0, 0)));
        assert!(c.verify(STUDIO, CLASS, &issued.code, at(19, 59)));
        assert!(!c.verify(STUDIO, CLASS, &issued.code, issued.expires_at));
        assert!(
            !c.verify(STUDIO, CLASS, &issued.code, at(0, -1)),
            "not before its window"
        );
        // However late in its window a code is read, it lives at least a full window.
        let life = issued.expires_at - at(9, 59);
        assert!(
            life > Duration::seconds(WINDOW_SECS) && life <= Duration::seconds(2 * WINDOW_SECS)
        );
    }

    #[test]
    fn a_code_belongs_to_one_class_of_one_studio_and_one_key() {
        let c = codes();
        let code = c.issue(STUDIO, CLASS, at(1, 0)).code;
        assert!(!c.verify(STUDIO, Uuid::from_u128(3), &code, at(1, 0)));
        assert!(!c.verify(Uuid::from_u128(3), CLASS, &code, at(1, 0)));
        let other_key = CheckInCodes::new(&[8u8; 48]).expect("key");
        assert!(!other_key.verify(STUDIO, CLASS, &code, at(1, 0)));
        assert_ne!(code, c.issue(STUDIO, CLASS, at(11, 0)).code, "codes rotate");
    }

    #[test]
    fn typing_is_forgiving_about_case_spaces_and_hyphens_but_nothing_else() {
        let c = codes();
        let code = c.issue(STUDIO, CLASS, at(1, 0)).code;
        let now = at(2, 0);
        let (head, tail) = code.split_at(3);
        assert!(c.verify(STUDIO, CLASS, &code.to_lowercase(), now));
        assert!(c.verify(STUDIO, CLASS, &format!(" {head}-{tail} "), now));
        assert!(!c.verify(STUDIO, CLASS, head, now));
        assert!(!c.verify(STUDIO, CLASS, &format!("{code}2"), now));
        assert!(!c.verify(STUDIO, CLASS, "", now));
        assert!(!c.verify(STUDIO, CLASS, "ÄÖÜÄÖÜ", now));
        let mut wrong = code.into_bytes();
        wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
        let wrong = String::from_utf8(wrong).expect("ascii");
        assert!(!c.verify(STUDIO, CLASS, &wrong, now));
    }
}
