//! Declarative study definitions (TOML, docs/studies.md), cohort building with a flow of
//! exclusions, and the analyses of the four ECMO studies run with ecmo-stats.
//!
//! No I/O: the caller passes the study text and the runs, and gets serde results back.

mod added;
pub mod analysis;
pub mod cohort;
mod competing;
pub mod def;
pub mod error;
pub mod result;
pub mod tripod;

pub use analysis::{RunOptions, run_study};
pub use cohort::{StudyRun, TRAJECTORY_HOURS, build_cohort, fingerprint};
pub use def::{BUILTIN, StudyDef};
/// The ECMO-to-VAD decision tree rules, needed to build [`StudyRun`]s.
pub use ecmo_bedside::VadRules;
pub use error::StudyError;
pub use result::StudyResult;
