//! Added value of a new model over an old one: net reclassification improvement (NRI,
//! continuous / category-free and categorical) and integrated discrimination improvement
//! (IDI), with the asymptotic SEs of Pencina et al. (2008, 2011) exactly as
//! `Hmisc::improveProb` computes them, Wald CIs and two-sided p-values.
//!
//! * events (y = 1, `na`), non-events (`nb`); `d = p_new - p_old` (continuous) or the change of
//!   risk category (categorical: category = number of cut-offs <= p, as `findInterval`);
//! * NRI = (up_ev - down_ev)/na - (up_ne - down_ne)/nb;
//!   Var = (up_ev + down_ev)/na^2 - (up_ev - down_ev)^2/na^3 + the same for non-events;
//! * IDI = mean(d | event) - mean(d | non-event); Var = var(d|ev)/na + var(d|ne)/nb.

use crate::dist::{p_two_sided_normal, qnorm};
use crate::error::{Result, StatsError};
use serde::Serialize;

/// An estimate with SE, Wald CI, z and two-sided p.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WaldEstimate {
    /// Estimate.
    pub estimate: f64,
    /// Standard error.
    pub se: f64,
    /// CI lower limit (estimate - z se).
    pub ci_low: f64,
    /// CI upper limit.
    pub ci_high: f64,
    /// z = estimate / se.
    pub z: f64,
    /// Two-sided p.
    pub p: f64,
}

impl WaldEstimate {
    /// From an estimate and its SE.
    pub fn new(estimate: f64, se: f64, level: f64) -> WaldEstimate {
        let q = qnorm(1.0 - (1.0 - level) / 2.0);
        let z = estimate / se;
        WaldEstimate {
            estimate,
            se,
            ci_low: estimate - q * se,
            ci_high: estimate + q * se,
            z,
            p: p_two_sided_normal(z),
        }
    }
}

/// A net reclassification improvement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nri {
    /// Proportion of events moved up.
    pub up_events: f64,
    /// Proportion of events moved down.
    pub down_events: f64,
    /// Proportion of non-events moved up.
    pub up_nonevents: f64,
    /// Proportion of non-events moved down.
    pub down_nonevents: f64,
    /// Event NRI (up - down among events).
    pub events: WaldEstimate,
    /// Non-event NRI (down - up among non-events).
    pub nonevents: WaldEstimate,
    /// Total NRI.
    pub nri: WaldEstimate,
}

/// NRI and IDI of a new model against an old one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reclassification {
    /// Observations.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Non-events.
    pub nonevents: usize,
    /// Confidence level of the CIs.
    pub level: f64,
    /// Category-free (continuous) NRI.
    pub nri_continuous: Nri,
    /// Categorical NRI (when cut-offs are given).
    pub nri_categorical: Option<Nri>,
    /// Risk cut-offs used for the categorical NRI.
    pub cutoffs: Vec<f64>,
    /// IDI.
    pub idi: WaldEstimate,
    /// Mean change of the predicted risk among events (Hmisc improveSens).
    pub mean_change_events: f64,
    /// Minus the mean change among non-events (Hmisc improveSpec).
    pub mean_change_nonevents: f64,
}

/// NRI from the counts `[up_ev, down_ev, up_ne, down_ne]`.
fn nri_from(m: &[f64; 4], na: f64, nb: f64, level: f64) -> Nri {
    let [uev, dev, une, dne] = *m;
    let v_ev = (uev + dev) / (na * na) - (uev - dev).powi(2) / (na * na * na);
    let v_ne = (dne + une) / (nb * nb) - (dne - une).powi(2) / (nb * nb * nb);
    let nri_ev = (uev - dev) / na;
    let nri_ne = (dne - une) / nb;
    Nri {
        up_events: uev / na,
        down_events: dev / na,
        up_nonevents: une / nb,
        down_nonevents: dne / nb,
        events: WaldEstimate::new(nri_ev, v_ev.sqrt(), level),
        nonevents: WaldEstimate::new(nri_ne, v_ne.sqrt(), level),
        nri: WaldEstimate::new(nri_ev + nri_ne, (v_ev + v_ne).sqrt(), level),
    }
}

/// Per outcome class (index 0 non-events, 1 events): rows, upward and downward moves of the
/// predicted risk, and the sum of its change.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    count: [f64; 2],
    up: [f64; 2],
    down: [f64; 2],
    sum: [f64; 2],
    /// Rows with a risk outside [0, 1] or an outcome other than 0/1.
    invalid: f64,
}

/// Independent accumulators per quantity, so the loops vectorise; counts of 0/1 in `f64` are
/// exact up to 2^53 rows.
const LANES: usize = 4;

impl Moments {
    fn add(self, o: &Moments) -> Moments {
        let add = |a: [f64; 2], b: [f64; 2]| [a[0] + b[0], a[1] + b[1]];
        Moments {
            count: add(self.count, o.count),
            up: add(self.up, o.up),
            down: add(self.down, o.down),
            sum: add(self.sum, o.sum),
            invalid: self.invalid + o.invalid,
        }
    }

    fn first_pass(y: &[f64], p_new: &[f64], p_old: &[f64]) -> Moments {
        // `e` is 0 or 1, so `v - v * e` is exactly the non-event share of `v`
        let risk = |p: f64| (0.0..=1.0).contains(&p);
        let [events, up_ev, down_ev, up, down, sum_ev, sum_ne, invalid] = lane_sums(y.len(), |i| {
            let (e, a, b) = (y[i], p_new[i], p_old[i]);
            let d = a - b;
            let (u, w) = ((d > 0.0) as u8 as f64, (d < 0.0) as u8 as f64);
            let bad = !(risk(a) & risk(b) & ((e == 0.0) | (e == 1.0)));
            [e, u * e, w * e, u, w, d * e, d - d * e, bad as u8 as f64]
        });
        Moments {
            count: [y.len() as f64 - events, events],
            up: [up - up_ev, up_ev],
            down: [down - down_ev, down_ev],
            sum: [sum_ne, sum_ev],
            invalid,
        }
    }

    /// Sums of squared deviations of the change from its class mean.
    fn squares(y: &[f64], p_new: &[f64], p_old: &[f64], mean: [f64; 2]) -> [f64; 2] {
        let [ne, ev] = lane_sums(y.len(), |i| {
            let e = y[i];
            let d = p_new[i] - p_old[i] - (mean[1] * e + mean[0] * (1.0 - e));
            let q = d * d;
            [q - q * e, q * e]
        });
        [ne, ev]
    }
}

/// Column sums of `row(i)` for `i` in `0..n`, with `LANES` independent accumulators per
/// quantity so the loop vectorises.
#[inline(always)]
fn lane_sums<const Q: usize>(n: usize, row: impl Fn(usize) -> [f64; Q]) -> [f64; Q] {
    let mut acc = [[0.0f64; LANES]; Q];
    let full = n / LANES * LANES;
    for i in (0..full).step_by(LANES) {
        for l in 0..LANES {
            for (a, v) in acc.iter_mut().zip(row(i + l)) {
                a[l] += v;
            }
        }
    }
    for i in full..n {
        for (a, v) in acc.iter_mut().zip(row(i)) {
            a[0] += v;
        }
    }
    acc.map(|a| a.iter().sum())
}

/// `f` on the two halves of `0..n` on two threads for large `n`, else on the whole.
fn halves<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    if n < 200_000 {
        return vec![f(0..n)];
    }
    // Two halves whether or not they run on two threads (par_map keeps them on one inside
    // a worker), so the sums are added in the same order either way.
    crate::linalg::par_map(vec![0..n / 2, n / 2..n], true, f)
}

/// NRI (continuous and, with `cutoffs`, categorical) and IDI of `p_new` over `p_old`.
pub fn reclassification(
    y: &[f64],
    p_old: &[f64],
    p_new: &[f64],
    cutoffs: &[f64],
    level: f64,
) -> Result<Reclassification> {
    if y.len() != p_old.len() || y.len() != p_new.len() {
        return Err(StatsError::DimensionMismatch("outcome and predictions differ in length".into()));
    }
    if cutoffs.windows(2).any(|w| w[0] >= w[1]) || cutoffs.iter().any(|c| !(0.0..=1.0).contains(c)) {
        return Err(StatsError::InvalidInput("risk cut-offs must increase within [0, 1]".into()));
    }
    // first pass: counts of moves and sums of the change d = p_new - p_old per outcome class,
    // and whether any input is out of range; second pass: sums of squares about the class
    // means (two passes as R's var)
    let first = halves(y.len(), |r| Moments::first_pass(&y[r.clone()], &p_new[r.clone()], &p_old[r]));
    let m = first.iter().fold(Moments::default(), |acc, x| acc.add(x));
    if m.invalid > 0.0 {
        let risk = |p: &f64| (0.0..=1.0).contains(p);
        if let Some(i) = p_old.iter().zip(p_new).position(|(a, b)| !risk(a) || !risk(b)) {
            return Err(StatsError::InvalidInput(format!("row {}: predicted risks must lie in [0, 1]", i + 1)));
        }
        return Err(StatsError::InvalidInput("outcome must be 0/1".into()));
    }
    let (na, nb) = (m.count[1], m.count[0]);
    let (events, nonevents) = (na as usize, nb as usize);
    if events < 2 || nonevents < 2 {
        return Err(StatsError::NotEnoughData("need at least two events and two non-events".into()));
    }
    let mean = [m.sum[0] / nb, m.sum[1] / na];
    let second = halves(y.len(), |r| Moments::squares(&y[r.clone()], &p_new[r.clone()], &p_old[r], mean));
    let m2 = second.iter().fold([0.0; 2], |acc, s| [acc[0] + s[0], acc[1] + s[1]]);
    let mut moves = [[m.up[1], m.down[1], m.up[0], m.down[0]], [0.0; 4]];
    if !cutoffs.is_empty() {
        // categorical moves (category = number of cut-offs <= p, as findInterval)
        let cat = |p: f64| cutoffs.partition_point(|c| *c <= p);
        for ((&yi, &a), &b) in y.iter().zip(p_new).zip(p_old) {
            let k = if yi == 1.0 { 0 } else { 2 };
            let (ca, cb) = (cat(a), cat(b));
            if ca > cb {
                moves[1][k] += 1.0;
            } else if ca < cb {
                moves[1][k + 1] += 1.0;
            }
        }
    }
    let nri_continuous = nri_from(&moves[0], na, nb, level);
    let nri_categorical = (!cutoffs.is_empty()).then(|| nri_from(&moves[1], na, nb, level));
    let (m_ev, m_ne) = (mean[1], mean[0]);
    let se_idi = (m2[1] / (na - 1.0) / na + m2[0] / (nb - 1.0) / nb).sqrt();
    Ok(Reclassification {
        n: y.len(),
        events,
        nonevents,
        level,
        nri_continuous,
        nri_categorical,
        cutoffs: cutoffs.to_vec(),
        idi: WaldEstimate::new(m_ev - m_ne, se_idi, level),
        mean_change_events: m_ev,
        mean_change_nonevents: -m_ne,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_models_improve_nothing() {
        let y = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let p = [0.1, 0.7, 0.3, 0.6, 0.8, 0.2];
        let r = reclassification(&y, &p, &p, &[0.5], 0.95).unwrap();
        assert_eq!(r.nri_continuous.nri.estimate, 0.0);
        assert_eq!(r.idi.estimate, 0.0);
        assert_eq!(r.nri_categorical.unwrap().nri.estimate, 0.0);
    }

    #[test]
    fn rejects_risks_outside_unit_interval() {
        assert!(reclassification(&[0.0, 1.0], &[0.1, 1.2], &[0.1, 0.2], &[], 0.95).is_err());
    }
}
