//! Value types parsed once at the boundary. Each constructor is the only way in, so a
//! value that exists is a valid one; serde goes through the same constructors.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a raw value was refused. `code` is stable and part of the API contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    /// Stable machine-readable reason, e.g. `too_long`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl InvalidValue {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A human-facing name (studio, location): trimmed, 1..=100 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new("blank", "must not be blank"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "control_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-insensitive comparison key, used for uniqueness rules.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for DisplayName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone (`Europe/Berlin`). Studio times are stored in UTC and computed in
/// this zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        chrono_tz::Tz::from_str(raw.trim()).map(Self).map_err(|_| {
            InvalidValue::new(
                "unknown_time_zone",
                format!("`{raw}` is not an IANA time zone such as `Europe/Berlin`"),
            )
        })
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZone> for String {
    fn from(value: TimeZone) -> Self {
        value.0.name().to_owned()
    }
}

/// An ISO 4217 currency code (`EUR`). Money is always minor units plus this code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let upper = raw.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .map(Self)
            .ok_or_else(|| {
                InvalidValue::new(
                    "unknown_currency",
                    format!("`{raw}` is not an ISO 4217 currency code such as `EUR`"),
                )
            })
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for EUR, 0 for JPY).
    pub fn minor_units(&self) -> u16 {
        self.0.exponent().unwrap_or(0)
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Core  ").map(String::from),
            Ok("Core".to_owned())
        );
        assert_eq!(DisplayName::parse("   ").map_err(|e| e.code), Err("blank"));
        assert_eq!(
            DisplayName::parse(&"x".repeat(101)).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            DisplayName::parse("a\u{0}b").map_err(|e| e.code),
            Err("control_characters")
        );
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn time_zone_accepts_iana_names_only() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").map(|t| t.as_str()),
            Ok("Europe/Berlin")
        );
        assert_eq!(
            TimeZone::parse("Mars/Olympus").map_err(|e| e.code),
            Err("unknown_time_zone")
        );
    }

    #[test]
    fn currency_accepts_iso_codes_case_insensitively() {
        assert_eq!(Currency::parse("eur").map(|c| c.code()), Ok("EUR"));
        assert_eq!(Currency::parse("JPY").map(|c| c.minor_units()), Ok(0));
        assert_eq!(
            Currency::parse("XXQ").map_err(|e| e.code),
            Err("unknown_currency")
        );
    }
}

/// An email address, normalised to lower case (addresses are unique
/// case-insensitively). Deliberately permissive: one `@`, a dotted domain, no spaces,
/// at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || ",;<>()[]\\\"".contains(c))
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(InvalidValue::new(
                "invalid_email",
                "must be an email address",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy: 10..=128 characters, not only one character
/// class of letters or digits, and not the email's local part. Never serialised.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, InvalidValue> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(InvalidValue::new(
                "password_too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "password_too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let distinct: std::collections::HashSet<char> = raw.chars().collect();
        if distinct.len() < 4 || raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(InvalidValue::new(
                "password_too_weak",
                "must not be a repetition of a few characters or only digits",
            ));
        }
        if let Some(email) = email {
            let local = email.as_str().split('@').next().unwrap_or_default();
            if local.len() >= 4 && raw.to_lowercase().contains(local) {
                return Err(InvalidValue::new(
                    "password_contains_email",
                    "must not contain your email address",
                ));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").map(String::from),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_follow_the_policy() {
        let email = Email::parse("ada.lovelace@example.com").ok();
        assert!(Password::parse("correct horse battery", email.as_ref()).is_ok());
        assert_eq!(
            Password::parse("short1!", None)
                .map(|_| ())
                .map_err(|e| e.code),
            Err("password_too_short")
        );
        assert_eq!(
            Password::parse("aaaaaaaaaaaa", None)
                .map(|_| ())
                .map_err(|e| e.code),
            Err("password_too_weak")
        );
        assert_eq!(
            Password::parse("12345678901", None)
                .map(|_| ())
                .map_err(|e| e.code),
            Err("password_too_weak")
        );
        assert_eq!(
            Password::parse("my ada.lovelace@example.com pw", email.as_ref())
                .map(|_| ())
                .map_err(|e| e.code),
            Err("password_contains_email")
        );
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery", None).ok()),
            "Some(Password(***))"
        );
    }
}
