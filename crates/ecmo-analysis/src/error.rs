//! Errors of the analysis layer. Every variant is caused by the data or the request.

use ecmo_stats::StatsError;
use thiserror::Error;

/// Something wrong with the table or the request.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AnalysisError {
    /// The CSV itself could not be read (bad quoting, ragged row ...).
    #[error("{source_name}: {message}")]
    Csv {
        /// File (or other source) name.
        source_name: String,
        /// What went wrong, with the line when known.
        message: String,
    },
    /// A value that does not fit the column's use.
    #[error("{source_name} line {line}, column '{column}': value '{value}' {problem}")]
    Value {
        /// File name.
        source_name: String,
        /// 1-based line in the file (the header is line 1).
        line: u64,
        /// Column name.
        column: String,
        /// The offending value as written.
        value: String,
        /// Why it is rejected.
        problem: String,
    },
    /// A column named in the request does not exist.
    #[error("{source_name}: no column '{column}' (columns: {available})")]
    NoColumn {
        /// File name.
        source_name: String,
        /// Requested column.
        column: String,
        /// Columns that exist.
        available: String,
    },
    /// The request is inconsistent (unknown level, nothing to analyse ...).
    #[error("{0}")]
    Request(String),
    /// The statistics engine refused the data.
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, AnalysisError>;
