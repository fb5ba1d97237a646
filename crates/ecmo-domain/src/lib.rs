//! The domain model of ecmo-cds: patients, ECMO runs, time series, infusions
//! and events, with explicit units and plausibility checks.
//!
//! This crate does no I/O. Stores and importers build [`RunRecord`]s; score
//! engines and analyses read them through the as-of [`RunView`].

pub mod concepts;
pub mod drugs;
pub mod model;
pub mod record;
pub mod time;
pub mod units;

pub use concepts::{Checked, Quantity, ValueError, Warning};
pub use drugs::{ChartedDose, Concentration, ConcentrationUnit, DoseError, Drug, Salt};
pub use model::*;
pub use record::{RunRecord, RunView};
pub use time::Timestamp;
pub use units::Unit;
