//! The ECMO-to-VAD decision tree (Seed 003) as a rule engine over an as-of
//! [`RunView`]: nothing recorded after the view's instant is ever read.
//!
//! The rules are data (`data/vad_tree.toml`, the published version, built in);
//! a centre can pass its own file. Each step is met, not met, or unknown
//! (data missing), with the records behind it. The first step that is met
//! decides; an unknown step before it makes the tree ask for the missing data
//! instead of deciding on an incomplete picture.

use crate::records::{event_ref, obs_ref, support_ref};
use crate::{RuleError, Status};
use ecmo_domain::{AorticValveOpening, EventKind, Quantity, RunRecord, RunView, SupportKind, Timestamp};
use ecmo_scores::cmp::gt;
use ecmo_scores::series::RawRef;
use serde::{Deserialize, Serialize};

/// The published rules (Seed 003), as shipped.
pub const PUBLISHED_RULES: &str = include_str!("../data/vad_tree.toml");
/// The `format` value of a rules file.
pub const RULES_FORMAT: &str = "ecmo-cds-rules";

/// What the tree recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// Stroke or sepsis: VAD not advised now.
    VadNotAdvisedNow,
    /// End-organ dysfunction: treat and re-assess before VAD.
    TreatEndOrganFirst,
    /// Aortic valve not opening: urgent VAD.
    UrgentVad,
    /// No cardiac recovery by day 5-7: VAD.
    Vad,
    /// No step met: continue ECMO and re-assess.
    ContinueEcmo,
    /// A step could not be evaluated: data needed before deciding.
    NeedData,
}

impl Recommendation {
    pub fn headline(self) -> &'static str {
        match self {
            Recommendation::VadNotAdvisedNow => "VAD not advised now",
            Recommendation::TreatEndOrganFirst => "Treat end-organ dysfunction first, then re-assess",
            Recommendation::UrgentVad => "Urgent conversion to VAD",
            Recommendation::Vad => "Conversion to VAD",
            Recommendation::ContinueEcmo => "Continue ECMO and re-assess",
            Recommendation::NeedData => "Data needed before the tree can decide",
        }
    }
}

/// The kinds of step the engine knows how to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    StrokeOrSepsis,
    EndOrganDysfunction,
    AorticValveClosed,
    NoCardiacRecovery,
}

/// One step of a rules file. Parameters not used by the step's kind are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRule {
    pub kind: StepKind,
    pub title: String,
    /// What to do when the step is met.
    pub action: String,
    pub recommendation: Recommendation,
    pub citation: String,
    /// stroke_or_sepsis: event codes that count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// stroke_or_sepsis: only events in the last N hours count (absent: the whole run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_hours: Option<f64>,
    /// end_organ_dysfunction: renal replacement in the last N hours (absent: the whole run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrt_lookback_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilirubin_above_mg_dl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilirubin_lookback_hours: Option<f64>,
    /// aortic_valve_closed: the latest echo must be at most this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_findings: Vec<String>,
    /// no_cardiac_recovery: the step can be met from this day of ECMO on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_day: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_day: Option<f64>,
}

/// A rules file: the tree's steps in order with their parameters and sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadRules {
    pub format: String,
    pub format_version: u32,
    pub id: String,
    pub version: String,
    pub title: String,
    pub source: String,
    pub continue_action: String,
    pub population: String,
    #[serde(rename = "step")]
    pub steps: Vec<StepRule>,
}

impl VadRules {
    /// The published tree (built in).
    pub fn published() -> VadRules {
        // The built-in file is checked by a unit test; failing here is a build defect.
        VadRules::from_toml(PUBLISHED_RULES, "built-in vad_tree.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parse and check a rules file; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<VadRules, RuleError> {
        let r: VadRules = toml::from_str(text).map_err(|e| RuleError::parse(origin, &e))?;
        r.check(origin)?;
        Ok(r)
    }

    fn check(&self, origin: &str) -> Result<(), RuleError> {
        let bad = |field: String, reason: String| Err(RuleError::Invalid { origin: origin.into(), field, reason });
        if self.format != RULES_FORMAT {
            return bad("format".into(), format!("'{}' is not '{RULES_FORMAT}'", self.format));
        }
        if self.format_version != 1 {
            return bad("format_version".into(), format!("{} is not supported (1)", self.format_version));
        }
        if self.id.trim().is_empty() || self.version.trim().is_empty() {
            return bad("id/version".into(), "must not be empty".into());
        }
        if self.steps.is_empty() {
            return bad("step".into(), "the tree needs at least one step".into());
        }
        for (i, s) in self.steps.iter().enumerate() {
            let f = |name: &str| format!("step[{}].{name}", i + 1);
            let positive = |v: Option<f64>| v.is_none_or(|x| x.is_finite() && x >= 0.0);
            if ![s.lookback_hours, s.rrt_lookback_hours, s.bilirubin_lookback_hours, s.max_age_hours, s.from_day]
                .into_iter()
                .all(positive)
            {
                return bad(f("hours/days"), "windows must be finite and not negative".into());
            }
            let unused = |present: bool, name: &str| -> Result<(), RuleError> {
                if present {
                    Err(RuleError::Invalid {
                        origin: origin.into(),
                        field: f(name),
                        reason: format!("not a parameter of a {:?} step", s.kind),
                    })
                } else {
                    Ok(())
                }
            };
            match s.kind {
                StepKind::StrokeOrSepsis => {
                    if s.events.is_empty() {
                        return bad(f("events"), "list the event codes that count (stroke, sepsis)".into());
                    }
                    for e in &s.events {
                        if let Err(reason) = e.parse::<EventKind>() {
                            return bad(f("events"), reason);
                        }
                    }
                    unused(s.bilirubin_above_mg_dl.is_some(), "bilirubin_above_mg_dl")?;
                    unused(s.from_day.is_some(), "from_day")?;
                    unused(s.max_age_hours.is_some(), "max_age_hours")?;
                }
                StepKind::EndOrganDysfunction => match s.bilirubin_above_mg_dl {
                    Some(b) if b.is_finite() && b > 0.0 => {
                        unused(!s.events.is_empty(), "events")?;
                        unused(s.from_day.is_some(), "from_day")?;
                    }
                    _ => return bad(f("bilirubin_above_mg_dl"), "needed, a positive number in mg/dL".into()),
                },
                StepKind::AorticValveClosed => {
                    if s.max_age_hours.is_none() {
                        return bad(f("max_age_hours"), "needed: how old the latest echo may be".into());
                    }
                    if s.closed_findings.is_empty() {
                        return bad(f("closed_findings"), "list the findings that count as not opening".into());
                    }
                    for c in &s.closed_findings {
                        if let Err(reason) = c.parse::<AorticValveOpening>() {
                            return bad(f("closed_findings"), reason);
                        }
                    }
                    unused(s.bilirubin_above_mg_dl.is_some(), "bilirubin_above_mg_dl")?;
                    unused(s.from_day.is_some(), "from_day")?;
                }
                StepKind::NoCardiacRecovery => {
                    if s.from_day.is_none() {
                        return bad(f("from_day"), "needed: the day of ECMO from which no recovery counts".into());
                    }
                    unused(s.bilirubin_above_mg_dl.is_some(), "bilirubin_above_mg_dl")?;
                    unused(!s.events.is_empty(), "events")?;
                }
            }
        }
        Ok(())
    }
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// 1-based position in the tree.
    pub number: usize,
    pub kind: StepKind,
    pub title: String,
    pub status: Status,
    /// What was found, in plain language.
    pub finding: String,
    /// The step's action (shown when met).
    pub action: String,
    pub recommendation: Recommendation,
    /// The records behind the finding (times, values, units).
    pub records: Vec<RawRef>,
    pub citation: String,
}

/// The tree's answer for a run at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VadDecision {
    pub rules_id: String,
    pub rules_version: String,
    pub rules_title: String,
    pub source: String,
    pub population: String,
    pub as_of: Timestamp,
    pub hours_on_ecmo: f64,
    pub recommendation: Recommendation,
    /// The step that decided (met, or unknown before any met step).
    pub deciding_step: Option<usize>,
    /// Plain language: what to do and why.
    pub summary: String,
    pub steps: Vec<StepResult>,
}

/// Evaluate the tree on the run as known at `view.at()`.
pub fn evaluate(view: &RunView, rules: &VadRules) -> VadDecision {
    let at = view.at();
    let t0 = view.flow_start();
    let steps: Vec<StepResult> = rules
        .steps
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let (status, finding, records) = match rule.kind {
                StepKind::StrokeOrSepsis => stroke_or_sepsis(view, rule),
                StepKind::EndOrganDysfunction => end_organ(view, rule),
                StepKind::AorticValveClosed => aortic_valve(view, rule),
                StepKind::NoCardiacRecovery => no_recovery(view, rule),
            };
            StepResult {
                number: i + 1,
                kind: rule.kind,
                title: rule.title.clone(),
                status,
                finding,
                action: rule.action.clone(),
                recommendation: rule.recommendation,
                records,
                citation: rule.citation.clone(),
            }
        })
        .collect();
    let decider = steps.iter().find(|s| s.status != Status::NotMet);
    let (recommendation, deciding_step, mut summary) = match decider {
        Some(s) if s.status == Status::Met => {
            (s.recommendation, Some(s.number), format!("{} (step {}: {}).", s.action, s.number, s.finding))
        }
        Some(s) => {
            let later = steps.iter().find(|x| x.number > s.number && x.status == Status::Met);
            let mut text = format!(
                "Step {} ({}) cannot be evaluated: {}. Obtain it before deciding.",
                s.number, s.title, s.finding
            );
            if let Some(l) = later {
                text.push_str(&format!(" If step {} stands, step {} would advise: {}", s.number, l.number, l.action));
            }
            (Recommendation::NeedData, Some(s.number), text)
        }
        None => (Recommendation::ContinueEcmo, None, rules.continue_action.clone()),
    };
    if let Some(d) = view.decannulation() {
        summary = format!(
            "Decannulated at {d} ({:.1} h after flow start): the tree applies to patients on ECMO. {summary}",
            d.hours_since(t0)
        );
    }
    VadDecision {
        rules_id: rules.id.clone(),
        rules_version: rules.version.clone(),
        rules_title: rules.title.clone(),
        source: rules.source.clone(),
        population: rules.population.clone(),
        as_of: at,
        hours_on_ecmo: at.hours_since(t0),
        recommendation,
        deciding_step,
        summary,
        steps,
    }
}

/// Evaluate the tree `at_hours` after flow start, with the published rules.
pub fn evaluate_at(record: &RunRecord, at_hours: f64) -> VadDecision {
    evaluate(&record.as_of(record.run.flow_start.plus_hours(at_hours)), &VadRules::published())
}

type Eval = (Status, String, Vec<RawRef>);

fn since(view: &RunView, hours: Option<f64>) -> Timestamp {
    hours.map_or(Timestamp(i64::MIN), |h| view.at().plus_hours(-h))
}

fn window_text(hours: Option<f64>) -> String {
    hours.map_or_else(|| "since ECMO start".into(), |h| format!("in the last {h} h"))
}

fn stroke_or_sepsis(view: &RunView, rule: &StepRule) -> Eval {
    let t0 = view.flow_start();
    let kinds: Vec<EventKind> = rule.events.iter().filter_map(|e| e.parse().ok()).collect();
    let from = since(view, rule.lookback_hours);
    let hits: Vec<_> = view.events().iter().filter(|e| kinds.contains(&e.kind) && e.time >= from).collect();
    let names = rule.events.join(" or ");
    if hits.is_empty() {
        return (Status::NotMet, format!("no {names} recorded {}", window_text(rule.lookback_hours)), Vec::new());
    }
    let what: Vec<String> =
        hits.iter().map(|e| format!("{} at {} ({:.1} h)", e.kind, e.time, e.time.hours_since(t0))).collect();
    (Status::Met, format!("recorded: {}", what.join(", ")), hits.iter().map(|e| event_ref(e, t0)).collect())
}

fn end_organ(view: &RunView, rule: &StepRule) -> Eval {
    let t0 = view.flow_start();
    let at = view.at();
    let threshold = rule.bilirubin_above_mg_dl.unwrap_or(4.0);
    let rrt_from = since(view, rule.rrt_lookback_hours);
    let rrt: Vec<_> = view
        .supports()
        .filter(|s| {
            matches!(s.kind, SupportKind::Crrt | SupportKind::IntermittentDialysis)
                && s.stop.is_none_or(|stop| stop >= rrt_from)
        })
        .collect();
    let bili_from = since(view, rule.bilirubin_lookback_hours);
    let bili = view
        .series(Quantity::Bilirubin)
        .filter(|o| o.time >= bili_from && o.time <= at)
        .max_by(|a, b| a.value.total_cmp(&b.value));
    let mut records: Vec<RawRef> = rrt.iter().map(|s| support_ref(s, t0)).collect();
    let mut found = Vec::new();
    if let Some(s) = rrt.last() {
        found.push(match s.stop {
            None => format!("renal replacement ({}) running since {}", s.kind, s.start),
            Some(stop) => format!("renal replacement ({}) {} to {}", s.kind, s.start, stop),
        });
    }
    let bili_high = bili.is_some_and(|o| gt(o.value, threshold));
    if let Some(o) = bili {
        records.push(obs_ref(o, t0));
        let cmp = if bili_high { ">" } else { "<=" };
        found.push(format!(
            "highest total bilirubin {} {} at {} ({:.2} mg/dL {cmp} {threshold} mg/dL)",
            o.entered_value, o.entered_unit, o.time, o.value
        ));
    }
    let bili_window = window_text(rule.bilirubin_lookback_hours);
    if !rrt.is_empty() || bili_high {
        return (Status::Met, found.join("; "), records);
    }
    let rrt_text = format!("no renal replacement {}", window_text(rule.rrt_lookback_hours));
    match bili {
        None => (Status::Unknown, format!("{rrt_text}, but no total bilirubin {bili_window}"), records),
        Some(_) => (Status::NotMet, format!("{rrt_text}; {}", found.join("; ")), records),
    }
}

fn aortic_valve(view: &RunView, rule: &StepRule) -> Eval {
    let t0 = view.flow_start();
    let max_age = rule.max_age_hours.unwrap_or(24.0);
    let Some(e) = view.events_of(EventKind::EchoAorticValve).last() else {
        return (Status::Unknown, "no echo assessment of aortic valve opening recorded".into(), Vec::new());
    };
    let age = view.at().hours_since(e.time);
    let rec = vec![event_ref(e, t0)];
    if age > max_age {
        return (
            Status::Unknown,
            format!("latest aortic valve assessment is {age:.1} h old (at {}; at most {max_age} h allowed)", e.time),
            rec,
        );
    }
    let detail = e.detail.as_deref().unwrap_or("");
    let Ok(opening) = detail.parse::<AorticValveOpening>() else {
        return (
            Status::Unknown,
            format!("aortic valve assessment at {} has no finding (opens, intermittent or closed)", e.time),
            rec,
        );
    };
    let closed = rule.closed_findings.iter().any(|c| c.parse::<AorticValveOpening>() == Ok(opening));
    let text = format!("aortic valve {opening} on echo at {} ({age:.1} h ago)", e.time);
    (if closed { Status::Met } else { Status::NotMet }, text, rec)
}

/// Echo records that show recovery was looked for (any echo in the last 48 h).
const RECOVERY_ECHO_WINDOW_H: f64 = 48.0;

fn no_recovery(view: &RunView, rule: &StepRule) -> Eval {
    let t0 = view.flow_start();
    let at = view.at();
    let day = at.hours_since(t0) / 24.0;
    let from_day = rule.from_day.unwrap_or(5.0);
    let by = rule.by_day.map(|d| format!("-{d}")).unwrap_or_default();
    if let Some(e) = view.events_of(EventKind::CardiacRecovery).last() {
        return (
            Status::NotMet,
            format!("cardiac recovery recorded at {} (day {:.1})", e.time, e.time.hours_since(t0) / 24.0),
            vec![event_ref(e, t0)],
        );
    }
    if day < from_day {
        return (
            Status::NotMet,
            format!("day {day:.1} of ECMO: too early (no recovery by day {from_day}{by} counts from day {from_day})"),
            Vec::new(),
        );
    }
    let from = at.plus_hours(-RECOVERY_ECHO_WINDOW_H);
    let echo_obs: Vec<RawRef> = view
        .observations()
        .iter()
        .filter(|o| {
            matches!(o.quantity, Quantity::Lvef | Quantity::LvotVti | Quantity::MitralSLateral) && o.time >= from
        })
        .map(|o| obs_ref(o, t0))
        .collect();
    let echo_ev: Vec<RawRef> = view
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::EchoLvef | EventKind::EchoAorticValve) && e.time >= from)
        .map(|e| event_ref(e, t0))
        .collect();
    let mut records = echo_obs;
    records.extend(echo_ev);
    if records.is_empty() {
        return (
            Status::Unknown,
            format!(
                "day {day:.1} of ECMO and no recovery recorded, but no echo assessment in the last {RECOVERY_ECHO_WINDOW_H} h"
            ),
            records,
        );
    }
    (
        Status::Met,
        format!(
            "day {day:.1} of ECMO, no cardiac recovery recorded (echo assessed in the last {RECOVERY_ECHO_WINDOW_H} h)"
        ),
        records,
    )
}

#[cfg(test)]
#[path = "vad_tests.rs"]
mod tests;
