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

impl StudioError {
    /// The stable machine-readable code for this rule.
    pub fn code(&self) -> &'static str {
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
}
