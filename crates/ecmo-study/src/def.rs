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

/// `name` = 1 if any of `any_of` is 1, 0 if all are 0, else empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    pub name: String,
    pub label: String,
    pub any_of: Vec<String>,
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
    if def.derived.iter().any(|d| d.name == name) {
        return Some((Kind::Binary, "0/1".into()));
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
            if d.any_of.is_empty() {
                return Err(format!("[[derived]] '{}': any_of is empty", d.name));
            }
            for c in &d.any_of {
                if self.derived.iter().any(|x| x.name == *c) {
                    return Err(format!("[[derived]] '{}': uses another derived variable '{c}'", d.name));
                }
                check(&format!("[[derived]] '{}'", d.name), c, &[Kind::Binary])?;
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
        Ok(())
    }
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
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
