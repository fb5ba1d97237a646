//! The TRIPOD+AI checklist (Collins et al., BMJ 2024) of a prediction model, filled in
//! from what the run actually did. Items the software cannot know (funding, ethics,
//! registration, interpretation) are marked for the authors.

use crate::cohort::Flow;
use crate::def::{StudyDef, column_label};
use crate::result::{ChecklistItem, ModelResult, Provenance};

const AUTHOR: &str = "author to complete";
const HERE: &str = "reported here";
const NA: &str = "not applicable";

fn item(item: &str, topic: &str, status: &str, text: impl Into<String>) -> ChecklistItem {
    ChecklistItem { item: item.into(), topic: topic.into(), status: status.into(), text: text.into() }
}

/// What the study's other sections add to the checklist.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Performance by subgroup was reported.
    pub subgroups: bool,
    /// One sentence on NRI/IDI, when computed.
    pub added_value: Option<String>,
    /// One sentence on the decision curve, when computed.
    pub decision_curve: Option<String>,
}

/// Fill the checklist for model `m` of study `def`.
pub fn checklist(def: &StudyDef, flow: &Flow, m: &ModelResult, p: &Provenance, extra: &Extra) -> Vec<ChecklistItem> {
    let subgroups = extra.subgroups;
    let criteria: Vec<String> =
        def.population.criteria.iter().map(|c| format!("{} (else excluded: {})", c.column, c.reason)).collect();
    let predictors: Vec<String> = m
        .candidates
        .iter()
        .map(|c| {
            let unit = crate::def::column_kind(def, c).map(|k| k.1).unwrap_or_default();
            format!("{c} [{unit}]: {}", column_label(def, c))
        })
        .collect();
    let val = m.validation.as_ref();
    let corrected =
        |name: &str| val.and_then(|v| v.indexes.iter().find(|i| i.name == name)).map(|i| format!("{:.3}", i.corrected));
    let validation_text = match val {
        Some(v) => format!(
            "Bootstrap optimism correction (Harrell), {} of {} resamples succeeded, seed {}, the selection repeated in \
             every resample. Optimism-corrected AUC {}, calibration slope {}, Brier {}.",
            v.successful,
            v.replicates,
            v.seed,
            corrected("auc").unwrap_or_default(),
            corrected("slope").unwrap_or_default(),
            corrected("brier").unwrap_or_default()
        ),
        None => "Bootstrap validation did not run (see notes).".into(),
    };
    vec![
        item(
            "1",
            "Title",
            AUTHOR,
            "Identify the study as developing a prediction model, the population and the outcome.",
        ),
        item("2", "Abstract", AUTHOR, "See TRIPOD+AI for Abstracts."),
        item("3a-c", "Background", AUTHOR, format!("Clinical context: {}", def.study.source)),
        item("4", "Objectives", HERE, format!("Develop and internally validate '{}' for {}.", m.name, m.outcome)),
        item(
            "5a-b",
            "Data",
            HERE,
            format!(
                "Registry {} ({} runs read, fingerprint {}); dates of the data: latest record {} ({}).",
                p.data_source, p.runs_read, p.data_fingerprint, p.date, p.date_rule
            ),
        ),
        item(
            "6a-c",
            "Participants",
            HERE,
            format!(
                "Eligibility, in order: {}; then a known outcome. {} of {} runs included. Treatments as recorded in the registry.",
                if criteria.is_empty() { "none".into() } else { criteria.join("; ") },
                flow.included,
                flow.total
            ),
        ),
        item(
            "7",
            "Data preparation",
            HERE,
            "Feature table derived from the raw records by ecmo-scores (docs/features.md): time windows from ECMO flow \
             start, canonical units, worst values; no transformation of predictors.",
        ),
        item(
            "8a-c",
            "Outcome",
            HERE,
            format!("{} (column {}); derived from the registry, assessors not blinded.", m.outcome, def.outcome.column),
        ),
        item("9a-c", "Predictors", HERE, format!("Candidates: {}.", predictors.join("; "))),
        item(
            "10",
            "Sample size",
            HERE,
            format!(
                "No formal calculation; {} runs with {} events, {:.1} events (of the smaller outcome group) per candidate parameter.",
                m.n, m.events, m.events_per_parameter
            ),
        ),
        item(
            "11",
            "Missing data",
            HERE,
            match &m.imputation {
                Some(i) => format!(
                    "{} Imputation model: {}; {} imputations, {} iterations, seed {}. The bootstrap validation repeats \
                     the imputation in every resample.",
                    m.missing_data, i.method, i.m, i.maxit, i.seed
                ),
                None => m.missing_data.clone(),
            },
        ),
        item(
            "12a-g",
            "Analytical methods",
            HERE,
            format!(
                "Logistic regression (maximum likelihood, IRLS as R glm{}); continuous predictors linear; selection: {}. \
                 Performance: AUC with DeLong CI, calibration slope and intercept, Brier score, Hosmer-Lemeshow. {}{}",
                if m.imputation.is_some() { ", on every imputation, pooled with Rubin's rules" } else { "" },
                m.selection,
                validation_text,
                m.stability.as_ref().map_or(String::new(), |s| format!(
                    " Selection stability: the selection rerun on {} bootstrap resamples (seed {}); inclusion frequency \
                     of every candidate in the model section.",
                    s.successful, s.seed
                ))
            ),
        ),
        item("13", "Class imbalance", HERE, "No resampling or reweighting for class imbalance."),
        item(
            "14",
            "Fairness",
            if subgroups { HERE } else { AUTHOR },
            if subgroups {
                "Performance of the main predictor is reported by subgroup (subgroup section)."
            } else {
                "No subgroup performance analysis in this study definition."
            },
        ),
        item(
            "15",
            "Model output",
            HERE,
            match &extra.decision_curve {
                Some(d) => format!(
                    "Predicted probability of the outcome; no classification threshold is part of the model. {d}"
                ),
                None => "Predicted probability of the outcome; no classification threshold is part of the model.".into(),
            },
        ),
        item("16", "Training versus evaluation", HERE, "Internal validation only (bootstrap); no external data."),
        item("17", "Ethical approval", AUTHOR, ""),
        item(
            "18a-f",
            "Open science",
            HERE,
            format!(
                "Software {} {}; the study definition is embedded in the report; model coefficients and covariance in the JSON tables. \
             Funding, conflicts, protocol, registration and data sharing: author to complete.",
                p.software, p.version
            ),
        ),
        item("19", "Patient and public involvement", AUTHOR, ""),
        item(
            "20a-c",
            "Participants (results)",
            HERE,
            format!(
                "Flow diagram and Table 1: {} included, {} {} and {} {}.",
                flow.included, flow.events, flow.event_label, flow.non_events, flow.non_event_label
            ),
        ),
        item(
            "21",
            "Model development",
            HERE,
            format!("{} runs and {} events in the model; selection path in the model section.", m.n, m.events),
        ),
        item(
            "22",
            "Model specification",
            HERE,
            format!("Full model: intercept and coefficients of {} (table and JSON).", m.final_terms.join(", ")),
        ),
        item(
            "23a-b",
            "Model performance",
            HERE,
            format!(
                "Apparent AUC {:.3} (95 % CI {:.3}-{:.3}), calibration slope {:.3}, calibration-in-the-large {:.3}, Brier {:.3}; optimism-corrected AUC {}.",
                m.auc,
                m.auc_ci_low,
                m.auc_ci_high,
                m.calibration.slope,
                m.calibration.citl,
                m.calibration.brier,
                corrected("auc").unwrap_or_else(|| "n/a".into())
            ) + &extra.added_value.as_ref().map_or(String::new(), |a| format!(" {a}")),
        ),
        item("24", "Model updating", NA, "No updating was done."),
        item("25", "Interpretation", AUTHOR, ""),
        item(
            "26",
            "Limitations",
            AUTHOR,
            if m.imputation.is_some() {
                "Single registry, multiple imputation assuming values missing at random, internal validation only."
            } else {
                "Single registry, complete-case analysis, internal validation only."
            },
        ),
        item(
            "27a-c",
            "Usability",
            AUTHOR,
            "How the model would be used at the bedside, and what inputs it needs (predictor ranges in the model section).",
        ),
    ]
}
