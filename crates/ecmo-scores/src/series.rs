//! Time-series derivations on an as-of [`RunView`] (spec §1.2, §3, §4.2–4.3,
//! §6.2, §8, §9–§10 pre-ECMO snapshot, §12.1, §13).
//!
//! Conventions:
//! * Times are hours relative to `run.flow_start` (T0); windows are half-open
//!   `[start, end)`.
//! * An infusion rate is a step function: a change holds until the next change
//!   of the same drug. It is known only up to the view's as-of instant, so every
//!   step function ends there: nothing recorded later is ever seen.
//! * "At t" for an infusion is the rate in force at t; for a lab or vital sign
//!   the sample closest to t within a tolerance (default ±2 h), else missing.
//! * Every derived value lists the raw records it used ([`RawRef`]).

use crate::apache::{self, Apache2Input, apache2};
use crate::cmp::gt;
use crate::encourage::{EncourageInput, encourage};
use crate::misc::{lactate_clearance as lc, vis_reduction_rate};
use crate::result::{Measured, Options, ScoreResult, SofaUnitPolicy, VisVariant};
use crate::save::{SaveDiagnosis, SaveInput, save};
use crate::sofa::{self, PfSample, RespSupport, SofaInput};
use crate::vasoactive::{DoseEntry, DoseSet, vis_from_rates};
use ecmo_domain::{
    Drug, Etiology, EventKind, InfusionChange, Observation, Quantity, RunView, SupportKind, Timestamp, Unit,
};
use serde::Serialize;

/// A raw record a derived value used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawRef {
    /// `observation`, `infusion`, `support`, `event` or `run`.
    pub kind: &'static str,
    /// Quantity, drug, support or event code.
    pub code: String,
    pub time: Timestamp,
    /// Hours from flow start.
    pub hours: f64,
    /// Value as entered.
    pub value: f64,
    /// Unit as entered.
    pub unit: String,
    pub source: Option<String>,
    /// How an infusion rate charted in another unit or as a salt (norepinephrine
    /// tartrate) became the base rate the scores use, e.g.
    /// "bitartrate_monohydrate: 0.1 mcg/kg/min base".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<String>,
}

impl RawRef {
    pub fn obs(o: &Observation, t0: Timestamp) -> Self {
        RawRef {
            kind: "observation",
            code: o.quantity.code().to_string(),
            time: o.time,
            hours: o.time.hours_since(t0),
            value: o.entered_value,
            unit: o.entered_unit.symbol().to_string(),
            source: o.source.clone(),
            converted: None,
        }
    }

    pub fn inf(i: &InfusionChange, t0: Timestamp) -> Self {
        RawRef {
            kind: "infusion",
            code: i.drug.code().to_string(),
            time: i.time,
            hours: i.time.hours_since(t0),
            value: i.entered_rate,
            unit: i.entered_unit.symbol().to_string(),
            source: i.source.clone(),
            converted: converted(i),
        }
    }
}

/// The conversion note of an infusion record, when the chart differs from the base rate.
fn converted(i: &InfusionChange) -> Option<String> {
    let canonical = i.drug.canonical_unit();
    if i.salt == ecmo_domain::Salt::Base && i.entered_unit == canonical {
        return None;
    }
    let salt = if i.salt == ecmo_domain::Salt::Base { "charted" } else { i.salt.code() };
    Some(format!("{salt}: {} {} base", i.rate, canonical.symbol()))
}

/// A derived value with its provenance; `value` is `None` when it cannot be
/// derived, with the reason in `undefined`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived<T> {
    pub name: String,
    pub value: Option<T>,
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undefined: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub provenance: Vec<RawRef>,
}

impl<T> Derived<T> {
    pub fn ok(name: impl Into<String>, value: T, unit: &'static str, provenance: Vec<RawRef>) -> Self {
        Derived { name: name.into(), value: Some(value), unit, undefined: None, note: None, provenance }
    }

    pub fn undefined(name: impl Into<String>, unit: &'static str, reason: impl Into<String>) -> Self {
        Derived {
            name: name.into(),
            value: None,
            unit,
            undefined: Some(reason.into()),
            note: None,
            provenance: Vec::new(),
        }
    }

    fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// A half-open window `[start_h, end_h)` in hours from flow start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub start_h: f64,
    pub end_h: f64,
}

impl Window {
    pub const FIRST_24H: Window = Window { start_h: 0.0, end_h: 24.0 };
    pub const PRE_ECMO_6H: Window = Window { start_h: -6.0, end_h: 0.0 };

    pub fn new(start_h: f64, end_h: f64) -> Self {
        Window { start_h, end_h }
    }

    /// Absolute bounds `[start, end)`.
    pub fn bounds(self, t0: Timestamp) -> (Timestamp, Timestamp) {
        (t0.plus_hours(self.start_h), t0.plus_hours(self.end_h))
    }
}

/// Tolerance for "value at t" of labs and vitals (spec §1.2: ±2 h).
pub const AT_TOLERANCE_MIN: i64 = 120;

/// One constant-rate piece of a drug's step function.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub start: Timestamp,
    /// Exclusive; the as-of instant for the last known rate.
    pub end: Timestamp,
    pub rate: f64,
    pub change: &'a InfusionChange,
    /// Length in minutes of the uninterrupted infusion (rate > 0) this piece belongs to.
    pub episode_minutes: i64,
}

/// End of what is known in a view (exclusive bound for step functions).
fn known_end(view: &RunView) -> Timestamp {
    view.at()
}

/// The known step function of `drug`, with episode lengths.
pub fn segments<'a>(view: &RunView<'a>, drug: Drug) -> Vec<Segment<'a>> {
    let end = known_end(view);
    let changes: Vec<&InfusionChange> = view.infusions().iter().filter(|i| i.drug == drug).collect();
    let mut segs: Vec<Segment<'a>> = Vec::with_capacity(changes.len());
    for (k, c) in changes.iter().enumerate() {
        let stop = changes.get(k + 1).map_or(end, |n| n.time).min(end);
        if stop > c.time {
            segs.push(Segment { start: c.time, end: stop, rate: c.rate, change: c, episode_minutes: 0 });
        }
    }
    // Episode lengths: maximal runs of consecutive positive-rate pieces.
    let mut i = 0;
    while i < segs.len() {
        if segs[i].rate <= 0.0 {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < segs.len() && segs[j + 1].rate > 0.0 && segs[j + 1].start == segs[j].end {
            j += 1;
        }
        let len = segs[j].end.0.saturating_sub(segs[i].start.0);
        for s in &mut segs[i..=j] {
            s.episode_minutes = len;
        }
        i = j + 1;
    }
    segs
}

fn overlaps(s: &Segment, a: Timestamp, b: Timestamp) -> bool {
    s.start < b && s.end > a
}

fn vaso_per_kg(c: &InfusionChange) -> f64 {
    if c.weight_kg > 0.0 { c.rate / c.weight_kg } else { 0.0 }
}

/// The changes in force at `t` (rate and record), per drug.
fn in_force<'a>(view: &RunView<'a>, t: Timestamp) -> Vec<&'a InfusionChange> {
    let mut out: Vec<&InfusionChange> = Vec::new();
    for c in view.infusions().iter().filter(|c| c.time <= t) {
        if let Some(slot) = out.iter_mut().find(|x| x.drug == c.drug) {
            *slot = c;
        } else {
            out.push(c);
        }
    }
    out
}

fn vis_of_changes(changes: &[&InfusionChange], variant: VisVariant) -> f64 {
    let mut rates = [0.0; 9];
    let mut vaso = 0.0;
    for c in changes {
        rates[c.drug as usize] = c.rate;
        if c.drug == Drug::Vasopressin {
            vaso = vaso_per_kg(c);
        }
    }
    vis_from_rates(&rates, vaso, variant)
}

/// VIS(t): the formula applied to the rates in force at T0 + `hours`.
pub fn vis_at(view: &RunView, hours: f64, variant: VisVariant) -> Derived<f64> {
    let t0 = view.flow_start();
    let t = t0.plus_hours(hours);
    let name = format!("vis_at_{hours}h");
    if t > view.at() {
        return Derived::undefined(name, "points", "after the as-of instant");
    }
    let changes = in_force(view, t);
    let v = vis_of_changes(&changes, variant);
    let prov = changes.iter().filter(|c| c.rate > 0.0).map(|c| RawRef::inf(c, t0)).collect();
    Derived::ok(name, v, "points", prov)
}

/// How VISmax is taken over a window (spec §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VisMaxMode {
    /// Maximum over t of VIS(t) (Gaies): doses running at the same time.
    Simultaneous,
    /// Formula on each agent's own maximum dose in the window (Koponen wording).
    PerAgent,
}

/// VISmax over a window of the step functions.
pub fn vis_max(view: &RunView, w: Window, mode: VisMaxMode, variant: VisVariant) -> Derived<f64> {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let b = b.min(known_end(view));
    let name = format!(
        "vis_max_{}_{}_{}h",
        if mode == VisMaxMode::Simultaneous { "sim" } else { "agent" },
        w.start_h,
        w.end_h
    );
    if b <= a {
        return Derived::undefined(name, "points", "window not reached at the as-of instant");
    }
    match mode {
        VisMaxMode::Simultaneous => {
            let mut best = (vis_of_changes(&in_force(view, a), variant), a);
            for c in view.infusions().iter().filter(|c| c.time > a && c.time < b) {
                let v = vis_of_changes(&in_force(view, c.time), variant);
                if v > best.0 {
                    best = (v, c.time);
                }
            }
            let prov = in_force(view, best.1).iter().filter(|c| c.rate > 0.0).map(|c| RawRef::inf(c, t0)).collect();
            Derived::ok(name, best.0, "points", prov)
        }
        VisMaxMode::PerAgent => {
            let mut rates = [0.0; 9];
            let mut vaso = 0.0;
            let mut prov = Vec::new();
            for d in Drug::ALL {
                let mut best: Option<&Segment> = None;
                let segs = segments(view, d);
                for s in segs.iter().filter(|s| overlaps(s, a, b)) {
                    let key = if d == Drug::Vasopressin { vaso_per_kg(s.change) } else { s.rate };
                    let cur = best.map_or(0.0, |x| if d == Drug::Vasopressin { vaso_per_kg(x.change) } else { x.rate });
                    if key > cur {
                        best = Some(s);
                    }
                }
                if let Some(s) = best {
                    rates[d as usize] = s.rate;
                    if d == Drug::Vasopressin {
                        vaso = vaso_per_kg(s.change);
                    }
                    prov.push(RawRef::inf(s.change, t0));
                }
            }
            Derived::ok(name, vis_from_rates(&rates, vaso, variant), "points", prov)
        }
    }
}

/// 24 h VIS reduction rate (%) = (VIS(0) − VIS(24 h)) / VIS(0) × 100.
pub fn vis_reduction_24h(view: &RunView, variant: VisVariant) -> Derived<f64> {
    let v0 = vis_at(view, 0.0, variant);
    let v24 = vis_at(view, 24.0, variant);
    let (Some(a), Some(b)) = (v0.value, v24.value) else {
        return Derived::undefined("vis_reduction_24h", "%", "VIS at 24 h not yet known at the as-of instant");
    };
    let mut prov = v0.provenance;
    prov.extend(v24.provenance);
    match vis_reduction_rate(a, b) {
        Ok(v) => Derived::ok("vis_reduction_24h", v, "%", prov),
        Err(e) => Derived { provenance: prov, ..Derived::undefined("vis_reduction_24h", "%", e.to_string()) },
    }
}

/// Maximum rate of `drug` over the step function in a window (canonical unit;
/// 0 when not given). `min_segment_minutes` ignores shorter pieces.
pub fn max_dose(view: &RunView, drug: Drug, w: Window, min_segment_minutes: Option<i64>) -> Derived<f64> {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let name = format!("max_{}_{}_{}h", drug.code(), w.start_h, w.end_h);
    let unit = drug.canonical_unit().symbol();
    let mut best: Option<&Segment> = None;
    let segs = segments(view, drug);
    for s in segs.iter().filter(|s| overlaps(s, a, b)) {
        if min_segment_minutes.is_some_and(|m| s.end.0 - s.start.0 < m) {
            continue;
        }
        if s.rate > best.map_or(0.0, |x| x.rate) {
            best = Some(s);
        }
    }
    match best {
        Some(s) => Derived::ok(name, s.rate, unit, vec![RawRef::inf(s.change, t0)]),
        None => Derived::ok(name, 0.0, unit, Vec::new()),
    }
}

/// Vasoactive exposure in a window (spec §3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    /// Length of the union of all agents' infusion intervals, hours.
    pub union_hours: f64,
    /// Σ per-agent exposure, hours (may exceed the window).
    pub drug_hours: f64,
    pub per_drug_hours: Vec<(Drug, f64)>,
    pub provenance: Vec<RawRef>,
}

pub fn exposure(view: &RunView, w: Window) -> Exposure {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let mut intervals: Vec<(i64, i64)> = Vec::new();
    let mut per = Vec::new();
    let mut prov = Vec::new();
    let mut drug_hours = 0.0;
    for d in Drug::ALL {
        let mut mins = 0i64;
        for s in segments(view, d).iter().filter(|s| s.rate > 0.0 && overlaps(s, a, b)) {
            let (x, y) = (s.start.max(a).0, s.end.min(b).0);
            mins += y - x;
            intervals.push((x, y));
            prov.push(RawRef::inf(s.change, t0));
        }
        if mins > 0 {
            per.push((d, mins as f64 / 60.0));
            drug_hours += mins as f64 / 60.0;
        }
    }
    Exposure {
        union_hours: union_minutes(&mut intervals) as f64 / 60.0,
        drug_hours,
        per_drug_hours: per,
        provenance: prov,
    }
}

/// Total length of a union of intervals (sorts in place).
pub fn union_minutes(iv: &mut [(i64, i64)]) -> i64 {
    iv.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for &(s, e) in iv.iter() {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total
}

/// The sample of `q` closest to T0 + `hours` within ± `tol_min` (earlier wins a tie).
pub fn value_at<'a>(view: &RunView<'a>, q: Quantity, hours: f64, tol_min: i64) -> Option<&'a Observation> {
    let t = view.flow_start().plus_hours(hours);
    let mut best: Option<&Observation> = None;
    for o in view.series(q) {
        let d = (o.time.0 - t.0).abs();
        if d <= tol_min && best.is_none_or(|b| d < (b.time.0 - t.0).abs()) {
            best = Some(o);
        }
    }
    best
}

/// A quantity's value at a time point, with provenance.
pub fn at_time(view: &RunView, q: Quantity, hours: f64) -> Derived<f64> {
    at_time_within(view, q, hours, AT_TOLERANCE_MIN, "no sample within ±2 h")
}

/// [`at_time`] with its own tolerance (minutes either side) and reason when nothing is found.
pub fn at_time_within(view: &RunView, q: Quantity, hours: f64, tol_min: i64, none: &str) -> Derived<f64> {
    let name = format!("{}_at_{hours}h", q.code());
    match value_at(view, q, hours, tol_min) {
        Some(o) => Derived::ok(name, o.value, q.canonical_unit().symbol(), vec![RawRef::obs(o, view.flow_start())]),
        None => Derived::undefined(name, q.canonical_unit().symbol(), none),
    }
}

/// First lactate at or after hospital arrival (else ICU admission, else 6 h
/// before flow start): "lactate at admission" (spec §3.4).
pub fn admission_lactate<'a>(view: &RunView<'a>) -> Option<&'a Observation> {
    let run = view.run();
    let reference =
        run.arrest.hospital_arrival.or(run.icu_admission).unwrap_or_else(|| run.flow_start.plus_minutes(-360));
    view.series(Quantity::Lactate).find(|o| o.time >= reference)
}

/// Lactate clearance from flow start (sample within ±2 h of T0) to T0 + `hours` (±2 h).
pub fn lactate_clearance(view: &RunView, hours: f64) -> Derived<f64> {
    let name = format!("lactate_clearance_0_{hours}h");
    let t0 = view.flow_start();
    let (Some(a), Some(b)) = (
        value_at(view, Quantity::Lactate, 0.0, AT_TOLERANCE_MIN),
        value_at(view, Quantity::Lactate, hours, AT_TOLERANCE_MIN),
    ) else {
        return Derived::undefined(name, "%", "no lactate within ±2 h of one of the time points");
    };
    let prov = vec![RawRef::obs(a, t0), RawRef::obs(b, t0)];
    match lc(a.value, b.value) {
        Ok(v) => Derived::ok(name, v, "%", prov),
        Err(e) => Derived { provenance: prov, ..Derived::undefined(name, "%", e.to_string()) },
    }
}

/// Lactate clearance from the admission lactate to T0 + `hours` (±2 h) (study 3).
pub fn lactate_clearance_from_admission(view: &RunView, hours: f64) -> Derived<f64> {
    let name = format!("lactate_clearance_admission_{hours}h");
    let t0 = view.flow_start();
    let (Some(a), Some(b)) = (admission_lactate(view), value_at(view, Quantity::Lactate, hours, AT_TOLERANCE_MIN))
    else {
        return Derived::undefined(name, "%", "no admission lactate or no lactate within ±2 h of the time point");
    };
    let prov = vec![RawRef::obs(a, t0), RawRef::obs(b, t0)];
    match lc(a.value, b.value) {
        Ok(v) => Derived::ok(name, v, "%", prov),
        Err(e) => Derived { provenance: prov, ..Derived::undefined(name, "%", e.to_string()) },
    }
}

/// The share of an interval record `[start, time]` inside `[a, b)` (uniform rate).
pub fn interval_share(o: &Observation, a: Timestamp, b: Timestamp) -> f64 {
    match o.start {
        Some(s) if s < o.time => {
            let lo = s.max(a).0;
            let hi = o.time.min(b).0;
            if hi <= lo { 0.0 } else { (hi - lo) as f64 / (o.time.0 - s.0) as f64 }
        }
        _ => {
            if o.time >= a && o.time < b {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// Fluid balance over a window: Σ intake − Σ (urine + other output), mL.
/// Interval records crossing the window edge are prorated.
pub fn fluid_balance(view: &RunView, w: Window) -> Derived<f64> {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let name = format!("fluid_balance_{}_{}h", w.start_h, w.end_h);
    let mut bal = 0.0;
    let mut prov = Vec::new();
    let mut any = false;
    for o in view.observations() {
        let sign = match o.quantity {
            Quantity::FluidIn => 1.0,
            Quantity::FluidOut | Quantity::UrineOutput => -1.0,
            _ => continue,
        };
        let share = interval_share(o, a, b);
        if share > 0.0 {
            bal += sign * o.value * share;
            any = true;
            prov.push(RawRef::obs(o, t0));
        }
    }
    if !any {
        return Derived::undefined(name, "mL", "no intake or output recorded in the window");
    }
    let d = Derived::ok(name, bal, "mL", prov);
    if view.at() < b { d.with_note("window not complete at the as-of instant (partial balance)") } else { d }
}

/// MAP in a window: minimum and time-weighted mean (last value carried
/// forward from its time to the next sample or the window end).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapSummary {
    pub min: Derived<f64>,
    pub time_weighted_mean: Derived<f64>,
}

pub fn map_summary(view: &RunView, w: Window) -> MapSummary {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let end = b.min(known_end(view));
    let obs: Vec<&Observation> = view.series(Quantity::Map).filter(|o| o.time >= a && o.time < b).collect();
    let min = obs
        .iter()
        .min_by(|x, y| x.value.total_cmp(&y.value))
        .map(|o| Derived::ok("map_min", o.value, "mmHg", vec![RawRef::obs(o, t0)]))
        .unwrap_or_else(|| Derived::undefined("map_min", "mmHg", "no MAP in the window"));
    let mut area = 0.0;
    let mut span = 0i64;
    for (k, o) in obs.iter().enumerate() {
        let next = obs.get(k + 1).map_or(end, |n| n.time).min(end);
        let dt = next.0 - o.time.0;
        if dt > 0 {
            area += o.value * dt as f64;
            span += dt;
        }
    }
    let twa = if span > 0 {
        Derived::ok("map_twa", area / span as f64, "mmHg", obs.iter().map(|o| RawRef::obs(o, t0)).collect())
    } else if let Some(o) = obs.first() {
        Derived::ok("map_twa", o.value, "mmHg", vec![RawRef::obs(o, t0)])
    } else {
        Derived::undefined("map_twa", "mmHg", "no MAP in the window")
    };
    MapSummary { min, time_weighted_mean: twa }
}

fn in_support(view: &RunView, kind: SupportKind, t: Timestamp) -> bool {
    view.supports_of(kind).any(|s| s.start <= t && s.stop.is_none_or(|e| t < e))
}

/// FiO2 paired with a blood gas: latest FiO2 within 6 h before, else nearest within 1 h after.
fn paired_fio2<'a>(view: &RunView<'a>, t: Timestamp) -> Option<&'a Observation> {
    let mut before: Option<&Observation> = None;
    let mut after: Option<&Observation> = None;
    for o in view.series(Quantity::Fio2) {
        if o.time <= t && t.0 - o.time.0 <= 360 {
            before = Some(o);
        } else if o.time > t && o.time.0 - t.0 <= 60 && after.is_none() {
            after = Some(o);
        }
    }
    before.or(after)
}

fn paired<'a>(view: &RunView<'a>, q: Quantity, t: Timestamp, tol: i64) -> Option<&'a Observation> {
    view.series(q).filter(|o| (o.time.0 - t.0).abs() <= tol).min_by_key(|o| (o.time.0 - t.0).abs())
}

fn window_obs<'a>(
    view: &RunView<'a>,
    q: Quantity,
    a: Timestamp,
    b: Timestamp,
) -> impl Iterator<Item = &'a Observation> {
    view.series(q).filter(move |o| o.time >= a && o.time < b)
}

/// The observation giving the most points (ties: the more extreme value by `key`).
fn worst_by<'a>(
    it: impl Iterator<Item = &'a Observation>,
    points: impl Fn(&Observation) -> u8,
) -> Option<&'a Observation> {
    let mut best: Option<(&Observation, u8)> = None;
    for o in it {
        let p = points(o);
        if best.is_none_or(|(_, bp)| p > bp) {
            best = Some((o, p));
        }
    }
    best.map(|b| b.0)
}

/// Doses for SOFA from a window: per drug the highest rate in the window, with
/// the length of its infusion episode (SOFA counts only episodes ≥ 60 min).
pub fn sofa_doses(view: &RunView, w: Window, min_minutes: f64) -> DoseSet {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let mut set = DoseSet::new(Some(view.patient().weight_kg));
    for d in Drug::ALL {
        let segs = segments(view, d);
        let pick = |qualifying: bool| {
            segs.iter()
                .filter(|s| s.rate > 0.0 && overlaps(s, a, b))
                .filter(|s| !qualifying || s.episode_minutes as f64 >= min_minutes)
                .max_by(|x, y| x.rate.total_cmp(&y.rate))
        };
        if let Some(s) = pick(true).or_else(|| pick(false)) {
            set.doses.push(DoseEntry {
                drug: d,
                rate: Some(s.rate),
                vaso_u_per_kg_min: None,
                entered: s.change.entered_rate,
                unit: s.change.entered_unit,
                salt: s.change.salt,
                minutes: Some(s.episode_minutes as f64),
                time: Some(s.change.time),
                source: s.change.source.clone(),
            });
        }
    }
    set
}

/// SOFA-1 on the worst values of a window (spec §6.1–6.2).
pub fn sofa_window(view: &RunView, w: Window, opts: &Options) -> ScoreResult {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let policy = opts.sofa_unit_policy;
    let pick_m = |q: Quantity, pts: &dyn Fn(&Observation) -> u8| {
        worst_by(window_obs(view, q, a, b), pts).map(Measured::from_obs)
    };
    let m_of = |o: &Observation| Measured::from_obs(o);
    let complete_window = view.at() >= b && (w.end_h - w.start_h - 24.0).abs() < 1e-9;
    let urine: Option<Measured> = if complete_window {
        let mut total = 0.0;
        let mut any = false;
        for o in view.series(Quantity::UrineOutput) {
            let s = interval_share(o, a, b);
            if s > 0.0 {
                total += o.value * s;
                any = true;
            }
        }
        any.then(|| Measured::new(total, Unit::Ml))
    } else {
        None
    };
    let input = SofaInput {
        pf: worst_pf(view, a, b),
        platelets: pick_m(Quantity::Platelets, &|o| sofa::coag_points(o.value)),
        bilirubin: pick_m(Quantity::Bilirubin, &|o| sofa::liver_points(&m_of(o), policy).0),
        // Lowest MAP rather than the first MAP < 70 (same points, clearer provenance).
        map: window_obs(view, Quantity::Map, a, b).min_by(|x, y| x.value.total_cmp(&y.value)).map(Measured::from_obs),
        gcs: pick_m(Quantity::Gcs, &|o| sofa::cns_points(o.value)),
        creatinine: pick_m(Quantity::Creatinine, &|o| sofa::creatinine_points(&m_of(o), policy).0),
        urine_output_24h: urine,
        doses: sofa_doses(view, w, opts.sofa_min_infusion_minutes),
    };
    sofa::sofa(&input, opts)
}

/// Respiration for SOFA and SOFA-2: the worst PaO2/FiO2 with and without invasive
/// ventilation, kept apart because the two are scored by different rules.
fn worst_pf(view: &RunView, a: Timestamp, b: Timestamp) -> Vec<PfSample> {
    let mut vent: Option<PfSample> = None;
    let mut spont: Option<PfSample> = None;
    for p in window_obs(view, Quantity::Pao2, a, b) {
        let Some(f) = paired_fio2(view, p.time) else { continue };
        let ratio = p.value / f.value;
        let ventilated = in_support(view, SupportKind::MechanicalVentilation, p.time);
        let slot = if ventilated { &mut vent } else { &mut spont };
        if slot.as_ref().is_none_or(|s| ratio < s.ratio) {
            *slot = Some(PfSample {
                ratio,
                support: Some(if ventilated { RespSupport::Invasive } else { RespSupport::None }),
                pao2: Some(Measured::from_obs(p)),
                fio2: Some(Measured::from_obs(f)),
            });
        }
    }
    vent.into_iter().chain(spont).collect()
}

/// Hours of a complete window with urine output below 0.5 and 0.3 mL/kg/h and of
/// anuria, from the charted interval volumes (each interval's rate taken as uniform).
/// `None` until the window is complete or when no urine volume covers it.
fn urine_hours(view: &RunView, a: Timestamp, b: Timestamp) -> Option<(f64, f64, f64)> {
    if view.at() < b {
        return None;
    }
    let kg = view.patient().weight_kg;
    let (mut lt05, mut lt03, mut anuria, mut covered) = (0.0, 0.0, 0.0, false);
    for o in view.series(Quantity::UrineOutput) {
        let Some(s) = o.start.filter(|s| *s < o.time) else { continue };
        let share = interval_share(o, a, b);
        if share <= 0.0 {
            continue;
        }
        covered = true;
        let interval_hours = (o.time.0 - s.0) as f64 / 60.0;
        let hours_inside = share * interval_hours;
        let rate = o.value / interval_hours / kg;
        if rate < 0.5 {
            lt05 += hours_inside;
        }
        if rate < 0.3 {
            lt03 += hours_inside;
        }
        if o.value == 0.0 {
            anuria += hours_inside;
        }
    }
    covered.then_some((lt05, lt03, anuria))
}

/// SOFA-2 (Ranzani 2025, spec §7) on the worst values of a window, with the
/// mechanical-support rules: the run's own ECMO mode (VA scores respiratory and
/// cardiovascular 4, VV respiratory 4) and IABP or Impella running in the window.
pub fn sofa2_window(view: &RunView, w: Window, opts: &Options) -> ScoreResult {
    use crate::sofa2::{self as s2, EcmoSupport, Sofa2Input};
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let policy = opts.sofa_unit_policy;
    let m_of = |o: &Observation| Measured::from_obs(o);
    let worst = |q: Quantity, pts: &dyn Fn(&Observation) -> u8| worst_by(window_obs(view, q, a, b), pts).map(m_of);
    let lowest = |q: Quantity| window_obs(view, q, a, b).min_by(|x, y| x.value.total_cmp(&y.value)).map(m_of);
    let highest = |q: Quantity| window_obs(view, q, a, b).max_by(|x, y| x.value.total_cmp(&y.value)).map(m_of);
    let ecmo_running = view.flow_start() < b && view.decannulation().is_none_or(|d| d > a);
    let ecmo = match (ecmo_running, view.run().mode) {
        (false, _) => EcmoSupport::None,
        (true, ecmo_domain::Mode::Vv) => EcmoSupport::Vv,
        (true, _) => EcmoSupport::Va,
    };
    let other_mcs = view.supports().any(|s| {
        matches!(s.kind, SupportKind::Iabp | SupportKind::Impella) && s.start < b && s.stop.is_none_or(|e| e > a)
    });
    let (lt05, lt03, anuria) = match urine_hours(view, a, b) {
        Some((x, y, z)) => (Some(x), Some(y), Some(z)),
        None => (None, None, None),
    };
    let input = Sofa2Input {
        gcs: worst(Quantity::Gcs, &|o| s2::brain_points_gcs(o.value)),
        pf: worst_pf(view, a, b),
        ecmo,
        other_mcs,
        map: lowest(Quantity::Map),
        doses: sofa_doses(view, w, opts.sofa_min_infusion_minutes),
        bilirubin: worst(Quantity::Bilirubin, &|o| s2::liver_points(&m_of(o), policy).0),
        creatinine: worst(Quantity::Creatinine, &|o| s2::creatinine_points(&m_of(o), policy).0),
        rrt: rrt_in(view, a, b),
        uo_lt_0_5_hours: lt05,
        uo_lt_0_3_hours: lt03,
        anuria_hours: anuria,
        potassium: highest(Quantity::Potassium),
        ph: lowest(Quantity::Ph),
        bicarbonate: lowest(Quantity::Bicarbonate),
        platelets: worst(Quantity::Platelets, &|o| s2::hemostasis_points(o.value)),
        ..Sofa2Input::default()
    };
    s2::sofa2(&input, opts)
}

/// Acute renal failure proxy for APACHE II: renal replacement running in the window.
fn rrt_in(view: &RunView, a: Timestamp, b: Timestamp) -> bool {
    view.supports().any(|s| {
        matches!(s.kind, SupportKind::Crrt | SupportKind::IntermittentDialysis)
            && s.start < b
            && s.stop.is_none_or(|e| e > a)
    })
}

/// APACHE II on the worst values of a window (spec §8; default the first 24 h of ECMO).
pub fn apache2_window(view: &RunView, w: Window, opts: &Options) -> ScoreResult {
    let t0 = view.flow_start();
    let (a, b) = w.bounds(t0);
    let arf = rrt_in(view, a, b);
    let worst = |q: Quantity, rows: &'static [(f64, u8)]| {
        worst_by(window_obs(view, q, a, b), |o| crate::cmp::band(o.value, rows)).map(Measured::from_obs)
    };
    // Oxygenation: each PaO2 with its FiO2 and PaCO2, worst points kept.
    let mut oxy: Option<(u8, Apache2Input)> = None;
    for p in window_obs(view, Quantity::Pao2, a, b) {
        let Some(f) = paired_fio2(view, p.time) else { continue };
        let gas = Apache2Input {
            fio2: Some(Measured::from_obs(f)),
            pao2: Some(Measured::from_obs(p)),
            paco2: paired(view, Quantity::Paco2, p.time, 15).map(Measured::from_obs),
            ..Default::default()
        };
        if let Ok(c) = apache::oxygenation(&gas, opts.patm_mmhg) {
            let pts = c.points as u8;
            if oxy.as_ref().is_none_or(|(bp, _)| pts > *bp) {
                oxy = Some((pts, gas));
            }
        }
    }
    let has_ph = window_obs(view, Quantity::Ph, a, b).next().is_some();
    let patient = view.patient();
    let ch = &patient.chronic;
    let chronic_health = ch.apache_severe_insufficiency();
    let (fio2, pao2, paco2) = oxy.map(|(_, g)| (g.fio2, g.pao2, g.paco2)).unwrap_or((None, None, None));
    let input = Apache2Input {
        temperature: worst(Quantity::Temperature, apache::TEMPERATURE),
        map: worst(Quantity::Map, apache::MAP),
        heart_rate: worst(Quantity::HeartRate, apache::HEART_RATE),
        resp_rate: worst(Quantity::RespiratoryRate, apache::RESP_RATE),
        fio2,
        pao2,
        paco2,
        aado2: None,
        ph: worst(Quantity::Ph, apache::PH),
        bicarbonate: if has_ph { None } else { worst(Quantity::Bicarbonate, apache::BICARBONATE) },
        sodium: worst(Quantity::Sodium, apache::SODIUM),
        potassium: worst(Quantity::Potassium, apache::POTASSIUM),
        creatinine: worst(Quantity::Creatinine, apache::CREATININE),
        acute_renal_failure: Some(arf),
        haematocrit: worst(Quantity::Haematocrit, apache::HAEMATOCRIT),
        wbc: worst(Quantity::Wbc, apache::WBC),
        gcs: window_obs(view, Quantity::Gcs, a, b).min_by(|x, y| x.value.total_cmp(&y.value)).map(Measured::from_obs),
        age: patient.age_at(t0).map(|y| Measured::new(y, Unit::Years)),
        chronic_health,
        admission_type: Some(view.run().admission_type),
    };
    let mut r = apache2(&input, opts);
    if arf {
        r.warnings.push(
            "acute renal failure taken from renal replacement therapy running in the window (creatinine points doubled)"
                .into(),
        );
    }
    r
}

/// Worst value of each quantity in the 6 h before flow start (spec §9, ELSO).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PreEcmoSnapshot {
    pub values: Vec<(Quantity, Measured)>,
    /// Lowest SBP − DBP of same-time pairs, mmHg.
    pub pulse_pressure: Option<Measured>,
}

impl PreEcmoSnapshot {
    pub fn get(&self, q: Quantity) -> Option<&Measured> {
        self.values.iter().find(|(x, _)| *x == q).map(|(_, m)| m)
    }
}

/// Whether lower is worse for a quantity in the pre-ECMO snapshot.
pub fn lower_is_worse(q: Quantity) -> bool {
    use Quantity::*;
    matches!(
        q,
        Map | SystolicBp
            | DiastolicBp
            | Ph
            | Bicarbonate
            | Pao2
            | Gcs
            | Platelets
            | ProthrombinActivity
            | Haemoglobin
            | Spo2
            | Haematocrit
            | PumpFlow
    )
}

pub fn pre_ecmo_snapshot(view: &RunView) -> PreEcmoSnapshot {
    let t0 = view.flow_start();
    let a = t0.plus_minutes(-360);
    let mut snap = PreEcmoSnapshot::default();
    let mut best: Vec<Option<&Observation>> = vec![None; Quantity::ALL.len()];
    for o in view.observations().iter().filter(|o| o.time >= a && o.time <= t0) {
        let slot = &mut best[o.quantity as usize];
        let worse = match slot {
            None => true,
            Some(b) => {
                if lower_is_worse(o.quantity) {
                    o.value < b.value
                } else {
                    o.value > b.value
                }
            }
        };
        if worse {
            *slot = Some(o);
        }
    }
    for (i, o) in best.iter().enumerate() {
        if let Some(o) = o {
            snap.values.push((Quantity::ALL[i], Measured::from_obs(o)));
        }
    }
    let dbps: Vec<&Observation> = view.series(Quantity::DiastolicBp).filter(|o| o.time >= a && o.time <= t0).collect();
    for s in view.series(Quantity::SystolicBp).filter(|o| o.time >= a && o.time <= t0) {
        if let Some(d) = dbps.iter().find(|d| d.time == s.time) {
            let pp = s.value - d.value;
            if snap.pulse_pressure.as_ref().is_none_or(|p| pp < p.value) {
                snap.pulse_pressure = Some(Measured {
                    value: pp,
                    entered: pp,
                    unit: Unit::MmHg,
                    time: Some(s.time),
                    source: s.source.clone(),
                });
            }
        }
    }
    snap
}

/// SAVE from the pre-ECMO snapshot and the run's context.
pub fn save_pre_ecmo(view: &RunView, opts: &Options) -> ScoreResult {
    let snap = pre_ecmo_snapshot(view);
    let run = view.run();
    let t0 = view.flow_start();
    let diag = match run.etiology {
        Etiology::Myocarditis => SaveDiagnosis::Myocarditis,
        Etiology::RefractoryVtVf => SaveDiagnosis::RefractoryVtVf,
        Etiology::PostTransplant => SaveDiagnosis::PostTransplant,
        Etiology::Congenital => SaveDiagnosis::Congenital,
        _ => SaveDiagnosis::Other,
    };
    let stroke_before = view.events_of(EventKind::Stroke).any(|e| e.time <= t0);
    let rrt_before = view
        .supports()
        .any(|s| matches!(s.kind, SupportKind::Crrt | SupportKind::IntermittentDialysis) && s.start <= t0);
    let creat = snap.get(Quantity::Creatinine).cloned();
    let arf = match &creat {
        Some(c) => Some(gt(c.value, 1.5) || rrt_before),
        None if rrt_before => Some(true),
        None => None,
    };
    let vent_h = run.ventilation_hours_before;
    let input = SaveInput {
        diagnoses: Some(vec![diag]),
        age: view.patient().age_at(t0).map(|y| Measured::new(y, Unit::Years)),
        weight: Some(Measured::new(view.patient().weight_kg, Unit::Kg)),
        liver_failure: None,
        bilirubin: snap.get(Quantity::Bilirubin).cloned(),
        alt: snap.get(Quantity::Alt).cloned(),
        ast: snap.get(Quantity::Ast).cloned(),
        cns_dysfunction: Some(stroke_before),
        acute_renal_failure: arf,
        creatinine: creat,
        chronic_renal_failure: view.patient().chronic.chronic_renal_failure,
        ventilation_hours: vent_h.map(|h| Measured::new(h, Unit::Hours)),
        intubated: vent_h.map(|h| h > 0.0),
        pip: snap.get(Quantity::PeakInspiratoryPressure).cloned(),
        cardiac_arrest: Some(run.arrest.had_arrest()),
        dbp: snap.get(Quantity::DiastolicBp).cloned(),
        pulse_pressure: snap.pulse_pressure.clone(),
        bicarbonate: snap.get(Quantity::Bicarbonate).cloned(),
    };
    let mut r = save(&input, opts);
    r.warnings.push("cns_dysfunction derived from a stroke event recorded before flow start".into());
    r
}

/// ENCOURAGE from the pre-ECMO snapshot.
pub fn encourage_pre_ecmo(view: &RunView, opts: &Options) -> ScoreResult {
    let snap = pre_ecmo_snapshot(view);
    let p = view.patient();
    let input = EncourageInput {
        age: p.age_at(view.flow_start()).map(|y| Measured::new(y, Unit::Years)),
        sex: Some(p.sex),
        bmi: p.bmi().map(|b| Measured::new(b, Unit::Dimensionless)),
        gcs: snap.get(Quantity::Gcs).cloned(),
        creatinine: snap.get(Quantity::Creatinine).cloned(),
        lactate: snap.get(Quantity::Lactate).cloned(),
        prothrombin_activity: snap.get(Quantity::ProthrombinActivity).cloned(),
    };
    encourage(&input, opts)
}

/// No-flow, low-flow and collapse-to-flow minutes (spec §12.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrestTimes {
    pub no_flow_min: Derived<f64>,
    pub low_flow_min: Derived<f64>,
    pub collapse_to_flow_min: Derived<f64>,
}

pub fn arrest_times(view: &RunView) -> ArrestTimes {
    let run = view.run();
    let a = &run.arrest;
    let t0 = run.flow_start;
    let rr = |code: &str, t: Timestamp| RawRef {
        kind: "run",
        code: code.to_string(),
        time: t,
        hours: t.hours_since(t0),
        value: 0.0,
        unit: String::new(),
        source: None,
        converted: None,
    };
    if !a.had_arrest() {
        let none = |n: &str| Derived::undefined(n, "min", "no cardiac arrest before ECMO");
        return ArrestTimes {
            no_flow_min: none("no_flow_min"),
            low_flow_min: none("low_flow_min"),
            collapse_to_flow_min: none("collapse_to_flow_min"),
        };
    }
    let no_flow = match (a.no_flow_min, a.collapse, a.cpr_start) {
        (Some(v), _, _) => Derived::ok("no_flow_min", v, "min", Vec::new()).with_note("charted directly"),
        (None, Some(c), Some(s)) => {
            Derived::ok("no_flow_min", s.minutes_since(c) as f64, "min", vec![rr("collapse", c), rr("cpr_start", s)])
        }
        _ => Derived::undefined(
            "no_flow_min",
            "min",
            "collapse or CPR start unknown (unwitnessed arrest is Unknown, never 0)",
        ),
    };
    let end = match a.rosc {
        Some(r) if r < t0 => r,
        _ => t0,
    };
    let low_flow = match (a.low_flow_min, a.cpr_start) {
        (Some(v), _) => Derived::ok("low_flow_min", v, "min", Vec::new()).with_note("charted directly"),
        (None, Some(s)) => Derived::ok(
            "low_flow_min",
            end.minutes_since(s) as f64,
            "min",
            vec![rr("cpr_start", s), rr("flow_or_rosc", end)],
        ),
        _ => Derived::undefined("low_flow_min", "min", "CPR start unknown"),
    };
    let total = match (no_flow.value, low_flow.value) {
        (Some(x), Some(y)) => {
            let mut p = no_flow.provenance.clone();
            p.extend(low_flow.provenance.clone());
            Derived::ok("collapse_to_flow_min", x + y, "min", p)
        }
        _ => Derived::undefined("collapse_to_flow_min", "min", "no-flow or low-flow unknown"),
    };
    ArrestTimes { no_flow_min: no_flow, low_flow_min: low_flow, collapse_to_flow_min: total }
}

/// End-organ dysfunction before a decision time (spec §13.4, study 4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndOrgan {
    /// Any renal replacement (CRRT or intermittent) from flow start up to the decision.
    pub rrt: Derived<bool>,
    /// Maximum bilirubin in the 48 h before the decision, mg/dL.
    pub bilirubin_max_48h: Derived<f64>,
    /// Strictly above 4.0 mg/dL.
    pub bilirubin_gt_4: Derived<bool>,
}

pub fn end_organ(view: &RunView, decision: Timestamp) -> EndOrgan {
    let t0 = view.flow_start();
    let rrt_periods: Vec<_> = view
        .supports()
        .filter(|s| {
            matches!(s.kind, SupportKind::Crrt | SupportKind::IntermittentDialysis)
                && s.start <= decision
                && s.stop.is_none_or(|e| e >= t0)
        })
        .collect();
    let rrt_prov = rrt_periods
        .iter()
        .map(|s| RawRef {
            kind: "support",
            code: s.kind.code().into(),
            time: s.start,
            hours: s.start.hours_since(t0),
            value: 1.0,
            unit: String::new(),
            source: s.source.clone(),
            converted: None,
        })
        .collect();
    let rrt = Derived::ok("rrt", !rrt_periods.is_empty(), "yes/no", rrt_prov);
    let a = decision.plus_minutes(-48 * 60);
    let bili = view
        .series(Quantity::Bilirubin)
        .filter(|o| o.time >= a && o.time <= decision)
        .max_by(|x, y| x.value.total_cmp(&y.value));
    let (bmax, bgt) = match bili {
        Some(o) => (
            Derived::ok("bilirubin_max_48h", o.value, "mg/dL", vec![RawRef::obs(o, t0)]),
            Derived::ok("bilirubin_gt_4", o.value > 4.0, "yes/no", vec![RawRef::obs(o, t0)]),
        ),
        None => (
            Derived::undefined("bilirubin_max_48h", "mg/dL", "no bilirubin in the 48 h before the decision"),
            Derived::undefined("bilirubin_gt_4", "yes/no", "no bilirubin in the 48 h before the decision"),
        ),
    };
    EndOrgan { rrt, bilirubin_max_48h: bmax, bilirubin_gt_4: bgt }
}

/// Weaning outcome, W-recannulation definition (spec §13.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeaningStatus {
    /// Decannulated and no re-institution of ECMO within 30 days.
    Weaned,
    /// ECMO re-instituted within 30 days of decannulation.
    Recannulated,
    /// Died before decannulation.
    DiedOnEcmo,
    /// Bridged to a VAD or heart transplant (not a weaning success).
    Bridged,
    /// Still on ECMO at the as-of instant.
    OnEcmo,
    /// Decannulated less than 30 days before the as-of instant.
    Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weaning {
    pub status: WeaningStatus,
    /// `Some(true)` weaned, `Some(false)` not weaned, `None` not yet determinable.
    pub success: Option<bool>,
    /// Weaned, then died within 30 days without re-cannulation (reported separately).
    pub weaned_then_died_le30d: bool,
    pub provenance: Vec<RawRef>,
}

pub fn weaning(view: &RunView) -> Weaning {
    let t0 = view.flow_start();
    let ev = |e: &ecmo_domain::Event| RawRef {
        kind: "event",
        code: e.kind.code().into(),
        time: e.time,
        hours: e.time.hours_since(t0),
        value: e.value.unwrap_or(0.0),
        unit: String::new(),
        source: e.source.clone(),
        converted: None,
    };
    let death = view.events_of(EventKind::Death).next();
    let mut prov = Vec::new();
    let Some(dec) = view.decannulation() else {
        let status = match death {
            Some(d) => {
                prov.push(ev(d));
                WeaningStatus::DiedOnEcmo
            }
            None => WeaningStatus::OnEcmo,
        };
        let success = (status == WeaningStatus::DiedOnEcmo).then_some(false);
        return Weaning { status, success, weaned_then_died_le30d: false, provenance: prov };
    };
    // Registries chart a decannulation time for patients who died on ECMO too
    // (the circuit is removed after death): a death up to an hour after the
    // recorded decannulation is a death on ECMO, never a wean.
    if let Some(d) = death.filter(|d| d.time.0 <= dec.0 + 60) {
        prov.push(ev(d));
        return Weaning {
            status: WeaningStatus::DiedOnEcmo,
            success: Some(false),
            weaned_then_died_le30d: false,
            provenance: prov,
        };
    }
    prov.push(RawRef {
        kind: "run",
        code: "decannulation".into(),
        time: dec,
        hours: dec.hours_since(t0),
        value: 0.0,
        unit: String::new(),
        source: None,
        converted: None,
    });
    let horizon = dec.plus_minutes(30 * 1440);
    let bridge = view.events().iter().find(|e| {
        matches!(e.kind, EventKind::VadImplant | EventKind::HeartTransplant) && e.time >= t0 && e.time.0 <= dec.0 + 60
    });
    if let Some(b) = bridge {
        prov.push(ev(b));
        return Weaning {
            status: WeaningStatus::Bridged,
            success: Some(false),
            weaned_then_died_le30d: false,
            provenance: prov,
        };
    }
    let recann_event = view.events_of(EventKind::Recannulation).find(|e| e.time > dec && e.time <= horizon);
    let recann_run = view.other_run_starts().find(|t| *t > dec && *t <= horizon);
    if let Some(e) = recann_event {
        prov.push(ev(e));
    }
    if let Some(t) = recann_run {
        prov.push(RawRef {
            kind: "run",
            code: "other_run_start".into(),
            time: t,
            hours: t.hours_since(t0),
            value: 0.0,
            unit: String::new(),
            source: None,
            converted: None,
        });
    }
    if recann_event.is_some() || recann_run.is_some() {
        return Weaning {
            status: WeaningStatus::Recannulated,
            success: Some(false),
            weaned_then_died_le30d: false,
            provenance: prov,
        };
    }
    let died = death.filter(|d| d.time > dec && d.time <= horizon);
    if let Some(d) = died {
        prov.push(ev(d));
    }
    if view.at() < horizon && died.is_none() {
        return Weaning {
            status: WeaningStatus::Pending,
            success: None,
            weaned_then_died_le30d: false,
            provenance: prov,
        };
    }
    Weaning {
        status: WeaningStatus::Weaned,
        success: Some(true),
        weaned_then_died_le30d: died.is_some(),
        provenance: prov,
    }
}

/// Survival from flow start: time to death or censoring, and status at a horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survival {
    pub horizon_days: f64,
    /// Days from flow start to death, or to the last time known alive.
    pub time_days: f64,
    /// Death observed (else censored at `time_days`).
    pub death: bool,
    /// Alive at the horizon: `None` when censored before it.
    pub alive_at_horizon: Option<bool>,
}

pub fn survival(view: &RunView, horizon_days: f64) -> Survival {
    let t0 = view.flow_start();
    let days = |t: Timestamp| t.minutes_since(t0) as f64 / 1440.0;
    if let Some(d) = view.events_of(EventKind::Death).next() {
        let td = days(d.time);
        return Survival { horizon_days, time_days: td, death: true, alive_at_horizon: Some(td > horizon_days) };
    }
    // Last time known alive: follow-up events, any record, decannulation.
    let mut last = t0;
    for e in view.events() {
        last = last.max(e.time);
    }
    if let Some(o) = view.observations().last() {
        last = last.max(o.time);
    }
    if let Some(d) = view.decannulation() {
        last = last.max(d);
    }
    let tl = days(last);
    Survival { horizon_days, time_days: tl, death: false, alive_at_horizon: (tl >= horizon_days).then_some(true) }
}

/// SOFA policy note for results: which unit policy was used.
pub fn policy_note(p: SofaUnitPolicy) -> &'static str {
    match p {
        SofaUnitPolicy::UnitNative => "unit-native creatinine/bilirubin bands",
        SofaUnitPolicy::ConvertToMgDl => "creatinine/bilirubin converted to mg/dL",
    }
}
