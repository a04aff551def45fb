//! The store's one error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The change contradicts what is stored (a taken name, a scope in use).
    #[error("{0}")]
    Conflict(String),
    /// A stored row no longer passes the rules it was written under.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub(crate) trait OnConstraint<T> {
    /// Turns a unique-constraint violation into `Conflict(message)`.
    fn on_unique_violation(self, message: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, message: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
            _ => StoreError::Database(err),
        })
    }
}
