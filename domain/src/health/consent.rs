//! Consent to process health data. A studio words its own consent text and versions it;
//! a submission records which version the client agreed to, and when, so a changed text
//! never silently covers data given under an older one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check, FieldError};

/// Longest consent text, in characters.
const MAX_CONSENT_CHARS: usize = 20_000;

/// A studio's consent text for health data, one per version. A new wording is a new
/// version; old versions stay, because submissions refer to them.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ConsentText {
    /// 1, 2, ..: increases with every new wording.
    pub version: u32,
    /// What the client agrees to (1..=20000 characters, line breaks allowed).
    pub text: String,
}

/// The consent text of a studio that wrote none (version 1).
pub const STANDARD_CONSENT_TEXT: &str = "I agree that this studio stores the health \
information I give in this form and shows it only to the staff who train me (owners, \
admins and my assigned trainers), so that they can plan safe training for me. It may \
be processed automatically to suggest training guidance, which a trainer reviews. It is \
not medical advice. I can withdraw this consent at any time; my health information is \
then hidden from staff and no longer processed.";

impl ConsentText {
    /// [`STANDARD_CONSENT_TEXT`], version 1.
    pub fn standard() -> Self {
        Self {
            version: 1,
            text: STANDARD_CONSENT_TEXT.to_owned(),
        }
    }

    /// Checks the version and the text's size.
    pub fn validate(&self) -> Result<(), FieldError> {
        check::range("version", self.version, 1, u32::MAX)?;
        check::text_within("text", &self.text, MAX_CONSENT_CHARS, |c| {
            c.is_control() && !matches!(c, '\n' | '\r' | '\t')
        })
    }

    /// The consent a client gives by agreeing to this text at `given_at`.
    pub fn given_at(&self, given_at: DateTime<Utc>) -> Consent {
        Consent {
            text_version: self.version,
            given_at,
        }
    }
}

/// The consent a submission was given under.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Consent {
    /// The [`ConsentText::version`] the client agreed to (≥ 1).
    pub text_version: u32,
    /// When the client agreed, which is when the form was submitted. Recency in the
    /// intake ("surgery within 12 weeks") is measured from this moment, so a submission
    /// always means the same thing however late it is read.
    pub given_at: DateTime<Utc>,
}

impl Consent {
    /// Whether this consent was given to `text` (the same version).
    pub fn is_for(&self, text: &ConsentText) -> bool {
        self.text_version == text.version
    }
}
