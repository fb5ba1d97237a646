//! Error type of the statistics engine.

use thiserror::Error;

/// Everything that can go wrong on user data. No function of this crate panics on data.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatsError {
    /// Not enough observations (or events, or cases/controls) for the method.
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// Inputs of different lengths or otherwise inconsistent shapes.
    #[error("dimension mismatch: {0}")]
    DimensionMismatch(String),
    /// A value that is not allowed (NaN where a number is needed, negative count, p outside [0,1] ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A matrix that should be positive definite is not (collinear predictors, aliased terms).
    #[error("singular matrix: {0}")]
    Singular(String),
    /// An iterative fit did not converge.
    #[error("did not converge: {0}")]
    NoConvergence(String),
    /// The exact computation would be too large (e.g. Fisher's test on a huge r x c table).
    #[error("too large for exact computation: {0}")]
    TooLarge(String),
    /// A named column or term is unknown.
    #[error("unknown name: {0}")]
    UnknownName(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StatsError>;
