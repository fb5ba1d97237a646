//! The versioned prediction-model file of ecmo-cds (format documented in `docs/models.md`).
//!
//! A centre fits a model on its own registry (`ecmo model fit`, which builds a
//! [`ModelFile`] with [`ModelFile::from_fit`]) and the bedside reads it back
//! ([`ModelFile::load`]) to predict for one patient ([`ModelFile::predict`]):
//! the probability with a 95 % CI by the delta method on the logit scale, the
//! contribution of each predictor on the log-odds scale, and the guards a
//! clinician must see next to the number (missing or stale inputs, values
//! outside the development cohort, too few events per predictor, a patient
//! outside the model's population).
//!
//! The file is plain JSON so that it can be reviewed, diffed and archived with
//! the data fingerprint of the registry it was fitted on.

mod guard;
mod predict;

pub use guard::{Guard, GuardKind, Severity};
pub use predict::{Contribution, InputValue, PatientFacts, Prediction, PredictionOutcome, expit};

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The value of `format` in every model file.
pub const FORMAT: &str = "ecmo-cds-model";
/// The format version this program writes; it reads this version and older ones.
pub const FORMAT_VERSION: u32 = 1;
/// The intercept's name in [`ModelFile::covariance_terms`].
pub const INTERCEPT: &str = "(Intercept)";
/// Events per predictor below which a model is flagged as likely overfitted
/// (Peduzzi 1996; the usual rule of thumb, not a guarantee either way).
pub const MIN_EVENTS_PER_PREDICTOR: f64 = 10.0;
/// Two-sided 95 % normal quantile, `qnorm(0.975)` in R.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// The kind of model. Only logistic regression exists today; the tag keeps
/// older programs from misreading a newer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Binomial GLM with logit link: `P(outcome) = 1 / (1 + exp(-(b0 + sum b_j t_j(x_j))))`.
    Logistic,
}

/// What the model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Machine name of the outcome column (`weaned`, `died_in_hospital`).
    pub name: String,
    /// Plain language: what a probability of 1 means ("successful weaning: decannulated, no ECMO again within 30 days").
    pub description: String,
}

/// The patients a model was made for; used to refuse silent extrapolation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// Plain-language description ("adults on VA-ECMO for cardiogenic shock").
    pub description: String,
    /// ECMO modes the model applies to (`va`, `vv`, `vav`); empty = any.
    #[serde(default)]
    pub modes: Vec<String>,
    /// Only E-CPR runs (`true`), only runs without E-CPR (`false`), or both (absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecpr: Option<bool>,
    /// Etiology codes (ecmo-domain) the model applies to; empty = any.
    #[serde(default)]
    pub etiologies: Vec<String>,
}

/// How a raw input is transformed before its coefficient applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// `x` as is.
    Identity,
    /// Natural logarithm; needs `x > 0`.
    Ln,
    /// `ln(1 + x)`; needs `x > -1`.
    Ln1p,
    /// `x / by` (a coefficient per 10 units, per hour of 60 minutes, ...).
    Scale { by: f64 },
}

impl Transform {
    /// The transformed value, or why it cannot be taken.
    pub fn apply(self, x: f64) -> Result<f64, String> {
        match self {
            Transform::Identity => Ok(x),
            Transform::Ln if x > 0.0 => Ok(x.ln()),
            Transform::Ln => Err(format!("ln needs a value above 0, got {x}")),
            Transform::Ln1p if x > -1.0 => Ok(x.ln_1p()),
            Transform::Ln1p => Err(format!("ln(1 + x) needs a value above -1, got {x}")),
            Transform::Scale { by } => Ok(x / by),
        }
    }

    /// Written the way a statistician would read it, e.g. `ln(x)`, `x / 10`.
    pub fn describe(self) -> String {
        match self {
            Transform::Identity => "x".into(),
            Transform::Ln => "ln(x)".into(),
            Transform::Ln1p => "ln(1 + x)".into(),
            Transform::Scale { by } => format!("x / {by}"),
        }
    }
}

/// The range of a predictor's raw values in the development cohort.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObservedRange {
    pub min: f64,
    pub max: f64,
}

/// When an input is defined and how old it may be at prediction time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputWindow {
    /// Plain language ("first 24 h of ECMO", "at ECMO start").
    pub description: String,
    /// Hours after ECMO flow start from which the value is defined (24 for a
    /// first-24-h summary); predicting earlier is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_from_hours: Option<f64>,
    /// A measured value older than this many hours at prediction time is flagged as stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_hours: Option<f64>,
}

/// One predictor: its name in the features table, its unit and its coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictor {
    /// Column name in the features table (docs/features.md), e.g. `vis_reduction_24h`.
    pub name: String,
    /// Plain-language label.
    pub label: String,
    /// Unit of the raw value (`%`, `mmHg`, `points`, `yes/no` for 0/1).
    pub unit: String,
    pub transform: Transform,
    /// Coefficient on the log-odds scale, per unit of the transformed value.
    pub coefficient: f64,
    /// Raw values seen in the development cohort.
    pub range: ObservedRange,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<InputWindow>,
}

/// A predictor before fitting: everything but the coefficient (for [`ModelFile::from_fit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PredictorSpec {
    pub name: String,
    pub label: String,
    pub unit: String,
    pub transform: Transform,
    pub range: ObservedRange,
    pub window: Option<InputWindow>,
}

/// The cohort a model was developed on and how well it performed there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Development {
    /// Study definition the model came from (e.g. `weaning-vis`, seed 001).
    pub study: String,
    /// Plain-language description of the cohort (registry, period, inclusion).
    pub cohort: String,
    /// Patients (runs) in the fit, after exclusions.
    pub n: u64,
    /// Runs with the outcome (outcome = 1).
    pub events: u64,
    /// True when the registry was the synthetic demonstration data.
    pub synthetic: bool,
    /// Apparent (development-sample) AUC.
    pub auc_apparent: f64,
    /// Bootstrap optimism-corrected AUC (Harrell), if validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc_optimism_corrected: Option<f64>,
    /// Bootstrap replicates used for the optimism correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_replicates: Option<u64>,
    /// Calibration slope (apparent 1 by construction; optimism-corrected if validated).
    pub calibration_slope: f64,
    /// Calibration intercept (calibration-in-the-large).
    pub calibration_intercept: f64,
    /// Brier score.
    pub brier: f64,
    /// Date of the fit, `YYYY-MM-DD`.
    pub fitted_on: String,
    /// Fingerprint of the data the model was fitted on (e.g. a hash of the features table).
    pub data_fingerprint: String,
}

/// The program that wrote the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Software {
    pub name: String,
    pub version: String,
}

impl Software {
    /// This program (`ecmo-cds` and the workspace version).
    pub fn this() -> Self {
        Software { name: "ecmo-cds".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// Descriptive facts of a model (everything but the numbers of the fit).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    pub id: String,
    pub version: String,
    pub title: String,
    pub outcome: Outcome,
    pub population: Population,
    pub caveats: Vec<String>,
}

/// A prediction-model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Short stable identifier (`weaning-vis`); with `version` it names exactly one model.
    pub id: String,
    /// Model version chosen by whoever fitted it (a new fit gets a new version).
    pub version: String,
    pub title: String,
    pub kind: ModelKind,
    pub outcome: Outcome,
    pub population: Population,
    pub intercept: f64,
    pub predictors: Vec<Predictor>,
    /// Names of the rows/columns of `covariance`: the intercept, then the predictors in order.
    pub covariance_terms: Vec<String>,
    /// Covariance matrix of (intercept, coefficients), `(p+1) x (p+1)`, rows in `covariance_terms` order.
    pub covariance: Vec<Vec<f64>>,
    pub development: Development,
    pub software: Software,
    /// Limitations to print with every prediction.
    #[serde(default)]
    pub caveats: Vec<String>,
}

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write model file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("model file {path}: not valid model JSON at line {line}, column {column}: {message}")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("model file {path}: field `{field}`: {reason}")]
    Invalid { path: String, field: String, reason: String },
}

impl ModelFile {
    /// Build a model file from a fitted logistic regression given as plain vectors.
    ///
    /// `coefficients` and `covariance_row_major` are in the order (intercept,
    /// predictors...), exactly as `ecmo-stats` returns them (`coef`, `vcov`);
    /// `predictors` give the non-intercept terms in the same order.
    pub fn from_fit(
        meta: ModelMeta,
        predictors: Vec<PredictorSpec>,
        coefficients: &[f64],
        covariance_row_major: &[f64],
        development: Development,
    ) -> Result<ModelFile, ModelError> {
        let k = predictors.len() + 1;
        let invalid = |field: &str, reason: String| ModelError::Invalid {
            path: "(new model)".into(),
            field: field.into(),
            reason,
        };
        if coefficients.len() != k {
            return Err(invalid(
                "coefficients",
                format!("{} coefficients for an intercept and {} predictors", coefficients.len(), k - 1),
            ));
        }
        if covariance_row_major.len() != k * k {
            return Err(invalid(
                "covariance",
                format!("{} entries, expected {k} x {k} = {}", covariance_row_major.len(), k * k),
            ));
        }
        let covariance = covariance_row_major.chunks(k).map(<[f64]>::to_vec).collect();
        let mut covariance_terms = vec![INTERCEPT.to_string()];
        covariance_terms.extend(predictors.iter().map(|p| p.name.clone()));
        let predictors = predictors
            .into_iter()
            .zip(&coefficients[1..])
            .map(|(s, &coefficient)| Predictor {
                name: s.name,
                label: s.label,
                unit: s.unit,
                transform: s.transform,
                coefficient,
                range: s.range,
                window: s.window,
            })
            .collect();
        let m = ModelFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            id: meta.id,
            version: meta.version,
            title: meta.title,
            kind: ModelKind::Logistic,
            outcome: meta.outcome,
            population: meta.population,
            intercept: coefficients[0],
            predictors,
            covariance_terms,
            covariance,
            development,
            software: Software::this(),
            caveats: meta.caveats,
        };
        m.validate("(new model)")?;
        Ok(m)
    }

    /// Parse and validate a model from JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<ModelFile, ModelError> {
        // Check the format tag and version first so that a newer file gets a
        // clear "written by a newer version" instead of a missing-field error.
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| parse_error(origin, &e))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(ModelError::Invalid {
                    path: origin.into(),
                    field: "format".into(),
                    reason: format!("'{other}' is not an ecmo-cds model file (expected '{FORMAT}')"),
                });
            }
            None => {
                return Err(ModelError::Invalid {
                    path: origin.into(),
                    field: "format".into(),
                    reason: format!("missing; an ecmo-cds model file starts with \"format\": \"{FORMAT}\""),
                });
            }
        }
        if let Some(v) = value.get("format_version").and_then(|v| v.as_u64())
            && v > u64::from(FORMAT_VERSION)
        {
            return Err(ModelError::Invalid {
                path: origin.into(),
                field: "format_version".into(),
                reason: format!("{v} was written by a newer ecmo; this program reads up to version {FORMAT_VERSION}"),
            });
        }
        let m: ModelFile = serde_json::from_str(text).map_err(|e| parse_error(origin, &e))?;
        m.validate(origin)?;
        Ok(m)
    }

    /// Read and validate a model file.
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ModelError::Read { path: path.to_path_buf(), source })?;
        ModelFile::from_json(&text, &path.display().to_string())
    }

    /// Pretty JSON, as written to disk.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and finite numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Write the file: to a temporary file beside it, then renamed, so a
    /// half-written model never exists under its name.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let err = |source| ModelError::Write { path: path.to_path_buf(), source };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// `id` and `version` together, e.g. `weaning-vis@3`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// FNV-1a 64 of the canonical JSON: identifies exactly the model that was
    /// shown (stored with acknowledgements). Not a cryptographic hash.
    pub fn checksum(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("fnv1a64:{:016x}", fnv1a64(json.as_bytes()))
    }

    /// Events per predictor: the smaller of events and non-events over the
    /// number of predictors (the limiting sample size for a binary outcome).
    pub fn events_per_predictor(&self) -> Option<f64> {
        let d = &self.development;
        let limiting = d.events.min(d.n.saturating_sub(d.events));
        (!self.predictors.is_empty()).then(|| limiting as f64 / self.predictors.len() as f64)
    }

    /// Check everything a prediction relies on.
    pub fn validate(&self, origin: &str) -> Result<(), ModelError> {
        let bad = |field: String, reason: String| Err(ModelError::Invalid { path: origin.into(), field, reason });
        if self.format != FORMAT {
            return bad("format".into(), format!("'{}' is not '{FORMAT}'", self.format));
        }
        if self.format_version == 0 || self.format_version > FORMAT_VERSION {
            return bad(
                "format_version".into(),
                format!("{} is not supported (this program reads 1 to {FORMAT_VERSION})", self.format_version),
            );
        }
        for (field, v) in [("id", &self.id), ("version", &self.version), ("outcome.name", &self.outcome.name)] {
            if v.trim().is_empty() {
                return bad(field.into(), "must not be empty".into());
            }
        }
        if !self.intercept.is_finite() {
            return bad("intercept".into(), format!("{} is not a finite number", self.intercept));
        }
        let mut seen = BTreeSet::new();
        for (i, p) in self.predictors.iter().enumerate() {
            let f = |name: &str| format!("predictors[{i}].{name}");
            if p.name.trim().is_empty() {
                return bad(f("name"), "must not be empty".into());
            }
            if p.name == INTERCEPT || !seen.insert(p.name.as_str()) {
                return bad(f("name"), format!("'{}' appears twice", p.name));
            }
            if !p.coefficient.is_finite() {
                return bad(f("coefficient"), format!("{} is not a finite number", p.coefficient));
            }
            if !(p.range.min.is_finite() && p.range.max.is_finite()) || p.range.min > p.range.max {
                return bad(f("range"), format!("min {} must be <= max {}", p.range.min, p.range.max));
            }
            if let Transform::Scale { by } = p.transform
                && !(by.is_finite() && by != 0.0)
            {
                return bad(f("transform.by"), format!("{by} cannot divide"));
            }
        }
        let k = self.predictors.len() + 1;
        let mut expected = vec![INTERCEPT.to_string()];
        expected.extend(self.predictors.iter().map(|p| p.name.clone()));
        if self.covariance_terms != expected {
            return bad(
                "covariance_terms".into(),
                format!(
                    "must be {expected:?} (intercept, then the predictors in order), got {:?}",
                    self.covariance_terms
                ),
            );
        }
        if self.covariance.len() != k || self.covariance.iter().any(|r| r.len() != k) {
            return bad(
                "covariance".into(),
                format!("must be a {k} x {k} matrix (intercept and {} predictors)", k - 1),
            );
        }
        for i in 0..k {
            if !(self.covariance[i][i].is_finite() && self.covariance[i][i] >= 0.0) {
                return bad(format!("covariance[{i}][{i}]"), "a variance must be finite and not negative".into());
            }
            for j in 0..i {
                let (a, b) = (self.covariance[i][j], self.covariance[j][i]);
                let tol = 1e-9 * (1.0 + a.abs().max(b.abs()));
                if !(a.is_finite() && b.is_finite()) || (a - b).abs() > tol {
                    return bad(format!("covariance[{i}][{j}]"), format!("not symmetric ({a} vs {b})"));
                }
            }
        }
        let d = &self.development;
        if d.n == 0 || d.events > d.n {
            return bad("development.events".into(), format!("{} events in {} patients", d.events, d.n));
        }
        let unit_interval = [("development.auc_apparent", Some(d.auc_apparent)), ("development.brier", Some(d.brier))]
            .into_iter()
            .chain([("development.auc_optimism_corrected", d.auc_optimism_corrected)]);
        for (field, v) in unit_interval {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return bad(field.into(), format!("{v} is outside 0-1"));
            }
        }
        for (field, v) in [
            ("development.calibration_slope", d.calibration_slope),
            ("development.calibration_intercept", d.calibration_intercept),
        ] {
            if !v.is_finite() {
                return bad(field.into(), format!("{v} is not a finite number"));
            }
        }
        if !is_iso_date(&d.fitted_on) {
            return bad("development.fitted_on".into(), format!("'{}' is not a date YYYY-MM-DD", d.fitted_on));
        }
        if d.data_fingerprint.trim().is_empty() {
            return bad("development.data_fingerprint".into(), "must not be empty".into());
        }
        Ok(())
    }
}

fn parse_error(origin: &str, e: &serde_json::Error) -> ModelError {
    ModelError::Parse { path: origin.into(), line: e.line(), column: e.column(), message: e.to_string() }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A model file found by [`list_dir`]: its path and the model or why it failed to load.
pub type Listed = (PathBuf, Result<ModelFile, ModelError>);

/// Every model file (`*.json` with `"format": "ecmo-cds-model"`) in a directory,
/// sorted by path; files that fail to load are returned with their error.
pub fn list_dir(dir: &Path) -> Result<Vec<Listed>, ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ModelError::Read { path: dir.to_path_buf(), source })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            // Other JSON files in the directory are not models; skip them quietly.
            text.contains(FORMAT).then(|| {
                let m = ModelFile::from_json(&text, &p.display().to_string());
                (p, m)
            })
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests;
