//! What the pages and the API show, computed once for both: the patient-list
//! rows and the patient view (timelines, events, scores).

use crate::pseudo::pseudonym;
use ecmo_domain::{Drug, Quantity, RunRecord, Timestamp};
use ecmo_scores::run_scores::{RunScores, run_scores};
use ecmo_scores::series;
use ecmo_scores::{Options, VisVariant};
use ecmo_store::{RunSummary, Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The published ECMO-to-VAD decision tree (ecmo-bedside), parsed once.
fn vad_rules() -> &'static ecmo_bedside::VadRules {
    static RULES: OnceLock<ecmo_bedside::VadRules> = OnceLock::new();
    RULES.get_or_init(ecmo_bedside::VadRules::published)
}

/// The tree evaluated on the run as known at its latest record.
pub fn decision(record: &RunRecord) -> ecmo_bedside::VadDecision {
    ecmo_bedside::evaluate(&record.as_of(latest_record(record)), vad_rules())
}

/// The latest value of a measured quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latest {
    pub value: f64,
    pub unit: &'static str,
    /// Hours after ECMO flow start.
    pub hours: f64,
}

/// One row of the patient list (identified; [`ResearchRow`] is the pseudonymised form).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListRow {
    pub run_id: String,
    pub patient_id: String,
    #[serde(skip)]
    pub pseudonym: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub arrest: String,
    pub ecpr: bool,
    pub flow_start: String,
    pub hours_on_ecmo: Option<f64>,
    pub status: String,
    pub cohort: Option<String>,
    /// The instant "current" refers to: the run's latest record, in hours after flow start.
    pub current_at_hours: f64,
    /// VIS (Gaies 2010) from the infusion rates in force at `current_at_hours`.
    pub current_vis: Option<f64>,
    pub last_lactate: Option<Latest>,
    pub last_map: Option<Latest>,
    /// The ECMO-to-VAD decision tree's recommendation at the latest record (ecmo-bedside).
    pub decision_status: Option<String>,
}

/// A patient-list row as a researcher sees it: no ids, no dates, no birth data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResearchRow {
    /// Keyed hash of the run id (docs/security.md); stable for this registry.
    pub pseudonym: String,
    pub sex: String,
    /// Whole years.
    pub age_years: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub arrest: String,
    pub ecpr: bool,
    pub hours_on_ecmo: Option<f64>,
    pub status: String,
    pub cohort: Option<String>,
    pub current_at_hours: f64,
    pub current_vis: Option<f64>,
    pub last_lactate: Option<Latest>,
    pub last_map: Option<Latest>,
}

impl ListRow {
    pub fn research(&self) -> ResearchRow {
        ResearchRow {
            pseudonym: self.pseudonym.clone(),
            sex: self.sex.clone(),
            age_years: self.age_years.map(f64::floor),
            mode: self.mode.clone(),
            etiology: self.etiology.clone(),
            arrest: self.arrest.clone(),
            ecpr: self.ecpr,
            hours_on_ecmo: self.hours_on_ecmo,
            status: self.status.clone(),
            cohort: self.cohort.clone(),
            current_at_hours: self.current_at_hours,
            current_vis: self.current_vis,
            last_lactate: self.last_lactate.clone(),
            last_map: self.last_map.clone(),
        }
    }
}

/// "Current" for a registry run: the latest instant the registry knows of it (its last
/// record, or its decannulation if earlier), as `ecmo assess` uses by default.
pub fn latest_record(record: &RunRecord) -> Timestamp {
    ecmo_bedside::latest_instant(record)
}

fn last_of(record: &RunRecord, q: Quantity) -> Option<Latest> {
    let t0 = record.run.flow_start;
    record.observations.iter().filter(|o| o.quantity == q).max_by_key(|o| o.time).map(|o| Latest {
        value: o.value,
        unit: q.canonical_unit().symbol(),
        hours: round1(o.time.hours_since(t0)),
    })
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The list row of one run.
pub fn list_row(summary: &RunSummary, record: &RunRecord, key: &[u8; 32]) -> ListRow {
    let t0 = record.run.flow_start;
    let current = latest_record(record);
    let hours = current.hours_since(t0);
    let view = record.complete();
    ListRow {
        run_id: summary.run_id.clone(),
        patient_id: summary.patient_id.clone(),
        pseudonym: pseudonym(key, &summary.run_id),
        sex: summary.sex.clone(),
        age_years: summary.age_years,
        mode: summary.mode.clone(),
        etiology: summary.etiology.clone(),
        arrest: summary.arrest.clone(),
        ecpr: summary.ecpr,
        flow_start: summary.flow_start.to_string(),
        hours_on_ecmo: summary.hours_on_ecmo.map(round1),
        status: summary.status.clone(),
        cohort: summary.cohort.clone(),
        current_at_hours: round1(hours),
        current_vis: series::vis_at(&view, hours, VisVariant::Gaies2010).value.map(round1),
        last_lactate: last_of(record, Quantity::Lactate),
        last_map: last_of(record, Quantity::Map),
        decision_status: Some(decision(record).recommendation.headline().to_string()),
    }
}

/// Every run's list row (walks the whole registry once).
pub fn build_list(
    store: &dyn Store,
    key: &[u8; 32],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<ListRow>, StoreError> {
    let summaries = store.run_summaries()?;
    let total = summaries.len();
    let by_id: HashMap<&str, &RunSummary> = summaries.iter().map(|s| (s.run_id.as_str(), s)).collect();
    let mut rows = Vec::with_capacity(total);
    store.for_each_run(&mut |record| {
        if let Some(s) = by_id.get(record.run.id.as_str()) {
            rows.push(list_row(s, &record, key));
        }
        if rows.len().is_multiple_of(200) {
            progress(rows.len(), total);
        }
        Ok(())
    })?;
    // The list's natural order is the summaries' (by flow start).
    let order: HashMap<&str, usize> = summaries.iter().enumerate().map(|(i, s)| (s.run_id.as_str(), i)).collect();
    rows.sort_by_key(|r| order.get(r.run_id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// One series of a timeline chart, in hours after flow start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub key: String,
    pub label: String,
    pub unit: String,
    /// Step function (value holds until the next point), e.g. infusion rates.
    pub step: bool,
    pub points: Vec<[f64; 2]>,
}

/// A marked event on the timelines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub hours: f64,
    pub kind: String,
    pub label: String,
}

/// A support period (IABP, Impella, CRRT, ventilation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub kind: String,
    pub start_hours: f64,
    pub stop_hours: Option<f64>,
}

/// What the patient page shows.
#[derive(Debug, Clone, Serialize)]
pub struct PatientView {
    pub run_id: String,
    pub patient_id: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub weight_kg: f64,
    pub height_cm: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub flow_start: String,
    pub decannulation: Option<String>,
    pub latest_record_hours: f64,
    pub timelines: Vec<Timeline>,
    pub events: Vec<Mark>,
    pub supports: Vec<Period>,
    /// Every run-level score with components and sources (docs/json.md, `ecmo scores`).
    pub scores: RunScores,
    /// The bedside assessment at the latest record (ecmo-bedside, as `ecmo assess --json`):
    /// model predictions with 95 % CI, contributions and guards; the ECMO-to-VAD decision
    /// tree, each step with its evidence; weaning readiness; published scores.
    pub assessment: ecmo_bedside::Assessment,
}

fn obs_timeline(record: &RunRecord, q: Quantity, label: &str) -> Timeline {
    let t0 = record.run.flow_start;
    Timeline {
        key: q.code().into(),
        label: label.into(),
        unit: q.canonical_unit().symbol().into(),
        step: false,
        points: record
            .observations
            .iter()
            .filter(|o| o.quantity == q)
            .map(|o| [round2(o.time.hours_since(t0)), o.value])
            .collect(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Cumulative fluid balance (intake minus urine and other output) at the end of each
/// charted collection interval, from flow start.
fn fluid_balance_timeline(record: &RunRecord) -> Timeline {
    let t0 = record.run.flow_start;
    let mut points: Vec<[f64; 2]> = Vec::new();
    let mut sum = 0.0;
    let mut volumes: Vec<_> = record
        .observations
        .iter()
        .filter(|o| matches!(o.quantity, Quantity::FluidIn | Quantity::FluidOut | Quantity::UrineOutput))
        .filter(|o| o.time >= t0)
        .collect();
    volumes.sort_by_key(|o| o.time);
    for o in volumes {
        sum += if o.quantity == Quantity::FluidIn { o.value } else { -o.value };
        let h = round2(o.time.hours_since(t0));
        match points.last_mut() {
            Some([lh, lv]) if *lh == h => *lv = sum,
            _ => points.push([h, sum]),
        }
    }
    Timeline {
        key: "fluid_balance".into(),
        label: "Fluid balance (cumulative)".into(),
        unit: "mL".into(),
        step: false,
        points,
    }
}

fn vis_timeline(record: &RunRecord) -> Timeline {
    let t0 = record.run.flow_start;
    let view = record.complete();
    let mut hours: Vec<f64> = record.infusions.iter().map(|i| i.time.hours_since(t0)).collect();
    hours.sort_by(f64::total_cmp);
    hours.dedup();
    let points = hours
        .into_iter()
        .filter_map(|h| series::vis_at(&view, h, VisVariant::Gaies2010).value.map(|v| [round2(h), round1(v)]))
        .collect();
    Timeline { key: "vis".into(), label: "VIS (Gaies 2010)".into(), unit: "points".into(), step: true, points }
}

fn dose_timelines(record: &RunRecord) -> Vec<Timeline> {
    let t0 = record.run.flow_start;
    Drug::ALL
        .iter()
        .filter_map(|d| {
            let points: Vec<[f64; 2]> = record
                .infusions
                .iter()
                .filter(|i| i.drug == *d)
                .map(|i| [round2(i.time.hours_since(t0)), i.rate])
                .collect();
            (!points.is_empty()).then(|| Timeline {
                key: format!("dose_{}", d.code()),
                label: d.code().replace('_', " "),
                unit: d.canonical_unit().symbol().into(),
                step: true,
                points,
            })
        })
        .collect()
}

fn event_label(kind: &str, value: Option<f64>, detail: Option<&str>) -> String {
    let mut s = kind.replace('_', " ");
    if let Some(v) = value {
        s.push_str(&format!(" {v}"));
    }
    if let Some(d) = detail.filter(|d| !d.is_empty()) {
        s.push_str(&format!(" ({d})"));
    }
    s
}

pub fn patient_view(record: &RunRecord, assess: &ecmo_bedside::AssessConfig) -> PatientView {
    let run = &record.run;
    let t0 = run.flow_start;
    let mut events = vec![Mark { hours: 0.0, kind: "cannulation".into(), label: "ECMO flow start".into() }];
    let arrest = &run.arrest;
    if let Some(t) = arrest.collapse {
        events.push(Mark { hours: round2(t.hours_since(t0)), kind: "arrest".into(), label: "cardiac arrest".into() });
    }
    if let Some(t) = run.decannulation {
        events.push(Mark {
            hours: round2(t.hours_since(t0)),
            kind: "decannulation".into(),
            label: "decannulation".into(),
        });
    }
    for e in &record.events {
        events.push(Mark {
            hours: round2(e.time.hours_since(t0)),
            kind: e.kind.code().into(),
            label: event_label(e.kind.code(), e.value, e.detail.as_deref()),
        });
    }
    let supports: Vec<Period> = record
        .supports
        .iter()
        .map(|s| Period {
            kind: s.kind.code().into(),
            start_hours: round2(s.start.hours_since(t0)),
            stop_hours: s.stop.map(|t| round2(t.hours_since(t0))),
        })
        .collect();
    for s in supports.iter().filter(|s| s.kind == "crrt") {
        events.push(Mark { hours: s.start_hours, kind: "crrt".into(), label: "CRRT started".into() });
    }
    events.sort_by(|a, b| a.hours.total_cmp(&b.hours));
    let mut timelines = vec![
        obs_timeline(record, Quantity::Map, "Mean arterial pressure"),
        obs_timeline(record, Quantity::Lactate, "Lactate"),
        vis_timeline(record),
    ];
    timelines.extend(dose_timelines(record));
    timelines.push(fluid_balance_timeline(record));
    timelines.push(obs_timeline(record, Quantity::PumpFlow, "ECMO pump flow"));
    PatientView {
        run_id: run.id.clone(),
        patient_id: record.patient.id.clone(),
        sex: record.patient.sex.code().into(),
        age_years: record.patient.age_at(t0),
        weight_kg: record.patient.weight_kg,
        height_cm: record.patient.height_cm,
        mode: run.mode.code().into(),
        etiology: run.etiology.code().into(),
        flow_start: t0.to_string(),
        decannulation: run.decannulation.map(|t| t.to_string()),
        latest_record_hours: round1(latest_record(record).hours_since(t0)),
        timelines,
        events,
        supports,
        scores: run_scores(record, None, &Options::default()),
        assessment: ecmo_bedside::assess(record, latest_record(record), assess),
    }
}

/// A list row recomputed after a change to the run (its status may change too).
pub fn refreshed_row(old: &ListRow, record: &RunRecord, key: &[u8; 32]) -> ListRow {
    let first = |k: ecmo_domain::EventKind| record.events.iter().filter(|e| e.kind == k).map(|e| e.time).min();
    let status = ecmo_store::sqlite::run_status(
        record.run.flow_start,
        record.run.decannulation,
        first(ecmo_domain::EventKind::Death),
        first(ecmo_domain::EventKind::VadImplant),
        first(ecmo_domain::EventKind::HeartTransplant),
    );
    let summary = RunSummary {
        run_id: old.run_id.clone(),
        patient_id: old.patient_id.clone(),
        sex: old.sex.clone(),
        age_years: old.age_years,
        mode: old.mode.clone(),
        etiology: old.etiology.clone(),
        arrest: old.arrest.clone(),
        ecpr: old.ecpr,
        flow_start: record.run.flow_start,
        decannulation: record.run.decannulation,
        hours_on_ecmo: old.hours_on_ecmo,
        status,
        records: 0,
        cohort: old.cohort.clone(),
    };
    list_row(&summary, record, key)
}
