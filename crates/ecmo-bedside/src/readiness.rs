//! The weaning-readiness panel: what the studies found predictive next to the
//! weaning-trial checklist, each item met, not met or unknown with its source.
//! Thresholds are data (`data/weaning_readiness.toml`) with their citations.

use crate::records::{event_ref, obs_ref};
use crate::{RuleError, Status};
use ecmo_domain::{EventKind, Observation, Quantity, RunView, Timestamp};
use ecmo_scores::cmp::{ge, gt, le, lt};
use ecmo_scores::series::{self, RawRef, Window};
use ecmo_scores::{Options, VisVariant};
use serde::{Deserialize, Serialize};

/// The thresholds shipped with ecmo-cds.
pub const DEFAULT_THRESHOLDS: &str = include_str!("../data/weaning_readiness.toml");
pub const THRESHOLDS_FORMAT: &str = "ecmo-cds-thresholds";

/// The quantities the panel knows how to measure on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    VisNow,
    #[serde(rename = "vis_reduction_24h")]
    VisReduction24h,
    LactateLatest,
    #[serde(rename = "lactate_clearance_24h")]
    LactateClearance24h,
    MapLatest,
    #[serde(rename = "fluid_balance_last_24h")]
    FluidBalanceLast24h,
    #[serde(rename = "sofa_last_24h")]
    SofaLast24h,
    #[serde(rename = "vasoactive_hours_last_24h")]
    VasoactiveHoursLast24h,
    PriorCardiacArrest,
    PumpFlowSustained,
    PulsePressureLatest,
    LvotVtiLatest,
    LvefLatest,
    MitralSLateralLatest,
    TapseLatest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Eq => "=",
        }
    }

    /// Compared with the snapping of spec §1.3 (a converted value a hair off the cut-off is on it).
    pub fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Comparison::Lt => lt(v, t),
            Comparison::Le => le(v, t),
            Comparison::Gt => gt(v, t),
            Comparison::Ge => ge(v, t),
            Comparison::Eq => le(v, t) && ge(v, t),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// What the seed studies found predictive of weaning.
    StudyPredictor,
    /// The bedside weaning-trial checklist.
    WeaningTrial,
}

/// One item of a thresholds file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRule {
    pub id: String,
    pub group: Group,
    pub label: String,
    pub measure: Measure,
    /// Absent: shown for information only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub unit: String,
    /// A "latest" value older than this is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_hours: Option<f64>,
    /// pump_flow_sustained: how long the flow must have stayed at or below the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustained_hours: Option<f64>,
    /// Why a cut-off is a local choice rather than a published one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub citation: String,
}

/// A thresholds file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessThresholds {
    pub format: String,
    pub format_version: u32,
    pub id: String,
    pub version: String,
    pub title: String,
    #[serde(rename = "item")]
    pub items: Vec<ItemRule>,
}

impl ReadinessThresholds {
    /// The shipped thresholds (built in).
    pub fn default_thresholds() -> ReadinessThresholds {
        // Checked by a unit test; failing here is a build defect.
        ReadinessThresholds::from_toml(DEFAULT_THRESHOLDS, "built-in weaning_readiness.toml")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<ReadinessThresholds, RuleError> {
        let t: ReadinessThresholds = toml::from_str(text).map_err(|e| RuleError::parse(origin, &e))?;
        let bad = |field: String, reason: &str| {
            Err(RuleError::Invalid { origin: origin.into(), field, reason: reason.into() })
        };
        if t.format != THRESHOLDS_FORMAT || t.format_version != 1 {
            return bad("format".into(), "must be \"ecmo-cds-thresholds\", format_version 1");
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, it) in t.items.iter().enumerate() {
            let f = |n: &str| format!("item[{}].{n}", i + 1);
            if !ids.insert(it.id.as_str()) {
                return bad(f("id"), "appears twice");
            }
            match (it.comparison, it.threshold) {
                (Some(_), Some(v)) if v.is_finite() => {}
                (None, None) => {}
                _ => return bad(f("threshold"), "give both comparison and a finite threshold, or neither"),
            }
            if it.max_age_hours.is_some_and(|h| !(h.is_finite() && h > 0.0)) {
                return bad(f("max_age_hours"), "must be a positive number of hours");
            }
            if it.measure == Measure::PumpFlowSustained
                && (it.sustained_hours.is_none_or(|h| !(h.is_finite() && h > 0.0)) || it.comparison.is_none())
            {
                return bad(f("sustained_hours"), "pump_flow_sustained needs a comparison and sustained_hours > 0");
            }
        }
        Ok(t)
    }
}

/// One item's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadinessItem {
    pub id: String,
    pub group: Group,
    pub label: String,
    pub status: Status,
    pub value: Option<f64>,
    pub unit: String,
    /// The criterion in words, e.g. "<= 10 points".
    pub criterion: String,
    /// What was found, or why it is unknown.
    pub finding: String,
    pub records: Vec<RawRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub citation: String,
}

/// The panel for a run at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub thresholds_id: String,
    pub thresholds_version: String,
    pub title: String,
    pub as_of: Timestamp,
    pub items: Vec<ReadinessItem>,
}

impl Readiness {
    /// (met, not met, unknown) in a group.
    pub fn counts(&self, group: Group) -> (usize, usize, usize) {
        let of = |s: Status| self.items.iter().filter(|i| i.group == group && i.status == s).count();
        (of(Status::Met), of(Status::NotMet), of(Status::Unknown))
    }
}

/// A measured value with its records, or why there is none.
struct Found {
    value: Option<f64>,
    records: Vec<RawRef>,
    note: String,
    /// The value is only a lower bound (SOFA with organs missing, scored 0).
    lower_bound: bool,
}

impl Found {
    fn none(note: impl Into<String>) -> Self {
        Found { value: None, records: Vec::new(), note: note.into(), lower_bound: false }
    }
}

/// Evaluate the panel on the run as known at `view.at()`.
pub fn readiness(view: &RunView, t: &ReadinessThresholds, variant: VisVariant) -> Readiness {
    let items = t
        .items
        .iter()
        .map(|rule| {
            let found = measure(view, rule, variant);
            let criterion = match (rule.comparison, rule.threshold) {
                (Some(c), Some(v)) => format!("{} {v} {}", c.symbol(), rule.unit),
                _ => "shown for information".into(),
            };
            let status = match (found.value, rule.comparison, rule.threshold) {
                (None, _, _) => Status::Unknown,
                (Some(_), None, _) | (Some(_), _, None) => Status::Info,
                (Some(v), Some(c), Some(th)) => match (c.holds(v, th), found.lower_bound, c) {
                    (true, false, _) => Status::Met,
                    // A lower bound at or below a ceiling could still exceed it.
                    (true, true, Comparison::Lt | Comparison::Le | Comparison::Eq) => Status::Unknown,
                    (true, true, _) => Status::Met,
                    (false, true, Comparison::Gt | Comparison::Ge | Comparison::Eq) => Status::Unknown,
                    (false, _, _) => Status::NotMet,
                },
            };
            let finding = match found.value {
                Some(v) if rule.measure == Measure::PriorCardiacArrest => {
                    format!(
                        "{}{}",
                        if v > 0.0 { "cardiac arrest before ECMO" } else { "no cardiac arrest before ECMO" },
                        found.note
                    )
                }
                Some(v) => format!("{} {}{}", round_for_display(v), rule.unit, found.note),
                None => found.note,
            };
            ReadinessItem {
                id: rule.id.clone(),
                group: rule.group,
                label: rule.label.clone(),
                status,
                value: found.value,
                unit: rule.unit.clone(),
                criterion,
                finding,
                records: found.records,
                policy: rule.policy.clone(),
                citation: rule.citation.clone(),
            }
        })
        .collect();
    Readiness {
        thresholds_id: t.id.clone(),
        thresholds_version: t.version.clone(),
        title: t.title.clone(),
        as_of: view.at(),
        items,
    }
}

/// Display rounding only (comparisons use the full value).
pub fn round_for_display(v: f64) -> String {
    if (v.fract() == 0.0 && v.abs() < 1e9) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn latest<'a>(view: &RunView<'a>, q: Quantity, max_age: Option<f64>) -> Result<&'a Observation, String> {
    let Some(o) = view.series(q).last() else {
        return Err(format!("no {} recorded", q.concept().label));
    };
    let age = view.at().hours_since(o.time);
    match max_age {
        Some(m) if age > m => {
            Err(format!("latest {} is {age:.1} h old (at {}; at most {m} h)", q.concept().label, o.time))
        }
        _ => Ok(o),
    }
}

fn latest_found(view: &RunView, q: Quantity, max_age: Option<f64>) -> Found {
    let t0 = view.flow_start();
    match latest(view, q, max_age) {
        Ok(o) => Found {
            value: Some(o.value),
            records: vec![obs_ref(o, t0)],
            note: format!(" at {} ({:.1} h ago)", o.time, view.at().hours_since(o.time)),
            lower_bound: false,
        },
        Err(e) => Found::none(e),
    }
}

fn from_derived(d: series::Derived<f64>) -> Found {
    let note = d.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
    match d.value {
        Some(v) => Found { value: Some(v), records: d.provenance, note, lower_bound: false },
        None => Found {
            value: None,
            records: d.provenance,
            note: d.undefined.unwrap_or_else(|| "not derivable".into()),
            lower_bound: false,
        },
    }
}

fn measure(view: &RunView, rule: &ItemRule, variant: VisVariant) -> Found {
    let t0 = view.flow_start();
    let h = view.at().hours_since(t0);
    let last24 = Window::new(h - 24.0, h);
    match rule.measure {
        Measure::VisNow => {
            let mut f = from_derived(series::vis_at(view, h, variant));
            if f.value.is_some() {
                f.note = format!(" (infusions running at {})", view.at());
            }
            f
        }
        Measure::VisReduction24h => from_derived(series::vis_reduction_24h(view, variant)),
        Measure::LactateLatest => latest_found(view, Quantity::Lactate, rule.max_age_hours),
        Measure::LactateClearance24h => from_derived(series::lactate_clearance(view, 24.0)),
        Measure::MapLatest => latest_found(view, Quantity::Map, rule.max_age_hours),
        Measure::FluidBalanceLast24h => from_derived(series::fluid_balance(view, last24)),
        Measure::SofaLast24h => {
            let opts = Options { assume_normal: true, ..Options::default() };
            let s = series::sofa_window(view, last24, &opts);
            let records = s
                .components
                .iter()
                .filter_map(|c| {
                    c.time.map(|time| {
                        let mut r = obs_ref(
                            &Observation {
                                time,
                                start: None,
                                quantity: Quantity::Map,
                                value: 0.0,
                                entered_value: c.value.unwrap_or(0.0),
                                entered_unit: ecmo_domain::Unit::Dimensionless,
                                source: c.source.clone(),
                            },
                            t0,
                        );
                        r.kind = "score_component";
                        r.code = format!("sofa {} ({} points)", c.name, c.points);
                        r.unit = c.unit.clone().unwrap_or_default();
                        r
                    })
                })
                .collect();
            let missing = if s.assumed.is_empty() {
                String::new()
            } else {
                format!(" ({} without data, scored 0: {})", s.assumed.len(), s.assumed.join(", "))
            };
            Found { value: s.total, records, note: missing, lower_bound: !s.assumed.is_empty() }
        }
        Measure::VasoactiveHoursLast24h => {
            let e = series::exposure(view, last24);
            Found { value: Some(e.union_hours), records: e.provenance, note: String::new(), lower_bound: false }
        }
        Measure::PriorCardiacArrest => {
            let a = &view.run().arrest;
            let v = if a.had_arrest() { 1.0 } else { 0.0 };
            let note = if a.had_arrest() {
                format!(" ({}{})", a.location, if a.ecpr { ", E-CPR" } else { "" })
            } else {
                String::new()
            };
            Found { value: Some(v), records: Vec::new(), note, lower_bound: false }
        }
        Measure::PumpFlowSustained => pump_flow_sustained(view, rule),
        Measure::PulsePressureLatest => pulse_pressure(view, rule.max_age_hours),
        Measure::LvotVtiLatest => latest_found(view, Quantity::LvotVti, rule.max_age_hours),
        Measure::MitralSLateralLatest => latest_found(view, Quantity::MitralSLateral, rule.max_age_hours),
        Measure::TapseLatest => latest_found(view, Quantity::Tapse, rule.max_age_hours),
        Measure::LvefLatest => {
            // LVEF is charted as an observation or as an echo_lvef event; the later one counts.
            let obs = latest_found(view, Quantity::Lvef, rule.max_age_hours);
            let ev = view.events_of(EventKind::EchoLvef).filter(|e| e.value.is_some()).last();
            match ev {
                Some(e)
                    if obs.records.first().is_none_or(|r| e.time > r.time)
                        && rule.max_age_hours.is_none_or(|m| view.at().hours_since(e.time) <= m) =>
                {
                    Found {
                        value: e.value,
                        records: vec![event_ref(e, t0)],
                        note: format!(" at {} ({:.1} h ago)", e.time, view.at().hours_since(e.time)),
                        lower_bound: false,
                    }
                }
                _ => obs,
            }
        }
    }
}

/// The flow must have been at or below the threshold for the whole of the
/// last `sustained_hours`: the rate in force at the window's start and every
/// record inside it.
fn pump_flow_sustained(view: &RunView, rule: &ItemRule) -> Found {
    let t0 = view.flow_start();
    let hours = rule.sustained_hours.unwrap_or(1.0);
    let (Some(c), Some(th)) = (rule.comparison, rule.threshold) else {
        return Found::none("no flow threshold");
    };
    let from = view.at().plus_hours(-hours);
    let flows: Vec<&Observation> = view.series(Quantity::PumpFlow).collect();
    let Some(first) = flows.iter().rposition(|o| o.time <= from) else {
        return Found::none(format!("no pump flow recorded before {from} to show {hours} h at low flow"));
    };
    let window = &flows[first..];
    let records = window.iter().map(|o| obs_ref(o, t0)).collect();
    let worst = window.iter().map(|o| o.value).fold(f64::NEG_INFINITY, f64::max);
    let all_low = window.iter().all(|o| c.holds(o.value, th));
    let latest = window.last().map_or(worst, |o| o.value);
    // The value shown is the highest flow of the window: the item is met when even that is low.
    let note = if all_low {
        format!(" highest over the last {hours} h (latest {} L/min)", round_for_display(latest))
    } else {
        format!(" highest over the last {hours} h: not sustained (latest {} L/min)", round_for_display(latest))
    };
    Found { value: Some(worst), records, note, lower_bound: false }
}

/// Latest SBP with a DBP charted within 5 minutes of it.
fn pulse_pressure(view: &RunView, max_age: Option<f64>) -> Found {
    let t0 = view.flow_start();
    let sbp = match latest(view, Quantity::SystolicBp, max_age) {
        Ok(o) => o,
        Err(e) => return Found::none(e),
    };
    let dbp = view
        .series(Quantity::DiastolicBp)
        .filter(|o| (o.time.0 - sbp.time.0).abs() <= 5)
        .min_by_key(|o| (o.time.0 - sbp.time.0).abs());
    match dbp {
        Some(d) => Found {
            value: Some(sbp.value - d.value),
            records: vec![obs_ref(sbp, t0), obs_ref(d, t0)],
            note: format!(" ({}/{} mmHg at {})", sbp.value, d.value, sbp.time),
            lower_bound: false,
        },
        None => Found::none(format!("no diastolic pressure charted with the systolic at {}", sbp.time)),
    }
}

#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
