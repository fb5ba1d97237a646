use thiserror::Error;

/// What can go wrong defining or running a study.
#[derive(Debug, Error)]
pub enum StudyError {
    /// The study file is malformed or names something that does not exist.
    #[error("study definition: {0}")]
    Definition(String),
    /// The data do not allow an analysis the study asks for (e.g. no events).
    #[error("{analysis}: {message}")]
    Analysis { analysis: String, message: String },
}

impl StudyError {
    pub fn analysis(analysis: &str, message: impl std::fmt::Display) -> Self {
        StudyError::Analysis { analysis: analysis.to_string(), message: message.to_string() }
    }
}
