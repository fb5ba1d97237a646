//! Small helpers that turn generated values into domain records, rounding
//! them as a monitor or a lab would chart them and converting them exactly as
//! the importer does.

use ecmo_domain::{
    ChartedDose, Drug, Event, EventKind, InfusionChange, Observation, Quantity, RunRecord, Salt, SupportKind,
    SupportPeriod, Timestamp, Unit,
};
use rand::Rng;
use rand_distr::{Distribution, Normal};

pub fn normal<R: Rng>(rng: &mut R, mean: f64, sd: f64) -> f64 {
    Normal::new(mean, sd.max(1e-12)).map(|n| n.sample(rng)).unwrap_or(mean)
}

/// Normal truncated to [lo, hi] by rejection (falls back to clamping after
/// many rejections, which only happens for targets far outside the bounds).
pub fn trunc_normal<R: Rng>(rng: &mut R, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
    for _ in 0..64 {
        let x = normal(rng, mean, sd);
        if (lo..=hi).contains(&x) {
            return x;
        }
    }
    mean.clamp(lo, hi)
}

/// A skewed value with a given median and quartiles: piecewise-linear inverse
/// CDF through (0, q1 − 1.6·(med − q1)), (¼, q1), (½, med), (¾, q3), (1, q3 + 1.6·(q3 − med)).
pub fn quartiles<R: Rng>(rng: &mut R, q1: f64, med: f64, q3: f64) -> f64 {
    let knots = [q1 - 1.6 * (med - q1), q1, med, q3, q3 + 1.6 * (q3 - med)];
    let u: f64 = rng.random::<f64>() * 4.0;
    let i = (u.floor() as usize).min(3);
    let f = u - i as f64;
    knots[i] + f * (knots[i + 1] - knots[i])
}

pub fn chance<R: Rng>(rng: &mut R, p: f64) -> bool {
    rng.random::<f64>() < p
}

pub fn uniform<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + rng.random::<f64>() * (hi - lo)
}

pub fn round_to(v: f64, step: f64) -> f64 {
    let r = (v / step).round() * step;
    // Trim binary noise so the CSV shows 7.35, not 7.3500000000000005.
    (r * 1e6).round() / 1e6
}

/// Builds the records of one run.
pub struct Builder {
    pub rec: RunRecord,
}

impl Builder {
    /// The finished record: time-ordered, and where two values of one quantity
    /// fell on the same minute (a pre-ECMO gas at the first on-ECMO draw, say)
    /// only the later-charted one is kept, as a chart would show it.
    pub fn finish(mut self) -> ecmo_domain::RunRecord {
        let obs = &mut self.rec.observations;
        obs.reverse();
        // Stable sort of the reversed list puts the last-charted duplicate first.
        obs.sort_by_key(|o| (o.time, o.quantity));
        obs.dedup_by_key(|o| (o.time, o.quantity));
        self.rec.events.reverse();
        self.rec.events.sort_by_key(|e| (e.time, e.kind));
        self.rec.events.dedup_by_key(|e| (e.time, e.kind));
        self.rec.sort();
        self.rec
    }

    pub fn t(&self, hours: f64) -> Timestamp {
        self.rec.run.flow_start.plus_hours(hours)
    }

    /// Chart a point value given in the canonical unit, as this centre charts
    /// it in `unit` rounded to `step` (clamped into the usual range first, so
    /// that a tail draw never produces a value the importer would question).
    pub fn obs(&mut self, q: Quantity, hours: f64, canonical: f64, unit: Unit, step: f64) {
        let concept = q.concept();
        let conv = concept.accepted.iter().find(|(u, _)| *u == unit).map(|(_, c)| *c);
        let Some(conv) = conv else { return };
        let (lo, hi) = concept.soft;
        let entered = round_to(conv.invert(canonical.clamp(lo, hi)), step);
        if let Ok(c) = q.to_canonical(entered, Some(unit)) {
            let time = self.t(hours);
            self.rec.observations.push(Observation {
                time,
                start: None,
                quantity: q,
                value: c.canonical,
                entered_value: entered,
                entered_unit: unit,
                source: None,
            });
        }
    }

    /// Chart a volume (mL) collected over [from, to] hours.
    pub fn volume(&mut self, q: Quantity, from: f64, to: f64, ml: f64) {
        let v = ml.max(0.0).round();
        let time = self.t(to);
        let start = Some(self.t(from));
        self.rec.observations.push(Observation {
            time,
            start,
            quantity: q,
            value: v,
            entered_value: v,
            entered_unit: Unit::Ml,
            source: None,
        });
    }

    /// Chart an infusion rate (canonical units) at `hours`, as this centre charts it.
    pub fn rate(&mut self, drug: Drug, hours: f64, canonical: f64, per_minute_charting: bool) {
        let weight = self.rec.patient.weight_kg;
        // Stay within the usual range so the demo registry imports without warnings.
        let canonical = canonical.min(drug.soft_max() * 0.98);
        let (rate, unit) = match drug {
            Drug::Vasopressin => (round_to(canonical, 0.001), Unit::UnitsPerMin),
            Drug::AngiotensinII => (round_to(canonical, 1.0), Unit::NgPerKgPerMin),
            Drug::Norepinephrine | Drug::Epinephrine if per_minute_charting => {
                (round_to(canonical * weight, 0.1), Unit::McgPerMin)
            }
            Drug::Norepinephrine | Drug::Epinephrine | Drug::Milrinone | Drug::Levosimendan => {
                (round_to(canonical, 0.001), Unit::McgPerKgPerMin)
            }
            _ => (round_to(canonical, 0.1), Unit::McgPerKgPerMin),
        };
        let dose = ChartedDose { drug, rate, unit, salt: Salt::Base, concentration: None, weight_kg: Some(weight) };
        if let Ok(n) = dose.normalise() {
            let time = self.t(hours);
            // Two changes of one drug in the same minute: the later one is what ran.
            if let Some(pos) = self.rec.infusions.iter().rposition(|i| i.drug == drug && i.time == time) {
                self.rec.infusions.remove(pos);
            }
            // A repeat of the same rate is not a change; charting skips it.
            let last = self.rec.infusions.iter().rev().find(|i| i.drug == drug);
            if last.is_some_and(|l| l.entered_rate == rate) {
                return;
            }
            if last.is_none() && rate == 0.0 {
                return;
            }
            self.rec.infusions.push(InfusionChange {
                time,
                drug,
                rate: n.canonical,
                entered_rate: rate,
                entered_unit: unit,
                salt: Salt::Base,
                concentration: None,
                weight_kg: weight,
                source: None,
            });
        }
    }

    pub fn support(&mut self, kind: SupportKind, from: f64, to: Option<f64>) {
        let start = self.t(from);
        let stop = to.map(|h| self.t(h));
        self.rec.supports.push(SupportPeriod { kind, start, stop, source: None });
    }

    pub fn event(&mut self, kind: EventKind, hours: f64, value: Option<f64>, detail: Option<&str>) {
        let time = self.t(hours);
        self.rec.events.push(Event { time, kind, value, detail: detail.map(str::to_string), source: None });
    }
}
