//! Bedside decision support for VA-ECMO: for one run at one instant, the
//! ECMO-to-VAD decision tree ([`vad`]), the weaning-readiness panel
//! ([`readiness`]), the published scores with their risk classes and caveats
//! ([`published`]), centre-fitted model predictions ([`ecmo_model`]), all
//! gathered by [`assess::assess`] into one serialisable assessment with a
//! plain-language rendering ([`render`]).
//!
//! Everything reads the run through the as-of [`ecmo_domain::RunView`]:
//! records after the instant are never seen, so what is shown at 03:00 is
//! what was knowable at 03:00.

pub mod assess;
pub mod published;
pub mod readiness;
mod records;
pub mod render;
#[cfg(test)]
pub(crate) mod testutil;
pub mod vad;

use serde::{Deserialize, Serialize};

pub use assess::{AssessConfig, Assessment, assess, latest_instant};
pub use readiness::ReadinessThresholds;
pub use render::render_text;
pub use vad::{Recommendation, VadDecision, VadRules, evaluate};

/// The status of a rule step or a checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    NotMet,
    /// The data needed are not recorded (or too old).
    Unknown,
    /// Shown for information; no threshold applies.
    Info,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not met",
            Status::Unknown => "unknown",
            Status::Info => "info",
        }
    }
}

/// Why a rules or thresholds file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{origin}: not a valid rules file: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: `{field}`: {reason}")]
    Invalid { origin: String, field: String, reason: String },
}

impl RuleError {
    pub(crate) fn parse(origin: &str, e: &toml::de::Error) -> Self {
        RuleError::Parse { origin: origin.into(), message: e.to_string() }
    }
}
