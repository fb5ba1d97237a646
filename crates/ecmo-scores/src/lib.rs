//! Clinical scores and study variables for ecmo-cds.
//!
//! Three layers, one set of definitions:
//!
//! * **Point scores from direct inputs** (the bedside calculator): [`vasoactive`]
//!   (VIS, Inotrope Score, NEE), [`sofa`], [`sofa2`], [`apache`], [`save`],
//!   [`encourage`], [`ecpr`] (TiPS65) and [`misc`] (MAP, lactate clearance,
//!   VIS reduction rate). [`calculators::compute`] runs any of them by name on a
//!   [`input::CalcInput`] built from JSON or command-line pairs.
//! * **Time-series derivations** on an as-of [`ecmo_domain::RunView`]:
//!   [`series`] (VIS over time, maximum doses, exposure, lactate clearance, fluid
//!   balance, MAP, worst-value SOFA/APACHE II, pre-ECMO snapshot, outcomes),
//!   each with the raw records it used, [`predict_va`] (PREDICT VA-ECMO's inputs,
//!   probability withheld), and [`run_scores`] collecting them.
//! * **The feature table**: [`features`], one flat row per run in a single pass.
//!
//! Definitions follow `shared/spec/clinical-scores.md`; deviations and policies
//! are documented in `docs/scores.md`.

pub mod apache;
pub mod calculators;
pub mod cmp;
pub mod ecpr;
pub mod encourage;
pub mod features;
pub mod input;
pub mod misc;
pub mod predict_va;
pub mod result;
pub mod run_scores;
pub mod save;
pub mod series;
pub mod sofa;
pub mod sofa2;
pub mod vasoactive;

pub use calculators::{calculator, calculators, compute};
pub use input::{CalcInput, CalculatorInfo, FieldInfo, FieldKind, RawValue};
pub use result::{Component, Measured, Options, RespSupportDef, ScoreError, ScoreResult, SofaUnitPolicy, VisVariant};
