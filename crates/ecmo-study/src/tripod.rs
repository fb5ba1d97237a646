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

/// Fill the checklist for model `m` of study `def`.
pub fn checklist(def: &StudyDef, flow: &Flow, m: &ModelResult, p: &Provenance, subgroups: bool) -> Vec<ChecklistItem> {
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
            format!(
                "Complete-case analysis: {} runs used, {} dropped for a missing candidate predictor.",
                m.rows_complete, m.rows_dropped
            ),
        ),
        item(
            "12a-g",
            "Analytical methods",
            HERE,
            format!(
                "Logistic regression (maximum likelihood, IRLS as R glm); continuous predictors linear; selection: {}. \
                 Performance: AUC with DeLong CI, calibration slope and intercept, Brier score, Hosmer-Lemeshow. {}",
                m.selection, validation_text
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
            "Predicted probability of the outcome; no classification threshold is part of the model.",
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
            ),
        ),
        item("24", "Model updating", NA, "No updating was done."),
        item("25", "Interpretation", AUTHOR, ""),
        item("26", "Limitations", AUTHOR, "Single registry, complete-case analysis, internal validation only."),
        item(
            "27a-c",
            "Usability",
            AUTHOR,
            "How the model would be used at the bedside, and what inputs it needs (predictor ranges in the model section).",
        ),
    ]
}
