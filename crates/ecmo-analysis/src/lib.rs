//! # ecmo-analysis
//!
//! Runs the [`ecmo_stats`] engine on any table read from CSV text: a `features` export or a
//! centre's own spreadsheet. It types the columns, treats empty cells and `NA` as missing,
//! codes binary outcomes (with errors naming file, line, column and value), drops incomplete
//! rows and counts them, and returns serialisable reports whose field names are the JSON
//! schema documented in `docs/json.md` ("ecmo analyze").
//!
//! No I/O: the caller hands over the text (the CLI reads the file; a server would read the
//! upload).

pub mod added_value;
pub mod calibration;
pub mod competing;
pub mod error;
pub mod impute;
pub mod logistic;
pub mod model;
pub mod roc;
pub mod subgroup;
pub mod survival;
pub mod table;
pub mod table1;
pub mod validate;

pub use ecmo_stats as stats;
pub use error::{AnalysisError, Result};
pub use table::{BinaryCoding, RowSelection, Table};
