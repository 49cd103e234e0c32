use crate::error::{DomainError, Refusal};

/// Business rules a studio command can break. Each variant maps to a stable API code
/// (see `code()`), which clients may rely on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StudioError {
    #[error("a studio with this id already exists")]
    AlreadyExists,
    #[error("studio not found")]
    NotFound,
    #[error("location not found")]
    LocationNotFound,
    #[error("another location of this studio is already named `{0}`")]
    LocationNameTaken(String),
    #[error("a studio may have at most {max} locations")]
    TooManyLocations { max: usize },
    #[error("{field}: {message}")]
    InvalidSettings {
        field: &'static str,
        message: String,
    },
    #[error("you may not do this in this studio")]
    Forbidden,
    #[error("this person is already a member")]
    AlreadyMember,
    #[error("member not found")]
    MemberNotFound,
    #[error("a studio must keep at least one owner")]
    LastOwner,
    #[error("an invitation for this email is already pending")]
    AlreadyInvited,
    #[error("invitation not found")]
    InvitationNotFound,
    #[error("this invitation has expired")]
    InvitationExpired,
    #[error("this invitation was already used or revoked")]
    InvitationUsed,
    #[error("this invitation was sent to another email address")]
    InvitationEmailMismatch,
}

impl DomainError for StudioError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "studio_already_exists",
            Self::NotFound => "studio_not_found",
            Self::LocationNotFound => "location_not_found",
            Self::LocationNameTaken(_) => "location_name_taken",
            Self::TooManyLocations { .. } => "too_many_locations",
            Self::InvalidSettings { .. } => "invalid_settings",
            Self::Forbidden => "forbidden",
            Self::AlreadyMember => "already_member",
            Self::MemberNotFound => "member_not_found",
            Self::LastOwner => "last_owner",
            Self::AlreadyInvited => "already_invited",
            Self::InvitationNotFound => "invitation_not_found",
            Self::InvitationExpired => "invitation_expired",
            Self::InvitationUsed => "invitation_used",
            Self::InvitationEmailMismatch => "invitation_email_mismatch",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::Forbidden => Refusal::Forbidden,
            Self::NotFound => Refusal::NotFound { what: "studio" },
            Self::LocationNotFound => Refusal::NotFound { what: "location" },
            Self::MemberNotFound => Refusal::NotFound { what: "member" },
            Self::InvitationNotFound => Refusal::NotFound { what: "invitation" },
            // The id is taken (by this caller's retry or by anyone else's studio).
            Self::AlreadyExists => Refusal::Conflict,
            Self::InvalidSettings { field, message } => Refusal::InvalidField {
                field: format!("settings.{field}"),
                code: "invalid_settings",
                message: message.clone(),
            },
            Self::LocationNameTaken(_)
            | Self::TooManyLocations { .. }
            | Self::AlreadyMember
            | Self::LastOwner
            | Self::AlreadyInvited
            | Self::InvitationExpired
            | Self::InvitationUsed
            | Self::InvitationEmailMismatch => Refusal::Rule,
        }
    }
}
