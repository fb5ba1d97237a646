//! Guards: what a clinician must read next to a prediction.

use serde::{Deserialize, Serialize};

/// Why a prediction deserves caution or cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// An input the model needs is not recorded.
    MissingInput,
    /// An input cannot be transformed (e.g. ln of 0).
    InvalidInput,
    /// The input is defined only later in the run (a first-24-h value before 24 h).
    NotYetAvailable,
    /// The input was measured longer ago than the model's window allows.
    StaleInput,
    /// The value lies outside what the development cohort contained: extrapolation.
    OutsideDevelopmentRange,
    /// Fewer than 10 events per predictor in the development cohort.
    LowEventsPerPredictor,
    /// The patient is outside the population the model or score was made for.
    PopulationMismatch,
    /// The model was fitted on the synthetic demonstration registry.
    SyntheticDevelopmentData,
    /// No bootstrap validation: only the apparent (optimistic) performance is known.
    NotValidated,
}

/// Whether a prediction is still shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown, with this warning beside it.
    Caution,
    /// No probability is shown.
    Blocking,
}

/// One guard, with a message a clinician can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    pub kind: GuardKind,
    pub severity: Severity,
    /// The predictor concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictor: Option<String>,
    pub message: String,
}

impl Guard {
    pub fn caution(kind: GuardKind, predictor: Option<&str>, message: impl Into<String>) -> Self {
        Guard { kind, severity: Severity::Caution, predictor: predictor.map(str::to_string), message: message.into() }
    }

    pub fn blocking(kind: GuardKind, predictor: Option<&str>, message: impl Into<String>) -> Self {
        Guard { kind, severity: Severity::Blocking, predictor: predictor.map(str::to_string), message: message.into() }
    }
}
