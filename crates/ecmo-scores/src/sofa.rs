//! SOFA (Vincent et al. 1996), spec §6.

use crate::cmp::{ge, gt, lt};
use crate::result::{Builder, Component, Measured, Options, RespSupportDef, ScoreResult, SofaUnitPolicy};
use crate::vasoactive::DoseSet;
use ecmo_domain::{Drug, Unit};
use serde::Serialize;

/// Respiratory support at the time of a blood gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RespSupport {
    None,
    /// High-flow nasal cannula (counts in SOFA-2 only).
    Hfnc,
    /// NIV, CPAP or BiPAP.
    Niv,
    /// Invasive mechanical ventilation.
    Invasive,
}

impl RespSupport {
    pub const CODES: &'static [&'static str] = &["none", "room_air", "hfnc", "niv", "cpap", "bipap", "invasive", "mv"];

    pub fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "none" | "room_air" => RespSupport::None,
            "hfnc" => RespSupport::Hfnc,
            "niv" | "cpap" | "bipap" => RespSupport::Niv,
            "invasive" | "mv" => RespSupport::Invasive,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            RespSupport::None => "none",
            RespSupport::Hfnc => "hfnc",
            RespSupport::Niv => "niv",
            RespSupport::Invasive => "invasive",
        }
    }

    /// "With respiratory support" in SOFA-1.
    pub fn counts_sofa1(self, def: RespSupportDef) -> bool {
        match self {
            RespSupport::Invasive => true,
            RespSupport::Niv => def == RespSupportDef::InvasiveOrNiv,
            RespSupport::None | RespSupport::Hfnc => false,
        }
    }

    /// "Advanced ventilatory support" in SOFA-2 (HFNC, CPAP, NIV, invasive).
    pub fn advanced(self) -> bool {
        self != RespSupport::None
    }
}

/// One PaO2/FiO2 ratio with the support it was measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PfSample {
    /// mmHg.
    pub ratio: f64,
    pub support: Option<RespSupport>,
    pub pao2: Option<Measured>,
    pub fio2: Option<Measured>,
}

impl PfSample {
    pub fn new(ratio: f64, support: Option<RespSupport>) -> Self {
        PfSample { ratio, support, pao2: None, fio2: None }
    }

    fn component(&self, name: &str, pts: u8) -> Component {
        let mut c = Component::new(name, f64::from(pts)).with_value(self.ratio, "mmHg");
        if let Some(p) = &self.pao2 {
            c.time = p.time;
            c.source = p.source.clone();
        }
        match self.support.map(RespSupport::code) {
            None => c.note("PaO2/FiO2; respiratory support not recorded"),
            Some("none") => c.note("PaO2/FiO2 without respiratory support"),
            Some(s) => c.note(format!("PaO2/FiO2 on {s}")),
        }
    }
}

/// Inputs of SOFA-1, already the worst value of each organ for a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SofaInput {
    /// PaO2/FiO2 ratios; each is scored with its own support status and the
    /// highest score is kept (ventilated and non-ventilated scored separately).
    pub pf: Vec<PfSample>,
    pub platelets: Option<Measured>,
    pub bilirubin: Option<Measured>,
    pub map: Option<Measured>,
    pub gcs: Option<Measured>,
    pub creatinine: Option<Measured>,
    /// mL over 24 h.
    pub urine_output_24h: Option<Measured>,
    pub doses: DoseSet,
}

/// Respiration points; `None` when the ratio is < 200 and the support status is unknown.
pub fn resp_points(ratio: f64, support: Option<RespSupport>, def: RespSupportDef) -> Option<u8> {
    if ge(ratio, 400.0) {
        return Some(0);
    }
    if ge(ratio, 300.0) {
        return Some(1);
    }
    if ge(ratio, 200.0) {
        return Some(2);
    }
    let supported = support?.counts_sofa1(def);
    Some(match (supported, lt(ratio, 100.0)) {
        (false, _) => 2,
        (true, true) => 4,
        (true, false) => 3,
    })
}

pub fn coag_points(plt: f64) -> u8 {
    if lt(plt, 20.0) {
        4
    } else if lt(plt, 50.0) {
        3
    } else if lt(plt, 100.0) {
        2
    } else if lt(plt, 150.0) {
        1
    } else {
        0
    }
}

/// Liver points and the value/unit banded.
pub fn liver_points(b: &Measured, policy: SofaUnitPolicy) -> (u8, f64, Unit) {
    if policy == SofaUnitPolicy::UnitNative && b.unit == Unit::UmolPerL {
        let v = b.entered;
        let p = if gt(v, 204.0) {
            4
        } else if ge(v, 102.0) {
            3
        } else if ge(v, 33.0) {
            2
        } else if ge(v, 20.0) {
            1
        } else {
            0
        };
        return (p, v, Unit::UmolPerL);
    }
    let v = b.value;
    let p = if ge(v, 12.0) {
        4
    } else if ge(v, 6.0) {
        3
    } else if ge(v, 2.0) {
        2
    } else if ge(v, 1.2) {
        1
    } else {
        0
    };
    (p, v, Unit::MgPerDl)
}

/// Renal points from creatinine and the value/unit banded.
pub fn creatinine_points(c: &Measured, policy: SofaUnitPolicy) -> (u8, f64, Unit) {
    if policy == SofaUnitPolicy::UnitNative && c.unit == Unit::UmolPerL {
        let v = c.entered;
        let p = if gt(v, 440.0) {
            4
        } else if ge(v, 300.0) {
            3
        } else if ge(v, 171.0) {
            2
        } else if ge(v, 110.0) {
            1
        } else {
            0
        };
        return (p, v, Unit::UmolPerL);
    }
    let v = c.value;
    let p = if ge(v, 5.0) {
        4
    } else if ge(v, 3.5) {
        3
    } else if ge(v, 2.0) {
        2
    } else if ge(v, 1.2) {
        1
    } else {
        0
    };
    (p, v, Unit::MgPerDl)
}

/// Liver points of a raw value (no allocation; for the feature pass).
pub fn liver_points_raw(value: f64, entered: f64, unit: Unit, policy: SofaUnitPolicy) -> u8 {
    liver_points(&Measured { value, entered, unit, time: None, source: None }, policy).0
}

/// Creatinine points of a raw value (no allocation; for the feature pass).
pub fn creatinine_points_raw(value: f64, entered: f64, unit: Unit, policy: SofaUnitPolicy) -> u8 {
    creatinine_points(&Measured { value, entered, unit, time: None, source: None }, policy).0
}

/// Renal points from a 24 h urine output (mL).
pub fn urine_points(ml: f64) -> u8 {
    if lt(ml, 200.0) {
        4
    } else if lt(ml, 500.0) {
        3
    } else {
        0
    }
}

pub fn cns_points(gcs: f64) -> u8 {
    if lt(gcs, 6.0) {
        4
    } else if lt(gcs, 10.0) {
        3
    } else if lt(gcs, 13.0) {
        2
    } else if lt(gcs, 15.0) {
        1
    } else {
        0
    }
}

pub fn map_points(map: f64) -> u8 {
    u8::from(lt(map, 70.0))
}

/// Points of one catecholamine at a canonical rate (0 for agents SOFA-1 ignores).
pub fn drug_points(drug: Drug, rate: f64) -> u8 {
    if rate <= 0.0 {
        return 0;
    }
    match drug {
        Drug::Dopamine => {
            if gt(rate, 15.0) {
                4
            } else if gt(rate, 5.0) {
                3
            } else {
                2
            }
        }
        Drug::Dobutamine => 2,
        Drug::Epinephrine | Drug::Norepinephrine => {
            if gt(rate, 0.1) {
                4
            } else {
                3
            }
        }
        _ => 0,
    }
}

/// Cardiovascular points from drugs only, with the drug that set them.
pub fn cv_drug_points(doses: &DoseSet, min_minutes: f64) -> (u8, Option<Component>, Vec<String>) {
    let mut best: (u8, Option<Component>) = (0, None);
    let mut notes = Vec::new();
    for e in &doses.doses {
        let rate = e.rate.unwrap_or(0.0);
        if rate <= 0.0
            || !matches!(e.drug, Drug::Dopamine | Drug::Dobutamine | Drug::Epinephrine | Drug::Norepinephrine)
        {
            continue;
        }
        if e.minutes.is_some_and(|m| lt(m, min_minutes)) {
            notes.push(format!("{} not counted: infusion ran < {min_minutes} min", e.drug));
            continue;
        }
        let p = drug_points(e.drug, rate);
        if p > best.0 {
            let mut c = Component::new("cardiovascular", f64::from(p))
                .with_value(rate, e.drug.canonical_unit().symbol())
                .note(format!("{} {rate} {}", e.drug, e.drug.canonical_unit()));
            c.time = e.time;
            c.source = e.source.clone();
            best = (p, Some(c));
        }
    }
    (best.0, best.1, notes)
}

const DEF: &str = "SOFA (Vincent 1996): six organs 0-4 each on the worst value of the window; respiration 3-4 need respiratory support; vasoactives count after >= 60 min";
const POP: &str = "ICU patients with sepsis-related organ failure (Vincent 1996); used in all ICU populations";

/// SOFA-1 from the worst values of a window.
pub fn sofa(input: &SofaInput, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("sofa", DEF, POP, opts.assume_normal);
    // Respiration.
    if input.pf.is_empty() {
        if b.missing("pao2/fio2") {
            b.add(Component::new("respiration", 0.0).note("assumed normal"));
        }
    } else {
        let mut best: Option<Component> = None;
        let mut unknown_support = false;
        for s in &input.pf {
            match resp_points(s.ratio, s.support, opts.resp_support) {
                Some(p) => {
                    if best.as_ref().is_none_or(|c| f64::from(p) > c.points) {
                        best = Some(s.component("respiration", p));
                    }
                }
                None => unknown_support = true,
            }
        }
        if unknown_support && best.as_ref().is_none_or(|c| c.points < 4.0) {
            b.missing_required("respiratory_support (PaO2/FiO2 < 200)");
        } else if let Some(c) = best {
            b.add(c);
        }
    }
    // Coagulation.
    match &input.platelets {
        Some(m) => b.add(Component::new("coagulation", f64::from(coag_points(m.value))).with_measured(
            m,
            m.value,
            Unit::ThousandPerUl,
        )),
        None => {
            if b.missing("platelets") {
                b.add(Component::new("coagulation", 0.0).note("assumed normal"));
            }
        }
    }
    // Liver.
    match &input.bilirubin {
        Some(m) => {
            let (p, v, u) = liver_points(m, opts.sofa_unit_policy);
            b.add(Component::new("liver", f64::from(p)).with_measured(m, v, u));
        }
        None => {
            if b.missing("bilirubin") {
                b.add(Component::new("liver", 0.0).note("assumed normal"));
            }
        }
    }
    // Cardiovascular.
    let (dp, dc, notes) = cv_drug_points(&input.doses, opts.sofa_min_infusion_minutes);
    let cv = if dp >= 2 {
        dc
    } else {
        match &input.map {
            Some(m) => Some(Component::new("cardiovascular", f64::from(map_points(m.value))).with_measured(
                m,
                m.value,
                Unit::MmHg,
            )),
            None => b.missing("map").then(|| Component::new("cardiovascular", 0.0).note("assumed normal")),
        }
    };
    if let Some(mut c) = cv {
        if !notes.is_empty() {
            let prev = c.note.take();
            c.note = Some(prev.into_iter().chain(notes).collect::<Vec<_>>().join("; "));
        }
        b.add(c);
    }
    // CNS.
    match &input.gcs {
        Some(m) => {
            b.add(Component::new("cns", f64::from(cns_points(m.value))).with_measured(m, m.value, Unit::Dimensionless))
        }
        None => {
            if b.missing("gcs") {
                b.add(Component::new("cns", 0.0).note("assumed normal"));
            }
        }
    }
    // Renal: the larger of creatinine and urine-output points.
    let cr = input.creatinine.as_ref().map(|m| {
        let (p, v, u) = creatinine_points(m, opts.sofa_unit_policy);
        Component::new("renal", f64::from(p)).with_measured(m, v, u)
    });
    let uo = input.urine_output_24h.as_ref().map(|m| {
        Component::new("renal", f64::from(urine_points(m.value)))
            .with_measured(m, m.value, Unit::Ml)
            .note("urine output mL/24 h")
    });
    match (cr, uo) {
        (Some(a), Some(u)) => b.add(if u.points > a.points { u } else { a }),
        (Some(a), None) => b.add(a),
        (None, Some(u)) => b.add(u),
        (None, None) => {
            if b.missing("creatinine") {
                b.add(Component::new("renal", 0.0).note("assumed normal"));
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vasoactive::DoseEntry;

    fn m(v: f64, u: Unit) -> Option<Measured> {
        Some(Measured::new(v, u))
    }

    fn umol(entered: f64, factor: f64) -> Option<Measured> {
        Some(Measured::entered(entered / factor, entered, Unit::UmolPerL))
    }

    fn base() -> SofaInput {
        SofaInput {
            pf: vec![PfSample::new(450.0, Some(RespSupport::None))],
            platelets: m(200.0, Unit::ThousandPerUl),
            bilirubin: m(0.8, Unit::MgPerDl),
            map: m(80.0, Unit::MmHg),
            gcs: m(15.0, Unit::Dimensionless),
            creatinine: m(0.9, Unit::MgPerDl),
            urine_output_24h: None,
            doses: DoseSet::new(Some(80.0)),
        }
    }

    fn pts(r: &ScoreResult, organ: &str) -> u8 {
        r.points_of(organ).expect(organ) as u8
    }

    #[test]
    fn s1() {
        let i = SofaInput {
            pf: vec![PfSample::new(90.0 / 0.5, Some(RespSupport::Invasive))],
            platelets: m(85.0, Unit::ThousandPerUl),
            bilirubin: m(2.4, Unit::MgPerDl),
            map: None,
            gcs: m(9.0, Unit::Dimensionless),
            creatinine: m(2.1, Unit::MgPerDl),
            urine_output_24h: m(450.0, Unit::Ml),
            doses: DoseSet::new(Some(80.0)).with(Drug::Norepinephrine, 0.15),
        };
        let r = sofa(&i, &Options::default());
        assert_eq!(r.total, Some(17.0));
        assert_eq!(
            [
                pts(&r, "respiration"),
                pts(&r, "coagulation"),
                pts(&r, "liver"),
                pts(&r, "cardiovascular"),
                pts(&r, "cns"),
                pts(&r, "renal")
            ],
            [3, 2, 2, 4, 3, 3]
        );
    }

    #[test]
    fn s2() {
        let i = SofaInput {
            pf: vec![PfSample::new(350.0, Some(RespSupport::None))],
            platelets: m(160.0, Unit::ThousandPerUl),
            bilirubin: m(1.0, Unit::MgPerDl),
            map: m(65.0, Unit::MmHg),
            gcs: m(15.0, Unit::Dimensionless),
            creatinine: m(1.3, Unit::MgPerDl),
            urine_output_24h: None,
            doses: DoseSet::new(Some(80.0)),
        };
        assert_eq!(sofa(&i, &Options::default()).total, Some(3.0));
    }

    #[test]
    fn s3_unit_policy() {
        let i = SofaInput {
            pf: vec![PfSample::new(199.5, Some(RespSupport::Invasive))],
            platelets: m(20.0, Unit::ThousandPerUl),
            bilirubin: umol(205.0, 17.104),
            map: m(75.0, Unit::MmHg),
            gcs: m(5.0, Unit::Dimensionless),
            creatinine: umol(171.0, 88.42),
            urine_output_24h: None,
            doses: DoseSet::new(Some(80.0)).with(Drug::Dopamine, 5.0).with(Drug::Dobutamine, 3.0),
        };
        let native = sofa(&i, &Options::default());
        assert_eq!(native.total, Some(18.0));
        assert_eq!(pts(&native, "liver"), 4);
        assert_eq!(pts(&native, "renal"), 2);
        assert_eq!(pts(&native, "coagulation"), 3);
        assert_eq!(pts(&native, "cardiovascular"), 2);
        let conv = sofa(&i, &Options { sofa_unit_policy: SofaUnitPolicy::ConvertToMgDl, ..Options::default() });
        assert_eq!(conv.total, Some(16.0));
        assert_eq!(pts(&conv, "liver"), 3);
        assert_eq!(pts(&conv, "renal"), 1);
    }

    #[test]
    fn s4_support_definition() {
        let i = SofaInput {
            pf: vec![PfSample::new(79.0 / 0.52, Some(RespSupport::Niv))],
            platelets: m(147.0, Unit::ThousandPerUl),
            bilirubin: m(1.6, Unit::MgPerDl),
            map: None,
            gcs: m(13.0, Unit::Dimensionless),
            creatinine: m(1.7, Unit::MgPerDl),
            urine_output_24h: m(650.0, Unit::Ml),
            doses: DoseSet::new(Some(80.0)).with(Drug::Dopamine, 5.0),
        };
        assert_eq!(sofa(&i, &Options::default()).total, Some(9.0));
        let inv = Options { resp_support: RespSupportDef::InvasiveOnly, ..Options::default() };
        assert_eq!(sofa(&i, &inv).total, Some(8.0));
    }

    fn cv(doses: DoseSet, map: f64) -> u8 {
        let i = SofaInput { doses, map: m(map, Unit::MmHg), ..base() };
        pts(&sofa(&i, &Options::default()), "cardiovascular")
    }

    #[test]
    fn boundary_table_6_4() {
        let d = |drug, rate| DoseSet::new(Some(80.0)).with(drug, rate);
        assert_eq!(cv(d(Drug::Norepinephrine, 0.10), 80.0), 3);
        assert_eq!(cv(d(Drug::Norepinephrine, 0.1001), 80.0), 4);
        assert_eq!(cv(d(Drug::Dopamine, 5.0), 80.0), 2);
        assert_eq!(cv(d(Drug::Dopamine, 5.01), 80.0), 3);
        assert_eq!(cv(d(Drug::Dopamine, 15.0), 80.0), 3);
        assert_eq!(cv(d(Drug::Dopamine, 15.01), 80.0), 4);
        let mut short = DoseSet::new(Some(80.0));
        short.doses.push(DoseEntry::canonical(Drug::Epinephrine, 0.02).for_minutes(30.0));
        assert_eq!(cv(short, 75.0), 0);
        assert_eq!(cv(d(Drug::Vasopressin, 0.04), 68.0), 1);
        assert_eq!(cv(d(Drug::Vasopressin, 0.04), 70.0), 0);
        assert_eq!(cv(DoseSet::new(Some(80.0)), 69.67), 1);
        // Through a conversion: 8 mcg/min ÷ 80 kg = 0.1 → 3, not 4.
        assert_eq!(cv(d(Drug::Norepinephrine, 8.0 / 80.0), 80.0), 3);
        assert_eq!(cv(d(Drug::Norepinephrine, 0.3 / 3.0), 80.0), 3);

        let support = Some(RespSupport::None);
        assert_eq!(resp_points(99.9, support, RespSupportDef::InvasiveOrNiv), Some(2));
        assert_eq!(resp_points(400.0, support, RespSupportDef::InvasiveOrNiv), Some(0));
        assert_eq!(resp_points(399.9, support, RespSupportDef::InvasiveOrNiv), Some(1));
        assert_eq!(resp_points(300.0, support, RespSupportDef::InvasiveOrNiv), Some(1));
        assert_eq!(resp_points(299.9, support, RespSupportDef::InvasiveOrNiv), Some(2));
        assert_eq!(resp_points(100.0, Some(RespSupport::Invasive), RespSupportDef::InvasiveOrNiv), Some(3));
        assert_eq!(resp_points(99.9, Some(RespSupport::Invasive), RespSupportDef::InvasiveOrNiv), Some(4));
        assert_eq!(resp_points(150.0, Some(RespSupport::Hfnc), RespSupportDef::InvasiveOrNiv), Some(2));
        assert_eq!(resp_points(150.0, None, RespSupportDef::InvasiveOrNiv), None);

        assert_eq!(cns_points(13.0), 1);
        assert_eq!(cns_points(9.0), 3);
        assert_eq!(cns_points(6.0), 3);
        assert_eq!(cns_points(5.0), 4);
        assert_eq!(cns_points(15.0), 0);
        assert_eq!(cns_points(10.0), 2);
        let i = SofaInput { creatinine: m(1.19, Unit::MgPerDl), urine_output_24h: m(199.0, Unit::Ml), ..base() };
        assert_eq!(pts(&sofa(&i, &Options::default()), "renal"), 4);
        let i = SofaInput { creatinine: m(1.19, Unit::MgPerDl), urine_output_24h: m(200.0, Unit::Ml), ..base() };
        assert_eq!(pts(&sofa(&i, &Options::default()), "renal"), 3);
        let i = SofaInput { creatinine: m(1.19, Unit::MgPerDl), urine_output_24h: m(500.0, Unit::Ml), ..base() };
        assert_eq!(pts(&sofa(&i, &Options::default()), "renal"), 0);
    }

    #[test]
    fn lab_thresholds_below_at_above() {
        let mg = |v| Measured::new(v, Unit::MgPerDl);
        let p = SofaUnitPolicy::UnitNative;
        for (v, e) in [(1.19, 0), (1.2, 1), (1.99, 1), (2.0, 2), (5.99, 2), (6.0, 3), (11.99, 3), (12.0, 4)] {
            assert_eq!(liver_points(&mg(v), p).0, e, "bili {v}");
        }
        for (v, e) in [(1.19, 0), (1.2, 1), (2.0, 2), (3.49, 2), (3.5, 3), (4.99, 3), (5.0, 4)] {
            assert_eq!(creatinine_points(&mg(v), p).0, e, "creat {v}");
        }
        let um = |v| Measured::entered(v / 88.42, v, Unit::UmolPerL);
        for (v, e) in [(109.0, 0), (110.0, 1), (171.0, 2), (299.0, 2), (300.0, 3), (440.0, 3), (441.0, 4)] {
            assert_eq!(creatinine_points(&um(v), p).0, e, "creat {v} umol");
        }
        let ub = |v| Measured::entered(v / 17.104, v, Unit::UmolPerL);
        for (v, e) in [(19.9, 0), (20.0, 1), (33.0, 2), (102.0, 3), (204.0, 3), (204.1, 4)] {
            assert_eq!(liver_points(&ub(v), p).0, e, "bili {v} umol");
        }
        for (v, e) in [(150.0, 0), (149.9, 1), (100.0, 1), (99.9, 2), (50.0, 2), (49.9, 3), (20.0, 3), (19.9, 4)] {
            assert_eq!(coag_points(v), e, "plt {v}");
        }
    }

    #[test]
    fn missing_items_are_named_or_assumed() {
        let i = SofaInput { gcs: None, bilirubin: None, ..base() };
        let r = sofa(&i, &Options::default());
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["bilirubin", "gcs"]);
        let r = sofa(&i, &Options { assume_normal: true, ..Options::default() });
        assert_eq!(r.total, Some(0.0));
        assert_eq!(r.assumed, vec!["bilirubin", "gcs"]);
        // Drugs scoring >= 2 make MAP unnecessary.
        let i = SofaInput { map: None, doses: DoseSet::new(Some(80.0)).with(Drug::Dobutamine, 5.0), ..base() };
        assert_eq!(sofa(&i, &Options::default()).total, Some(2.0));
        let i = SofaInput { map: None, ..base() };
        assert_eq!(sofa(&i, &Options::default()).missing, vec!["map"]);
    }

    #[test]
    fn ventilated_and_unventilated_scored_separately() {
        let i = SofaInput {
            pf: vec![PfSample::new(68.0, Some(RespSupport::None)), PfSample::new(120.0, Some(RespSupport::Invasive))],
            ..base()
        };
        assert_eq!(pts(&sofa(&i, &Options::default()), "respiration"), 3);
    }
}
