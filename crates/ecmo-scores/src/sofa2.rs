//! SOFA-2 (Ranzani et al., JAMA 2025), spec §7.

use crate::cmp::{ge, gt, le, lt};
use crate::result::{Builder, Component, Measured, Options, ScoreResult, SofaUnitPolicy};
use crate::sofa::{PfSample, RespSupport};
use crate::vasoactive::DoseSet;
use ecmo_domain::{Drug, Unit};
use serde::Serialize;

/// ECMO configuration for SOFA-2 footnote i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EcmoSupport {
    None,
    /// Veno-venous (respiratory indication): respiratory 4, not cardiovascular.
    Vv,
    /// Veno-arterial (cardiovascular indication): respiratory 4 and cardiovascular 4.
    Va,
}

/// Inputs of SOFA-2, the worst values of a 24 h period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sofa2Input {
    pub gcs: Option<Measured>,
    /// Best motor response 1–6, used only without a total GCS.
    pub gcs_motor: Option<Measured>,
    /// Receiving drug therapy for delirium.
    pub delirium_drugs: bool,
    pub pf: Vec<PfSample>,
    /// SpO2 (%) and FiO2 for SpO2/FiO2, used only without PaO2 and with SpO2 < 98 %.
    pub spo2: Option<Measured>,
    pub spo2_fio2: Option<Measured>,
    pub spo2_support: Option<RespSupport>,
    /// Advanced support unavailable or limited by a ceiling of treatment.
    pub support_limited: bool,
    pub ecmo: EcmoSupport,
    /// IABP, LVAD or microaxial flow pump (VA-ECMO is `ecmo = Va`).
    pub other_mcs: bool,
    pub map: Option<Measured>,
    pub doses: DoseSet,
    /// Vasoactives unavailable or limited by a ceiling of care (MAP-only scoring).
    pub vasoactives_limited: bool,
    pub bilirubin: Option<Measured>,
    pub creatinine: Option<Measured>,
    /// Receiving renal replacement (not for non-renal reasons only).
    pub rrt: bool,
    /// Hours with urine output < 0.5 mL/kg/h, < 0.3 mL/kg/h, and of anuria.
    pub uo_lt_0_5_hours: Option<f64>,
    pub uo_lt_0_3_hours: Option<f64>,
    pub anuria_hours: Option<f64>,
    pub potassium: Option<Measured>,
    pub ph: Option<Measured>,
    pub bicarbonate: Option<Measured>,
    pub platelets: Option<Measured>,
}

impl Default for Sofa2Input {
    fn default() -> Self {
        Sofa2Input {
            gcs: None,
            gcs_motor: None,
            delirium_drugs: false,
            pf: Vec::new(),
            spo2: None,
            spo2_fio2: None,
            spo2_support: None,
            support_limited: false,
            ecmo: EcmoSupport::None,
            other_mcs: false,
            map: None,
            doses: DoseSet::default(),
            vasoactives_limited: false,
            bilirubin: None,
            creatinine: None,
            rrt: false,
            uo_lt_0_5_hours: None,
            uo_lt_0_3_hours: None,
            anuria_hours: None,
            potassium: None,
            ph: None,
            bicarbonate: None,
            platelets: None,
        }
    }
}

pub fn brain_points_gcs(gcs: f64) -> u8 {
    if le(gcs, 5.0) {
        4
    } else if le(gcs, 8.0) {
        3
    } else if le(gcs, 12.0) {
        2
    } else if le(gcs, 14.0) {
        1
    } else {
        0
    }
}

pub fn brain_points_motor(m: f64) -> u8 {
    if le(m, 2.0) {
        4
    } else if le(m, 3.0) {
        3
    } else if le(m, 4.0) {
        2
    } else if le(m, 5.0) {
        1
    } else {
        0
    }
}

/// Respiratory points from a PaO2/FiO2 ratio; support unknown gives `None` when it matters.
pub fn pf_points(ratio: f64, support: Option<RespSupport>, limited: bool) -> Option<u8> {
    let by_ratio = if le(ratio, 75.0) {
        4
    } else if le(ratio, 150.0) {
        3
    } else if le(ratio, 225.0) {
        2
    } else if le(ratio, 300.0) {
        1
    } else {
        0
    };
    cap_without_support(by_ratio, support, limited)
}

pub fn sf_points(ratio: f64, support: Option<RespSupport>, limited: bool) -> Option<u8> {
    let by_ratio = if le(ratio, 120.0) {
        4
    } else if le(ratio, 200.0) {
        3
    } else if le(ratio, 250.0) {
        2
    } else if le(ratio, 300.0) {
        1
    } else {
        0
    };
    cap_without_support(by_ratio, support, limited)
}

fn cap_without_support(p: u8, support: Option<RespSupport>, limited: bool) -> Option<u8> {
    if p <= 2 || limited {
        return Some(p);
    }
    Some(if support?.advanced() { p } else { 2 })
}

pub fn liver_points(b: &Measured, policy: SofaUnitPolicy) -> (u8, f64, Unit) {
    let (v, u, t) = if policy == SofaUnitPolicy::UnitNative && b.unit == Unit::UmolPerL {
        (b.entered, Unit::UmolPerL, [20.6, 51.3, 102.6, 205.0])
    } else {
        (b.value, Unit::MgPerDl, [1.2, 3.0, 6.0, 12.0])
    };
    let p = if le(v, t[0]) {
        0
    } else if le(v, t[1]) {
        1
    } else if le(v, t[2]) {
        2
    } else if le(v, t[3]) {
        3
    } else {
        4
    };
    (p, v, u)
}

pub fn creatinine_points(c: &Measured, policy: SofaUnitPolicy) -> (u8, f64, Unit) {
    let (v, u, t) = if policy == SofaUnitPolicy::UnitNative && c.unit == Unit::UmolPerL {
        (c.entered, Unit::UmolPerL, [110.0, 170.0, 300.0])
    } else {
        (c.value, Unit::MgPerDl, [1.2, 2.0, 3.5])
    };
    let p = if le(v, t[0]) {
        0
    } else if le(v, t[1]) {
        1
    } else if le(v, t[2]) {
        2
    } else {
        3
    };
    (p, v, u)
}

pub fn hemostasis_points(plt: f64) -> u8 {
    if le(plt, 50.0) {
        4
    } else if le(plt, 80.0) {
        3
    } else if le(plt, 100.0) {
        2
    } else if le(plt, 150.0) {
        1
    } else {
        0
    }
}

pub fn map_only_points(map: f64) -> u8 {
    if lt(map, 40.0) {
        4
    } else if lt(map, 50.0) {
        3
    } else if lt(map, 60.0) {
        2
    } else if lt(map, 70.0) {
        1
    } else {
        0
    }
}

/// Cardiovascular points from drugs (footnotes j–l); `None` when no agent counts.
pub fn cv_drug_points(doses: &DoseSet, min_minutes: f64) -> Option<(u8, String)> {
    let counted = |e: &&crate::vasoactive::DoseEntry| {
        (e.rate.unwrap_or(0.0) > 0.0 || e.vaso_u_per_kg_min.unwrap_or(0.0) > 0.0)
            && !e.minutes.is_some_and(|m| lt(m, min_minutes))
    };
    let running: Vec<_> = doses.doses.iter().filter(counted).collect();
    if running.is_empty() {
        return None;
    }
    let ne_epi: f64 = running
        .iter()
        .filter(|e| matches!(e.drug, Drug::Norepinephrine | Drug::Epinephrine))
        .map(|e| e.rate.unwrap_or(0.0))
        .sum();
    let others: Vec<Drug> = running
        .iter()
        .filter(|e| !matches!(e.drug, Drug::Norepinephrine | Drug::Epinephrine))
        .map(|e| e.drug)
        .collect();
    let other = !others.is_empty();
    if ne_epi <= 0.0 && others == [Drug::Dopamine] {
        let d = doses.rate(Drug::Dopamine);
        let p = if le(d, 20.0) {
            2
        } else if le(d, 40.0) {
            3
        } else {
            4
        };
        return Some((p, format!("dopamine {d} mcg/kg/min as single agent")));
    }
    let p = if ne_epi <= 0.0 {
        2
    } else if gt(ne_epi, 0.4) {
        4
    } else if gt(ne_epi, 0.2) {
        if other { 4 } else { 3 }
    } else if other {
        3
    } else {
        2
    };
    let mut note = format!("NE+epinephrine {ne_epi} mcg/kg/min");
    if other {
        note.push_str(&format!(" with {}", others.iter().map(|d| d.code()).collect::<Vec<_>>().join(", ")));
    }
    Some((p, note))
}

/// Kidney points from urine-output durations.
pub fn urine_points(lt05: Option<f64>, lt03: Option<f64>, anuria: Option<f64>) -> u8 {
    if anuria.is_some_and(|h| ge(h, 12.0)) || lt03.is_some_and(|h| ge(h, 24.0)) {
        3
    } else if lt05.is_some_and(|h| ge(h, 12.0)) {
        2
    } else if lt05.is_some_and(|h| ge(h, 6.0)) {
        1
    } else {
        0
    }
}

const DEF: &str = "SOFA-2 (Ranzani 2025): brain, respiratory, cardiovascular, liver, kidney, hemostasis 0-4 each on the worst value of 24 h; mechanical circulatory support scores cardiovascular 4; VA-ECMO scores respiratory 4 and cardiovascular 4";
const POP: &str = "Adult ICU patients, multinational derivation and validation cohorts (Ranzani 2025)";

pub fn sofa2(input: &Sofa2Input, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("sofa2", DEF, POP, opts.assume_normal);
    // Brain.
    let brain = match (&input.gcs, &input.gcs_motor) {
        (Some(g), _) => Some(Component::new("brain", f64::from(brain_points_gcs(g.value))).with_measured(
            g,
            g.value,
            Unit::Dimensionless,
        )),
        (None, Some(m)) => Some(
            Component::new("brain", f64::from(brain_points_motor(m.value)))
                .with_measured(m, m.value, Unit::Dimensionless)
                .note("best motor response (total GCS unavailable)"),
        ),
        (None, None) => b.missing("gcs").then(|| Component::new("brain", 0.0).note("assumed normal")),
    };
    if let Some(mut c) = brain {
        if input.delirium_drugs && c.points < 1.0 {
            c.points = 1.0;
            c.note = Some("drug therapy for delirium".into());
        }
        b.add(c);
    }
    // Respiratory.
    if input.ecmo != EcmoSupport::None {
        b.add(Component::new("respiratory", 4.0).note(format!("ECMO ({:?})", input.ecmo)));
    } else if !input.pf.is_empty() {
        let mut best: Option<Component> = None;
        let mut unknown = false;
        for s in &input.pf {
            match pf_points(s.ratio, s.support, input.support_limited) {
                Some(p) if best.as_ref().is_none_or(|c| f64::from(p) > c.points) => {
                    let mut c = Component::new("respiratory", f64::from(p)).with_value(s.ratio, "mmHg");
                    c.note = Some(format!("PaO2/FiO2 on {} support", s.support.map_or("unknown", RespSupport::code)));
                    if let Some(pa) = &s.pao2 {
                        c.time = pa.time;
                        c.source = pa.source.clone();
                    }
                    best = Some(c);
                }
                Some(_) => {}
                None => unknown = true,
            }
        }
        if unknown && best.as_ref().is_none_or(|c| c.points < 4.0) {
            b.missing_required("respiratory_support (PaO2/FiO2 <= 150)");
        } else if let Some(c) = best {
            b.add(c);
        }
    } else if let (Some(s), Some(f)) = (&input.spo2, &input.spo2_fio2) {
        if lt(s.value, 98.0) {
            let ratio = s.value / f.value;
            match sf_points(ratio, input.spo2_support, input.support_limited) {
                Some(p) => b.add(
                    Component::new("respiratory", f64::from(p))
                        .with_measured(s, ratio, Unit::Dimensionless)
                        .note("SpO2/FiO2"),
                ),
                None => b.missing_required("respiratory_support (SpO2/FiO2 <= 200)"),
            }
        } else if b.missing("pao2/fio2 (SpO2 >= 98 % cannot be used)") {
            b.add(Component::new("respiratory", 0.0).note("assumed normal"));
        }
    } else if b.missing("pao2/fio2") {
        b.add(Component::new("respiratory", 0.0).note("assumed normal"));
    }
    // Cardiovascular.
    if input.ecmo == EcmoSupport::Va || input.other_mcs {
        b.add(Component::new("cardiovascular", 4.0).note("mechanical circulatory support"));
    } else if input.vasoactives_limited {
        match &input.map {
            Some(m) => b.add(
                Component::new("cardiovascular", f64::from(map_only_points(m.value)))
                    .with_measured(m, m.value, Unit::MmHg)
                    .note("MAP-only scoring (vasoactives limited)"),
            ),
            None => {
                if b.missing("map") {
                    b.add(Component::new("cardiovascular", 0.0).note("assumed normal"));
                }
            }
        }
    } else if let Some((p, note)) = cv_drug_points(&input.doses, opts.sofa_min_infusion_minutes) {
        b.add(Component::new("cardiovascular", f64::from(p)).note(note));
    } else {
        match &input.map {
            Some(m) => b.add(Component::new("cardiovascular", f64::from(u8::from(lt(m.value, 70.0)))).with_measured(
                m,
                m.value,
                Unit::MmHg,
            )),
            None => {
                if b.missing("map") {
                    b.add(Component::new("cardiovascular", 0.0).note("assumed normal"));
                }
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
    // Kidney.
    if input.rrt {
        b.add(Component::new("kidney", 4.0).note("receiving renal replacement therapy"));
    } else {
        let uo = urine_points(input.uo_lt_0_5_hours, input.uo_lt_0_3_hours, input.anuria_hours);
        let creat_high = input.creatinine.as_ref().is_some_and(|c| gt(c.value, 1.2));
        let oliguric = input.uo_lt_0_3_hours.is_some_and(|h| gt(h, 6.0));
        let metabolic = input.potassium.as_ref().is_some_and(|k| ge(k.value, 6.0))
            || (input.ph.as_ref().is_some_and(|p| le(p.value, 7.20))
                && input.bicarbonate.as_ref().is_some_and(|h| le(h.value, 12.0)));
        if (creat_high || oliguric) && metabolic {
            b.add(Component::new("kidney", 4.0).note("meets RRT criteria"));
        } else {
            let cr = input.creatinine.as_ref().map(|m| {
                let (p, v, u) = creatinine_points(m, opts.sofa_unit_policy);
                Component::new("kidney", f64::from(p)).with_measured(m, v, u)
            });
            let have_uo =
                input.uo_lt_0_5_hours.is_some() || input.uo_lt_0_3_hours.is_some() || input.anuria_hours.is_some();
            match cr {
                Some(c) if c.points >= f64::from(uo) => b.add(c),
                _ if have_uo => b.add(Component::new("kidney", f64::from(uo)).note("urine output criteria")),
                Some(c) => b.add(c),
                None => {
                    if b.missing("creatinine") {
                        b.add(Component::new("kidney", 0.0).note("assumed normal"));
                    }
                }
            }
        }
    }
    // Hemostasis.
    match &input.platelets {
        Some(m) => b.add(Component::new("hemostasis", f64::from(hemostasis_points(m.value))).with_measured(
            m,
            m.value,
            Unit::ThousandPerUl,
        )),
        None => {
            if b.missing("platelets") {
                b.add(Component::new("hemostasis", 0.0).note("assumed normal"));
            }
        }
    }
    let mut r = b.finish();
    if input.ecmo == EcmoSupport::Va {
        r.warnings.push(
            "VA-ECMO scores cardiovascular 4 and respiratory 4: SOFA-2 discriminates only through brain, liver, kidney and hemostasis"
                .into(),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64, u: Unit) -> Option<Measured> {
        Some(Measured::new(v, u))
    }

    fn pts(r: &ScoreResult, name: &str) -> u8 {
        r.points_of(name).expect(name) as u8
    }

    #[test]
    fn t1_va_ecmo() {
        let i = Sofa2Input {
            ecmo: EcmoSupport::Va,
            gcs: m(15.0, Unit::Dimensionless),
            delirium_drugs: true,
            bilirubin: m(2.5, Unit::MgPerDl),
            creatinine: m(1.8, Unit::MgPerDl),
            rrt: true,
            platelets: m(90.0, Unit::ThousandPerUl),
            ..Default::default()
        };
        let r = sofa2(&i, &Options::default());
        assert_eq!(r.total, Some(16.0));
        assert_eq!(
            [
                pts(&r, "cardiovascular"),
                pts(&r, "respiratory"),
                pts(&r, "brain"),
                pts(&r, "liver"),
                pts(&r, "kidney"),
                pts(&r, "hemostasis")
            ],
            [4, 4, 1, 1, 4, 2]
        );
    }

    #[test]
    fn t2() {
        let i = Sofa2Input {
            doses: DoseSet::new(Some(80.0))
                .with(Drug::Norepinephrine, 0.15)
                .with(Drug::Epinephrine, 0.10)
                .with(Drug::Dobutamine, 5.0),
            pf: vec![PfSample::new(140.0, Some(RespSupport::Hfnc))],
            gcs: m(12.0, Unit::Dimensionless),
            bilirubin: m(0.9, Unit::MgPerDl),
            creatinine: m(3.0, Unit::MgPerDl),
            platelets: m(45.0, Unit::ThousandPerUl),
            ..Default::default()
        };
        let r = sofa2(&i, &Options::default());
        assert_eq!(r.total, Some(15.0));
        assert_eq!(pts(&r, "cardiovascular"), 4);
        assert_eq!(pts(&r, "respiratory"), 3);
    }

    #[test]
    fn t3() {
        let i = Sofa2Input {
            doses: DoseSet::new(Some(80.0)).with(Drug::Dopamine, 25.0),
            pf: vec![PfSample::new(60.0, Some(RespSupport::None))],
            gcs: m(15.0, Unit::Dimensionless),
            bilirubin: m(1.2, Unit::MgPerDl),
            creatinine: m(1.2, Unit::MgPerDl),
            platelets: m(151.0, Unit::ThousandPerUl),
            ..Default::default()
        };
        let r = sofa2(&i, &Options::default());
        assert_eq!(r.total, Some(5.0));
        assert_eq!(pts(&r, "cardiovascular"), 3);
        assert_eq!(pts(&r, "respiratory"), 2);
    }

    #[test]
    fn boundaries() {
        let cv = |ne: f64, other: bool| {
            let mut d = DoseSet::new(Some(80.0)).with(Drug::Norepinephrine, ne);
            if other {
                d = d.with(Drug::Dobutamine, 5.0);
            }
            cv_drug_points(&d, 60.0).map(|x| x.0)
        };
        assert_eq!(cv(0.20, false), Some(2));
        assert_eq!(cv(0.2001, false), Some(3));
        assert_eq!(cv(0.40, false), Some(3));
        assert_eq!(cv(0.4001, false), Some(4));
        assert_eq!(cv(0.20, true), Some(3));
        assert_eq!(cv(0.30, true), Some(4));
        assert_eq!(hemostasis_points(150.0), 1);
        assert_eq!(hemostasis_points(150.1), 0);
        assert_eq!(hemostasis_points(80.0), 3);
        assert_eq!(hemostasis_points(50.0), 4);
        assert_eq!(brain_points_gcs(9.0), 2);
        let mg = |v| Measured::new(v, Unit::MgPerDl);
        assert_eq!(liver_points(&mg(3.0), SofaUnitPolicy::UnitNative).0, 1);
        assert_eq!(liver_points(&mg(3.01), SofaUnitPolicy::UnitNative).0, 2);
        assert_eq!(liver_points(&mg(1.2), SofaUnitPolicy::UnitNative).0, 0);
        for (d, e) in [(20.0, 2), (20.01, 3), (40.0, 3), (40.01, 4)] {
            let ds = DoseSet::new(Some(80.0)).with(Drug::Dopamine, d);
            assert_eq!(cv_drug_points(&ds, 60.0).map(|x| x.0), Some(e), "dopamine {d}");
        }
        assert_eq!(map_only_points(69.9), 1);
        assert_eq!(map_only_points(39.9), 4);
        assert_eq!(pf_points(300.0, Some(RespSupport::None), false), Some(1));
        assert_eq!(pf_points(300.1, Some(RespSupport::None), false), Some(0));
        assert_eq!(pf_points(75.0, Some(RespSupport::None), true), Some(4));
        assert_eq!(pf_points(75.0, None, false), None);
    }

    #[test]
    fn rrt_criteria() {
        let i = Sofa2Input {
            ecmo: EcmoSupport::Va,
            gcs: m(15.0, Unit::Dimensionless),
            bilirubin: m(1.0, Unit::MgPerDl),
            creatinine: m(1.5, Unit::MgPerDl),
            potassium: m(6.2, Unit::MmolPerL),
            platelets: m(200.0, Unit::ThousandPerUl),
            ..Default::default()
        };
        assert_eq!(pts(&sofa2(&i, &Options::default()), "kidney"), 4);
        let i = Sofa2Input { potassium: m(5.0, Unit::MmolPerL), ..i };
        assert_eq!(pts(&sofa2(&i, &Options::default()), "kidney"), 1);
        let i = Sofa2Input { uo_lt_0_5_hours: Some(13.0), ..i };
        assert_eq!(pts(&sofa2(&i, &Options::default()), "kidney"), 2);
    }
}
