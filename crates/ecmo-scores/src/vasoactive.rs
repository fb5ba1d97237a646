//! Vasoactive-Inotropic Score (VIS), Inotrope Score (IS) and the
//! norepinephrine-equivalent dose (NEE), spec §4–§5.
//!
//! Doses are canonical (ecmo-domain): mcg/kg/min of base for catecholamines,
//! U/min for vasopressin (VIS divides by weight: it needs U/kg/min),
//! ng/kg/min for angiotensin II.

use crate::result::{Builder, Component, Options, ScoreError, ScoreResult, VisVariant};
use ecmo_domain::{Drug, Salt, Timestamp, Unit};
use serde::Serialize;

/// One running (or charted) infusion at the instant scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoseEntry {
    pub drug: Drug,
    /// Canonical rate; `None` only for vasopressin charted per kg without a weight.
    pub rate: Option<f64>,
    /// Vasopressin charted per kg (U/kg/min), kept as charted.
    pub vaso_u_per_kg_min: Option<f64>,
    pub entered: f64,
    pub unit: Unit,
    /// The salt form the rate was charted as (norepinephrine tartrate is common);
    /// `rate` is always the base.
    pub salt: Salt,
    /// How long the infusion has run (SOFA counts only ≥ 60 min); `None` = not stated.
    pub minutes: Option<f64>,
    pub time: Option<Timestamp>,
    pub source: Option<String>,
}

impl DoseEntry {
    /// A dose already in the drug's canonical unit.
    pub fn canonical(drug: Drug, rate: f64) -> Self {
        DoseEntry {
            drug,
            rate: Some(rate),
            vaso_u_per_kg_min: None,
            entered: rate,
            salt: Salt::Base,
            unit: drug.canonical_unit(),
            minutes: None,
            time: None,
            source: None,
        }
    }

    pub fn for_minutes(mut self, minutes: f64) -> Self {
        self.minutes = Some(minutes);
        self
    }
}

/// The infusions running at one instant, and the dosing weight.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoseSet {
    pub weight_kg: Option<f64>,
    pub doses: Vec<DoseEntry>,
}

impl DoseSet {
    pub fn new(weight_kg: Option<f64>) -> Self {
        DoseSet { weight_kg, doses: Vec::new() }
    }

    pub fn with(mut self, drug: Drug, rate: f64) -> Self {
        self.doses.push(DoseEntry::canonical(drug, rate));
        self
    }

    pub fn entry(&self, drug: Drug) -> Option<&DoseEntry> {
        self.doses.iter().find(|d| d.drug == drug)
    }

    /// Canonical rate of `drug` (0 when not running).
    pub fn rate(&self, drug: Drug) -> f64 {
        self.entry(drug).and_then(|d| d.rate).unwrap_or(0.0)
    }

    pub fn running(&self, drug: Drug) -> bool {
        self.entry(drug).is_some_and(|d| d.rate.unwrap_or(0.0) > 0.0 || d.vaso_u_per_kg_min.unwrap_or(0.0) > 0.0)
    }

    /// Vasopressin in U/kg/min (VIS), if it can be known.
    pub fn vasopressin_per_kg(&self) -> Option<f64> {
        let e = self.entry(Drug::Vasopressin)?;
        if let Some(v) = e.vaso_u_per_kg_min {
            return Some(v);
        }
        let rate = e.rate?;
        if rate == 0.0 {
            return Some(0.0);
        }
        self.weight_kg.filter(|w| *w > 0.0).map(|w| rate / w)
    }

    /// Vasopressin in U/min (NEE), if it can be known.
    pub fn vasopressin_per_min(&self) -> Option<f64> {
        let e = self.entry(Drug::Vasopressin)?;
        e.rate.or_else(|| e.vaso_u_per_kg_min.zip(self.weight_kg).map(|(v, w)| v * w))
    }
}

/// VIS coefficient of a drug in a variant (`None`: not part of it).
pub fn vis_coefficient(drug: Drug, variant: VisVariant) -> Option<f64> {
    match drug {
        Drug::Dopamine | Drug::Dobutamine => Some(1.0),
        Drug::Epinephrine | Drug::Norepinephrine => Some(100.0),
        Drug::Milrinone => Some(10.0),
        Drug::Vasopressin => Some(10_000.0),
        Drug::Levosimendan => (variant == VisVariant::Koponen2019).then_some(50.0),
        Drug::Phenylephrine | Drug::AngiotensinII => None,
    }
}

/// Inotrope Score coefficient (Wernovsky 1995).
pub fn is_coefficient(drug: Drug) -> Option<f64> {
    match drug {
        Drug::Dopamine | Drug::Dobutamine => Some(1.0),
        Drug::Epinephrine => Some(100.0),
        _ => None,
    }
}

/// NEE coefficient per canonical unit (Goradia 2021); 0 for inodilators.
pub fn nee_coefficient(drug: Drug) -> f64 {
    match drug {
        Drug::Norepinephrine | Drug::Epinephrine => 1.0,
        Drug::Phenylephrine => 0.1,
        Drug::Dopamine => 0.01,
        Drug::Vasopressin => 2.5,
        // ×10 per mcg/kg/min = ×0.01 per ng/kg/min.
        Drug::AngiotensinII => 0.01,
        Drug::Dobutamine | Drug::Milrinone | Drug::Levosimendan => 0.0,
    }
}

/// Fast VIS from canonical rates indexed by `Drug as usize`, with vasopressin
/// already in U/kg/min in `vaso_per_kg` (the slot in `rates` is ignored).
pub fn vis_from_rates(rates: &[f64; 9], vaso_per_kg: f64, variant: VisVariant) -> f64 {
    let mut s = 0.0;
    for d in Drug::ALL {
        if let Some(c) = vis_coefficient(d, variant) {
            let r = if d == Drug::Vasopressin { vaso_per_kg } else { rates[d as usize] };
            s += c * r;
        }
    }
    s
}

/// Koponen 2019 VIS category.
pub fn vis_category(v: f64) -> &'static str {
    use crate::cmp::le;
    if le(v, 5.0) {
        "0-5"
    } else if le(v, 15.0) {
        ">5-15"
    } else if le(v, 30.0) {
        ">15-30"
    } else if le(v, 45.0) {
        ">30-45"
    } else {
        ">45"
    }
}

const VIS_DEF: &str = "VIS = dopamine + dobutamine + 100*epinephrine + 10*milrinone + 10000*vasopressin (U/kg/min) + 100*norepinephrine (mcg/kg/min); Koponen 2019 adds 50*levosimendan";
const VIS_POP: &str = "Gaies 2010: infants after cardiopulmonary bypass; Koponen 2019: adult cardiac surgery";

/// Vasoactive-Inotropic Score of the doses running at one instant.
pub fn vis(doses: &DoseSet, variant: VisVariant, opts: &Options) -> Result<ScoreResult, ScoreError> {
    let mut b = Builder::new("vis", VIS_DEF, VIS_POP, opts.assume_normal);
    for d in Drug::ALL {
        let Some(e) = doses.entry(d) else { continue };
        match vis_coefficient(d, variant) {
            Some(c) => {
                if d == Drug::Vasopressin {
                    match doses.vasopressin_per_kg() {
                        Some(v) => b.add(
                            Component::new(d.code(), c * v)
                                .with_value(v, "U/kg/min")
                                .note(format!("{} {} charted", e.entered, e.unit)),
                        ),
                        None => b.missing_required("weight (vasopressin in U/min needs it for U/kg/min)"),
                    }
                } else {
                    let r = e.rate.unwrap_or(0.0);
                    let mut comp = Component::new(d.code(), c * r).with_value(r, d.canonical_unit().symbol());
                    // Say how a charted salt or unit became the base rate the score uses.
                    if e.salt != Salt::Base || e.unit != d.canonical_unit() {
                        let salt = if e.salt == Salt::Base { String::new() } else { format!(" {}", e.salt.code()) };
                        comp = comp.note(format!(
                            "{} {}{salt} charted = {r:.4} {} base",
                            e.entered,
                            e.unit,
                            d.canonical_unit()
                        ));
                    }
                    b.add(comp);
                }
            }
            None => {
                if doses.running(d) {
                    b.res.excluded_agents.push(d.code().to_string());
                }
            }
        }
    }
    if opts.strict_agents && !b.res.excluded_agents.is_empty() {
        return Err(ScoreError::ExcludedAgents {
            score: "vis",
            variant: variant.code(),
            agents: b.res.excluded_agents,
        });
    }
    let mut r = b.finish();
    r.class = r.total.map(|t| vis_category(t).to_string());
    if !r.excluded_agents.is_empty() {
        r.warnings.push(format!(
            "running but not part of the {} VIS: {}",
            variant.code(),
            r.excluded_agents.join(", ")
        ));
    }
    Ok(r)
}

/// Inotrope Score (Wernovsky 1995): dopamine + dobutamine + 100·epinephrine.
pub fn inotrope_score(doses: &DoseSet, opts: &Options) -> Result<ScoreResult, ScoreError> {
    let mut b = Builder::new(
        "inotrope_score",
        "IS = dopamine + dobutamine + 100*epinephrine (mcg/kg/min)",
        "Wernovsky 1995: neonates after the arterial switch operation",
        opts.assume_normal,
    );
    for e in &doses.doses {
        match is_coefficient(e.drug) {
            Some(c) => {
                let r = e.rate.unwrap_or(0.0);
                b.add(Component::new(e.drug.code(), c * r).with_value(r, e.drug.canonical_unit().symbol()));
            }
            None if doses.running(e.drug) => b.res.excluded_agents.push(e.drug.code().to_string()),
            None => {}
        }
    }
    if opts.strict_agents && !b.res.excluded_agents.is_empty() {
        return Err(ScoreError::ExcludedAgents {
            score: "inotrope_score",
            variant: "wernovsky1995",
            agents: b.res.excluded_agents,
        });
    }
    Ok(b.finish())
}

/// Norepinephrine-equivalent dose (Goradia 2021), mcg/kg/min.
pub fn nee(doses: &DoseSet, opts: &Options) -> ScoreResult {
    let mut b = Builder::new(
        "nee",
        "NEE = NE + epinephrine + phenylephrine/10 + dopamine/100 + vasopressin (U/min)*2.5 + angiotensin II (mcg/kg/min)*10; inodilators 0",
        "Goradia 2021 scoping review (adult vasopressor equivalence)",
        opts.assume_normal,
    );
    for d in Drug::ALL {
        let Some(e) = doses.entry(d) else { continue };
        let c = nee_coefficient(d);
        if d == Drug::Vasopressin {
            match doses.vasopressin_per_min() {
                Some(v) => b.add(Component::new(d.code(), c * v).with_value(v, "U/min")),
                None => b.missing_required("weight (vasopressin charted per kg needs it for U/min)"),
            }
        } else {
            let r = e.rate.unwrap_or(0.0);
            let mut comp = Component::new(d.code(), c * r).with_value(r, d.canonical_unit().symbol());
            if c == 0.0 {
                comp = comp.note("inodilator: contributes 0 to NEE");
            }
            b.add(comp);
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1() -> DoseSet {
        DoseSet::new(Some(80.0))
            .with(Drug::Dobutamine, 5.0)
            .with(Drug::Epinephrine, 0.05)
            .with(Drug::Norepinephrine, 0.2)
            .with(Drug::Milrinone, 0.375)
            .with(Drug::Vasopressin, 0.04)
    }

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("computable");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn v1_vis() {
        let r = vis(&v1(), VisVariant::Gaies2010, &Options::default()).unwrap();
        close(r.total, 38.75);
        assert_eq!(r.class.as_deref(), Some(">30-45"));
        close(r.points_of("vasopressin"), 5.0);
    }

    #[test]
    fn v2_levosimendan_variants() {
        let d = v1().with(Drug::Levosimendan, 0.1);
        let k = vis(&d, VisVariant::Koponen2019, &Options::default()).unwrap();
        close(k.total, 43.75);
        assert!(k.excluded_agents.is_empty());
        let g = vis(&d, VisVariant::Gaies2010, &Options::default()).unwrap();
        close(g.total, 38.75);
        assert_eq!(g.excluded_agents, vec!["levosimendan"]);
        let strict = Options { strict_agents: true, ..Options::default() };
        assert!(matches!(vis(&d, VisVariant::Gaies2010, &strict), Err(ScoreError::ExcludedAgents { .. })));
    }

    #[test]
    fn v3_dopamine_only() {
        let d = DoseSet::new(Some(70.0)).with(Drug::Dopamine, 10.0);
        close(vis(&d, VisVariant::Gaies2010, &Options::default()).unwrap().total, 10.0);
        close(inotrope_score(&d, &Options::default()).unwrap().total, 10.0);
    }

    #[test]
    fn vasopressin_without_weight_is_not_computable() {
        let d = DoseSet::new(None).with(Drug::Vasopressin, 0.04);
        let r = vis(&d, VisVariant::Gaies2010, &Options::default()).unwrap();
        assert!(r.total.is_none());
        assert!(r.missing[0].contains("weight"));
    }

    #[test]
    fn nee_examples() {
        // N1
        let d = DoseSet::new(Some(80.0))
            .with(Drug::Norepinephrine, 0.2)
            .with(Drug::Epinephrine, 0.05)
            .with(Drug::Vasopressin, 0.04)
            .with(Drug::Dopamine, 5.0)
            .with(Drug::Phenylephrine, 1.0);
        close(nee(&d, &Options::default()).total, 0.5);
        // N2: angiotensin II 20 ng/kg/min
        let d = DoseSet::new(Some(80.0)).with(Drug::Norepinephrine, 0.1).with(Drug::AngiotensinII, 20.0);
        close(nee(&d, &Options::default()).total, 0.3);
        // N3: 2.4 U/h = 0.04 U/min
        let d = DoseSet::new(Some(80.0)).with(Drug::Vasopressin, 2.4 / 60.0);
        close(nee(&d, &Options::default()).total, 0.1);
        // Inodilators contribute 0.
        let d = DoseSet::new(Some(80.0)).with(Drug::Dobutamine, 10.0).with(Drug::Milrinone, 0.5);
        close(nee(&d, &Options::default()).total, 0.0);
    }

    #[test]
    fn vis_categories() {
        assert_eq!(vis_category(5.0), "0-5");
        assert_eq!(vis_category(5.01), ">5-15");
        assert_eq!(vis_category(45.0), ">30-45");
        assert_eq!(vis_category(45.1), ">45");
    }
}
