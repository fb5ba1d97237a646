//! Plain-text rendering of an assessment: plain language first, numbers next,
//! sources last. No probability is printed without its CI, its model and its
//! guards.

use crate::Status;
use crate::assess::{Assessment, ModelAssessment};
use crate::readiness::{Group, round_for_display};
use ecmo_model::Severity;
use std::fmt::Write;

fn pct(p: f64) -> String {
    format!("{:.0} %", p * 100.0)
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Met => "[met]    ",
        Status::NotMet => "[not met]",
        Status::Unknown => "[unknown]",
        Status::Info => "[info]   ",
    }
}

/// The one-line answer of a model, with its CI and the strongest guard.
fn model_line(m: &ModelAssessment) -> String {
    let o = &m.outcome;
    match &o.prediction {
        Some(p) => format!(
            "{}: {} (95 % CI {}-{}) probability of {} [model {}@{}{}]",
            o.model_title,
            pct(p.probability),
            pct(p.ci_low),
            pct(p.ci_high),
            o.outcome,
            o.model_id,
            o.model_version,
            if o.guards.is_empty() { String::new() } else { format!("; {} caution(s) below", o.guards.len()) }
        ),
        None => {
            let why: Vec<&str> =
                o.guards.iter().filter(|g| g.severity == Severity::Blocking).map(|g| g.message.as_str()).collect();
            format!(
                "{}: no prediction [model {}@{}] because {}",
                o.model_title,
                o.model_id,
                o.model_version,
                why.join("; ")
            )
        }
    }
}

/// Render an assessment as text.
pub fn render_text(a: &Assessment) -> String {
    let mut s = String::new();
    let r = &a.run;
    let age = r.age_years.map(|y| format!("{y:.0} y ")).unwrap_or_default();
    let _ = writeln!(
        s,
        "ECMO assessment: run {} (patient {}, {age}{}), {}-ECMO, {}{}",
        r.run_id,
        r.patient_id,
        r.sex,
        r.mode.to_uppercase(),
        r.etiology,
        if r.ecpr { ", E-CPR" } else { "" }
    );
    let _ = writeln!(
        s,
        "As of {}: day {:.1} of ECMO ({:.1} h after flow start at {}). Nothing recorded later was used.",
        a.as_of,
        a.hours_on_ecmo / 24.0,
        a.hours_on_ecmo,
        r.flow_start
    );
    if r.synthetic {
        let _ = writeln!(s, "SYNTHETIC DEMONSTRATION DATA - not a real patient.");
    }

    let _ = writeln!(s, "\nIN PLAIN LANGUAGE");
    let _ = writeln!(s, "- VAD decision tree: {}", a.vad.summary);
    let weaning: Vec<&ModelAssessment> = a.models.iter().collect();
    if weaning.is_empty() {
        let _ = writeln!(
            s,
            "- Predictions: no model loaded (a centre fits its own with `ecmo model fit`; pass it with --model FILE)."
        );
    } else {
        for m in &weaning {
            let _ = writeln!(s, "- {}", model_line(m));
        }
    }
    for (g, name) in [(Group::StudyPredictor, "study predictors"), (Group::WeaningTrial, "weaning-trial checklist")] {
        let (met, not, unknown) = a.readiness.counts(g);
        let names = |st: Status| {
            let v: Vec<&str> =
                a.readiness.items.iter().filter(|i| i.group == g && i.status == st).map(|i| i.id.as_str()).collect();
            if v.is_empty() { String::new() } else { format!(" ({})", v.join(", ")) }
        };
        let _ = writeln!(
            s,
            "- Weaning readiness, {name}: {met} met, {not} not met{}, {unknown} unknown{}.",
            names(Status::NotMet),
            names(Status::Unknown)
        );
    }
    for p in a.published_scores.iter().filter(|p| p.applicable) {
        if let Some(res) = &p.result {
            match (res.total, &res.class, &res.risk) {
                (Some(t), Some(c), Some(risk)) => {
                    let _ = writeln!(
                        s,
                        "- {} {} (class {c}): {risk} in the cohort it was derived in; not a prediction for this patient alone.{}",
                        p.name,
                        round_for_display(t),
                        if p.name == "SAVE" {
                            " ELSO: for benchmarking, not for selecting individual patients."
                        } else {
                            ""
                        }
                    );
                }
                (Some(_), _, _) => {}
                (None, _, _) => {
                    let _ = writeln!(s, "- {}: not computable, missing {}.", p.name, res.missing.join(", "));
                }
            }
        }
    }
    for c in &a.caveats {
        let _ = writeln!(s, "- {c}");
    }

    let _ = writeln!(s, "\nNUMBERS");
    let _ = writeln!(s, "VAD decision tree ({}@{}):", a.vad.rules_id, a.vad.rules_version);
    for st in &a.vad.steps {
        let _ = writeln!(s, "  {} {}. {}: {}", mark(st.status), st.number, st.title, st.finding);
        for rec in &st.records {
            let value = if rec.unit.is_empty() { String::new() } else { format!(" {} {}", rec.value, rec.unit) };
            let _ = writeln!(s, "              {} {}{value} at {} ({:.1} h)", rec.kind, rec.code, rec.time, rec.hours);
        }
    }
    for m in &a.models {
        let o = &m.outcome;
        let _ = writeln!(s, "Model {}@{} ({}):", o.model_id, o.model_version, o.model_title);
        match &o.prediction {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "  probability {} (95 % CI {}-{}), log-odds {:.3} (SE {:.3}) = intercept {:.3} + contributions:",
                    pct(p.probability),
                    pct(p.ci_low),
                    pct(p.ci_high),
                    p.linear_predictor,
                    p.linear_predictor_se,
                    p.intercept
                );
                for c in &p.contributions {
                    let _ = writeln!(
                        s,
                        "    {:<34} {} {} -> {} = {:.4}; times coefficient {:.4} (OR {:.3}) = {:+.3}",
                        c.label,
                        round_for_display(c.value),
                        c.unit,
                        c.transform,
                        c.transformed,
                        c.coefficient,
                        c.odds_ratio,
                        c.log_odds
                    );
                }
            }
            None => {
                let _ = writeln!(s, "  no prediction");
            }
        }
        for i in &o.inputs {
            let _ = writeln!(
                s,
                "  input {} = {}{}: {}",
                i.name,
                i.value.map_or("missing".into(), round_for_display),
                i.time.as_ref().map(|t| format!(" (latest record {t})")).unwrap_or_default(),
                i.source.as_deref().unwrap_or("")
            );
        }
        for g in &o.guards {
            let sev = if g.severity == Severity::Blocking { "BLOCKS" } else { "caution" };
            let _ = writeln!(s, "  {sev}: {}", g.message);
        }
        let d = &m.development;
        let _ = writeln!(
            s,
            "  developed on {} runs, {} events ({}); AUC {:.3} apparent{}, calibration slope {:.2}, intercept {:.2}, Brier {:.3}; fitted {}; data {}",
            d.n,
            d.events,
            d.study,
            d.auc_apparent,
            d.auc_optimism_corrected.map(|v| format!(", {v:.3} optimism-corrected")).unwrap_or_default(),
            d.calibration_slope,
            d.calibration_intercept,
            d.brier,
            d.fitted_on,
            d.data_fingerprint
        );
    }
    let _ = writeln!(s, "Weaning readiness ({}@{}):", a.readiness.thresholds_id, a.readiness.thresholds_version);
    for (g, name) in
        [(Group::StudyPredictor, "What the studies found predictive"), (Group::WeaningTrial, "Weaning-trial checklist")]
    {
        let _ = writeln!(s, "  {name}:");
        for i in a.readiness.items.iter().filter(|i| i.group == g) {
            let _ = writeln!(s, "    {} {}: {} (criterion {})", mark(i.status), i.label, i.finding, i.criterion);
        }
    }
    let _ = writeln!(s, "Published scores:");
    for p in &a.published_scores {
        if !p.applicable {
            let _ = writeln!(s, "  {}: does not apply ({})", p.name, p.not_applicable_reason.as_deref().unwrap_or(""));
            continue;
        }
        let Some(res) = &p.result else { continue };
        let total = res.total.map_or("not computable".into(), round_for_display);
        let class = res.class.as_ref().map(|c| format!(", class {c}")).unwrap_or_default();
        let risk = res.risk.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
        let _ = writeln!(s, "  {}: {total}{class}{risk}", p.name);
        let parts: Vec<String> = res
            .components
            .iter()
            .map(|c| {
                let v = match (c.value, &c.unit) {
                    (Some(v), Some(u)) if u == "1" => format!(" [{}]", round_for_display(v)),
                    (Some(v), Some(u)) => format!(" [{} {u}]", round_for_display(v)),
                    _ => String::new(),
                };
                format!("{} {:+}{v}", c.name, c.points)
            })
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(s, "    {}", parts.join("; "));
        }
        if !res.missing.is_empty() {
            let _ = writeln!(s, "    missing: {}", res.missing.join(", "));
        }
        for g in &p.guards {
            let _ = writeln!(s, "    caution: {}", g.message);
        }
    }

    let _ = writeln!(s, "\nSOURCES");
    let _ = writeln!(s, "- Decision tree: {}. Population: {}", a.vad.source, a.vad.population);
    for st in &a.vad.steps {
        let _ = writeln!(s, "  step {}: {}", st.number, st.citation);
    }
    for m in &a.models {
        let _ = writeln!(
            s,
            "- Model {}@{} (checksum {}): population {}",
            m.outcome.model_id, m.outcome.model_version, m.outcome.model_checksum, m.population
        );
        for c in &m.caveats {
            let _ = writeln!(s, "  {c}");
        }
    }
    let _ = writeln!(s, "- Weaning readiness thresholds:");
    for i in &a.readiness.items {
        let policy = i.policy.as_ref().map(|p| format!(" [local cut-off: {p}]")).unwrap_or_default();
        let _ = writeln!(s, "  {}: {}{policy}", i.label, i.citation);
    }
    for p in &a.published_scores {
        let _ = writeln!(s, "- {}: {}", p.name, p.citation);
        if let Some(res) = &p.result {
            let _ = writeln!(s, "  derived in: {}", res.population);
        }
        for c in &p.caveats {
            let _ = writeln!(s, "  {c}");
        }
    }
    let _ = writeln!(s, "- Produced by {}", a.versions());
    s
}
