//! What an aggregate's refusal says about itself: a stable code and a kind. One mapping
//! in the API turns any aggregate's error into its HTTP answer, so a new aggregate only
//! implements [`DomainError`] for its error type.

/// The kind of a refusal, which decides how the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `what` does not exist (in this studio): 404.
    NotFound { what: &'static str },
    /// The caller may not do this: 403.
    Forbidden,
    /// Something with this identity exists already: 409.
    Conflict,
    /// One input field is invalid: 422, naming the field by its path in the request.
    InvalidField {
        field: String,
        code: &'static str,
        message: String,
    },
    /// A business rule refused the command: 422 with the rule's code.
    Rule,
}

/// Implemented by every aggregate's error type.
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    /// The stable, machine-readable code clients may rely on.
    fn code(&self) -> &'static str;
    /// How the refusal is answered.
    fn refusal(&self) -> Refusal;
}

/// A field's refusal with the generic `invalid` code.
pub fn invalid_field(field: impl Into<String>, message: &str) -> Refusal {
    Refusal::InvalidField {
        field: field.into(),
        code: "invalid",
        message: message.to_owned(),
    }
}
