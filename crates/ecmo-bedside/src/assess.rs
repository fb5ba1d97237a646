//! The whole bedside assessment of one run at one instant, as one serialisable
//! value: published scores, model predictions (probability, 95 % CI,
//! contributions, the inputs with their times, guards), the VAD decision tree
//! and the weaning-readiness panel. What is stored with an acknowledgement is
//! exactly this value.

use crate::published::{PublishedScore, published_scores};
use crate::readiness::{Readiness, ReadinessThresholds, readiness};
use crate::vad::{VadDecision, VadRules, evaluate};
use ecmo_domain::{RunRecord, Timestamp};
use ecmo_model::{Development, InputValue, ModelFile, PatientFacts, PredictionOutcome};
use ecmo_scores::Options;
use ecmo_scores::features::{COLUMNS, FeatureConfig, feature_row};
use ecmo_scores::run_scores::run_scores;
use serde::Serialize;

/// The `format` of a serialised assessment.
pub const ASSESSMENT_FORMAT: &str = "ecmo-cds-assessment";
pub const ASSESSMENT_FORMAT_VERSION: u32 = 1;

/// What to assess with.
#[derive(Debug, Clone)]
pub struct AssessConfig {
    pub rules: VadRules,
    pub thresholds: ReadinessThresholds,
    pub models: Vec<ModelFile>,
    pub options: Options,
}

impl Default for AssessConfig {
    /// The published tree, the shipped thresholds, no models, the spec's score options.
    fn default() -> Self {
        AssessConfig {
            rules: VadRules::published(),
            thresholds: ReadinessThresholds::default_thresholds(),
            models: Vec::new(),
            options: Options::default(),
        }
    }
}

/// The run as the header shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFacts {
    pub run_id: String,
    pub patient_id: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub arrest: String,
    pub ecpr: bool,
    pub flow_start: Timestamp,
    /// Decannulation, if it had happened by the instant.
    pub decannulation: Option<Timestamp>,
    pub cohort: Option<String>,
    /// The run comes from the synthetic demonstration registry.
    pub synthetic: bool,
}

/// One model's answer with what is needed to judge it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAssessment {
    #[serde(flatten)]
    pub outcome: PredictionOutcome,
    pub population: String,
    pub development: Development,
    pub caveats: Vec<String>,
}

/// The whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub format: &'static str,
    pub format_version: u32,
    /// ecmo-cds version that produced it.
    pub software_version: &'static str,
    pub run: RunFacts,
    /// The instant; nothing recorded after it was used.
    pub as_of: Timestamp,
    pub hours_on_ecmo: f64,
    pub vad: VadDecision,
    pub models: Vec<ModelAssessment>,
    pub readiness: Readiness,
    pub published_scores: Vec<PublishedScore>,
    /// Cautions that hold for the whole assessment.
    pub caveats: Vec<String>,
}

impl Assessment {
    /// The versions of everything that produced this assessment, for the decision log.
    pub fn versions(&self) -> String {
        let mut v = vec![
            format!("ecmo-cds {}", self.software_version),
            format!("rules {}@{}", self.vad.rules_id, self.vad.rules_version),
            format!("thresholds {}@{}", self.readiness.thresholds_id, self.readiness.thresholds_version),
        ];
        v.extend(
            self.models.iter().map(|m| {
                format!("model {}@{} {}", m.outcome.model_id, m.outcome.model_version, m.outcome.model_checksum)
            }),
        );
        v.join("; ")
    }
}

/// The latest instant the registry knows of a run: its last record, or its
/// decannulation if earlier (the default "now" of `ecmo assess`).
pub fn latest_instant(record: &RunRecord) -> Timestamp {
    let r = record;
    let last = [
        r.observations.last().map(|o| o.time),
        r.infusions.last().map(|i| i.time),
        r.events.iter().map(|e| e.time).filter(|t| *t >= r.run.flow_start).max(),
        r.supports.last().map(|s| s.start),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(r.run.flow_start)
    .max(r.run.flow_start);
    match r.run.decannulation {
        Some(d) => last.min(d),
        None => last,
    }
}

/// Assess `record` as known at `at`.
pub fn assess(record: &RunRecord, at: Timestamp, cfg: &AssessConfig) -> Assessment {
    let view = record.as_of(at);
    let t0 = record.run.flow_start;
    let hours = at.hours_since(t0);
    let scores = run_scores(record, Some(hours), &cfg.options);
    let run = &record.run;
    let p = &record.patient;
    let facts = RunFacts {
        run_id: run.id.clone(),
        patient_id: p.id.clone(),
        sex: p.sex.code().into(),
        age_years: p.age_at(t0),
        mode: run.mode.code().into(),
        etiology: run.etiology.code().into(),
        arrest: run.arrest.location.code().into(),
        ecpr: run.arrest.ecpr,
        flow_start: t0,
        decannulation: view.decannulation(),
        cohort: run.cohort.clone(),
        synthetic: run.cohort.as_deref().is_some_and(|c| c.starts_with("synthetic")),
    };
    let models = predict_models(record, hours, &scores, cfg);
    let mut caveats = vec![
        "Decision support, not a decision: the treating team decides with the whole clinical picture.".to_string(),
    ];
    if facts.synthetic {
        caveats.push("SYNTHETIC demonstration data: not a real patient.".into());
    }
    if hours < 0.0 {
        caveats.push(format!("The instant is {:.1} h before ECMO flow start.", -hours));
    }
    Assessment {
        format: ASSESSMENT_FORMAT,
        format_version: ASSESSMENT_FORMAT_VERSION,
        software_version: env!("CARGO_PKG_VERSION"),
        run: facts,
        as_of: at,
        hours_on_ecmo: hours,
        vad: evaluate(&view, &cfg.rules),
        models,
        readiness: readiness(&view, &cfg.thresholds, cfg.options.vis_variant),
        published_scores: published_scores(&view, &scores),
        caveats,
    }
}

fn predict_models(
    record: &RunRecord,
    hours: f64,
    scores: &ecmo_scores::run_scores::RunScores,
    cfg: &AssessConfig,
) -> Vec<ModelAssessment> {
    if cfg.models.is_empty() {
        return Vec::new();
    }
    // The model's predictors are feature-table columns computed exactly as at
    // fitting time, on the record as of the instant.
    let fc = FeatureConfig { as_of_hours: Some(hours), ..FeatureConfig::default() };
    let row = feature_row(record, &fc);
    let provenance = serde_json::to_value(scores).unwrap_or_default();
    let run = &record.run;
    let who =
        PatientFacts { mode: run.mode.code().into(), ecpr: run.arrest.ecpr, etiology: run.etiology.code().into() };
    cfg.models
        .iter()
        .map(|m| {
            let inputs: Vec<InputValue> = m.predictors.iter().map(|p| input_for(&p.name, &row, &provenance)).collect();
            ModelAssessment {
                outcome: m.predict(&inputs, hours, &who),
                population: m.population.description.clone(),
                development: m.development.clone(),
                caveats: m.caveats.clone(),
            }
        })
        .collect()
}

/// One predictor's value from the feature row, with the records behind it
/// when a run-level derivation of the same name lists them.
fn input_for(name: &str, row: &ecmo_scores::features::FeatureRow, scores: &serde_json::Value) -> InputValue {
    let Some(col) = COLUMNS.iter().find(|c| c.name == name) else {
        return InputValue {
            name: name.into(),
            value: None,
            measured_at_hours: None,
            time: None,
            source: Some(format!("'{name}' is not a column of the features table (docs/features.md)")),
        };
    };
    if col.window == "outcome" {
        return InputValue {
            name: name.into(),
            value: None,
            measured_at_hours: None,
            time: None,
            source: Some(format!("'{name}' is an outcome column and cannot be a predictor")),
        };
    }
    let mut refs = Vec::new();
    find_provenance(scores, name, &mut refs);
    let latest = refs
        .iter()
        .filter_map(|r| Some((r.get("hours")?.as_f64()?, r.get("time")?.as_str()?.to_string())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let records: Vec<String> = refs
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} {} {} at {}",
                r.get("code")?.as_str()?,
                r.get("value")?.as_f64()?,
                r.get("unit")?.as_str()?,
                r.get("time")?.as_str()?
            ))
        })
        .collect();
    let mut source = format!("{} ({}; {})", col.name, col.window, col.definition);
    if !records.is_empty() {
        source.push_str(&format!("; records: {}", records.join(", ")));
    }
    InputValue {
        name: name.into(),
        value: row.by_name(name),
        measured_at_hours: latest.as_ref().map(|l| l.0),
        time: latest.map(|l| l.1),
        source: Some(source),
    }
}

/// The provenance list of the derivation named `name` anywhere in the run scores.
fn find_provenance(v: &serde_json::Value, name: &str, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(o) => {
            if o.get("name").and_then(|n| n.as_str()) == Some(name)
                && let Some(serde_json::Value::Array(p)) = o.get("provenance")
            {
                out.extend(p.iter().cloned());
                return;
            }
            o.values().for_each(|x| find_provenance(x, name, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_provenance(x, name, out)),
        _ => {}
    }
}

#[cfg(test)]
#[path = "assess_tests.rs"]
mod tests;
