#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("this account already exists")]
    AlreadyRegistered,
    #[error("account not found")]
    NotFound,
}
