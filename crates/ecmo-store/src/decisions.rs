//! The decision log: a clinician acknowledges or overrides a bedside
//! recommendation, and the store keeps who, when, why, and exactly what was
//! shown (the serialised assessment with the versions of rules and models), so
//! that "what did the system show at 03:00 and why" can be answered later.
//!
//! A separate trait from [`crate::Store`] so that backends add it on their own
//! schedule; SQLite implements it (migration 3).

use crate::StoreError;
use ecmo_domain::Timestamp;
use serde::{Deserialize, Serialize};

/// What the clinician did with the recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Read and accepted.
    Acknowledge,
    /// Not followed; a reason is mandatory.
    Override,
}

impl DecisionAction {
    pub fn code(self) -> &'static str {
        match self {
            DecisionAction::Acknowledge => "acknowledge",
            DecisionAction::Override => "override",
        }
    }
}

impl std::str::FromStr for DecisionAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "acknowledge" => Ok(DecisionAction::Acknowledge),
            "override" => Ok(DecisionAction::Override),
            other => Err(format!("unknown decision action '{other}' (acknowledge, override)")),
        }
    }
}

/// One acknowledgement or override.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub run_id: String,
    /// The instant the assessment described (nothing after it was used).
    pub as_of: Timestamp,
    /// When the clinician acted: seconds since 1970-01-01 UTC.
    pub recorded_at: i64,
    /// Who acted (account or name).
    pub user: String,
    pub action: DecisionAction,
    /// The recommendation shown (e.g. `urgent_vad`).
    pub recommendation: String,
    /// Why (mandatory for an override).
    pub reason: Option<String>,
    /// Versions of the program, rules, thresholds and models that produced what was shown.
    pub versions: String,
    /// The assessment exactly as shown, as JSON.
    pub assessment_json: String,
    /// The text rendering shown, when it was shown as text.
    pub shown_text: Option<String>,
}

/// A stored decision with its number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDecision {
    pub id: i64,
    #[serde(flatten)]
    pub record: DecisionRecord,
}

/// Why a decision cannot be recorded.
pub fn check_decision(d: &DecisionRecord) -> Result<(), String> {
    if d.user.trim().is_empty() {
        return Err("the user who acts must be named".into());
    }
    if d.action == DecisionAction::Override && d.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err("an override needs a reason".into());
    }
    if d.assessment_json.trim().is_empty() {
        return Err("what was shown (the assessment) must be stored".into());
    }
    Ok(())
}

/// Why a decision was not stored.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("decision not recorded: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Append-only storage of decisions.
pub trait DecisionLog {
    /// Store one decision (refused, with nothing written, if [`check_decision`] fails); returns its id.
    fn record_decision(&mut self, d: &DecisionRecord) -> Result<i64, DecisionError>;
    /// A run's decisions, oldest first.
    fn decisions_for_run(&self, run_id: &str) -> Result<Vec<StoredDecision>, StoreError>;
    /// One decision by id.
    fn decision(&self, id: i64) -> Result<Option<StoredDecision>, StoreError>;
}
