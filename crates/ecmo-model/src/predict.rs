//! One prediction: probability, 95 % CI (delta method on the logit scale),
//! per-predictor contributions and guards.

use crate::guard::{Guard, GuardKind, Severity};
use crate::{MIN_EVENTS_PER_PREDICTOR, ModelFile, Z_975};
use serde::{Deserialize, Serialize};

/// A raw input value with where and when it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputValue {
    /// Predictor name (features-table column).
    pub name: String,
    /// Raw value in the predictor's unit; `None` when not recorded.
    pub value: Option<f64>,
    /// Hours after ECMO flow start at which the value was measured (the
    /// latest record behind it), for the staleness guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at_hours: Option<f64>,
    /// Wall-clock time of that record, as text (`2024-03-01 08:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Where the value came from (records, derivation), or why it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Facts about the patient that decide whether the model applies at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientFacts {
    /// ECMO mode code (`va`, `vv`, `vav`).
    pub mode: String,
    pub ecpr: bool,
    /// Etiology code.
    pub etiology: String,
}

/// One predictor's share of the linear predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub name: String,
    pub label: String,
    /// Raw value used.
    pub value: f64,
    pub unit: String,
    /// The transformation, e.g. `ln(x)`.
    pub transform: String,
    pub transformed: f64,
    pub coefficient: f64,
    /// `coefficient * transformed`, on the log-odds scale.
    pub log_odds: f64,
    /// `exp(coefficient)`: odds ratio per unit of the transformed value.
    pub odds_ratio: f64,
}

/// A probability with its 95 % CI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub probability: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Linear predictor (log-odds) and its standard error.
    pub linear_predictor: f64,
    pub linear_predictor_se: f64,
    pub intercept: f64,
    pub contributions: Vec<Contribution>,
}

/// What a model says for one patient: the prediction (unless a blocking guard
/// prevents it), the inputs used and every guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionOutcome {
    pub model_id: String,
    pub model_version: String,
    pub model_title: String,
    pub model_checksum: String,
    /// What the probability is a probability of.
    pub outcome: String,
    pub prediction: Option<Prediction>,
    pub inputs: Vec<InputValue>,
    pub guards: Vec<Guard>,
}

/// Logistic function without overflow for large |eta|.
pub fn expit(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

impl ModelFile {
    /// Guards that depend on the model alone (events per predictor, validation, data).
    pub fn model_guards(&self) -> Vec<Guard> {
        let mut g = Vec::new();
        let d = &self.development;
        if let Some(epv) = self.events_per_predictor()
            && epv < MIN_EVENTS_PER_PREDICTOR
        {
            g.push(Guard::caution(
                GuardKind::LowEventsPerPredictor,
                None,
                format!(
                    "developed on {} events / {} patients for {} predictors ({epv:.1} per predictor, fewer than {MIN_EVENTS_PER_PREDICTOR}): likely overfitted, predictions too extreme",
                    d.events,
                    d.n,
                    self.predictors.len()
                ),
            ));
        }
        if d.auc_optimism_corrected.is_none() {
            g.push(Guard::caution(
                GuardKind::NotValidated,
                None,
                "not internally validated: only the apparent (optimistic) AUC is known",
            ));
        }
        if d.synthetic {
            g.push(Guard::caution(
                GuardKind::SyntheticDevelopmentData,
                None,
                "fitted on SYNTHETIC demonstration data, not on patients: for testing the software only",
            ));
        }
        g
    }

    /// Guards for a patient outside the model's population.
    pub fn population_guards(&self, who: &PatientFacts) -> Vec<Guard> {
        let p = &self.population;
        let mut g = Vec::new();
        if !p.modes.is_empty() && !p.modes.iter().any(|m| m.eq_ignore_ascii_case(&who.mode)) {
            g.push(Guard::blocking(
                GuardKind::PopulationMismatch,
                None,
                format!(
                    "this is a {} run; the model was made for {} ECMO only ({})",
                    who.mode.to_uppercase(),
                    p.modes.iter().map(|m| m.to_uppercase()).collect::<Vec<_>>().join("/"),
                    p.description
                ),
            ));
        }
        if let Some(e) = p.ecpr
            && e != who.ecpr
        {
            let what = if e { "E-CPR runs only" } else { "runs without E-CPR" };
            g.push(Guard::caution(
                GuardKind::PopulationMismatch,
                None,
                format!("the model was made for {what}; this run {} E-CPR", if who.ecpr { "is" } else { "is not" }),
            ));
        }
        if !p.etiologies.is_empty() && !p.etiologies.iter().any(|x| x.eq_ignore_ascii_case(&who.etiology)) {
            g.push(Guard::caution(
                GuardKind::PopulationMismatch,
                None,
                format!(
                    "etiology {} was not among those the model was made for ({})",
                    who.etiology,
                    p.etiologies.join(", ")
                ),
            ));
        }
        g
    }

    /// Predict for one patient at `at_hours` after ECMO flow start.
    ///
    /// Inputs are matched to predictors by name; extra inputs are ignored.
    /// A missing, invalid or not-yet-defined input, or a patient outside the
    /// model's ECMO mode, blocks the probability (it is never imputed);
    /// everything else is shown with cautions.
    pub fn predict(&self, inputs: &[InputValue], at_hours: f64, who: &PatientFacts) -> PredictionOutcome {
        let mut guards = self.population_guards(who);
        guards.extend(self.model_guards());
        let mut used = Vec::with_capacity(self.predictors.len());
        let mut x = Vec::with_capacity(self.predictors.len() + 1);
        x.push(1.0);
        let mut contributions = Vec::new();
        for p in &self.predictors {
            let input = inputs.iter().find(|i| i.name == p.name).cloned().unwrap_or_else(|| InputValue {
                name: p.name.clone(),
                value: None,
                measured_at_hours: None,
                time: None,
                source: Some("not supplied".into()),
            });
            let name = Some(p.name.as_str());
            if let Some(w) = &p.window {
                if let Some(from) = w.available_from_hours
                    && at_hours < from
                {
                    guards.push(Guard::blocking(
                        GuardKind::NotYetAvailable,
                        name,
                        format!(
                            "{} ({}) is defined from {from} h after ECMO start; now {at_hours:.1} h",
                            p.label, w.description
                        ),
                    ));
                }
                if let (Some(max), Some(t)) = (w.max_age_hours, input.measured_at_hours)
                    && at_hours - t > max
                {
                    guards.push(Guard::caution(
                        GuardKind::StaleInput,
                        name,
                        format!(
                            "{} was measured {:.1} h ago (model window: at most {max} h old)",
                            p.label,
                            at_hours - t
                        ),
                    ));
                }
            }
            match input.value {
                None => guards.push(Guard::blocking(
                    GuardKind::MissingInput,
                    name,
                    format!(
                        "{} is not recorded{}: no prediction (values are never imputed)",
                        p.label,
                        input.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
                    ),
                )),
                Some(v) => {
                    if v < p.range.min || v > p.range.max {
                        guards.push(Guard::caution(
                            GuardKind::OutsideDevelopmentRange,
                            name,
                            format!(
                                "{} {v} {} is outside the development cohort's range {}-{} {}: extrapolation",
                                p.label, p.unit, p.range.min, p.range.max, p.unit
                            ),
                        ));
                    }
                    match p.transform.apply(v) {
                        Ok(t) if t.is_finite() => {
                            x.push(t);
                            contributions.push(Contribution {
                                name: p.name.clone(),
                                label: p.label.clone(),
                                value: v,
                                unit: p.unit.clone(),
                                transform: p.transform.describe(),
                                transformed: t,
                                coefficient: p.coefficient,
                                log_odds: p.coefficient * t,
                                odds_ratio: p.coefficient.exp(),
                            });
                        }
                        Ok(t) => guards.push(Guard::blocking(
                            GuardKind::InvalidInput,
                            name,
                            format!("{} {v} gives {t} after {}", p.label, p.transform.describe()),
                        )),
                        Err(reason) => guards.push(Guard::blocking(
                            GuardKind::InvalidInput,
                            name,
                            format!("{}: {reason}", p.label),
                        )),
                    }
                }
            }
            used.push(input);
        }
        let blocked = guards.iter().any(|g| g.severity == Severity::Blocking);
        let prediction = (!blocked && x.len() == self.predictors.len() + 1).then(|| {
            let eta = self.intercept + contributions.iter().map(|c| c.log_odds).sum::<f64>();
            let var: f64 =
                (0..x.len()).map(|i| (0..x.len()).map(|j| x[i] * self.covariance[i][j] * x[j]).sum::<f64>()).sum();
            let se = var.max(0.0).sqrt();
            Prediction {
                probability: expit(eta),
                ci_low: expit(eta - Z_975 * se),
                ci_high: expit(eta + Z_975 * se),
                linear_predictor: eta,
                linear_predictor_se: se,
                intercept: self.intercept,
                contributions,
            }
        });
        PredictionOutcome {
            model_id: self.id.clone(),
            model_version: self.version.clone(),
            model_title: self.title.clone(),
            model_checksum: self.checksum(),
            outcome: self.outcome.description.clone(),
            prediction,
            inputs: used,
            guards,
        }
    }
}
