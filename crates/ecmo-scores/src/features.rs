//! The feature table: one flat row per run holding every study variable and
//! outcome (docs/features.md is the data dictionary).
//!
//! Built for throughput: one pass over the run's observations and one over
//! its infusion changes (both sorted by time), fixed-size accumulators, no
//! allocation per record. Scratch buffers live in a [`FeatureBuilder`] that is
//! reused across runs. Every column uses only data inside its own window, so a
//! variable is final once its window has closed; `as_of_hours` additionally
//! hides everything recorded after that instant (predictors as they would be
//! known live). Outcome columns always use the complete record.
//!
//! The definitions are those of [`crate::series`] (a test checks both agree).

use crate::apache::{self, Apache2Input};
use crate::cmp::{band, gt};
use crate::encourage::{EncourageInput, encourage};
use crate::misc::{lactate_clearance, vis_reduction_rate};
use crate::result::{Measured, Options, VisVariant};
use crate::save::{SaveDiagnosis, SaveInput, save};
use crate::series;
use crate::sofa::{self, PfSample, RespSupport, SofaInput};
use crate::vasoactive::{DoseEntry, DoseSet, vis_from_rates};
use ecmo_domain::{Drug, Etiology, EventKind, Mode, Observation, Quantity, RunRecord, SupportKind, Timestamp, Unit};
use serde::Serialize;

macro_rules! columns {
    ($($variant:ident = $name:literal, $unit:literal, $window:literal, $def:literal;)+) => {
        /// Feature columns, in output order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[repr(usize)]
        pub enum Col { $($variant),+ }

        /// The data dictionary, in column order.
        pub static COLUMNS: &[ColumnInfo] = &[
            $(ColumnInfo { col: Col::$variant, name: $name, unit: $unit, window: $window, definition: $def }),+
        ];
    };
}

/// One column of the feature table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ColumnInfo {
    pub col: Col,
    pub name: &'static str,
    pub unit: &'static str,
    pub window: &'static str,
    pub definition: &'static str,
}

columns! {
    AgeYears = "age_years", "years", "flow start", "age in completed years at flow start";
    Female = "female", "0/1", "-", "sex recorded female";
    WeightKg = "weight_kg", "kg", "-", "body weight";
    Bmi = "bmi", "kg/m2", "-", "weight / height^2";
    ModeVa = "mode_va", "0/1", "-", "VA (or V-AV) configuration";
    CardiacArrest = "cardiac_arrest", "0/1", "before flow", "cardiac arrest before ECMO (IHCA or OHCA)";
    Ecpr = "ecpr", "0/1", "before flow", "ECMO started during CPR without sustained ROSC";
    Ohca = "ohca", "0/1", "before flow", "out-of-hospital arrest";
    ShockableFirstRhythm = "shockable_first_rhythm", "0/1", "arrest", "first documented rhythm VF/pVT (empty if unknown)";
    ShockableArrivalRhythm = "shockable_arrival_rhythm", "0/1", "arrest", "rhythm on hospital arrival VF/pVT (empty if unknown)";
    NoFlowMin = "no_flow_min", "min", "arrest", "collapse to CPR start (charted, else from timestamps); empty if unwitnessed";
    LowFlowMin = "low_flow_min", "min", "arrest", "CPR start to flow (or to sustained ROSC before flow)";
    VentilationHoursBefore = "ventilation_hours_before", "h", "before flow", "mechanical ventilation before ECMO";
    SaveScore = "save_score", "points", "[-6 h, 0]", "SAVE on the pre-ECMO snapshot (worst value in the 6 h before flow)";
    EncourageScore = "encourage_score", "points", "[-6 h, 0]", "ENCOURAGE on the pre-ECMO snapshot";
    LactateAdmission = "lactate_admission", "mmol/L", "arrival ..", "first lactate at/after hospital arrival (else ICU admission, else -6 h)";
    LactateT0 = "lactate_t0", "mmol/L", "0 h +-2 h", "lactate closest to flow start within 2 h";
    LactateAt24h = "lactate_at_24h", "mmol/L", "24 h +-2 h", "lactate closest to 24 h within 2 h";
    LactateMax24h = "lactate_max_24h", "mmol/L", "[0, 24 h)", "highest lactate";
    LactateClearance6h = "lactate_clearance_6h", "%", "0 -> 6 h (+-2 h)", "(L0 - L6)/L0 x 100";
    LactateClearance12h = "lactate_clearance_12h", "%", "0 -> 12 h (+-2 h)", "(L0 - L12)/L0 x 100";
    LactateClearance24h = "lactate_clearance_24h", "%", "0 -> 24 h (+-2 h)", "(L0 - L24)/L0 x 100";
    LactateClearance48h = "lactate_clearance_48h", "%", "0 -> 48 h (+-2 h)", "(L0 - L48)/L0 x 100";
    LactateClearanceAdm48h = "lactate_clearance_admission_48h", "%", "admission -> 48 h (+-2 h)", "(L_admission - L48)/L_admission x 100 (study 3)";
    MapMin24h = "map_min_24h", "mmHg", "[0, 24 h)", "lowest MAP";
    MapTwa24h = "map_twa_24h", "mmHg", "[0, 24 h)", "time-weighted mean MAP (last value carried forward)";
    MapAt24h = "map_at_24h", "mmHg", "24 h +-2 h", "MAP closest to 24 h within 2 h";
    MapAtRosc = "map_at_rosc", "mmHg", "ROSC or flow ..", "first MAP at/after ROSC (if ROSC before flow), else at/after flow start";
    FluidBalance24h = "fluid_balance_24h", "mL", "[0, 24 h)", "intake - (urine + other output), interval records prorated";
    MaxNorepinephrine24h = "max_norepinephrine_24h", "mcg/kg/min", "[0, 24 h)", "highest rate over the step function (base)";
    MaxEpinephrine24h = "max_epinephrine_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxDopamine24h = "max_dopamine_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxDobutamine24h = "max_dobutamine_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxMilrinone24h = "max_milrinone_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxVasopressin24h = "max_vasopressin_24h", "U/min", "[0, 24 h)", "highest rate";
    MaxLevosimendan24h = "max_levosimendan_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxPhenylephrine24h = "max_phenylephrine_24h", "mcg/kg/min", "[0, 24 h)", "highest rate";
    MaxAngiotensinII24h = "max_angiotensin_ii_24h", "ng/kg/min", "[0, 24 h)", "highest rate";
    VisAt0h = "vis_at_0h", "points", "0 h", "VIS of the rates in force at flow start";
    VisAt24h = "vis_at_24h", "points", "24 h", "VIS of the rates in force at 24 h";
    VisMaxSim24h = "vis_max_sim_24h", "points", "[0, 24 h)", "max over t of VIS(t) (simultaneous)";
    VisMaxAgent24h = "vis_max_agent_24h", "points", "[0, 24 h)", "VIS of each agent's own maximum (per agent)";
    VisReduction24h = "vis_reduction_24h", "%", "0 -> 24 h", "(VIS(0) - VIS(24))/VIS(0) x 100; empty if VIS(0) = 0";
    VasoactiveHours24h = "vasoactive_hours_24h", "h", "[0, 24 h)", "length of the union of all agents' infusion intervals";
    VasoactiveDrugHours24h = "vasoactive_drug_hours_24h", "h", "[0, 24 h)", "sum of per-agent exposure";
    Sofa24h = "sofa_24h", "points", "[0, 24 h)", "SOFA-1 on worst values; missing organs score 0 (count in sofa_24h_missing)";
    Sofa24hMissing = "sofa_24h_missing", "count", "[0, 24 h)", "SOFA organs without data";
    Apache2_24h = "apache2_24h", "points", "[0, 24 h)", "APACHE II on worst values; unmeasured physiology 0 (count in apache2_24h_missing)";
    Apache2_24hMissing = "apache2_24h_missing", "count", "[0, 24 h)", "APACHE II physiology variables without data";
    NseAt24h = "nse_at_24h", "ug/L", "24 h +-6 h", "NSE closest to 24 h within 6 h";
    CrrtAny = "crrt_any", "0/1", "run", "CRRT at any time during the run (as of the instant)";
    RrtBeforeDecision = "rrt_before_decision", "0/1", "[0, decision]", "any renal replacement before the decision (decannulation or as-of instant)";
    BilirubinMax48hDecision = "bilirubin_max_48h_decision", "mg/dL", "[decision - 48 h, decision]", "highest bilirubin";
    BilirubinGt4Decision = "bilirubin_gt4_decision", "0/1", "[decision - 48 h, decision]", "highest bilirubin > 4.0 mg/dL";
    StrokeBeforeDecision = "stroke_before_decision", "0/1", "[0, decision]", "stroke event";
    SepsisBeforeDecision = "sepsis_before_decision", "0/1", "[0, decision]", "sepsis event";
    EcmoHours = "ecmo_hours", "h", "outcome", "flow start to decannulation (empty if not decannulated)";
    Weaned = "weaned", "0/1", "outcome", "decannulated and no ECMO re-institution within 30 days (bridges and deaths on ECMO are 0)";
    WeanedThenDied30d = "weaned_then_died_30d", "0/1", "outcome", "weaned, then died within 30 days without re-cannulation";
    Recannulated30d = "recannulated_30d", "0/1", "outcome", "ECMO re-instituted within 30 days of decannulation";
    Bridged = "bridged", "0/1", "outcome", "VAD or transplant at decannulation";
    DiedOnEcmo = "died_on_ecmo", "0/1", "outcome", "death before decannulation";
    Survival30d = "survival_30d", "0/1", "outcome", "alive 30 days after flow start (empty if censored earlier)";
    Survival2y = "survival_2y", "0/1", "outcome", "alive 730 days after flow start (empty if censored earlier)";
    FollowUpDays = "follow_up_days", "days", "outcome", "flow start to death or last time known alive";
    Death = "death", "0/1", "outcome", "death observed (else censored at follow_up_days)";
    CpcFavourable = "cpc_favourable", "0/1", "outcome", "last recorded CPC is 1 or 2";
}

/// Number of numeric columns.
pub const N_COLUMNS: usize = Col::CpcFavourable as usize + 1;

/// One run's features. Serialises as a flat map in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    pub run_id: String,
    pub patient_id: String,
    pub etiology: &'static str,
    pub values: [Option<f64>; N_COLUMNS],
}

impl Serialize for FeatureRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(N_COLUMNS + 3))?;
        m.serialize_entry("run_id", &self.run_id)?;
        m.serialize_entry("patient_id", &self.patient_id)?;
        m.serialize_entry("etiology", self.etiology)?;
        for (c, v) in COLUMNS.iter().zip(self.values.iter()) {
            m.serialize_entry(c.name, v)?;
        }
        m.end()
    }
}

impl FeatureRow {
    pub fn get(&self, c: Col) -> Option<f64> {
        self.values[c as usize]
    }

    pub fn by_name(&self, name: &str) -> Option<f64> {
        COLUMNS.iter().position(|c| c.name == name).and_then(|i| self.values[i])
    }

    fn set(&mut self, c: Col, v: Option<f64>) {
        self.values[c as usize] = v;
    }

    /// CSV header: `run_id,patient_id,etiology,` then every column name.
    pub fn csv_header() -> String {
        let mut s = String::from("run_id,patient_id,etiology");
        for c in COLUMNS {
            s.push(',');
            s.push_str(c.name);
        }
        s
    }

    /// Append this row as CSV (empty cell for a missing value) to `out`.
    pub fn write_csv(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        write_field(out, &self.run_id);
        out.push(b',');
        write_field(out, &self.patient_id);
        out.push(b',');
        out.extend_from_slice(self.etiology.as_bytes());
        for v in &self.values {
            out.push(b',');
            if let Some(v) = v {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    write_int(out, *v as i64);
                } else {
                    let _ = write!(out, "{v}");
                }
            }
        }
        out.push(b'\n');
    }
}

/// `n` in decimal, as `write!(out, "{n}")` writes it, without the formatting machinery
/// (most cells are whole numbers: flags, points, counts).
fn write_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

fn write_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n']) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// How rows are computed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureConfig {
    /// Hide everything recorded after flow start + this many hours (predictor
    /// columns); `None`: each variable is taken at the close of its own window.
    pub as_of_hours: Option<f64>,
    pub vis_variant: VisVariant,
    /// Score options; SOFA and APACHE II in the table assume missing physiology normal.
    pub options: Options,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            as_of_hours: None,
            vis_variant: VisVariant::Gaies2010,
            options: Options { assume_normal: true, ..Options::default() },
        }
    }
}

/// Closest sample to a target within a tolerance.
#[derive(Clone, Copy)]
struct Closest {
    target: i64,
    tol: i64,
    best: Option<(i64, f64)>,
}

impl Closest {
    fn new(target: i64, tol: i64) -> Self {
        Closest { target, tol, best: None }
    }
    #[inline]
    fn offer(&mut self, t: i64, v: f64) {
        let d = (t - self.target).abs();
        if d <= self.tol && self.best.is_none_or(|(bd, _)| d < bd) {
            self.best = Some((d, v));
        }
    }
    fn value(&self) -> Option<f64> {
        self.best.map(|b| b.1)
    }
}

/// Worst (most points) value of a banded variable.
#[derive(Clone, Copy, Default)]
struct Worst {
    pts: Option<u8>,
    value: f64,
    entered: f64,
    unit: Option<Unit>,
}

impl Worst {
    #[inline]
    fn offer(&mut self, pts: u8, o: &Observation) {
        if self.pts.is_none_or(|p| pts > p) {
            *self = Worst { pts: Some(pts), value: o.value, entered: o.entered_value, unit: Some(o.entered_unit) };
        }
    }
    fn measured(&self) -> Option<Measured> {
        self.pts.map(|_| Measured::entered(self.value, self.entered, self.unit.unwrap_or(Unit::Dimensionless)))
    }
}

/// Reusable scratch space for building rows.
#[derive(Default)]
pub struct FeatureBuilder {
    gases: Vec<(i64, f64)>,
    fio2: Vec<(i64, f64)>,
    paco2: Vec<(i64, f64)>,
    mv: Vec<(i64, i64)>,
    pre: Vec<Option<Worst>>,
}

impl FeatureBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compute the row of one run.
    pub fn row(&mut self, rec: &RunRecord, cfg: &FeatureConfig) -> FeatureRow {
        compute(self, rec, cfg)
    }
}

/// Compute one run's row (allocates fresh scratch space; prefer [`FeatureBuilder`] in loops).
pub fn feature_row(rec: &RunRecord, cfg: &FeatureConfig) -> FeatureRow {
    FeatureBuilder::new().row(rec, cfg)
}

const H: i64 = 60;

fn b2f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

#[allow(clippy::too_many_lines)]
fn compute(sc: &mut FeatureBuilder, rec: &RunRecord, cfg: &FeatureConfig) -> FeatureRow {
    let run = &rec.run;
    let p = &rec.patient;
    let t0 = run.flow_start.0;
    let cutoff = cfg.as_of_hours.map_or(i64::MAX, |h| run.flow_start.plus_hours(h).0);
    let w_end = t0 + 24 * H;
    let opts = &cfg.options;
    let policy = opts.sofa_unit_policy;
    let mut row = FeatureRow {
        run_id: run.id.clone(),
        patient_id: run.patient_id.clone(),
        etiology: run.etiology.code(),
        values: [None; N_COLUMNS],
    };

    // ---- Static columns.
    let age = p.age_at(run.flow_start);
    row.set(Col::AgeYears, age);
    row.set(Col::Female, Some(b2f(p.sex == ecmo_domain::Sex::Female)));
    row.set(Col::WeightKg, Some(p.weight_kg));
    row.set(Col::Bmi, p.bmi());
    row.set(Col::ModeVa, Some(b2f(matches!(run.mode, Mode::Va | Mode::Vav))));
    let a = &run.arrest;
    row.set(Col::CardiacArrest, Some(b2f(a.had_arrest())));
    row.set(Col::Ecpr, Some(b2f(a.ecpr)));
    row.set(Col::Ohca, Some(b2f(a.location == ecmo_domain::ArrestLocation::Ohca)));
    if a.had_arrest() {
        row.set(Col::ShockableFirstRhythm, a.first_rhythm.shockable().map(b2f));
        row.set(Col::ShockableArrivalRhythm, a.arrival_rhythm.shockable().map(b2f));
        let view = rec.as_of(Timestamp(cutoff));
        let at = series::arrest_times(&view);
        row.set(Col::NoFlowMin, at.no_flow_min.value);
        row.set(Col::LowFlowMin, at.low_flow_min.value);
    }
    row.set(Col::VentilationHoursBefore, run.ventilation_hours_before);

    // ---- Supports (few per run).
    sc.mv.clear();
    let mut crrt = false;
    let mut rrt_spans: [(i64, i64); 8] = [(0, 0); 8];
    let mut n_rrt = 0;
    for s in rec.supports.iter().filter(|s| s.start.0 <= cutoff) {
        let stop = s.stop.map_or(i64::MAX, |x| if x.0 <= cutoff { x.0 } else { i64::MAX });
        match s.kind {
            SupportKind::MechanicalVentilation => sc.mv.push((s.start.0, stop)),
            SupportKind::Crrt | SupportKind::IntermittentDialysis => {
                crrt |= s.kind == SupportKind::Crrt;
                if n_rrt < rrt_spans.len() {
                    rrt_spans[n_rrt] = (s.start.0, stop);
                    n_rrt += 1;
                }
            }
            _ => {}
        }
    }
    row.set(Col::CrrtAny, Some(b2f(crrt)));
    let decannulation = run.decannulation.map(|d| d.0).filter(|d| *d <= cutoff);
    let decision = decannulation.unwrap_or(cutoff).min(cutoff);
    let rrt_before = rrt_spans[..n_rrt].iter().any(|(s, e)| *s <= decision && *e >= t0);
    row.set(Col::RrtBeforeDecision, Some(b2f(rrt_before)));

    // ---- Observations: one pass.
    let admission_ref = a.hospital_arrival.or(run.icu_admission).map_or(t0 - 6 * H, |t| t.0);
    let rosc_ref = match a.rosc {
        Some(r) if r.0 < t0 => r.0,
        _ => t0,
    };
    let mut lac_adm: Option<f64> = None;
    let mut lac_at = [Closest::new(t0, 2 * H); 5];
    for (k, h) in [0i64, 6, 12, 24, 48].iter().enumerate() {
        lac_at[k] = Closest::new(t0 + h * H, 2 * H);
    }
    let mut lac_max: Option<f64> = None;
    let mut map_min: Option<f64> = None;
    let mut map_prev: Option<(i64, f64)> = None;
    let (mut map_area, mut map_span) = (0.0, 0i64);
    let mut map_first: Option<f64> = None;
    let mut map_at24 = Closest::new(w_end, 2 * H);
    let mut map_rosc: Option<f64> = None;
    let mut nse = Closest::new(w_end, 6 * H);
    let mut fluid = (0.0, false);
    let mut urine = (0.0, false);
    let (mut plt, mut bili, mut gcs_min, mut creat) =
        (Worst::default(), Worst::default(), None::<f64>, Worst::default());
    let mut ap = [Worst::default(); 11];
    let mut has_ph = false;
    let mut bili48: Option<f64> = None;
    sc.gases.clear();
    sc.fio2.clear();
    sc.paco2.clear();
    sc.pre.clear();
    sc.pre.resize(Quantity::ALL.len(), None);
    let mut last_sbp: Option<(i64, f64)> = None;
    let mut last_dbp: Option<(i64, f64)> = None;
    let mut pp_min: Option<f64> = None;
    let pre_a = t0 - 6 * H;
    let end_obs = rec.observations.partition_point(|o| o.time.0 <= cutoff);
    for o in &rec.observations[..end_obs] {
        let t = o.time.0;
        let v = o.value;
        let in_w = t >= t0 && t < w_end;
        // Pre-ECMO snapshot.
        if t >= pre_a && t <= t0 {
            let slot = &mut sc.pre[o.quantity as usize];
            let worse = match slot {
                None => true,
                Some(w) => {
                    if series::lower_is_worse(o.quantity) {
                        v < w.value
                    } else {
                        v > w.value
                    }
                }
            };
            if worse {
                *slot = Some(Worst { pts: Some(0), value: v, entered: o.entered_value, unit: Some(o.entered_unit) });
            }
            match o.quantity {
                Quantity::SystolicBp => {
                    if let Some((dt, d)) = last_dbp.filter(|(dt, _)| *dt == t) {
                        let _ = dt;
                        pp_min = Some(pp_min.map_or(v - d, |m: f64| m.min(v - d)));
                    }
                    last_sbp = Some((t, v));
                }
                Quantity::DiastolicBp => {
                    if let Some((_, s)) = last_sbp.filter(|(st, _)| *st == t) {
                        pp_min = Some(pp_min.map_or(s - v, |m: f64| m.min(s - v)));
                    }
                    last_dbp = Some((t, v));
                }
                _ => {}
            }
        }
        match o.quantity {
            Quantity::Lactate => {
                if lac_adm.is_none() && t >= admission_ref {
                    lac_adm = Some(v);
                }
                for c in &mut lac_at {
                    c.offer(t, v);
                }
                if in_w {
                    lac_max = Some(lac_max.map_or(v, |m| m.max(v)));
                }
            }
            Quantity::Map => {
                if in_w {
                    map_min = Some(map_min.map_or(v, |m| m.min(v)));
                    if let Some((pt, pv)) = map_prev {
                        map_area += pv * (t - pt) as f64;
                        map_span += t - pt;
                    }
                    map_prev = Some((t, v));
                    map_first.get_or_insert(v);
                    ap[1].offer(band(v, apache::MAP), o);
                }
                map_at24.offer(t, v);
                if map_rosc.is_none() && t >= rosc_ref {
                    map_rosc = Some(v);
                }
            }
            Quantity::Nse => nse.offer(t, v),
            Quantity::FluidIn | Quantity::FluidOut | Quantity::UrineOutput => {
                let share = series::interval_share(o, run.flow_start, Timestamp(w_end));
                if share > 0.0 {
                    let sign = if o.quantity == Quantity::FluidIn { 1.0 } else { -1.0 };
                    fluid = (fluid.0 + sign * v * share, true);
                    if o.quantity == Quantity::UrineOutput {
                        urine = (urine.0 + v * share, true);
                    }
                }
            }
            Quantity::Platelets if in_w => plt.offer(sofa::coag_points(v), o),
            Quantity::Bilirubin => {
                if in_w {
                    bili.offer(sofa::liver_points_raw(v, o.entered_value, o.entered_unit, policy), o);
                }
                if t >= decision - 48 * H && t <= decision {
                    bili48 = Some(bili48.map_or(v, |m| m.max(v)));
                }
            }
            Quantity::Gcs if in_w => gcs_min = Some(gcs_min.map_or(v, |m| m.min(v))),
            Quantity::Creatinine if in_w => {
                creat.offer(sofa::creatinine_points_raw(v, o.entered_value, o.entered_unit, policy), o);
                ap[6].offer(band(v, apache::CREATININE), o);
            }
            Quantity::Temperature if in_w => ap[0].offer(band(v, apache::TEMPERATURE), o),
            Quantity::HeartRate if in_w => ap[2].offer(band(v, apache::HEART_RATE), o),
            Quantity::RespiratoryRate if in_w => ap[3].offer(band(v, apache::RESP_RATE), o),
            Quantity::Ph if in_w => {
                has_ph = true;
                ap[4].offer(band(v, apache::PH), o);
            }
            Quantity::Sodium if in_w => ap[5].offer(band(v, apache::SODIUM), o),
            Quantity::Potassium if in_w => ap[7].offer(band(v, apache::POTASSIUM), o),
            Quantity::Haematocrit if in_w => ap[8].offer(band(v, apache::HAEMATOCRIT), o),
            Quantity::Wbc if in_w => ap[9].offer(band(v, apache::WBC), o),
            Quantity::Bicarbonate if in_w => ap[10].offer(band(v, apache::BICARBONATE), o),
            Quantity::Pao2 if in_w => sc.gases.push((t, v)),
            Quantity::Fio2 if t >= t0 - 6 * H && t < w_end + H => sc.fio2.push((t, v)),
            Quantity::Paco2 if t >= t0 - H && t < w_end + H => sc.paco2.push((t, v)),
            _ => {}
        }
    }
    let value_of = |c: &Closest| c.value();
    row.set(Col::LactateAdmission, lac_adm);
    row.set(Col::LactateT0, value_of(&lac_at[0]));
    row.set(Col::LactateAt24h, value_of(&lac_at[3]));
    row.set(Col::LactateMax24h, lac_max);
    let clear = |b: Option<f64>, e: Option<f64>| b.zip(e).and_then(|(b, e)| lactate_clearance(b, e).ok());
    row.set(Col::LactateClearance6h, clear(lac_at[0].value(), lac_at[1].value()));
    row.set(Col::LactateClearance12h, clear(lac_at[0].value(), lac_at[2].value()));
    row.set(Col::LactateClearance24h, clear(lac_at[0].value(), lac_at[3].value()));
    row.set(Col::LactateClearance48h, clear(lac_at[0].value(), lac_at[4].value()));
    row.set(Col::LactateClearanceAdm48h, clear(lac_adm, lac_at[4].value()));
    row.set(Col::MapMin24h, map_min);
    let map_known_end = w_end.min(cutoff);
    if let Some((pt, pv)) = map_prev {
        let dt = map_known_end - pt;
        if dt > 0 {
            map_area += pv * dt as f64;
            map_span += dt;
        }
    }
    row.set(Col::MapTwa24h, if map_span > 0 { Some(map_area / map_span as f64) } else { map_first });
    row.set(Col::MapAt24h, map_at24.value());
    row.set(Col::MapAtRosc, map_rosc);
    row.set(Col::NseAt24h, nse.value());
    row.set(Col::FluidBalance24h, fluid.1.then_some(fluid.0));
    row.set(Col::BilirubinMax48hDecision, bili48);
    row.set(Col::BilirubinGt4Decision, bili48.map(|b| b2f(b > 4.0)));

    // ---- Infusions: one pass over the step functions.
    let inf = infusion_pass(rec, cutoff, t0, w_end, cfg.vis_variant, opts.sofa_min_infusion_minutes);
    for i in 0..Drug::ALL.len() {
        let col = [
            Col::MaxNorepinephrine24h,
            Col::MaxEpinephrine24h,
            Col::MaxDopamine24h,
            Col::MaxDobutamine24h,
            Col::MaxMilrinone24h,
            Col::MaxVasopressin24h,
            Col::MaxLevosimendan24h,
            Col::MaxPhenylephrine24h,
            Col::MaxAngiotensinII24h,
        ][i];
        row.set(col, Some(inf.max_rate[i]));
    }
    row.set(Col::VisAt0h, inf.vis_at0);
    row.set(Col::VisAt24h, inf.vis_at24);
    row.set(Col::VisMaxSim24h, inf.vis_max_sim);
    row.set(Col::VisMaxAgent24h, inf.vis_max_agent);
    row.set(Col::VisReduction24h, inf.vis_at0.zip(inf.vis_at24).and_then(|(a, b)| vis_reduction_rate(a, b).ok()));
    if cutoff > t0 {
        row.set(Col::VasoactiveHours24h, Some(inf.union_min as f64 / 60.0));
        row.set(Col::VasoactiveDrugHours24h, Some(inf.drug_min as f64 / 60.0));
    }

    // ---- SOFA on worst values.
    let pf = pf_worst(sc, t0);
    let mut doses = DoseSet::new(Some(p.weight_kg));
    for (i, d) in Drug::ALL.iter().enumerate() {
        if let Some((rate, minutes)) = inf.sofa_dose[i] {
            let mut e = DoseEntry::canonical(*d, rate);
            e.minutes = Some(minutes as f64);
            doses.doses.push(e);
        }
    }
    let complete_day = cutoff >= w_end;
    let sofa_in = SofaInput {
        pf,
        platelets: plt.measured(),
        bilirubin: bili.measured(),
        map: map_min.map(|m| Measured::new(m, Unit::MmHg)),
        gcs: gcs_min.map(|g| Measured::new(g, Unit::Dimensionless)),
        creatinine: creat.measured(),
        urine_output_24h: (complete_day && urine.1).then(|| Measured::new(urine.0, Unit::Ml)),
        doses,
    };
    let s = sofa::sofa(&sofa_in, opts);
    row.set(Col::Sofa24h, s.total);
    row.set(Col::Sofa24hMissing, Some((s.assumed.len() + s.missing.len()) as f64));

    // ---- APACHE II on worst values.
    let (fio2, pao2, paco2) = apache_gas(sc, opts.patm_mmhg);
    let ch = &p.chronic;
    let chronic_health = ch.apache_severe_insufficiency();
    let rrt_in_window = rrt_spans[..n_rrt].iter().any(|(s, e)| *s < w_end && *e > t0);
    let ai = Apache2Input {
        temperature: ap[0].measured(),
        map: ap[1].measured(),
        heart_rate: ap[2].measured(),
        resp_rate: ap[3].measured(),
        fio2,
        pao2,
        paco2,
        aado2: None,
        ph: ap[4].measured(),
        bicarbonate: if has_ph { None } else { ap[10].measured() },
        sodium: ap[5].measured(),
        potassium: ap[7].measured(),
        creatinine: ap[6].measured(),
        acute_renal_failure: Some(rrt_in_window),
        haematocrit: ap[8].measured(),
        wbc: ap[9].measured(),
        gcs: gcs_min.map(|g| Measured::new(g, Unit::Dimensionless)),
        age: age.map(|y| Measured::new(y, Unit::Years)),
        chronic_health,
        admission_type: Some(run.admission_type),
    };
    let r = apache::apache2(&ai, opts);
    row.set(Col::Apache2_24h, r.total);
    row.set(Col::Apache2_24hMissing, Some(r.assumed.len() as f64));

    // ---- Pre-ECMO scores.
    let pre = |q: Quantity| sc.pre[q as usize].and_then(|w| w.measured());
    let diag = match run.etiology {
        Etiology::Myocarditis => SaveDiagnosis::Myocarditis,
        Etiology::RefractoryVtVf => SaveDiagnosis::RefractoryVtVf,
        Etiology::PostTransplant => SaveDiagnosis::PostTransplant,
        Etiology::Congenital => SaveDiagnosis::Congenital,
        _ => SaveDiagnosis::Other,
    };
    let end_ev = rec.events.partition_point(|e| e.time.0 <= cutoff);
    let events = &rec.events[..end_ev];
    let stroke_before = events.iter().any(|e| e.kind == EventKind::Stroke && e.time.0 <= t0);
    let rrt_pre = rrt_spans[..n_rrt].iter().any(|(s, _)| *s <= t0);
    let creat_pre = pre(Quantity::Creatinine);
    let arf = match &creat_pre {
        Some(c) => Some(gt(c.value, 1.5) || rrt_pre),
        None if rrt_pre => Some(true),
        None => None,
    };
    let save_in = SaveInput {
        diagnoses: Some(vec![diag]),
        age: age.map(|y| Measured::new(y, Unit::Years)),
        weight: Some(Measured::new(p.weight_kg, Unit::Kg)),
        liver_failure: None,
        bilirubin: pre(Quantity::Bilirubin),
        alt: pre(Quantity::Alt),
        ast: pre(Quantity::Ast),
        cns_dysfunction: Some(stroke_before),
        acute_renal_failure: arf,
        creatinine: creat_pre,
        chronic_renal_failure: p.chronic.chronic_renal_failure,
        ventilation_hours: run.ventilation_hours_before.map(|h| Measured::new(h, Unit::Hours)),
        intubated: run.ventilation_hours_before.map(|h| h > 0.0),
        pip: pre(Quantity::PeakInspiratoryPressure),
        cardiac_arrest: Some(a.had_arrest()),
        dbp: pre(Quantity::DiastolicBp),
        pulse_pressure: pp_min.map(|v| Measured::new(v, Unit::MmHg)),
        bicarbonate: pre(Quantity::Bicarbonate),
    };
    let strict = Options { assume_normal: false, ..opts.clone() };
    row.set(Col::SaveScore, save(&save_in, &strict).total);
    let enc = EncourageInput {
        age: age.map(|y| Measured::new(y, Unit::Years)),
        sex: Some(p.sex),
        bmi: p.bmi().map(|b| Measured::new(b, Unit::Dimensionless)),
        gcs: pre(Quantity::Gcs),
        creatinine: pre(Quantity::Creatinine),
        lactate: pre(Quantity::Lactate),
        prothrombin_activity: pre(Quantity::ProthrombinActivity),
    };
    row.set(Col::EncourageScore, encourage(&enc, &strict).total);

    // ---- Decision-time events.
    row.set(
        Col::StrokeBeforeDecision,
        Some(b2f(events.iter().any(|e| e.kind == EventKind::Stroke && e.time.0 >= t0 && e.time.0 <= decision))),
    );
    row.set(
        Col::SepsisBeforeDecision,
        Some(b2f(events.iter().any(|e| e.kind == EventKind::Sepsis && e.time.0 >= t0 && e.time.0 <= decision))),
    );

    // ---- Outcomes on the complete record.
    let full = rec.complete();
    let w = series::weaning(&full);
    use series::WeaningStatus as S;
    row.set(Col::EcmoHours, run.decannulation.map(|d| d.hours_since(run.flow_start)));
    row.set(Col::Weaned, w.success.map(b2f));
    row.set(Col::WeanedThenDied30d, w.success.map(|_| b2f(w.weaned_then_died_le30d)));
    let decided = w.status != S::OnEcmo && w.status != S::Pending;
    row.set(Col::Recannulated30d, decided.then(|| b2f(w.status == S::Recannulated)));
    row.set(Col::Bridged, decided.then(|| b2f(w.status == S::Bridged)));
    row.set(Col::DiedOnEcmo, (w.status != S::OnEcmo).then(|| b2f(w.status == S::DiedOnEcmo)));
    let s30 = series::survival(&full, 30.0);
    let s2y = series::survival(&full, 730.0);
    row.set(Col::Survival30d, s30.alive_at_horizon.map(b2f));
    row.set(Col::Survival2y, s2y.alive_at_horizon.map(b2f));
    row.set(Col::FollowUpDays, Some(s30.time_days));
    row.set(Col::Death, Some(b2f(s30.death)));
    row.set(
        Col::CpcFavourable,
        rec.events.iter().rev().find(|e| e.kind == EventKind::Cpc).and_then(|e| e.value).map(|v| b2f(v <= 2.0)),
    );
    row
}

/// Results of the infusion pass.
struct InfusionSummary {
    max_rate: [f64; 9],
    vis_at0: Option<f64>,
    vis_at24: Option<f64>,
    vis_max_sim: Option<f64>,
    vis_max_agent: Option<f64>,
    union_min: i64,
    drug_min: i64,
    /// Per drug: (highest rate in the window among episodes >= min minutes, else
    /// the highest overall, with its episode length).
    sofa_dose: [Option<(f64, i64)>; 9],
}

fn infusion_pass(
    rec: &RunRecord,
    cutoff: i64,
    t0: i64,
    w_end: i64,
    variant: VisVariant,
    min_minutes: f64,
) -> InfusionSummary {
    let end = rec.infusions.partition_point(|c| c.time.0 <= cutoff);
    let changes = &rec.infusions[..end];
    let known_end = cutoff;
    let mut rate = [0.0f64; 9];
    let mut vaso_kg = 0.0;
    let mut seg_start = [i64::MIN; 9];
    let mut ep_start = [i64::MIN; 9];
    // Highest rate inside the window during the current episode.
    let mut ep_max = [0.0f64; 9];
    let mut max_rate = [0.0f64; 9];
    let mut max_vaso_kg = 0.0f64;
    let mut sofa_q = [None::<(f64, i64)>; 9];
    let mut sofa_any = [None::<(f64, i64)>; 9];
    let mut drug_min = 0i64;
    let mut union_min = 0i64;
    let mut running = 0usize;
    let mut union_since: Option<i64> = None;
    let mut vis_at0 = None;
    let mut vis_at24 = None;
    let mut vis_max: Option<f64> = None;
    let clip = |a: i64, b: i64| (a.max(t0), b.min(w_end).min(known_end));

    let close_seg = |i: usize,
                     until: i64,
                     rate: &[f64; 9],
                     seg_start: &[i64; 9],
                     drug_min: &mut i64,
                     max_rate: &mut [f64; 9],
                     ep_max: &mut [f64; 9]| {
        if rate[i] > 0.0 && seg_start[i] != i64::MIN {
            let (a, b) = clip(seg_start[i], until);
            if b > a {
                *drug_min += b - a;
                if rate[i] > max_rate[i] {
                    max_rate[i] = rate[i];
                }
                if rate[i] > ep_max[i] {
                    ep_max[i] = rate[i];
                }
            }
        }
    };
    let close_episode = |i: usize,
                         until: i64,
                         ep_start: &[i64; 9],
                         ep_max: &mut [f64; 9],
                         q: &mut [Option<(f64, i64)>; 9],
                         any: &mut [Option<(f64, i64)>; 9]| {
        if ep_max[i] > 0.0 {
            let len = until.saturating_sub(ep_start[i]);
            let slot = if len as f64 >= min_minutes { &mut q[i] } else { &mut any[i] };
            if slot.is_none_or(|(r, _)| ep_max[i] > r) {
                *slot = Some((ep_max[i], len));
            }
        }
        ep_max[i] = 0.0;
    };

    let mut k = 0;
    while k < changes.len() {
        let t = changes[k].time.0;
        // Checkpoints strictly before this time: the state in force then.
        if vis_at0.is_none() && t > t0 && t0 <= known_end {
            let v = vis_from_rates(&rate, vaso_kg, variant);
            vis_at0 = Some(v);
            vis_max = Some(vis_max.map_or(v, |m: f64| m.max(v)));
        }
        if vis_at24.is_none() && t > w_end && w_end <= known_end {
            vis_at24 = Some(vis_from_rates(&rate, vaso_kg, variant));
        }
        // Apply every change at time t.
        let mut j = k;
        while j < changes.len() && changes[j].time.0 == t {
            let c = &changes[j];
            let i = c.drug as usize;
            close_seg(i, t, &rate, &seg_start, &mut drug_min, &mut max_rate, &mut ep_max);
            let was = rate[i] > 0.0;
            let now = c.rate > 0.0;
            if was && !now {
                close_episode(i, t, &ep_start, &mut ep_max, &mut sofa_q, &mut sofa_any);
                running -= 1;
                if running == 0
                    && let Some(s) = union_since.take()
                {
                    let (a, b) = clip(s, t);
                    union_min += (b - a).max(0);
                }
            } else if !was && now {
                ep_start[i] = t;
                if running == 0 {
                    union_since = Some(t);
                }
                running += 1;
            }
            rate[i] = c.rate;
            seg_start[i] = t;
            if c.drug == Drug::Vasopressin {
                vaso_kg = if c.weight_kg > 0.0 { c.rate / c.weight_kg } else { 0.0 };
            }
            j += 1;
        }
        // Vasopressin per kg: track the maximum over segments overlapping the window.
        if rate[Drug::Vasopressin as usize] > 0.0 {
            let next = changes[j..].iter().find(|c| c.drug == Drug::Vasopressin).map_or(known_end, |c| c.time.0);
            let (a, b) = clip(t, next);
            if b > a && vaso_kg > max_vaso_kg && changes[k..j].iter().any(|c| c.drug == Drug::Vasopressin) {
                max_vaso_kg = vaso_kg;
            }
        }
        if t >= t0 && t < w_end && t < known_end {
            let v = vis_from_rates(&rate, vaso_kg, variant);
            if t == t0 {
                vis_at0 = Some(v);
            }
            vis_max = Some(vis_max.map_or(v, |m: f64| m.max(v)));
        }
        if t == w_end {
            vis_at24 = Some(vis_from_rates(&rate, vaso_kg, variant));
        }
        k = j;
    }
    // Checkpoints after the last change.
    if vis_at0.is_none() && t0 <= known_end {
        let v = vis_from_rates(&rate, vaso_kg, variant);
        vis_at0 = Some(v);
        vis_max = Some(vis_max.map_or(v, |m: f64| m.max(v)));
    }
    if vis_at24.is_none() && w_end <= known_end {
        vis_at24 = Some(vis_from_rates(&rate, vaso_kg, variant));
    }
    // Close open segments and episodes at the end of what is known.
    for i in 0..9 {
        close_seg(i, known_end, &rate, &seg_start, &mut drug_min, &mut max_rate, &mut ep_max);
        if rate[i] > 0.0 {
            close_episode(i, known_end, &ep_start, &mut ep_max, &mut sofa_q, &mut sofa_any);
        }
    }
    if let Some(s) = union_since {
        let (a, b) = clip(s, known_end);
        union_min += (b - a).max(0);
    }
    let window_started = t0 < known_end;
    let vis_max_sim = if window_started { vis_max } else { None };
    let vis_max_agent = window_started.then(|| {
        let mut r = max_rate;
        r[Drug::Vasopressin as usize] = 0.0;
        vis_from_rates(&r, max_vaso_kg, variant)
    });
    let mut sofa_dose = [None; 9];
    for i in 0..9 {
        sofa_dose[i] = sofa_q[i].or(sofa_any[i]);
    }
    InfusionSummary { max_rate, vis_at0, vis_at24, vis_max_sim, vis_max_agent, union_min, drug_min, sofa_dose }
}

/// FiO2 paired with a gas at `t`: latest within 6 h before, else nearest within 1 h after.
fn pair_fio2(fio2: &[(i64, f64)], t: i64) -> Option<f64> {
    let mut before = None;
    let mut after = None;
    for &(ft, f) in fio2 {
        if ft <= t && t - ft <= 360 {
            before = Some(f);
        } else if ft > t && ft - t <= 60 && after.is_none() {
            after = Some(f);
        }
    }
    before.or(after)
}

fn pf_worst(sc: &FeatureBuilder, _t0: i64) -> Vec<PfSample> {
    let mut vent: Option<PfSample> = None;
    let mut spont: Option<PfSample> = None;
    for &(t, pao2) in &sc.gases {
        let Some(f) = pair_fio2(&sc.fio2, t) else { continue };
        let ratio = pao2 / f;
        let ventilated = sc.mv.iter().any(|(s, e)| *s <= t && t < *e);
        let slot = if ventilated { &mut vent } else { &mut spont };
        if slot.as_ref().is_none_or(|s| ratio < s.ratio) {
            *slot =
                Some(PfSample::new(ratio, Some(if ventilated { RespSupport::Invasive } else { RespSupport::None })));
        }
    }
    vent.into_iter().chain(spont).collect()
}

fn apache_gas(sc: &FeatureBuilder, patm: f64) -> (Option<Measured>, Option<Measured>, Option<Measured>) {
    let mut best: Option<(u8, f64, f64, Option<f64>)> = None;
    for &(t, pao2) in &sc.gases {
        let Some(f) = pair_fio2(&sc.fio2, t) else { continue };
        let paco2 =
            sc.paco2.iter().filter(|(ct, _)| (ct - t).abs() <= 15).min_by_key(|(ct, _)| (ct - t).abs()).map(|x| x.1);
        let gas = Apache2Input {
            fio2: Some(Measured::new(f, Unit::Fraction)),
            pao2: Some(Measured::new(pao2, Unit::MmHg)),
            paco2: paco2.map(|v| Measured::new(v, Unit::MmHg)),
            ..Default::default()
        };
        if let Ok(c) = apache::oxygenation(&gas, patm) {
            let p = c.points as u8;
            if best.is_none_or(|b| p > b.0) {
                best = Some((p, f, pao2, paco2));
            }
        }
    }
    match best {
        Some((_, f, p, c)) => (
            Some(Measured::new(f, Unit::Fraction)),
            Some(Measured::new(p, Unit::MmHg)),
            c.map(|v| Measured::new(v, Unit::MmHg)),
        ),
        None => (None, None, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_numbers_are_written_as_display_writes_them() {
        let mut cases =
            vec![0, 1, -1, 9, 10, -10, 99, 100, 12_345, -987_654_321, 999_999_999_999_999, i64::MIN, i64::MAX];
        cases.extend((0..200).map(|k: i64| k * k * 7919 - 50_000));
        for n in cases {
            let mut out = Vec::new();
            super::write_int(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }
}
