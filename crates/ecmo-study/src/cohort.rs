//! Study runs (feature row + trajectories), population filtering with a flow of
//! exclusions, and the cohort table the analyses read.

use crate::def::{Criterion, Kind, Op, StudyDef, column_kind};
use ecmo_bedside::VadRules;
use ecmo_domain::{Quantity, RunRecord, Timestamp};
use ecmo_scores::features::{COLUMNS, FeatureBuilder, FeatureConfig, FeatureRow};
use ecmo_scores::series::{value_at, vis_at};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Hours after flow start at which VIS and lactate trajectories are sampled.
pub const TRAJECTORY_HOURS: [f64; 8] = [0.0, 6.0, 12.0, 18.0, 24.0, 36.0, 48.0, 72.0];
const N_TRAJ: usize = TRAJECTORY_HOURS.len();

/// Lactate samples within this many minutes of a trajectory point count for it
/// (the feature table's "at t" rule).
const LACTATE_TOLERANCE_MIN: i64 = 120;

/// One run as the studies see it: its feature row, cohort label and trajectories.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRun {
    pub row: FeatureRow,
    pub cohort: Option<String>,
    /// Time of the run's latest record (the default report date is the latest of these).
    pub last_record: Timestamp,
    /// VIS (Gaies 2010) in force at each of [`TRAJECTORY_HOURS`], while on ECMO.
    pub vis: [Option<f64>; N_TRAJ],
    /// Lactate (mmol/L) closest to each of [`TRAJECTORY_HOURS`] within ± 2 h, while on ECMO.
    pub lactate: [Option<f64>; N_TRAJ],
    /// The ECMO-to-VAD decision tree (ecmo-bedside, published rules) at the decision time.
    pub vad_tree: TreeOutcome,
}

/// How the ECMO-to-VAD decision tree classified a run at its decision time
/// (decannulation, else the latest record: the feature table's decision time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeOutcome {
    /// Recommendation code (snake_case, as ecmo-bedside serialises it).
    pub recommendation: String,
    pub headline: String,
    /// 1-4, or none when no step decided.
    pub deciding_step: Option<usize>,
    pub hours_on_ecmo: f64,
}

impl StudyRun {
    /// Derive a run's study view (complete record, as `ecmo features` without --as-of).
    /// `rules`: the ECMO-to-VAD tree (`ecmo_bedside::VadRules::published()`).
    pub fn from_record(
        rec: &RunRecord,
        builder: &mut FeatureBuilder,
        cfg: &FeatureConfig,
        rules: &VadRules,
    ) -> StudyRun {
        let row = builder.row(rec, cfg);
        let view = rec.complete();
        let t0 = rec.run.flow_start;
        let on_ecmo_until = rec.run.decannulation.map(|d| d.hours_since(t0));
        let mut vis = [None; N_TRAJ];
        let mut lactate = [None; N_TRAJ];
        for (i, &h) in TRAJECTORY_HOURS.iter().enumerate() {
            // Points after decannulation would mix survivors off ECMO into the curve.
            if on_ecmo_until.is_some_and(|d| h > d) {
                continue;
            }
            vis[i] = vis_at(&view, h, cfg.vis_variant).value;
            lactate[i] = value_at(&view, Quantity::Lactate, h, LACTATE_TOLERANCE_MIN).map(|o| o.value);
        }
        let mut last = rec.run.decannulation.unwrap_or(t0).max(t0);
        for t in [
            rec.observations.last().map(|o| o.time),
            rec.infusions.last().map(|i| i.time),
            rec.events.iter().map(|e| e.time).max(),
        ]
        .into_iter()
        .flatten()
        {
            last = last.max(t);
        }
        let decision = rec.run.decannulation.unwrap_or(last);
        let d = ecmo_bedside::evaluate(&rec.as_of(decision), rules);
        let vad_tree = TreeOutcome {
            recommendation: serde_json::to_value(d.recommendation)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            headline: d.recommendation.headline().to_string(),
            deciding_step: d.deciding_step,
            hours_on_ecmo: d.hours_on_ecmo,
        };
        StudyRun { row, cohort: rec.run.cohort.clone(), last_record: last, vis, lactate, vad_tree }
    }

    /// A numeric column or derived variable (`None` = empty cell).
    pub fn number(&self, def: &StudyDef, name: &str) -> Option<f64> {
        if let Some(d) = def.derived.iter().find(|d| d.name == name) {
            if !d.first_of.is_empty() {
                return d.first_of.iter().find_map(|f| self.row.by_name(&f.column).map(|v| v * f.times));
            }
            if !d.cases.is_empty() {
                return None;
            }
            let vals: Vec<Option<f64>> = d.any_of.iter().map(|c| self.row.by_name(c)).collect();
            return if vals.contains(&Some(1.0)) {
                Some(1.0)
            } else if vals.iter().all(|v| *v == Some(0.0)) {
                Some(0.0)
            } else {
                None
            };
        }
        self.row.by_name(name)
    }

    /// A text column (etiology, cohort or a categorical derived variable).
    pub fn text<'a>(&'a self, def: &'a StudyDef, name: &str) -> Option<&'a str> {
        match name {
            "etiology" => Some(self.row.etiology),
            "cohort" => self.cohort.as_deref(),
            _ => {
                let d = def.derived.iter().find(|d| d.name == name)?;
                // Cases are tried in order. An empty `when` cell before any case holds makes
                // the label unknown (as `any_of` does): falling through to a later case would
                // call a run whose bridging is unknown "weaned".
                for c in &d.cases {
                    match (&c.when, &c.present) {
                        (Some(col), _) => match self.row.by_name(col) {
                            Some(1.0) => return Some(c.label.as_str()),
                            Some(_) => {}
                            None => return None,
                        },
                        (None, Some(col)) if self.row.by_name(col).is_some() => return Some(c.label.as_str()),
                        _ => {}
                    }
                }
                d.otherwise.as_deref()
            }
        }
    }
}

/// SHA-256 of the study's input table: every run's feature row, cohort label and
/// trajectory points as CSV, in run-id order. Same data => same fingerprint, whatever the
/// order the store returned the runs in.
pub fn fingerprint(runs: &[StudyRun]) -> String {
    let mut order: Vec<&StudyRun> = runs.iter().collect();
    order.sort_by(|a, b| a.row.run_id.cmp(&b.row.run_id));
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(1024);
    h.update(FeatureRow::csv_header().as_bytes());
    h.update(b",cohort,vis_trajectory,lactate_trajectory,vad_tree\n");
    for r in order {
        buf.clear();
        r.row.write_csv(&mut buf);
        buf.pop();
        buf.extend_from_slice(format!(",{},", r.cohort.as_deref().unwrap_or("")).as_bytes());
        for (i, series) in [&r.vis, &r.lactate].into_iter().enumerate() {
            if i == 1 {
                buf.push(b',');
            }
            for (j, v) in series.iter().enumerate() {
                if j > 0 {
                    buf.push(b';');
                }
                if let Some(v) = v {
                    buf.extend_from_slice(format!("{v}").as_bytes());
                }
            }
        }
        buf.extend_from_slice(format!(",{}", r.vad_tree.recommendation).as_bytes());
        buf.push(b'\n');
        h.update(&buf);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One step of the flow diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowStep {
    /// The criterion as written (e.g. `mode_va eq 1`).
    pub criterion: String,
    pub reason: String,
    pub excluded: usize,
    pub remaining: usize,
}

/// How many runs were read, excluded at each step and why, and included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub total: usize,
    pub steps: Vec<FlowStep>,
    pub included: usize,
    pub events: usize,
    pub non_events: usize,
    pub event_label: String,
    pub non_event_label: String,
}

/// The included runs and their outcome.
pub struct Cohort<'a> {
    pub def: &'a StudyDef,
    pub runs: Vec<&'a StudyRun>,
    /// 1 = event, 0 = non-event.
    pub y: Vec<f64>,
    pub flow: Flow,
}

fn passes(def: &StudyDef, c: &Criterion, r: &StudyRun) -> bool {
    let kind = column_kind(def, &c.column).map(|k| k.0);
    if matches!(kind, Some(Kind::Categorical | Kind::Text)) {
        let v = r.text(def, &c.column);
        return match c.op {
            Op::Present => v.is_some_and(|s| !s.is_empty()),
            Op::In => v.is_some_and(|s| c.values.iter().any(|x| x == s)),
            Op::NotIn => v.is_some_and(|s| !c.values.iter().any(|x| x == s)),
            Op::Contains => v.is_some_and(|s| c.values.iter().any(|x| s.to_lowercase().contains(&x.to_lowercase()))),
            _ => false,
        };
    }
    let Some(v) = r.number(def, &c.column) else { return false };
    let target = c.value.unwrap_or(f64::NAN);
    match c.op {
        Op::Present => true,
        Op::Eq => v == target,
        Op::Ne => v != target,
        Op::Lt => v < target,
        Op::Le => v <= target,
        Op::Gt => v > target,
        Op::Ge => v >= target,
        Op::In | Op::NotIn | Op::Contains => false,
    }
}

fn describe(c: &Criterion) -> String {
    let op = format!("{:?}", c.op).to_lowercase();
    match (c.value, c.values.is_empty()) {
        (Some(v), _) => format!("{} {op} {v}", c.column),
        (None, false) => format!("{} {op} [{}]", c.column, c.values.join(", ")),
        (None, true) => format!("{} {op}", c.column),
    }
}

/// Apply the population criteria in order, then require a known outcome.
pub fn build_cohort<'a>(def: &'a StudyDef, runs: &'a [StudyRun]) -> Cohort<'a> {
    let mut order: Vec<&StudyRun> = runs.iter().collect();
    order.sort_by(|a, b| a.row.run_id.cmp(&b.row.run_id));
    let total = order.len();
    let mut steps = Vec::new();
    for c in &def.population.criteria {
        let before = order.len();
        order.retain(|r| passes(def, c, r));
        steps.push(FlowStep {
            criterion: describe(c),
            reason: c.reason.clone(),
            excluded: before - order.len(),
            remaining: order.len(),
        });
    }
    let before = order.len();
    order.retain(|r| r.number(def, &def.outcome.column).is_some());
    steps.push(FlowStep {
        criterion: format!("{} present", def.outcome.column),
        reason: format!("outcome not known ({} empty: censored or not recorded)", def.outcome.column),
        excluded: before - order.len(),
        remaining: order.len(),
    });
    let y: Vec<f64> = order
        .iter()
        .map(|r| if r.number(def, &def.outcome.column) == Some(def.outcome.event_value) { 1.0 } else { 0.0 })
        .collect();
    let events = y.iter().filter(|v| **v == 1.0).count();
    let flow = Flow {
        total,
        steps,
        included: order.len(),
        events,
        non_events: order.len() - events,
        event_label: def.outcome.event_label.clone(),
        non_event_label: def.outcome.non_event_label.clone(),
    };
    Cohort { def, runs: order, y, flow }
}

impl Cohort<'_> {
    /// A numeric column over the cohort (`NaN` = missing).
    pub fn numeric(&self, name: &str) -> Vec<f64> {
        self.runs.iter().map(|r| r.number(self.def, name).unwrap_or(f64::NAN)).collect()
    }

    /// A text column over the cohort.
    pub fn text(&self, name: &str) -> Vec<Option<String>> {
        self.runs.iter().map(|r| r.text(self.def, name).map(str::to_string)).collect()
    }

    /// Unit of a column from the data dictionary.
    pub fn unit(&self, name: &str) -> String {
        column_kind(self.def, name).map(|k| k.1).unwrap_or_default()
    }
}

/// Column name -> unit, for every dictionary column (used by reports).
pub fn units() -> BTreeMap<&'static str, &'static str> {
    COLUMNS.iter().map(|c| (c.name, c.unit)).collect()
}
