//! Study definitions: a small declarative TOML file (docs/studies.md) naming the
//! population filter, the outcome, the candidate predictors, the selection method and
//! the analyses. The four built-in studies are such files compiled into the program.

use crate::error::StudyError;
use ecmo_scores::features::COLUMNS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The built-in studies: (name, TOML source).
pub const BUILTIN: [(&str, &str); 4] = [
    ("weaning", include_str!("../studies/weaning.toml")),
    ("vis", include_str!("../studies/vis.toml")),
    ("ecpr", include_str!("../studies/ecpr.toml")),
    ("vad", include_str!("../studies/vad.toml")),
];

/// A study definition as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyDef {
    pub study: Meta,
    #[serde(default)]
    pub population: Population,
    pub outcome: Outcome,
    /// Variables computed from feature columns before anything else.
    #[serde(default)]
    pub derived: Vec<Derived>,
    /// Report odds ratios of these columns per this many units (e.g. per 10 % of VIS reduction).
    #[serde(default)]
    pub per: BTreeMap<String, f64>,
    #[serde(default)]
    pub table1: Option<Table1Def>,
    #[serde(default)]
    pub univariable: Option<UnivariableDef>,
    #[serde(default)]
    pub model: Option<ModelDef>,
    #[serde(default)]
    pub roc: Option<RocDef>,
    #[serde(default)]
    pub subgroups: Option<SubgroupDef>,
    #[serde(default)]
    pub survival: Option<SurvivalDef>,
    #[serde(default)]
    pub trajectories: Option<TrajectoryDef>,
    /// Classify each patient with the ECMO-to-VAD decision tree (study 003).
    #[serde(default)]
    pub decision_tree: Option<DecisionTreeDef>,
    /// NRI and IDI of an extended model over a base model.
    #[serde(default)]
    pub added_value: Option<AddedValueDef>,
    /// Net benefit of fitted logistic models across risk thresholds.
    #[serde(default)]
    pub decision_curve: Option<DecisionCurveDef>,
    /// Cumulative incidence of competing causes, Gray's test, Fine-Gray.
    #[serde(default)]
    pub competing_risks: Option<CompetingRisksDef>,
    /// How missing predictor values of the `[model]` are handled (default complete case).
    #[serde(default)]
    pub missing_data: Option<MissingDataDef>,
    /// How often each candidate is selected across bootstrap resamples.
    #[serde(default)]
    pub stability: Option<StabilityDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub title: String,
    /// The publication the study reproduces (seed file and a one-line description).
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// Inclusion criteria, applied in order; a run failing one is excluded with its reason.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

/// Keep runs whose `column` satisfies `op`; the others are excluded for `reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub column: String,
    pub op: Op,
    /// Comparison value for eq/ne/lt/le/gt/ge.
    #[serde(default)]
    pub value: Option<f64>,
    /// Values for in/not_in (text columns: etiology, cohort) or contains.
    #[serde(default)]
    pub values: Vec<String>,
    /// Why a run failing this criterion is excluded (shown in the flow diagram).
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// The value is recorded (not empty).
    Present,
    In,
    NotIn,
    /// A text column contains any of `values` (case-insensitive).
    Contains,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// A 0/1 column (or derived variable).
    pub column: String,
    /// Value of the column that counts as the event (default 1).
    #[serde(default = "one")]
    pub event_value: f64,
    pub label: String,
    /// Group names for the event and the non-event.
    pub event_label: String,
    pub non_event_label: String,
    #[serde(default)]
    pub note: String,
}

fn one() -> f64 {
    1.0
}

/// A variable computed from feature columns; exactly one rule:
/// * `any_of`: 1 if any column is 1, 0 if all are 0, else empty (0/1);
/// * `first_of`: the first recorded value, each multiplied by its `times` (continuous, `unit`);
/// * `cases`: the label of the first case that holds, else `otherwise` (categorical; empty
///   when no case holds and `otherwise` is not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    pub name: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_of: Vec<FirstOf>,
    /// Unit of a `first_of` variable (after `times`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Case>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<String>,
}

/// One source of a `first_of` variable: `column` x `times` (e.g. days x 24 = hours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstOf {
    pub column: String,
    #[serde(default = "one")]
    pub times: f64,
}

/// One case of a categorical derived variable: holds when the 0/1 column `when` is 1, or when
/// `present` is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<String>,
    pub label: String,
}

impl Derived {
    fn kind(&self) -> Kind {
        if !self.first_of.is_empty() {
            Kind::Continuous
        } else if !self.cases.is_empty() {
            Kind::Categorical
        } else {
            Kind::Binary
        }
    }

    /// Levels of a `cases` variable in the order written (`otherwise` last).
    pub fn levels(&self) -> Vec<String> {
        let mut l: Vec<String> = Vec::new();
        for c in &self.cases {
            if !l.contains(&c.label) {
                l.push(c.label.clone());
            }
        }
        if let Some(o) = &self.otherwise
            && !l.contains(o)
        {
            l.push(o.clone());
        }
        l
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table1Def {
    pub variables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnivariableDef {
    pub variables: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionMethod {
    /// All candidates stay in the model.
    None,
    /// stepAIC in both directions from the full model (MASS default).
    StepwiseAic,
    BackwardAic,
    ForwardAic,
    /// Backward elimination while the largest likelihood-ratio p >= alpha.
    BackwardP,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDef {
    pub name: String,
    pub candidates: Vec<String>,
    pub selection: SelectionMethod,
    #[serde(default = "alpha")]
    pub alpha: f64,
    /// Bootstrap resamples for optimism correction (the selection is repeated in each).
    #[serde(default = "bootstrap")]
    pub bootstrap: usize,
    #[serde(default = "seed")]
    pub seed: u64,
}

fn alpha() -> f64 {
    0.05
}
fn bootstrap() -> usize {
    200
}
fn seed() -> u64 {
    20_240_501
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocDef {
    pub predictors: Vec<String>,
    /// Add the multivariable model's predicted probability as a curve.
    #[serde(default)]
    pub include_model: bool,
    /// Bootstrap resamples for a percentile CI of each Youden cut-off (0 = none).
    #[serde(default)]
    pub cutoff_bootstrap: usize,
    #[serde(default = "seed")]
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgroupDef {
    /// The predictor whose effect is compared across subgroups.
    pub predictor: String,
    /// Subgroup variables (0/1 columns, derived variables or etiology).
    pub by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivalDef {
    /// Follow-up time column (days).
    pub time: String,
    /// 0/1 death column.
    pub event: String,
    /// Administrative censoring at this many days (e.g. 730 for 2-year survival).
    pub horizon_days: f64,
    /// Kaplan-Meier curves and log-rank test by this 0/1 variable.
    pub groups: String,
    /// Covariates of the Cox model.
    #[serde(default)]
    pub cox: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryDef {
    /// "vis" and/or "lactate".
    pub quantities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionTreeDef {
    pub enabled: bool,
}

/// NRI/IDI of `extended` over `base`, both logistic models fitted on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedValueDef {
    /// Name of the base model in the report.
    #[serde(default = "base_name")]
    pub base_name: String,
    pub base: Vec<String>,
    #[serde(default = "extended_name")]
    pub extended_name: String,
    pub extended: Vec<String>,
    /// Risk cut-offs (increasing, in (0, 1)) for the categorical NRI; empty = continuous NRI only.
    #[serde(default)]
    pub risk_categories: Vec<f64>,
}

fn base_name() -> String {
    "base model".into()
}
fn extended_name() -> String {
    "extended model".into()
}

/// One model of a decision curve: a logistic model of `predictors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveModel {
    pub name: String,
    pub predictors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionCurveDef {
    #[serde(default)]
    pub models: Vec<CurveModel>,
    /// Add the `[model]`'s predicted probability (as fitted, pooled under MICE) as curve "model".
    #[serde(default)]
    pub include_model: bool,
    /// Threshold probabilities from, to, by (inclusive).
    #[serde(default = "threshold_from")]
    pub threshold_from: f64,
    #[serde(default = "threshold_to")]
    pub threshold_to: f64,
    #[serde(default = "threshold_by")]
    pub threshold_by: f64,
    /// Net-benefit difference of two curves (names) with a bootstrap CI.
    #[serde(default)]
    pub difference: Vec<String>,
    #[serde(default = "bootstrap")]
    pub bootstrap: usize,
    #[serde(default = "seed")]
    pub seed: u64,
}

fn threshold_from() -> f64 {
    0.05
}
fn threshold_to() -> f64 {
    0.95
}
fn threshold_by() -> f64 {
    0.05
}

impl DecisionCurveDef {
    /// The threshold grid (rounded to 1e-9 so 0.1 + 0.2 prints as 0.3).
    pub fn thresholds(&self) -> Vec<f64> {
        let n = ((self.threshold_to - self.threshold_from) / self.threshold_by + 1e-9).floor() as usize;
        (0..=n).map(|k| ((self.threshold_from + k as f64 * self.threshold_by) * 1e9).round() / 1e9).collect()
    }
}

/// Competing risks: time to the first of several causes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetingRisksDef {
    /// Time column (continuous; its unit labels the axis).
    pub time: String,
    /// Cause column: a categorical derived variable (`cases`), or numeric codes (0 = censored,
    /// k = the k-th of `cause_labels`).
    pub cause: String,
    /// Level of a categorical cause that means censored (no event yet).
    #[serde(default)]
    pub censored: Option<String>,
    /// Names of numeric cause codes 1, 2, ...
    #[serde(default)]
    pub cause_labels: Vec<String>,
    /// Curves and Gray's test per level of this 0/1 or categorical variable.
    #[serde(default)]
    pub by: Option<String>,
    /// Fine-Gray covariates (empty = no model).
    #[serde(default)]
    pub fine_gray: Vec<String>,
    /// Cause modelled by Fine-Gray (default: the first cause).
    #[serde(default)]
    pub fine_gray_cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingMethod {
    CompleteCase,
    Mice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingDataDef {
    pub method: MissingMethod,
    /// Imputations (mice).
    #[serde(default = "mice_m")]
    pub m: usize,
    /// Sweeps of the chained equations.
    #[serde(default = "mice_maxit")]
    pub maxit: usize,
    #[serde(default = "mice_seed")]
    pub seed: u64,
    /// Columns used only to impute (not in the model).
    #[serde(default)]
    pub auxiliary: Vec<String>,
}

fn mice_m() -> usize {
    20
}
fn mice_maxit() -> usize {
    10
}
fn mice_seed() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityDef {
    #[serde(default = "bootstrap")]
    pub bootstrap: usize,
    #[serde(default = "seed")]
    pub seed: u64,
}

/// Kind of a column as the analyses treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Continuous,
    Binary,
    /// Etiology (text codes).
    Categorical,
    /// Cohort label: filters only.
    Text,
}

/// Name, unit and kind of every column a study may use.
pub fn column_kind(def: &StudyDef, name: &str) -> Option<(Kind, String)> {
    match name {
        "etiology" => return Some((Kind::Categorical, "code".into())),
        "cohort" => return Some((Kind::Text, "label".into())),
        _ => {}
    }
    if let Some(d) = def.derived.iter().find(|d| d.name == name) {
        let unit = match d.kind() {
            Kind::Binary => "0/1".into(),
            Kind::Continuous => d.unit.clone().unwrap_or_default(),
            _ => "level".into(),
        };
        return Some((d.kind(), unit));
    }
    COLUMNS.iter().find(|c| c.name == name).map(|c| {
        let kind = if c.unit == "0/1" { Kind::Binary } else { Kind::Continuous };
        (kind, c.unit.to_string())
    })
}

/// A human label for a column (the definition from the data dictionary).
pub fn column_label(def: &StudyDef, name: &str) -> String {
    if let Some(d) = def.derived.iter().find(|d| d.name == name) {
        return d.label.clone();
    }
    if name == "etiology" {
        return "indication for ECMO".into();
    }
    COLUMNS.iter().find(|c| c.name == name).map(|c| c.definition.to_string()).unwrap_or_default()
}

impl StudyDef {
    /// Parse and validate a study file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<StudyDef, StudyError> {
        let def: StudyDef =
            toml::from_str(text).map_err(|e| StudyError::Definition(format!("{origin}: {}", e.to_string().trim())))?;
        def.validate().map_err(|e| StudyError::Definition(format!("{origin}: {e}")))?;
        Ok(def)
    }

    /// A built-in study by name.
    pub fn builtin(name: &str) -> Result<StudyDef, StudyError> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            StudyError::Definition(format!("no built-in study '{name}' (built-in: {})", names.join(", ")))
        })?;
        StudyDef::parse(text, &format!("built-in study {name}"))
    }

    /// Every check that does not need data: column names exist and have the right kind,
    /// numbers are in range, analyses are consistent with each other.
    pub fn validate(&self) -> Result<(), String> {
        let check = |what: &str, name: &str, allowed: &[Kind]| -> Result<Kind, String> {
            match column_kind(self, name) {
                None => Err(format!("{what}: unknown column '{name}'{}", suggestion(self, name))),
                Some((k, _)) if !allowed.contains(&k) => {
                    Err(format!("{what}: column '{name}' is {k:?} but this needs {allowed:?}").to_lowercase())
                }
                Some((k, _)) => Ok(k),
            }
        };
        const ANALYSABLE: [Kind; 3] = [Kind::Continuous, Kind::Binary, Kind::Categorical];
        if self.study.name.trim().is_empty() {
            return Err("[study] name is empty".into());
        }
        for d in &self.derived {
            if COLUMNS.iter().any(|c| c.name == d.name) || d.name == "etiology" || d.name == "cohort" {
                return Err(format!("[[derived]] '{}' has the name of a feature column", d.name));
            }
            let what = format!("[[derived]] '{}'", d.name);
            let rules = [!d.any_of.is_empty(), !d.first_of.is_empty(), !d.cases.is_empty()];
            if rules.iter().filter(|r| **r).count() != 1 {
                return Err(format!("{what}: give exactly one of any_of, first_of, cases (non-empty)"));
            }
            if d.unit.is_some() && d.first_of.is_empty() {
                return Err(format!("{what}: 'unit' applies to first_of only"));
            }
            if d.otherwise.is_some() && d.cases.is_empty() {
                return Err(format!("{what}: 'otherwise' applies to cases only"));
            }
            let plain = |c: &str| -> Result<(), String> {
                if self.derived.iter().any(|x| x.name == c) {
                    return Err(format!("{what}: uses another derived variable '{c}'"));
                }
                Ok(())
            };
            for c in &d.any_of {
                plain(c)?;
                check(&what, c, &[Kind::Binary])?;
            }
            for f in &d.first_of {
                plain(&f.column)?;
                check(&format!("{what} first_of"), &f.column, &[Kind::Continuous, Kind::Binary])?;
                if !(f.times.is_finite() && f.times != 0.0) {
                    return Err(format!("{what}: times = {} for '{}': give a non-zero number", f.times, f.column));
                }
            }
            for (k, c) in d.cases.iter().enumerate() {
                let w = format!("{what} case {}", k + 1);
                match (&c.when, &c.present) {
                    (Some(col), None) => {
                        plain(col)?;
                        check(&w, col, &[Kind::Binary])?;
                    }
                    (None, Some(col)) => {
                        plain(col)?;
                        check(&w, col, &[Kind::Continuous, Kind::Binary])?;
                    }
                    _ => return Err(format!("{w}: give exactly one of 'when' (a 0/1 column) or 'present'")),
                }
                if c.label.trim().is_empty() {
                    return Err(format!("{w}: 'label' is empty"));
                }
            }
        }
        for (i, c) in self.population.criteria.iter().enumerate() {
            let what = format!("[population] criterion {} ({})", i + 1, c.column);
            let kind = check(&what, &c.column, &[Kind::Continuous, Kind::Binary, Kind::Categorical, Kind::Text])?;
            let text = matches!(kind, Kind::Categorical | Kind::Text);
            match c.op {
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    if text {
                        return Err(format!("{what}: '{:?}' compares numbers; use in/not_in/contains", c.op));
                    }
                    if c.value.is_none_or(|v| !v.is_finite()) {
                        return Err(format!("{what}: op {:?} needs a finite 'value'", c.op).to_lowercase());
                    }
                }
                Op::In | Op::NotIn | Op::Contains => {
                    if !text {
                        return Err(format!("{what}: in/not_in/contains apply to etiology or cohort"));
                    }
                    if c.values.is_empty() {
                        return Err(format!("{what}: 'values' is empty"));
                    }
                    if c.column == "etiology" && c.op != Op::Contains {
                        for v in &c.values {
                            if v.parse::<ecmo_domain::Etiology>().is_err() {
                                return Err(format!("{what}: '{v}' is not an etiology code"));
                            }
                        }
                    }
                    if let Some(d) = self.derived.iter().find(|d| d.name == c.column)
                        && c.op != Op::Contains
                    {
                        for v in &c.values {
                            if !d.levels().contains(v) {
                                return Err(format!(
                                    "{what}: '{v}' is not a level of '{}' ({})",
                                    d.name,
                                    d.levels().join(", ")
                                ));
                            }
                        }
                    }
                }
                Op::Present => {}
            }
            if c.reason.trim().is_empty() {
                return Err(format!("{what}: give a 'reason' for the flow diagram"));
            }
        }
        let ok = check("[outcome] column", &self.outcome.column, &[Kind::Binary])?;
        debug_assert_eq!(ok, Kind::Binary);
        if self.outcome.event_value != 0.0 && self.outcome.event_value != 1.0 {
            return Err("[outcome] event_value must be 0 or 1".into());
        }
        for (name, step) in &self.per {
            check("[per]", name, &[Kind::Continuous])?;
            if !(step.is_finite() && *step > 0.0) {
                return Err(format!("[per] {name} = {step}: give a positive number of units"));
            }
        }
        let outcome_cols = [self.outcome.column.as_str()];
        let as_predictor = |what: &str, name: &str| -> Result<(), String> {
            check(what, name, &ANALYSABLE)?;
            if outcome_cols.contains(&name) {
                return Err(format!("{what}: '{name}' is the outcome"));
            }
            Ok(())
        };
        if let Some(t) = &self.table1 {
            for v in &t.variables {
                check("[table1] variables", v, &ANALYSABLE)?;
            }
        }
        if let Some(u) = &self.univariable {
            for v in &u.variables {
                as_predictor("[univariable] variables", v)?;
            }
        }
        if let Some(m) = &self.model {
            if m.candidates.is_empty() {
                return Err("[model] candidates is empty".into());
            }
            for v in &m.candidates {
                as_predictor("[model] candidates", v)?;
            }
            if !(m.alpha > 0.0 && m.alpha < 1.0) {
                return Err(format!("[model] alpha = {}: give a value between 0 and 1", m.alpha));
            }
            if m.bootstrap == 0 {
                return Err("[model] bootstrap must be at least 1".into());
            }
        }
        if let Some(r) = &self.roc {
            for v in &r.predictors {
                as_predictor("[roc] predictors", v)?;
                check("[roc] predictors", v, &[Kind::Continuous, Kind::Binary])?;
            }
            if r.include_model && self.model.is_none() {
                return Err("[roc] include_model = true needs a [model] section".into());
            }
        }
        if let Some(s) = &self.subgroups {
            as_predictor("[subgroups] predictor", &s.predictor)?;
            check("[subgroups] predictor", &s.predictor, &[Kind::Continuous, Kind::Binary])?;
            for v in &s.by {
                check("[subgroups] by", v, &[Kind::Binary, Kind::Categorical])?;
            }
        }
        if let Some(s) = &self.survival {
            check("[survival] time", &s.time, &[Kind::Continuous])?;
            check("[survival] event", &s.event, &[Kind::Binary])?;
            check("[survival] groups", &s.groups, &[Kind::Binary])?;
            for v in &s.cox {
                check("[survival] cox", v, &[Kind::Continuous, Kind::Binary])?;
            }
            if !(s.horizon_days.is_finite() && s.horizon_days > 0.0) {
                return Err("[survival] horizon_days must be positive".into());
            }
        }
        if let Some(t) = &self.trajectories {
            for q in &t.quantities {
                if q != "vis" && q != "lactate" {
                    return Err(format!("[trajectories] quantities: '{q}' (known: vis, lactate)"));
                }
            }
        }
        if let Some(a) = &self.added_value {
            for (what, vars) in [("[added_value] base", &a.base), ("[added_value] extended", &a.extended)] {
                if vars.is_empty() {
                    return Err(format!("{what} is empty"));
                }
                for v in vars {
                    as_predictor(what, v)?;
                }
            }
            if a.base.iter().all(|v| a.extended.contains(v)) && a.extended.iter().all(|v| a.base.contains(v)) {
                return Err("[added_value] base and extended have the same predictors".into());
            }
            check_cutoffs("[added_value] risk_categories", &a.risk_categories)?;
        }
        if let Some(d) = &self.decision_curve {
            if d.models.is_empty() && !d.include_model {
                return Err("[decision_curve] give models or include_model = true".into());
            }
            if d.include_model && self.model.is_none() {
                return Err("[decision_curve] include_model = true needs a [model] section".into());
            }
            let mut names: Vec<&str> = Vec::new();
            for m in &d.models {
                if m.predictors.is_empty() {
                    return Err(format!("[decision_curve] model '{}': predictors is empty", m.name));
                }
                for v in &m.predictors {
                    as_predictor(&format!("[decision_curve] model '{}'", m.name), v)?;
                }
                if names.contains(&m.name.as_str()) || (d.include_model && m.name == "model") {
                    return Err(format!("[decision_curve] two models are named '{}'", m.name));
                }
                names.push(&m.name);
            }
            if d.include_model {
                names.push("model");
            }
            let (from, to, by) = (d.threshold_from, d.threshold_to, d.threshold_by);
            if !(from > 0.0 && to < 1.0 && from < to && by > 0.0 && by <= to - from) {
                return Err(format!(
                    "[decision_curve] thresholds from {from} to {to} by {by}: need 0 < from < to < 1 and 0 < by <= to - from"
                ));
            }
            if d.thresholds().len() > 1000 {
                return Err("[decision_curve] more than 1000 thresholds: take a larger threshold_by".into());
            }
            if !d.difference.is_empty() {
                if d.difference.len() != 2 || d.difference[0] == d.difference[1] {
                    return Err("[decision_curve] difference: give two different curve names".into());
                }
                for n in &d.difference {
                    if !names.contains(&n.as_str()) {
                        return Err(format!(
                            "[decision_curve] difference: no curve '{n}' (curves: {})",
                            names.join(", ")
                        ));
                    }
                }
                if d.bootstrap < 2 {
                    return Err("[decision_curve] bootstrap must be at least 2".into());
                }
            }
        }
        if let Some(c) = &self.competing_risks {
            check("[competing_risks] time", &c.time, &[Kind::Continuous])?;
            let k = check("[competing_risks] cause", &c.cause, &[Kind::Continuous, Kind::Categorical])?;
            if k == Kind::Categorical {
                let levels = match self.derived.iter().find(|d| d.name == c.cause) {
                    Some(d) => d.levels(),
                    None => return Err("[competing_risks] cause: etiology is not a cause of an event".into()),
                };
                let Some(cens) = &c.censored else {
                    return Err(format!(
                        "[competing_risks] censored: name the level of '{}' that means no event yet ({})",
                        c.cause,
                        levels.join(", ")
                    ));
                };
                if !levels.contains(cens) {
                    return Err(format!(
                        "[competing_risks] censored: '{cens}' is not a level of '{}' ({})",
                        c.cause,
                        levels.join(", ")
                    ));
                }
                if !c.cause_labels.is_empty() {
                    return Err("[competing_risks] cause_labels name numeric codes; this cause has labels".into());
                }
            } else {
                if c.cause_labels.is_empty() {
                    return Err("[competing_risks] cause_labels: name the causes coded 1, 2, ... (0 = censored)".into());
                }
                if c.censored.is_some() {
                    return Err("[competing_risks] censored: a numeric cause is censored at 0".into());
                }
            }
            if let Some(by) = &c.by {
                check("[competing_risks] by", by, &[Kind::Binary, Kind::Categorical])?;
            }
            for v in &c.fine_gray {
                check("[competing_risks] fine_gray", v, &[Kind::Continuous, Kind::Binary])?;
                if *v == c.time || *v == c.cause {
                    return Err(format!("[competing_risks] fine_gray: '{v}' is the time or the cause"));
                }
            }
            if let Some(f) = &c.fine_gray_cause {
                let causes = self.causes(c);
                if !causes.contains(f) {
                    return Err(format!("[competing_risks] fine_gray_cause: no cause '{f}' ({})", causes.join(", ")));
                }
                if c.fine_gray.is_empty() {
                    return Err("[competing_risks] fine_gray_cause without fine_gray covariates".into());
                }
            }
        }
        if let Some(md) = &self.missing_data
            && md.method == MissingMethod::Mice
        {
            let Some(m) = &self.model else {
                return Err("[missing_data] method = \"mice\" imputes for the [model]; there is none".into());
            };
            if m.selection != SelectionMethod::None {
                return Err("[missing_data] method = \"mice\" needs [model] selection = \"none\" (the bootstrap with \
                            the imputation inside does not repeat a selection)"
                    .into());
            }
            if !(2..=200).contains(&md.m) {
                return Err(format!("[missing_data] m = {}: give 2 to 200 imputations", md.m));
            }
            if !(1..=100).contains(&md.maxit) {
                return Err(format!("[missing_data] maxit = {}: give 1 to 100 iterations", md.maxit));
            }
            for v in &md.auxiliary {
                as_predictor("[missing_data] auxiliary", v)?;
            }
        }
        if let Some(st) = &self.stability {
            match &self.model {
                None => return Err("[stability] reruns the [model]'s selection; there is no [model]".into()),
                Some(m) if m.selection == SelectionMethod::None => {
                    return Err("[stability] needs a [model] with a selection (selection = \"none\" keeps all)".into());
                }
                _ => {}
            }
            if st.bootstrap == 0 {
                return Err("[stability] bootstrap must be at least 1".into());
            }
        }
        Ok(())
    }

    /// The causes of a competing-risks section, code 1, 2, ... in order.
    pub fn causes(&self, c: &CompetingRisksDef) -> Vec<String> {
        match self.derived.iter().find(|d| d.name == c.cause) {
            Some(d) if !d.cases.is_empty() => {
                d.levels().into_iter().filter(|l| Some(l) != c.censored.as_ref()).collect()
            }
            _ => c.cause_labels.clone(),
        }
    }
}

fn check_cutoffs(what: &str, cuts: &[f64]) -> Result<(), String> {
    if cuts.iter().any(|c| !(*c > 0.0 && *c < 1.0)) || cuts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("{what}: give increasing risks between 0 and 1 (exclusive)"));
    }
    Ok(())
}

/// " (did you mean 'x'?)" for the closest known column name.
fn suggestion(def: &StudyDef, name: &str) -> String {
    let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    names.extend(["etiology", "cohort"]);
    names.extend(def.derived.iter().map(|d| d.name.as_str()));
    let best = names.iter().map(|n| (edit_distance(n, name), *n)).min();
    match best {
        Some((d, n)) if d <= 3.max(name.len() / 3) => format!(" (did you mean '{n}'?)"),
        _ => " (the columns are listed in docs/features.md)".into(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_studies_parse_and_validate() {
        for (name, _) in BUILTIN {
            let d = StudyDef::builtin(name).unwrap();
            assert_eq!(d.study.name, name);
        }
    }

    #[test]
    fn unknown_column_is_named_with_a_suggestion() {
        let text = BUILTIN[0].1.replace("\"sofa_24h\"", "\"sofa_24\"");
        let e = StudyDef::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(e.contains("unknown column 'sofa_24'"), "{e}");
        assert!(e.contains("did you mean 'sofa_24h'"), "{e}");
        assert!(e.starts_with("study definition: w.toml: [table1]"), "{e}");
    }

    #[test]
    fn unknown_field_and_bad_values_are_rejected() {
        let e = StudyDef::parse(&format!("{}\n[extra]\nx = 1\n", BUILTIN[0].1), "f").unwrap_err().to_string();
        assert!(e.contains("extra"), "{e}");
        let text = BUILTIN[1].1.replace("\"ami_cs\"", "\"heart_attack\"");
        let e = StudyDef::parse(&text, "f").unwrap_err().to_string();
        assert!(e.contains("'heart_attack' is not an etiology code"), "{e}");
        let text = BUILTIN[0].1.replace("column = \"weaned\"", "column = \"sofa_24h\"");
        let e = StudyDef::parse(&text, "f").unwrap_err().to_string();
        assert!(e.contains("[outcome] column: column 'sofa_24h' is continuous"), "{e}");
    }

    #[test]
    fn threshold_grid_and_case_levels() {
        let w = StudyDef::builtin("weaning").unwrap();
        let d = w.decision_curve.as_ref().unwrap();
        let t = d.thresholds();
        assert_eq!(t.len(), 19);
        assert_eq!((t[0], t[2], t[18]), (0.05, 0.15, 0.95));
        let grid = DecisionCurveDef { threshold_from: 0.1, threshold_to: 0.5, threshold_by: 0.15, ..d.clone() };
        assert_eq!(grid.thresholds(), vec![0.1, 0.25, 0.4]);
        let run_end = w.derived.iter().find(|d| d.name == "run_end").unwrap();
        assert_eq!(run_end.levels().last().map(String::as_str), Some("on ECMO at last follow-up"));
        assert_eq!(column_kind(&w, "run_end").map(|k| k.0), Some(Kind::Categorical));
        assert_eq!(column_kind(&w, "run_end_hours"), Some((Kind::Continuous, "h".into())));
        let cr = w.competing_risks.as_ref().unwrap();
        assert_eq!(w.causes(cr), ["died on ECMO", "bridged to VAD or transplant", "weaned (decannulated alive)"]);
    }

    #[test]
    fn derived_needs_exactly_one_rule() {
        let text = BUILTIN[0].1.replace(
            "otherwise = \"on ECMO at last follow-up\"",
            "otherwise = \"on ECMO at last follow-up\"\nany_of = [\"bridged\"]",
        );
        let e = StudyDef::parse(&text, "f").unwrap_err().to_string();
        assert!(e.contains("[[derived]] 'run_end': give exactly one of any_of, first_of, cases"), "{e}");
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
