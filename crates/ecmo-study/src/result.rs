//! The results of a study run: plain serde structs the report, the CSV/JSON tables and
//! the model file are made from.

use crate::cohort::Flow;
use ecmo_stats::calibration::{Calibration, CalibrationBin};
use ecmo_stats::competing::{CumulativeIncidence, FineGray};
use ecmo_stats::decision::{DecisionCurve, NetBenefitDifference};
use ecmo_stats::logistic::{Coefficient, TestStat};
use ecmo_stats::mice::{ColumnImputation, PooledLogistic};
use ecmo_stats::reclassification::Reclassification;
use ecmo_stats::roc_compare::{DelongMulti, YoudenBootstrap};
use ecmo_stats::stability::SelectionStability;
use ecmo_stats::survival::CoxCoefficient;
use ecmo_stats::table1::{CategoricalRow, ContinuousRow};
use ecmo_stats::validate::Validation;
use serde::Serialize;

/// Everything a study run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyResult {
    pub study: StudyInfo,
    pub provenance: Provenance,
    pub flow: Flow,
    pub table1: Vec<Table1Row>,
    pub univariable: Vec<OddsRatio>,
    pub models: Vec<ModelResult>,
    pub roc: Option<RocSection>,
    pub subgroups: Vec<SubgroupResult>,
    pub survival: Option<SurvivalSection>,
    pub trajectories: Vec<Trajectory>,
    pub decision_tree: Option<DecisionTreeSection>,
    pub added_value: Option<AddedValueSection>,
    pub decision_curve: Option<DecisionCurveSection>,
    pub competing_risks: Option<CompetingRisksSection>,
    /// Every statistical test that ran, with why it was chosen.
    pub tests: Vec<TestRecord>,
    /// Rows each analysis used and dropped for missing data.
    pub missing: Vec<MissingRecord>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyInfo {
    pub name: String,
    pub title: String,
    pub source: String,
    pub description: String,
    pub outcome_column: String,
    pub outcome_label: String,
    pub outcome_note: String,
    /// The study file exactly as run.
    pub definition_toml: String,
}

/// What the study was run on and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    pub software: String,
    pub version: String,
    /// Report date (YYYY-MM-DD).
    pub date: String,
    /// How the date was chosen (given, or the latest record in the data).
    pub date_rule: String,
    /// SHA-256 of the input table (see `cohort::fingerprint`).
    pub data_fingerprint: String,
    pub data_source: String,
    pub runs_read: usize,
    /// Bootstrap resamples actually used (the study's, or an override).
    pub bootstrap: Option<usize>,
}

/// A Table 1 row with its variable's label and unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Table1Row {
    Continuous { variable: String, label: String, unit: String, row: ContinuousRow },
    Categorical { variable: String, label: String, unit: String, row: CategoricalRow },
}

/// An odds ratio (per `per` units of the predictor) from a logistic model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OddsRatio {
    /// Model term (`etiology=myocarditis` for a dummy).
    pub term: String,
    pub variable: String,
    pub label: String,
    pub unit: String,
    /// Units of the predictor per which the OR is given.
    pub per: f64,
    pub n: usize,
    pub events: usize,
    pub coef: f64,
    pub se: f64,
    pub odds_ratio: f64,
    /// 95 % Wald CI.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Wald z test.
    pub p: f64,
}

/// Range of a predictor in the development data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictorRange {
    pub name: String,
    pub unit: String,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// One multivariable prediction model with its TRIPOD-style description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResult {
    pub name: String,
    pub outcome: String,
    pub candidates: Vec<String>,
    pub selection: String,
    /// Human-readable selection path.
    pub selection_steps: Vec<String>,
    pub final_terms: Vec<String>,
    pub rows_complete: usize,
    pub rows_dropped: usize,
    pub n: usize,
    pub events: usize,
    /// Events per candidate parameter.
    pub events_per_parameter: f64,
    pub odds_ratios: Vec<OddsRatio>,
    /// Coefficients on the raw scale (per 1 unit), as fitted.
    pub coefficients: Vec<Coefficient>,
    /// Covariance of the coefficients (row-major, order of `coefficients`).
    pub vcov: Vec<f64>,
    pub aic: f64,
    pub deviance: f64,
    pub null_deviance: f64,
    pub lr_test: TestStat,
    pub auc: f64,
    pub auc_ci_low: f64,
    pub auc_ci_high: f64,
    pub calibration: Calibration,
    pub hosmer_lemeshow: TestStat,
    pub calibration_bins: Vec<CalibrationBin>,
    pub validation: Option<Validation>,
    /// How missing predictor values were handled, in one plain sentence.
    pub missing_data: String,
    /// Multiple imputation: what was imputed, the pooled fit (coefficients above are pooled).
    pub imputation: Option<Imputation>,
    /// Selection stability across bootstrap resamples (`[stability]`).
    pub stability: Option<SelectionStability>,
    pub predictor_ranges: Vec<PredictorRange>,
    pub warnings: Vec<String>,
    pub tripod: Vec<ChecklistItem>,
}

/// One TRIPOD+AI checklist item, filled from what the run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub item: String,
    pub topic: String,
    /// "reported here", "author to complete" or "not applicable".
    pub status: String,
    pub text: String,
}

/// A ROC curve with its AUC, DeLong CI and Youden cut-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocCurve {
    pub name: String,
    pub label: String,
    pub n: usize,
    pub cases: usize,
    pub controls: usize,
    /// pROC direction: `<` means higher values in events.
    pub direction: String,
    pub auc: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub youden_threshold: f64,
    pub youden_sensitivity: f64,
    pub youden_specificity: f64,
    /// (1 - specificity, sensitivity), thinned to at most 400 points.
    pub points: Vec<(f64, f64)>,
    /// Bootstrap percentile CI of the Youden cut-off (`[roc] cutoff_bootstrap`).
    pub youden_bootstrap: Option<YoudenBootstrap>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocComparison {
    pub a: String,
    pub b: String,
    pub n: usize,
    pub auc_a: f64,
    pub auc_b: f64,
    pub z: f64,
    pub p: f64,
    pub diff_ci_low: f64,
    pub diff_ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocSection {
    pub curves: Vec<RocCurve>,
    /// Paired DeLong tests on the rows complete for every curve.
    pub comparisons: Vec<RocComparison>,
    pub common_rows: usize,
    /// DeLong chi-square test that all k >= 3 AUCs are equal (same rows as the comparisons).
    pub all_equal: Option<DelongMulti>,
}

/// The predictor's effect within one level of a subgroup variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupLevel {
    pub level: String,
    pub n: usize,
    pub events: usize,
    pub estimate: Option<OddsRatio>,
    pub auc: Option<f64>,
    pub auc_ci_low: Option<f64>,
    pub auc_ci_high: Option<f64>,
    /// Why there is no estimate.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupResult {
    pub variable: String,
    pub label: String,
    pub predictor: String,
    pub per: f64,
    pub levels: Vec<SubgroupLevel>,
    /// LR test of the predictor x subgroup interaction terms.
    pub interaction: Option<TestStat>,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmStep {
    pub time: f64,
    pub surv: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmCurve {
    pub name: String,
    pub n: usize,
    pub events: usize,
    pub median_days: Option<f64>,
    pub surv_at_horizon: f64,
    pub surv_at_horizon_low: f64,
    pub surv_at_horizon_high: f64,
    pub steps: Vec<KmStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxSummary {
    pub n: usize,
    pub events: usize,
    pub coefficients: Vec<CoxCoefficient>,
    pub lr_test: TestStat,
    pub concordance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalSection {
    pub time: String,
    pub event: String,
    pub horizon_days: f64,
    pub groups: String,
    pub group_label: String,
    pub curves: Vec<KmCurve>,
    /// Numbers at risk at `at_risk_times` for each curve.
    pub at_risk_times: Vec<f64>,
    pub at_risk: Vec<Vec<usize>>,
    pub logrank: TestStat,
    pub cox: Option<CoxSummary>,
    pub rows_dropped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrajectoryPoint {
    pub hour: f64,
    pub n: usize,
    pub median: Option<f64>,
    pub q1: Option<f64>,
    pub q3: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrajectoryGroup {
    pub name: String,
    pub points: Vec<TrajectoryPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trajectory {
    pub quantity: String,
    pub unit: String,
    pub groups: Vec<TrajectoryGroup>,
}

/// How the ECMO-to-VAD decision tree would have classified each patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionTreeSection {
    pub rules: String,
    pub note: String,
    /// One row per recommendation, in the tree's order.
    pub classes: Vec<TreeClass>,
    pub patients: Vec<TreePatient>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeClass {
    pub recommendation: String,
    pub headline: String,
    pub n: usize,
    /// Outcome events (e.g. deaths within 2 years) in this class.
    pub events: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreePatient {
    pub run_id: String,
    pub recommendation: String,
    pub deciding_step: Option<usize>,
    pub hours_on_ecmo: f64,
    pub event: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRecord {
    pub analysis: String,
    pub variable: String,
    pub test: String,
    pub p: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingRecord {
    pub analysis: String,
    pub columns: Vec<String>,
    pub rows_used: usize,
    pub rows_dropped: usize,
}

/// A model fitted on every imputation and pooled with Rubin's rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imputation {
    /// Plain description (method, m, maxit, seed, per-column methods).
    pub method: String,
    pub m: usize,
    pub maxit: usize,
    pub seed: u64,
    /// Rows in the model (all cohort rows).
    pub rows: usize,
    /// Rows with every model column recorded (what complete-case analysis would use).
    pub complete_cases: usize,
    /// Rows with at least one imputed value.
    pub incomplete_rows: usize,
    pub auxiliary: Vec<String>,
    pub columns: Vec<ColumnImputation>,
    pub pooled: PooledLogistic,
    /// How the model's predicted probabilities (ROC, calibration, decision curve) were made.
    pub prediction: String,
}

/// NRI and IDI of an extended over a base logistic model (same rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddedValueSection {
    pub base_name: String,
    pub base: Vec<String>,
    pub extended_name: String,
    pub extended: Vec<String>,
    pub n: usize,
    pub events: usize,
    pub rows_dropped: usize,
    /// Paired DeLong comparison (a = base, b = extended).
    pub auc: RocComparison,
    pub reclassification: Reclassification,
    pub method: String,
}

/// A decision-curve model: its predictors and AUC on the curve's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveModelInfo {
    pub name: String,
    pub predictors: Vec<String>,
    pub auc: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionCurveSection {
    pub n: usize,
    pub events: usize,
    pub rows_dropped: usize,
    pub models: Vec<CurveModelInfo>,
    pub curve: DecisionCurve,
    pub difference: Option<NetBenefitDifference>,
    /// How the predicted probabilities were made (in-sample, so optimistic).
    pub note: String,
}

/// Kaplan-Meier probability of being free of every cause, per group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventFreeCurve {
    pub group: String,
    pub steps: Vec<KmStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FineGrayResult {
    pub cause: String,
    pub covariates: Vec<String>,
    /// Rows dropped for a missing covariate (beyond those of the curves).
    pub rows_dropped: usize,
    pub model: FineGray,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompetingRisksSection {
    pub time: String,
    pub time_unit: String,
    pub cause: String,
    /// Cause names, code 1, 2, ... (the CIF curves' `cause`).
    pub causes: Vec<String>,
    /// What a censored row is.
    pub censored_label: String,
    pub by: Option<String>,
    pub groups: Vec<String>,
    pub n: usize,
    pub censored: usize,
    pub rows_dropped: usize,
    pub incidence: CumulativeIncidence,
    pub event_free: Vec<EventFreeCurve>,
    pub fine_gray: Option<FineGrayResult>,
}
