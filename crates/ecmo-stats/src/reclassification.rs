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
    for (i, (&a, &b)) in p_old.iter().zip(p_new).enumerate() {
        if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) {
            return Err(StatsError::InvalidInput(format!("row {}: predicted risks must lie in [0, 1]", i + 1)));
        }
    }
    if y.iter().any(|&v| v != 0.0 && v != 1.0) {
        return Err(StatsError::InvalidInput("outcome must be 0/1".into()));
    }
    if cutoffs.windows(2).any(|w| w[0] >= w[1]) || cutoffs.iter().any(|c| !(0.0..=1.0).contains(c)) {
        return Err(StatsError::InvalidInput("risk cut-offs must increase within [0, 1]".into()));
    }
    let events = y.iter().filter(|&&v| v == 1.0).count();
    let nonevents = y.len() - events;
    if events < 2 || nonevents < 2 {
        return Err(StatsError::NotEnoughData("need at least two events and two non-events".into()));
    }
    let (na, nb) = (events as f64, nonevents as f64);
    // one pass: reclassification counts (continuous and categorical) and Welford moments of
    // the change in predicted risk per outcome class
    let cat = |p: f64| cutoffs.partition_point(|c| *c <= p);
    let mut moves = [[0.0f64; 4]; 2]; // [continuous, categorical] x [up_ev, down_ev, up_ne, down_ne]
    let (mut mean, mut m2, mut cnt) = ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2]);
    for ((&yi, &a), &b) in y.iter().zip(p_new).zip(p_old) {
        let d = a - b;
        let ev = (yi == 1.0) as usize; // 1 = event
        let k = if ev == 1 { 0 } else { 2 };
        if d > 0.0 {
            moves[0][k] += 1.0;
        } else if d < 0.0 {
            moves[0][k + 1] += 1.0;
        }
        if !cutoffs.is_empty() {
            let (ca, cb) = (cat(a), cat(b));
            if ca > cb {
                moves[1][k] += 1.0;
            } else if ca < cb {
                moves[1][k + 1] += 1.0;
            }
        }
        cnt[ev] += 1.0;
        let delta = d - mean[ev];
        mean[ev] += delta / cnt[ev];
        m2[ev] += delta * (d - mean[ev]);
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
