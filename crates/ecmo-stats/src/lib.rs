//! # ecmo-stats
//!
//! The statistics engine of ecmo-cds. It knows nothing of ECMO: every function works on
//! plain slices, a small column-typed [`design::Frame`] and row-major matrices. The numbers
//! reproduce R (stats, MASS, pROC, survival, rms, cmprsk, mice, Hmisc) and are tested against
//! golden files produced by R 4.2.2 (`../shared/golden/` and this crate's `tests/golden/`; see
//! `docs/stats.md` for the method-by-method correspondence).
//!
//! Linear algebra is hand-written (Cholesky for the small p x p systems of IRLS and Cox
//! Newton-Raphson); no BLAS/LAPACK or nalgebra dependency. Special functions come from
//! `statrs`. All result types implement `serde::Serialize`. No function panics on user data:
//! problems come back as [`StatsError`].

// Numeric kernels index several arrays in lock-step; negated float comparisons are
// deliberate (they treat NaN as failure).
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

pub mod calibration;
pub mod competing;
pub mod decision;
pub mod describe;
pub mod design;
pub mod dist;
pub mod error;
pub mod fastbw;
pub mod htest;
pub mod linalg;
pub mod logistic;
pub mod mice;
mod radix;
pub mod reclassification;
pub mod rng;
pub mod roc;
pub mod roc_compare;
pub mod stability;
pub mod stepwise;
pub mod subgroup;
pub mod survival;
pub mod table1;
pub mod validate;

pub use error::{Result, StatsError};
